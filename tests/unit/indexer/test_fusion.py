"""Hybrid fusion: per-query normalised scores, combined, with the missing side at its floor."""

from __future__ import annotations

import pytest

from indexer.fusion import fuse


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
    assert set(ids(fuse(lexical, semantic, limit=5))) == {1, 2, 3, 4, 5}


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
