"""Counts in words for people: ``plural(1, "file")`` is "1 file", ``plural(2, "file")``
"2 files"."""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """``count`` and the word in its number; ``many`` when adding an "s" is wrong."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"
