"""The name table finds what scoring every definition finds, reading only a few of them."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.ranking import rank_symbols
from indexer.search import Searcher
from indexer.sqlite import driver
from indexer.store import Store, SymbolRow
from indexer.symbols import NameTable

PARTS = ["get", "set", "close", "matches", "parse", "config", "http", "response", "read"]
PARTS += ["line", "x", "id", "to", "json", "load", "dump", "größe", "item", "2"]


def _name(rng: random.Random) -> str:
    words = rng.sample(PARTS, rng.randint(1, 3))
    style = rng.choice(["snake", "camel", "pascal", "upper", "plain"])
    if style == "snake":
        name = "_".join(words)
    elif style == "camel":
        name = words[0] + "".join(w.capitalize() for w in words[1:])
    elif style == "pascal":
        name = "".join(w.capitalize() for w in words)
    elif style == "upper":
        name = "_".join(words).upper()
    else:
        name = "".join(words)
    return rng.choice(["", "", "", "_", "__"]) + name


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    rng = random.Random(5)
    store = Store.open(tmp_path / "index.db", driver(False))
    with store.transaction():
        for file_id in range(1, 41):
            folder = rng.choice(["src", "src/app", "tests", "vendor/lib"])
            store.conn.execute(
                "INSERT INTO files (id, path, language, size, mtime_ns, hash)"
                " VALUES (?, ?, 'python', 0, 0, '')",
                (file_id, f"{folder}/m{file_id}.py"),
            )
        for _ in range(1500):
            container = rng.choice([None, None, "Parser", "HTTPClient", "Parser.Inner"])
            store.conn.execute(
                "INSERT INTO symbols (file_id, name, kind, container, start_line, end_line)"
                " VALUES (?, ?, 'function', ?, 1, 2)",
                (rng.randint(1, 40), _name(rng), container),
            )
    yield store
    store.close()


def _queries(store: Store) -> list[str]:
    rng = random.Random(9)
    names = sorted(store.symbol_names())
    out = ["get", "g", "x", "GET", "getline", "gcm", "close matches", "Parser.parse_config"]
    out += ["HTTPClient::getResponse", "größe", "2", "_", "json.", ".load", "zzz", "readLine"]
    for name in rng.sample(names, 25):
        out += [name, name[: max(1, len(name) // 2)], name.lower(), name[1:-1]]
        out.append("".join(c for c in name if c.isupper() or c == "_") or name[:2])
    return out


def test_the_name_table_ranks_as_scoring_every_definition_does(store: Store) -> None:
    every = store.symbols()
    searcher = Searcher(Path("/ws"), store)
    for query in _queries(store):
        ranked = rank_symbols(query, every, limit=100, path=lambda s: s.path)
        for limit in (1, 10, 100):
            expected = ranked[:limit]
            read = searcher._named(query, limit, None)
            found = rank_symbols(query, read, limit=limit, path=lambda s: s.path)
            assert [(s.id, score) for s, score in found] == [
                (s.id, score) for s, score in expected
            ], (query, limit)
            if limit == 10 and expected and not query.endswith("."):
                assert len(read) < len(every) / 2, query  # it did not read them all


def test_a_path_filter_still_finds_the_best_admitted_definitions(store: Store) -> None:
    searcher = Searcher(Path("/ws"), store)
    admitted = [file_id for file_id, path, _ in store.files() if path.startswith("tests/")]
    paths = {path for _, path, _ in store.files() if path.startswith("tests/")}
    every = [s for s in store.symbols() if s.path in paths]
    for query in ["get", "parse", "gcm", "Parser.parse_config"]:
        expected = rank_symbols(query, every, limit=10, path=lambda s: s.path)
        read = searcher._named(query, 10, admitted)
        found = rank_symbols(query, read, limit=10, path=lambda s: s.path)
        assert [s.id for s, _ in found] == [s.id for s, _ in expected], query


def test_names_written_after_the_table_was_built_are_found() -> None:
    table = NameTable(["parse_config", "read_line"])
    table.add(["parseHeaders", "zz_parse"])
    groups = list(table.candidates("parse"))
    assert sorted(groups[0]) == ["parseHeaders", "parse_config"]  # prefixes as long
    assert ["zz_parse"] in groups
    assert all("read_line" not in group for group in groups)


def _row(i: int, name: str) -> SymbolRow:
    return SymbolRow(i, "a.py", "python", name, "function", None, 1, 2)


def test_a_query_of_odd_characters_is_only_text() -> None:
    table = NameTable(["a[b", "x.*y", "plain"])
    assert [n for g in table.candidates("[b") for n in g] == ["a[b"]
    assert [n for g in table.candidates("*y") for n in g] == ["x.*y"]
    assert list(table.candidates("   ")) == []
