"""The store at scale: pruned MATCHes, and one SQLite module whatever index.vectors says."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

import indexer.store as store_module
from indexer.query import fts_query
from indexer.ranking import COLUMN_WEIGHTS
from indexer.sqlite import driver
from indexer.store import Store

WEIGHTS = ", ".join(str(float(w)) for w in COLUMN_WEIGHTS.values())
COMMON = ["value", "return", "name", "self", "data", "result", "item", "list"]
RARE = ["punycode", "hextet", "breakpoint", "interpolation", "maildir", "shlex"]


def test_without_vectors_the_index_opens_with_the_same_sqlite() -> None:
    assert driver(False).module is driver(True).module
    assert not driver(False).vectors


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setattr(store_module, "PRUNE_ABOVE", 100)
    monkeypatch.setattr(store_module, "STAGE_ONE_ROWS", 300)
    monkeypatch.setattr(store_module, "CANDIDATES", 50)
    rng = random.Random(3)
    store = Store.open(tmp_path / "index.db", driver(True))
    columns = ", ".join(COLUMN_WEIGHTS)
    with store.transaction():
        store.conn.execute(
            "INSERT INTO files (id, path, size, mtime_ns, hash) VALUES (1, 'a.py', 0, 0, '')"
        )
        for cid in range(1, 2001):
            words = rng.choices(COMMON, k=rng.randint(5, 40))
            if rng.random() < 0.05:
                words += rng.choices(RARE, k=rng.randint(1, 3))
            text = " ".join(words)
            store.conn.execute(
                "INSERT INTO chunks (id, file_id, start_line, end_line, kind, symbols,"
                " content_hash, text) VALUES (?, 1, 1, 1, 'block', '', ?, '')",
                (cid, str(cid)),
            )
            store.conn.execute(
                f"INSERT INTO chunks_fts (rowid, {columns}) VALUES (?, '', 'a.py', ?, '', '',"
                " '', '')",
                (cid, text),
            )
    yield store
    store.close()


def test_a_large_index_scores_only_the_rows_its_rare_words_find(store: Store) -> None:
    expression = fts_query("interpolation of the values in a list of names")
    assert expression is not None
    exact = store.conn.execute(
        f"SELECT rowid, bm25(chunks_fts, {WEIGHTS}) AS rank FROM chunks_fts"
        " WHERE chunks_fts MATCH ? ORDER BY rank LIMIT 10",
        (expression,),
    ).fetchall()
    pruned = store._pruned(expression, 10, WEIGHTS)
    assert pruned is not None
    # The rows holding the rare word win and keep their exact scores.
    assert pruned[:3] == exact[:3]
    assert all(store._stems(["interpolation"]).values())
    assert store._stems(["values", "names"]) == {"values": "valu", "names": "name"}


def test_nothing_is_pruned_when_every_row_fits_or_the_index_is_small(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    expression = fts_query("return the value")
    assert expression is not None
    monkeypatch.setattr(store_module, "STAGE_ONE_ROWS", 10_000)
    assert store._pruned(expression, 10, WEIGHTS) is None  # every row fits the budget
    monkeypatch.setattr(store_module, "PRUNE_ABOVE", 1_000_000)
    store._common = None
    assert store._pruned(fts_query("punycode value") or "", 10, WEIGHTS) is None
