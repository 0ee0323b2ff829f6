"""Ranking: typed words outvote alternates, definitions beat module statements."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import pytest

from indexer import ranking
from indexer.chunking import Chunk, Symbol, chunk_file
from indexer.migrations import FTS_COLUMNS
from indexer.ranking import (
    COLUMN_WEIGHTS,
    FTS_TOKENIZE,
    MAX_CALLERS,
    Candidate,
    combine,
    fts_row,
    fts_rows,
    lexical_search,
    rank_symbols,
)


def cand(key: int, score: float, *, kind: str = "function", lines: int = 10) -> Candidate:
    return Candidate(key, f"f{key}.py", 1, lines, kind, (f"s{key}",), score)


def test_typed_words_outweigh_alternates() -> None:
    typed = [cand(1, 5.0)]
    alternate = [cand(2, 10.0)]
    ranked = combine(typed, alternate, limit=10)
    assert [c.key for c in ranked] == [1, 2]
    assert ranked[1].score == pytest.approx(10.0 * ranking.ALTERNATE_WEIGHT)


def test_a_chunk_found_both_ways_adds_up() -> None:
    ranked = combine([cand(1, 5.0), cand(2, 5.5)], [cand(1, 4.0)], limit=10)
    assert [c.key for c in ranked] == [1, 2]
    assert ranked[0].score == pytest.approx(5.0 + 4.0 * ranking.ALTERNATE_WEIGHT)


def test_definitions_beat_module_statements_at_equal_text_score() -> None:
    ranked = combine([cand(1, 5.0, kind="block"), cand(2, 5.0)], [], limit=10)
    assert [c.key for c in ranked] == [2, 1]


def test_ties_are_stable_and_prefer_shorter_ranges() -> None:
    ranked = combine([cand(3, 1.0, lines=40), cand(1, 1.0), cand(2, 1.0)], [], limit=2)
    assert [c.key for c in ranked] == [1, 2]


class Table:
    """A real FTS5 table with the recommended columns, queried like store.py would."""

    def __init__(self, rows: Sequence[tuple[str, str, str]]) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.execute(
            f"CREATE VIRTUAL TABLE chunks USING fts5({', '.join(COLUMN_WEIGHTS)}, "
            f"tokenize='{FTS_TOKENIZE}')"
        )
        self.rows = rows
        for rowid, (path, symbol, text) in enumerate(rows, 1):
            lines = text.count("\n") + 1
            chunk = Chunk(1, lines, text, "function", (symbol,), "")
            row = fts_row(path, chunk, "")
            marks = ", ".join("?" for _ in row)
            self.db.execute(
                f"INSERT INTO chunks(rowid, {', '.join(row)}) VALUES (?, {marks})",
                (rowid, *row.values()),
            )
        self.expressions: list[str] = []

    def match(self, expression: str, depth: int) -> list[Candidate]:
        self.expressions.append(expression)
        weights = ", ".join(str(w) for w in COLUMN_WEIGHTS.values())
        found = self.db.execute(
            f"SELECT rowid, bm25(chunks, {weights}) AS r FROM chunks WHERE chunks MATCH ? "
            "ORDER BY r LIMIT ?",
            (expression, depth),
        ).fetchall()
        return [
            Candidate(rowid, self.rows[rowid - 1][0], 1, 5, "function", (), -score)
            for rowid, score in found
        ]


def test_lexical_search_finds_code_by_its_abbreviation() -> None:
    table = Table(
        [
            ("store.py", "open_db", "def open_db(path):\n    return connect(path)"),
            ("notes.py", "notes", "def notes():\n    return 'open the door'"),
        ]
    )
    found = lexical_search("open a database", table.match, limit=5)
    assert [c.path for c in found] == ["store.py", "notes.py"]
    assert table.expressions == ['"open" OR "database"', '"db"']


def test_symbol_names_outweigh_mentions_in_text() -> None:
    table = Table(
        [
            ("a.py", "caller", "def caller():\n    parse_header(x)\n    return x"),
            ("b.py", "parse_header", "def parse_header(raw):\n    return raw.split(':')"),
        ]
    )
    found = lexical_search("parse header", table.match, limit=5)
    assert [c.path for c in found] == ["b.py", "a.py"]


def test_nothing_searchable_runs_no_query() -> None:
    table = Table([("a.py", "f", "def f(): pass")])
    assert lexical_search("the of ?!", table.match, limit=5) == []
    assert table.expressions == []


def test_symbol_tiers_follow_what_was_typed() -> None:
    names = [
        Symbol("get_close_matches", "function", None, 1, 5),
        Symbol("close", "method", "Popen", 10, 12),
        Symbol("Close", "function", None, 20, 22),
        Symbol("closer", "function", None, 30, 31),
        Symbol("enclosed", "function", None, 40, 41),
        Symbol("cl_oSE", "function", None, 50, 51),
        Symbol("unrelated", "function", None, 60, 61),
    ]
    ranked = rank_symbols("close", names, limit=10)
    assert [s.name for s, _ in ranked] == [
        "close",
        "Close",
        "closer",
        "get_close_matches",
        "enclosed",
        "cl_oSE",
    ]
    scores = [score for _, score in ranked]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == 1.0


def test_symbol_query_can_be_qualified_or_fuzzy() -> None:
    names = [
        Symbol("wait", "method", "Popen", 1, 2),
        Symbol("wait", "function", None, 5, 6),
        Symbol("get_close_matches", "function", None, 8, 9),
    ]
    assert rank_symbols("Popen.wait", names, limit=1)[0][0].container == "Popen"
    assert rank_symbols("Popen::wait", names, limit=1)[0][0].container == "Popen"
    assert rank_symbols("close matches", names, limit=1)[0][0].name == "get_close_matches"
    assert rank_symbols("gcm", names, limit=5)[0][0].name == "get_close_matches"
    assert rank_symbols("zzz", names, limit=5) == []
    assert rank_symbols("  ", names, limit=5) == []


def test_fts_row_indexes_identifiers_whole_and_in_parts() -> None:
    chunk = Chunk(3, 4, "def getTypeHints(obj):\n    return obj", "function", ("getTypeHints",), "")
    row = fts_row("lib/typeUtils.py", chunk, "Helpers for types.")
    assert list(row) == list(COLUMN_WEIGHTS)
    assert row["symbols"] == "getTypeHints get type hints"
    assert row["path"] == "lib/typeUtils.py lib type utils py"
    assert row["terms"] == "get type hints"
    assert row["context"] == "Helpers for types."


def test_code_found_only_by_an_alternate_spelling_is_still_found() -> None:
    table = Table([("store.py", "connect_db", "def connect_db(path):\n    return path")])
    found = lexical_search("database", table.match, limit=5)
    assert [c.path for c in found] == ["store.py"]
    assert found[0].score > 0


def test_the_weights_name_the_columns_the_migrations_made() -> None:
    assert tuple(COLUMN_WEIGHTS) == FTS_COLUMNS


CALLS = '''\
def _drain(queue):
    while queue:
        queue.pop()


def shutdown(queue):
    """Stop the worker once its queue is empty."""
    _drain(queue)


def _drain_twice(queue):
    # twice, to be sure
    _drain(queue)
    _drain(queue)


class Pool:
    def _drain(self):
        return shutdown(self.queue)
'''


def test_fts_rows_give_each_chunk_its_prose_and_its_callers_words() -> None:
    chunked = chunk_file("work.py", CALLS, max_lines=4)
    rows = {
        chunk.symbols[0]: row
        for chunk, row in zip(chunked.chunks, fts_rows("work.py", chunked), strict=True)
    }
    assert list(rows["shutdown"]) == list(COLUMN_WEIGHTS)
    assert rows["shutdown"]["doc"] == "Stop the worker once its queue is empty."
    assert rows["_drain_twice"]["doc"] == "twice, to be sure"
    # _drain is described by both of its callers (once each), by name and prose
    callers = rows["_drain"]["callers"]
    assert "shutdown Stop the worker once its queue is empty." in callers
    assert callers.count("_drain_twice") == 1 and "twice, to be sure" in callers
    # Pool._drain is a namesake's definition, not a call; shutdown is called there
    assert "Pool" not in callers
    assert rows["shutdown"]["callers"] == "Pool pool"
    # a bare `_drain(queue)` calls the function, not the method of that name
    assert rows["Pool"]["callers"] == ""


def test_a_definition_keeps_only_its_first_callers() -> None:
    callers = "".join(f"def caller_{i}():\n    target()\n\n\n" for i in range(MAX_CALLERS + 3))
    chunked = chunk_file("many.py", "def target():\n    pass\n\n\n" + callers, max_lines=4)
    rows = fts_rows("many.py", chunked)
    assert chunked.chunks[0].symbols == ("target",)
    named = [f"caller_{i}" for i in range(MAX_CALLERS + 3) if f"caller_{i} " in rows[0]["callers"]]
    assert named == [f"caller_{i}" for i in range(MAX_CALLERS)]
