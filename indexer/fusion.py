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

Each side's head is then kept (``_with_heads``): the fused ten always hold lexical's
first 7 and semantic's first 3 (30% of ``limit`` for semantic, the rest lexical), in fused
order, and lexical's best is never below third: by scores alone, lexical answers at ranks
5-10 fell out under semantic look-alikes that all agreed.  With the heads kept, hybrid is
at least its better half in recall@10 in every class of both sets but one held-out
concept question (the lexical answer at rank 10, ``copymode``), and in MRR@10 in every
class but public concept (0.595 against lexical's 0.596).  Measured with
``bench/hybrid.py`` (the lexical ranking with doc and callers columns, MiniLM int8 on 64
tokens), recall@10 / MRR@10, public and held-out:

    scores only                          0.925 / 0.510    0.818 / 0.571
    heads kept (7 + 3), best in top 3    0.925 / 0.516    0.841 / 0.574
    heads 7 + 2, 8 + 0, 6 + 4            0.900-0.925      0.818-0.841
    heads kept, chunks embedded with     0.925 / 0.563    0.841 / 0.594
      their path (``embedder.document_text``)

With the path in the vectors, public concept MRR@10 is 0.696 (lexical 0.596); the classes
where hybrid is below its better half are then held-out concept recall (0.967 against
lexical's 1.000, ``copymode``) and public descriptive MRR@10 (0.320 against semantic's
0.339, at recall 0.812 against 0.688 and 0.562).

RRF's range comes from its ties: its recall@10 moves with how equal scores are ordered,
its MRR stays at 0.47-0.49.  Equal weights sit in the middle of the plateau (0.4-0.55),
so they are not fitted to one question; RRF throws the scores away and with them each
side's confidence, which is why it could not beat its better input by more than a
question.  Also tried, before the doc and callers columns: a quota that puts lexical's top
8-10 and semantic's top 3-5 ahead of the rest (0.825-0.900; the heads above are kept in
the ten but in fused order, so the order within stays the scores'), and
measuring cosines from a floor of 0.1-0.3 instead of 0 (a ridge of 0.850-0.900 as the
weight moves with it: one more parameter, no clear gain).
"""

from __future__ import annotations

from collections.abc import Sequence

from indexer.query import names_code

__all__ = [
    "CODE_LEXICAL_WEIGHT",
    "LEXICAL_BEST_RANK",
    "LEXICAL_WEIGHT",
    "SEMANTIC_SHARE",
    "fuse",
    "lexical_weight",
]

LEXICAL_WEIGHT = 0.5
CODE_LEXICAL_WEIGHT = 0.75
# Of the ``limit`` results, semantic's first 30% and lexical's first 70% are always kept;
# lexical's best is never below third.
SEMANTIC_SHARE = 0.3
LEXICAL_BEST_RANK = 3


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
    return _with_heads(ordered, lexical, semantic, limit)


def _with_heads(
    ordered: list[tuple[int, float]],
    lexical: Sequence[tuple[int, float]],
    semantic: Sequence[tuple[int, float]],
    limit: int,
) -> list[tuple[int, float]]:
    """The first ``limit`` of ``ordered``, holding each side's head: lexical's first
    ``limit - int(SEMANTIC_SHARE * limit)`` and semantic's first ``int(SEMANTIC_SHARE *
    limit)`` (7 and 3 of 10), in fused order, the rest filled by fused score; lexical's
    best no lower than ``LEXICAL_BEST_RANK``."""
    semantic_kept = int(SEMANTIC_SHARE * limit)
    heads = [chunk_id for chunk_id, _ in lexical[: limit - semantic_kept]]
    heads += [chunk_id for chunk_id, _ in semantic[:semantic_kept]]
    kept = set(heads)
    for chunk_id, _ in ordered:
        if len(kept) >= limit:
            break
        kept.add(chunk_id)
    out = [pair for pair in ordered if pair[0] in kept][:limit]
    best = lexical[0][0]
    position = next(i for i, (chunk_id, _) in enumerate(out) if chunk_id == best)
    top = LEXICAL_BEST_RANK - 1
    if position > top:
        # It takes the place (and the score) of the one it passes, so scores stay ordered.
        pair = out.pop(position)
        out.insert(top, (pair[0], out[top][1]))
    return out
