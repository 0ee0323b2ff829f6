"""How lexical search ranks chunks, apart from the SQL that finds them.

search.py (through store.py, the only module with SQL) runs FTS5 MATCH expressions and
hands back ``Candidate``s scored ``-bm25()`` with ``COLUMN_WEIGHTS``; everything else is
here and pure, so it can be measured (``bench/retrieval.py``) and tested without a
database:

- the words the user typed and their other spellings are two MATCHes, and an alternate
  counts ``ALTERNATE_WEIGHT`` of a typed word: searched together with equal votes,
  common alternates drowned the typed words (symbol recall@10 on the public set 0.725
  without alternates, 0.675 with equal votes, 0.775 at 0.3);
- module-level statement chunks (imports, constants, ``if __name__`` blocks) lose to
  definitions at equal text score, since questions are about what code does;
- ties go to the shorter range, then to the path and line, so results are stable.

Tried and left out, each measured on the public set: per-file caps (0.525-0.70; the answer
is usually in the file that matches best), a file prior from summed chunk scores (0.55-
0.70; big files win), boosting symbol-name matches on top of the weighted symbols column
(0.525-0.775, worse MRR), and summing the scores of the pieces of one split function
(0.50-0.65).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from indexer.query import fts_alternates, fts_query

__all__ = [
    "ALTERNATE_WEIGHT",
    "COLUMN_WEIGHTS",
    "Candidate",
    "Match",
    "combine",
    "lexical_search",
]

# bm25() weights for the FTS5 columns, by what they hold: the chunk's symbol names (and
# their split parts), its path (and parts), its text, and index_terms(text).
COLUMN_WEIGHTS: dict[str, float] = {"symbols": 8.0, "path": 1.0, "text": 1.0, "terms": 1.0}

ALTERNATE_WEIGHT = 0.3
# Score factor by chunk kind; kinds not listed count fully.
KIND_WEIGHTS: dict[str, float] = {"block": 0.7}
# How many candidates each MATCH fetches before ranking.
DEPTH = 200


@dataclass(frozen=True, slots=True)
class Candidate:
    """One chunk a MATCH found; ``key`` is its row id, ``score`` higher for better."""

    key: int
    path: str
    start_line: int
    end_line: int
    kind: str
    symbols: tuple[str, ...]
    score: float


# Runs one MATCH expression, returning at most ``depth`` candidates scored -bm25().
Match = Callable[[str, int], Sequence[Candidate]]


def combine(
    primary: Sequence[Candidate], alternate: Sequence[Candidate], *, limit: int
) -> list[Candidate]:
    """The best ``limit`` chunks from the typed words' and the alternates' candidates."""
    alternate_score = {c.key: c.score for c in alternate}
    merged = {c.key: c for c in alternate}
    merged.update((c.key, c) for c in primary)
    primary_score = {c.key: c.score for c in primary}
    ranked = []
    for key, candidate in merged.items():
        text_score = primary_score.get(key, 0.0)
        text_score += ALTERNATE_WEIGHT * alternate_score.get(key, 0.0)
        score = text_score * KIND_WEIGHTS.get(candidate.kind, 1.0)
        ranked.append(replace(candidate, score=score))
    ranked.sort(key=_order)
    return ranked[:limit]


def _order(c: Candidate) -> tuple[float, int, str, int]:
    return (-c.score, c.end_line - c.start_line, c.path, c.start_line)


def lexical_search(query: str, match: Match, *, limit: int, depth: int = DEPTH) -> list[Candidate]:
    """Rank chunks for ``query``; ``match`` runs the SQL.  [] when nothing is searchable."""
    expression = fts_query(query)
    if expression is None:
        return []
    primary = match(expression, depth)
    alternates = fts_alternates(query)
    alternate = match(alternates, depth) if alternates is not None else ()
    return combine(primary, alternate, limit=limit)
