"""Where a completion ends: the rules applied to a model's text as it streams, and at its end.

:func:`cut` is asked again after every piece of text the model sends; once it says the
completion is complete, the caller closes the stream, so a model that would go on writing
the next function costs nothing more. The rules, in order:

1. **Stop sequences**: the text ends before the first one (the template's tokens and
   ``[completion] stop``; a server applies at most four itself).
2. **The end of the current block** (dedent): the cursor's line sets the indentation; the
   first later line indented less ends the completion. When the completion opened a block
   of its own (its first line after the cursor's is indented deeper), the first line back at
   the cursor's indentation ends it too: one block at a time. A closing line (``}``, ``end``,
   ``)``) that ends the block is kept unless the code after the cursor already has it.
3. **A line in the middle of code** (text other than closing brackets after the cursor)
   gets a one-line completion; otherwise at most ``max_lines`` lines.

:func:`finish` then takes off what would repeat the code after the cursor: lines that are
the suffix's next lines, and on the cursor's line a tail that the text after the cursor
already holds (only when that balances the brackets, so ``foo(`` + ``)`` is kept for
``print(|)``). Trailing blank lines go; a blank result is empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A line that only closes what the block opened.
_CLOSER = re.compile(r"[)\]}]+[;,)]*|end|fi|done|esac|</[\w.-]+>")
_CLOSER_WORDS = ("end", "fi", "done", "esac", "</")
_CLOSING_CHARS = frozenset(")]}>;,:'\"` \t")
_PAIRS = {")": "(", "]": "[", "}": "{"}


@dataclass(frozen=True, slots=True)
class Shape:
    """What the rules need of the document around the cursor."""

    line_prefix: str  # the cursor's line up to the cursor
    line_suffix: str  # the cursor's line after the cursor
    next_lines: tuple[str, ...] = ()  # the lines after the cursor's (a few)
    before: str = ""  # some lines before the cursor's, for bracket balance
    stops: tuple[str, ...] = ()
    max_lines: int = 16
    tab_size: int = 4

    @property
    def single_line(self) -> bool:
        """Code after the cursor (not only closing brackets): complete this line only."""
        return not set(self.line_suffix) <= _CLOSING_CHARS


def _indent(line: str, tab_size: int) -> int:
    width = 0
    for char in line:
        if char == " ":
            width += 1
        elif char == "\t":
            width += tab_size
        else:
            break
    return width


def _following(shape: Shape) -> str:
    return next((line.strip() for line in shape.next_lines if line.strip()), "")


def cut(text: str, shape: Shape) -> tuple[str, bool]:
    """The usable part of ``text`` so far, and whether it is complete (read no more)."""
    done = False
    for stop in shape.stops:
        if stop and (at := text.find(stop)) >= 0:
            text, done = text[:at], True
    lines = text.split("\n")
    if shape.single_line and len(lines) > 1:
        return lines[0], True
    # The cursor's line as completed sets the indentation (on a blank line, the
    # completion's own first line does).
    ref = _indent(shape.line_prefix + lines[0], shape.tab_size)
    opened: bool | None = None  # did the completion open a block of its own?
    for number in range(1, len(lines)):
        line = lines[number]
        stripped = line.strip()
        if not stripped:
            continue
        streaming = number == len(lines) - 1  # the last line may still grow
        indent = _indent(line, shape.tab_size)
        if opened is None:
            opened = indent > ref
            if opened:
                continue
        ended = indent < ref or (opened and indent <= ref)
        if not ended and ref == 0 and not opened and number > 1 and not lines[number - 1].strip():
            # Top level: a blank line closes a group of statements.
            return "\n".join(lines[: number - 1]), True
        if not ended:
            continue
        if streaming and any(w.startswith(stripped) for w in _CLOSER_WORDS):
            break  # "e" may become "end": too early to tell
        if _CLOSER.fullmatch(stripped) and _following(shape) != stripped:
            if streaming:
                break  # "}" may still become "})": wait for its end
            return "\n".join(lines[: number + 1]), True
        return "\n".join(lines[:number]), True
    if len(lines) > shape.max_lines:
        return "\n".join(lines[: shape.max_lines]), True
    return text, done


def _imbalance(before: str, line: str) -> int:
    """How far from balanced the brackets of ``before + line`` and the quotes of ``line``
    are (0: balanced). Quotes count on the line alone: an apostrophe in an earlier comment
    must not tip them."""
    total = 0
    for char in before + line:
        if char in "([{":
            total += 1
        elif char in _PAIRS:
            total -= 1
    quotes = sum(line.count(q) % 2 for q in "\"'`")
    return abs(total) + quotes


def finish(text: str, shape: Shape) -> str:
    """The final completion: no repeat of the code after the cursor, no trailing blank lines;
    ``""`` when nothing but whitespace is left."""
    text, _ = cut(text, shape)
    lines = text.split("\n")
    following = _following(shape)
    if following:
        for number in range(1, len(lines)):
            if lines[number].strip() == following:
                lines = lines[:number]
                break
    text = "\n".join(lines).rstrip()
    if shape.line_suffix.strip():
        text = _without_suffix_overlap(text, shape)
    if not text.strip():
        return ""
    return text


def _without_suffix_overlap(text: str, shape: Shape) -> str:
    """Take off the longest end of ``text`` that the cursor line's rest starts with, when
    that balances the line better (``a + b)`` before ``)``, ``hello"`` before ``"``)."""
    tail = shape.line_suffix
    last = shape.line_prefix + text if "\n" not in text else text.rsplit("\n", 1)[1]
    before = shape.before if "\n" not in text else ""
    whole = _imbalance(before, last + tail)
    for size in range(min(len(text), len(tail)), 0, -1):
        if text.endswith(tail[:size]) and _imbalance(before, last[:-size] + tail) < whole:
            return text[:-size]
    return text
