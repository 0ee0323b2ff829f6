"""Every definition's name in memory, so a symbol search reads only the few it returns.

``ranking.rank_symbols`` scores a name against the query in tiers, each strictly above
the next: the same name (any case, or qualified: 0.85-1), a prefix (0.7-0.8), all the
query's word parts (0.55-0.65), a substring (0.45-0.55), the letters in order (0.2-0.3).
Within the prefix, substring and letters tiers the score falls with the name's length
alone, within the word-parts tier with its number of parts.  Scoring every definition
of a large repository (365,000 in ``bench/scale.py``'s corpus) took 150-550 ms a query.

:class:`NameTable` holds each distinct name once, sorted by its lowercase form (a prefix
is a bisect) and joined into one string (a substring or the letters in order is one
regular-expression scan in C).  :meth:`NameTable.candidates` yields groups of names, best
first, each group the names of one score; the caller fetches their definitions until it
has ``limit`` of them, and ranks those with ``rank_symbols`` itself, so the result is
the one scoring every definition gives (a test compares the two on many queries).

Names written since the table was built wait in a small second list, scanned linearly,
until there are enough of them to rebuild; names of deleted definitions stay until then
and simply find no definition.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from itertools import accumulate, groupby

from indexer.query import split_identifier

__all__ = ["NameTable"]

# Names added since the last build that are scanned linearly before a rebuild.
REBUILD_AFTER = 20_000


class NameTable:
    def __init__(self, names: Iterable[str] = ()) -> None:
        self._recent: set[str] = set()
        self._build(set(names))

    def _build(self, names: set[str]) -> None:
        pairs = sorted((name.lower(), name) for name in names)
        self._lower = [lower for lower, _ in pairs]
        self._names = [name for _, name in pairs]
        self._blob = "\n".join(self._lower)
        # Where each name starts in the blob.
        self._starts = [0, *accumulate(len(lower) + 1 for lower in self._lower)][:-1]
        self._recent.clear()

    def __len__(self) -> int:
        return len(self._names) + len(self._recent)

    def add(self, names: Iterable[str]) -> None:
        self._recent.update(names)
        if len(self._recent) > REBUILD_AFTER:
            self._build({*self._names, *self._recent})

    # ---- scans

    def _index_of(self, position: int) -> int:
        return bisect_right(self._starts, position) - 1

    def _matching(self, pattern: re.Pattern[str]) -> set[int]:
        """Indices of the names ``pattern`` finds a match in (it never crosses a line)."""
        return {self._index_of(m.start()) for m in pattern.finditer(self._blob)}

    def _prefixed(self, prefix: str) -> range:
        lo = bisect_left(self._lower, prefix)
        hi = bisect_left(self._lower, prefix + "\U0010ffff")
        return range(lo, hi)

    # ---- candidates

    def candidates(self, query: str) -> Iterator[list[str]]:
        """Names that may answer ``query`` as ``rank_symbols`` scores them, in groups:
        every name of a later group scores below every name of an earlier one (the first
        group, the same name, in any case or qualified, may score from 0.85 to 1)."""
        query = query.strip()
        if not query:
            return
        wanted = query.lower()
        if "." in query or "::" in query:
            wanted = wanted.replace("::", ".").rsplit(".", 1)[-1]
        if not wanted:  # `json.`: every name is a prefix match, all scored alike
            yield [*self._names, *sorted(self._recent)]
            return
        lowered = query.lower()
        recent = sorted(self._recent)
        taken: set[str] = set()

        def take(names: Iterable[str]) -> list[str]:
            out = [n for n in dict.fromkeys(names) if n not in taken]
            taken.update(out)
            return out

        def scan(pattern: str, keep: Callable[[str], bool]) -> list[str]:
            found = [self._names[i] for i in sorted(self._matching(re.compile(pattern)))]
            return [n for n in found + [n for n in recent if keep(n.lower())] if n not in taken]

        same = [self._names[i] for i in self._prefixed(wanted) if self._lower[i] == wanted]
        same += [self._names[i] for i in self._prefixed(lowered) if self._lower[i] == lowered]
        same += [n for n in recent if n.lower() in (wanted, lowered)]
        if group := take(same):
            yield group
        # A prefix: 0.7 + 0.1 * len(wanted) / len(name), the shorter the better.
        prefixed = [self._names[i] for i in self._prefixed(wanted)]
        prefixed += [n for n in recent if n.lower().startswith(wanted)]
        yield from _by_length(take(prefixed))
        # Every word part of the query among the name's parts: 0.55 + 0.1 * parts of the
        # query / parts of the name.  Names holding the longest part are a superset.
        parts = split_identifier(query.rsplit(".", 1)[-1])
        if parts:
            longest = max(parts, key=len)
            counted: list[tuple[int, str]] = []
            for name in scan(re.escape(longest), lambda lower: longest in lower):
                name_parts = split_identifier(name)
                if all(part in name_parts for part in parts):
                    counted.append((len(name_parts), name))
            counted.sort(key=lambda pair: pair[0])
            for _, same_count in groupby(counted, key=lambda pair: pair[0]):
                yield take(name for _, name in same_count)
        # A substring, then the letters in order: the shorter the name, the better.
        inside = scan(re.escape(wanted), lambda lower: wanted in lower)
        yield from _by_length(take(inside))
        letters = "".join(f"[^\\n{re.escape(c)}]*+{re.escape(c)}" for c in wanted)
        ordered = scan(f"(?m)^{letters}", lambda lower: _subsequence(wanted, lower))
        yield from _by_length(take(ordered))


def _by_length(names: list[str]) -> Iterator[list[str]]:
    ordered = sorted(names, key=lambda n: len(n.lower()))
    for _, group in groupby(ordered, key=lambda n: len(n.lower())):
        yield list(group)


def _subsequence(needle: str, haystack: str) -> bool:
    letters = iter(haystack)
    return all(char in letters for char in needle)
