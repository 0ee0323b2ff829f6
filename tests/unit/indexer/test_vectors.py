"""Quantised vectors find what exact search finds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import indexer.store as store_module
from indexer.sqlite import driver
from indexer.store import Store
from indexer.vectors import QuantisedVectors


def _vectors(count: int, dims: int, seed: int) -> np.ndarray:
    """Clustered vectors sharing a common direction, as sentence embeddings do."""
    rng = np.random.default_rng(seed)
    common = rng.normal(size=dims) * 3
    centres = rng.normal(size=(200, dims))
    vectors = common + centres[rng.integers(0, 200, count)] + rng.normal(size=(count, dims))
    return vectors.astype(np.float32)


def _exact(matrix: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    scores = unit @ (query / np.linalg.norm(query))
    return [int(i) for i in np.argsort(-scores)[:k]]


def _sparse(count: int, dims: int, seed: int) -> np.ndarray:
    """Hashed bags of words: a few components of +-1 each, the rest 0."""
    rng = np.random.default_rng(seed)
    vocabulary = rng.integers(0, dims, 2000), rng.choice([-1.0, 1.0], 2000)
    matrix = np.zeros((count, dims), dtype=np.float32)
    for row in range(count):
        words = rng.integers(0, 2000, rng.integers(5, 40))
        np.add.at(matrix[row], vocabulary[0][words], vocabulary[1][words])
    matrix[~matrix.any(axis=1), 0] = 1.0
    return matrix


@pytest.mark.parametrize("make", [_vectors, _sparse])
def test_quantised_search_agrees_with_exact_search(
    make: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import indexer.vectors as vectors_module

    monkeypatch.setattr(vectors_module, "MIN_POOL", 500)  # 2.5%, as at 200,000 vectors
    matrix = make(20_000, 384, seed=3)
    rows = ((i + 1, matrix[i].tobytes()) for i in range(len(matrix)))
    held = QuantisedVectors.build(rows, len(matrix), 384, version=1)
    assert held.nbytes < matrix.nbytes * 0.35
    rng = np.random.default_rng(4)
    recalls = []
    for _ in range(40):
        query = matrix[rng.integers(0, len(matrix))] + 0.5 * matrix[rng.integers(0, len(matrix))]
        want = {i + 1 for i in _exact(matrix, query, 10)}
        found = held.nearest(query.astype(np.float32).tobytes(), 10)
        assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)
        recalls.append(len(want & {cid for cid, _ in found}) / 10)
    assert sum(recalls) / len(recalls) > 0.9  # pool of 2.5%; near-ties within a cluster


def test_scores_are_cosines_within_a_percent() -> None:
    matrix = _vectors(3_000, 64, seed=5)
    held = QuantisedVectors.build(
        ((i, matrix[i].tobytes()) for i in range(len(matrix))), len(matrix), 64, version=1
    )
    query = matrix[17]
    for cid, score in held.nearest(query.tobytes(), 5):
        v = matrix[cid]
        cosine = float(v @ query / (np.linalg.norm(v) * np.linalg.norm(query)))
        assert abs(score - cosine) < 0.01
    assert held.nearest(query.tobytes(), 0) == []


def test_rows_of_another_width_are_left_out() -> None:
    rows = [
        (1, np.ones(8, np.float32).tobytes()),
        (2, b"\x00" * 12),
        (3, np.ones(8, np.float32).tobytes()),
    ]
    held = QuantisedVectors.build(iter(rows), 3, 8, version=1)
    assert sorted(int(i) for i in held.ids) == [1, 3]


def test_the_store_holds_many_vectors_quantised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drv = driver(True)
    if not drv.vectors:
        pytest.skip(drv.vectors_reason)
    monkeypatch.setattr(store_module, "MATRIX_MAX_FLOATS", 0)
    store = Store.open(tmp_path / "index.db", drv)
    matrix = _vectors(300, 32, seed=8)
    try:
        with store.transaction():
            store.conn.execute(
                "INSERT INTO files (id, path, size, mtime_ns, hash) VALUES (1, 'a.py', 0, 0, '')"
            )
            for i in range(len(matrix)):
                store.conn.execute(
                    "INSERT INTO chunks (id, file_id, start_line, end_line, kind, symbols,"
                    " content_hash, text) VALUES (?, 1, 1, 1, 'block', '', ?, '')",
                    (i + 1, str(i)),
                )
            store.reset_vectors("test", 32)
            store.put_vectors([(i + 1, matrix[i].tobytes()) for i in range(len(matrix))])
        query = matrix[42]
        first = store.knn(query.tobytes(), 5)  # vec0, exact
        second = store.knn(query.tobytes(), 5)  # the quantised matrix, built now
        assert isinstance(store._matrix, QuantisedVectors)
        assert [cid for cid, _ in second] == [cid for cid, _ in first]
        assert second[0][0] == 43
    finally:
        store.close()
