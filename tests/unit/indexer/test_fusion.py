"""Hybrid fusion: per-query normalised scores, combined, with the missing side at its floor,
each side's head kept."""

from __future__ import annotations

import pytest

from indexer.fusion import CODE_LEXICAL_WEIGHT, LEXICAL_WEIGHT, fuse, lexical_weight
from indexer.query import names_code


def ids(ranked: list[tuple[int, float]]) -> list[int]:
    return [chunk_id for chunk_id, _ in ranked]


def test_with_one_side_empty_the_other_keeps_its_own_order() -> None:
    lexical = [(7, 30.0), (3, 30.0), (9, 12.0)]  # a tie, already broken by ranking.py
    assert ids(fuse(lexical, [], limit=10)) == [7, 3, 9]
    assert ids(fuse([], [(4, 0.6), (2, 0.5)], limit=10)) == [4, 2]
    assert fuse([], [], limit=10) == []


def test_a_chunk_both_sides_found_beats_the_top_of_either_alone() -> None:
    lexical = [(1, 20.0), (2, 18.0), (3, 10.0)]
    semantic = [(4, 0.70), (2, 0.68), (5, 0.50)]
    assert ids(fuse(lexical, semantic, limit=3))[0] == 2


def test_a_confident_lexical_winner_stays_first() -> None:
    # BM25 falls fast from a clear winner; MiniLM's cosines are bunched.
    lexical = [(1, 60.0), (2, 15.0), (3, 14.0)]
    semantic = [(8, 0.52), (9, 0.51), (1, 0.49)]
    assert ids(fuse(lexical, semantic, limit=3))[0] == 1


def test_a_strong_semantic_answer_enters_a_flat_lexical_list() -> None:
    # A vague question: twenty lexical candidates within 15% of each other, none right.
    lexical = [(100 + i, 20.0 - 0.15 * i) for i in range(20)]
    semantic = [(7, 0.62)] + [(200 + i, 0.45 - 0.005 * i) for i in range(20)]
    top = ids(fuse(lexical, semantic, limit=10))
    assert 7 in top
    assert 100 in top  # the lexical best is not pushed out by semantic noise


def test_deep_semantic_noise_does_not_displace_the_lexical_head() -> None:
    lexical = [(i, 40.0 - 2 * i) for i in range(1, 11)]
    semantic = [(50 + i, 0.40 - 0.01 * i) for i in range(10)]
    # Of 5: lexical's first 4, and semantic's first (30% of 5, rounded down).
    assert set(ids(fuse(lexical, semantic, limit=5))) == {1, 2, 3, 4, 50}


def test_each_side_keeps_its_head_among_the_results() -> None:
    # Lexical's answers at ranks 5-7 score little against a semantic list of look-alikes
    # that all agree; by scores alone they fall out of the ten.
    lexical = [(i, 40.0 - 3.5 * i) for i in range(1, 11)]
    semantic = [(100 + i, 0.80 - 0.002 * i) for i in range(20)] + [(1, 0.3)]
    fused = ids(fuse(lexical, semantic, limit=10))
    assert set(range(1, 8)) <= set(fused)  # lexical's first 7 of 10
    assert {100, 101, 102} <= set(fused)  # semantic's first 3
    # And the other way: a confident lexical list keeps semantic's first three.
    confident = [(i, 60.0 - i) for i in range(1, 30)]
    distant = [(200 + i, 0.45 - 0.1 * i) for i in range(3)]
    assert {200, 201, 202} <= set(ids(fuse(confident, distant, limit=10)))


def test_the_lexical_best_is_never_below_third() -> None:
    # A semantic list of near-equal look-alikes outvotes lexical's best by scores alone.
    lexical = [(1, 10.0)] + [(10 + i, 9.9 - 0.1 * i) for i in range(10)]
    semantic = [(10 + i, 0.9 - 0.001 * i) for i in range(10)] + [(99, 0.1)]
    fused = fuse(lexical, semantic, limit=10)
    assert ids(fused).index(1) == 2
    scores = [score for _, score in fused]
    assert scores == sorted(scores, reverse=True)


def test_scores_are_between_zero_and_one_best_first_and_limited() -> None:
    lexical = [(i, 30.0 - i) for i in range(30)]
    semantic = [(i + 15, 0.8 - i / 100) for i in range(30)]
    fused = fuse(lexical, semantic, limit=12)
    assert len(fused) == 12
    scores = [score for _, score in fused]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert len(set(ids(fused))) == 12


@pytest.mark.parametrize("best", [0.0, -0.2])
def test_non_positive_scores_fall_back_to_ranks(best: float) -> None:
    semantic = [(5, best), (6, best - 0.1), (7, best - 0.2)]
    fused = fuse([(1, 10.0), (5, 9.0)], semantic, limit=3)
    assert ids(fused)[0] == 5
    assert all(0.0 <= s <= 1.0 for _, s in fused)


def test_ties_are_broken_by_chunk_id_so_results_are_stable() -> None:
    lexical = [(9, 10.0), (4, 5.0)]
    semantic = [(4, 0.5), (9, 0.25)]
    assert ids(fuse(lexical, semantic, limit=2)) == [4, 9]
    assert ids(fuse(lexical, semantic, limit=2)) == ids(fuse(lexical, semantic, limit=2))


def test_a_query_naming_code_leans_on_the_exact_match() -> None:
    # The exact name is lexical's clear first; embeddings prefer a look-alike.
    lexical = [(1, 20.0), (2, 16.0), (3, 9.0)]
    semantic = [(2, 0.80), (1, 0.62), (4, 0.60)]
    assert ids(fuse(lexical, semantic, limit=2, lexical_weight=lexical_weight("dumps"))) == [2, 1]
    named = lexical_weight("json.dumps with sort_keys")
    assert ids(fuse(lexical, semantic, limit=2, lexical_weight=named)) == [1, 2]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("os mkdir with exist_ok", True),
        ("logging basicConfig with force", True),
        ("where does asyncio.run cancel tasks", True),
        ("partial flattening in __new__", True),
        ("call close() twice", True),
        ("pretty-print an XML tree, e.g. for a diff", False),
        ("IPv6 zero compression", False),
        ("a benchmark that takes at least 0.2 seconds", False),
        ("delete a folder", False),
    ],
)
def test_which_queries_name_code(query: str, code: bool) -> None:
    assert names_code(query) is code
    assert lexical_weight(query) == (CODE_LEXICAL_WEIGHT if code else LEXICAL_WEIGHT)
