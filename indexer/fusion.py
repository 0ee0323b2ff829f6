"""Hybrid ranking: one list from the lexical and the semantic candidates of a query.

Both inputs are ``(chunk_id, score)`` pairs, best first: lexical scores are ``-bm25()``
(higher is better, unbounded), semantic scores are cosine similarities (higher is better,
at most 1). The result is ``(chunk_id, fused score)``, best first.

This first version is reciprocal-rank fusion (k = 60), the baseline to beat: measured on the
public retrieval set it scores no better than MiniLM alone (0.75), so ``bench/hybrid.py``
measures the alternatives that replace it.
"""

from __future__ import annotations

from collections.abc import Sequence

RRF_K = 60


def fuse(
    lexical: Sequence[tuple[int, float]],
    semantic: Sequence[tuple[int, float]],
    *,
    limit: int,
) -> list[tuple[int, float]]:
    scores: dict[int, float] = {}
    for ranking in (lexical, semantic):
        for rank, (chunk_id, _score) in enumerate(ranking):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank + 1)
    ordered = sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
    return ordered[:limit]
