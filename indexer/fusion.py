"""Hybrid ranking: one list from the lexical and the semantic candidates of a query.

Both inputs are ``(chunk_id, score)`` pairs, best first: lexical scores are ``-bm25()``
(higher is better, unbounded), semantic scores are cosine similarities (higher is better,
at most 1). The result is ``(chunk_id, fused score)``, best first, the score in [0, 1].

The fusion is a convex combination of scores normalised per query, each list divided by
its own best score, so the best lexical and the best semantic candidate both count 1:

    fused = LEXICAL_WEIGHT * lexical / best_lexical + (1 - LEXICAL_WEIGHT) * cosine / best_cosine

A candidate that only one list holds gets, for the other side, that list's lowest score
(its true score is at most that; zero would bury every candidate the other side missed).
Dividing by the best keeps each side's own confidence: BM25 falls fast from a clear
winner and stays flat on a vague question, so a flat lexical list lets a strong semantic
candidate through, while cosines of MiniLM bunch within 0.3 of their best and mostly
reorder what both lists agree on.  A list whose best score is not positive falls back to
its ranks (``1 / (1 + rank)``).

Measured with ``bench/hybrid.py`` (CPython standard library, 11,656 chunks, MiniLM vectors,
50 candidates per side), symbol recall@10 / MRR@10, public 40 questions and the 20
held out from tuning:

    lexical alone                          0.800 / 0.477    0.900 / 0.699
    MiniLM alone                           0.700 / 0.392    0.800 / 0.446
    reciprocal-rank fusion (k = 60)        0.825-0.850      0.950 / 0.636
    RRF, lexical weighted 1.5-2            0.775 / 0.47     0.950 / 0.65
    z-scores, convex                       0.800-0.850      0.900-1.000
    cosine unnormalised, convex            0.800-0.850      0.900-0.950
    min-max normalised, convex             0.750-0.850      0.850-1.000
    this, LEXICAL_WEIGHT 0.5               0.850 / 0.525    0.950 / 0.694
    this, LEXICAL_WEIGHT 0.4-0.55          0.850-0.900      0.900-0.950
    this, missing side scored 0            0.850 / 0.532    0.900 / 0.684
    this, 30 or 100 candidates per side    0.850-0.875      0.900-0.950

A query that names code as it is written (``query.names_code``: ``exist_ok``,
``basicConfig``, ``functools.partial``) weighs the lexical side ``CODE_LEXICAL_WEIGHT``: an
exact name is what BM25 is sure of and what embeddings blur.  With equal weights, hybrid
search ranked the identifier questions' answers lower than lexical search alone (MRR@10
0.722 against 0.889 on the public set, 0.679 against 0.724 held out); at 0.75, 0.889 and
0.733, other classes unchanged, held-out identifier recall 1.00 -> 0.92 (lexical's own;
0.6-0.9 all recover most of the MRR).  Per class (recall@10, public / held-out), hybrid
is then at least its better half everywhere but one held-out concept question
(``copymode``: lexical rank 10, semantic 26, hybrid 13).  Also tried with the lexical
ranking of ``ranking.py``'s doc and callers columns: the missing side's exact score
instead of its list's floor (the cosine of every lexical candidate, the BM25 of every
semantic one: public 0.925 -> 0.925, held-out 0.830 -> 0.807-0.830), and a floor under
each candidate's fused score at 0.8-0.95 of its best side (0.78-0.90 public).

RRF's range comes from its ties: its recall@10 moves with how equal scores are ordered,
its MRR stays at 0.47-0.49.  Equal weights sit in the middle of the plateau (0.4-0.55),
so they are not fitted to one question; RRF throws the scores away and with them each
side's confidence, which is why it could not beat its better input by more than a
question.  Also tried: a quota that keeps lexical's top 8-10 and semantic's top 3-5 ahead
of the rest (0.825-0.900, as good as this at best, with two more parameters), and
measuring cosines from a floor of 0.1-0.3 instead of 0 (a ridge of 0.850-0.900 as the
weight moves with it: one more parameter, no clear gain).
"""

from __future__ import annotations

from collections.abc import Sequence

from indexer.query import names_code

__all__ = ["CODE_LEXICAL_WEIGHT", "LEXICAL_WEIGHT", "fuse", "lexical_weight"]

LEXICAL_WEIGHT = 0.5
CODE_LEXICAL_WEIGHT = 0.75


def lexical_weight(query: str) -> float:
    """The lexical side's weight for ``query``: more when it names code as written."""
    return CODE_LEXICAL_WEIGHT if names_code(query) else LEXICAL_WEIGHT


def _normalised(ranking: Sequence[tuple[int, float]]) -> dict[int, float]:
    """Scores divided by the best one; by rank when the best is not positive."""
    if not ranking:
        return {}
    best = max(score for _, score in ranking)
    if best <= 0:
        return {chunk_id: 1.0 / (1 + rank) for rank, (chunk_id, _) in enumerate(ranking)}
    normalised: dict[int, float] = {}
    for chunk_id, score in ranking:
        # A chunk listed twice keeps its best score.
        normalised[chunk_id] = max(normalised.get(chunk_id, 0.0), max(score, 0.0) / best)
    return normalised


def fuse(
    lexical: Sequence[tuple[int, float]],
    semantic: Sequence[tuple[int, float]],
    *,
    limit: int,
    lexical_weight: float = LEXICAL_WEIGHT,
) -> list[tuple[int, float]]:
    lex = _normalised(lexical)
    sem = _normalised(semantic)
    if not lex or not sem:  # one side has nothing: the other, in its own order
        only, ranking = (lex, lexical) if lex else (sem, semantic)
        unique = dict.fromkeys(chunk_id for chunk_id, _ in ranking)
        return [(chunk_id, only[chunk_id]) for chunk_id in unique][:limit]
    lex_floor = min(lex.values())
    sem_floor = min(sem.values())
    scores = {
        chunk_id: lexical_weight * lex.get(chunk_id, lex_floor)
        + (1 - lexical_weight) * sem.get(chunk_id, sem_floor)
        for chunk_id in lex.keys() | sem.keys()
    }
    ordered = sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
    return ordered[:limit]
