"""Query and index words: identifiers split alike on both sides, and no input breaks FTS5."""

from __future__ import annotations

import sqlite3

import pytest

from indexer.query import (
    MAX_TERMS,
    alternates,
    fts_alternates,
    fts_query,
    index_terms,
    query_terms,
    split_identifier,
)


@pytest.mark.parametrize(
    ("word", "parts"),
    [
        ("getTypeHints", ["get", "type", "hints"]),
        ("parseHTTPResponse2", ["parse", "http", "response", "2"]),
        ("_fastcopy_sendfile", ["fastcopy", "sendfile"]),
        ("XMLParser", ["xml", "parser"]),
        ("CONSTANT_NAME", ["constant", "name"]),
        ("plain", ["plain"]),
        ("größeBerechnen", ["größeberechnen"]),
        ("max_größe", ["max", "größe"]),
    ],
)
def test_split_identifier(word: str, parts: list[str]) -> None:
    assert split_identifier(word) == parts


def test_index_terms_adds_parts_of_compound_identifiers_only() -> None:
    text = "def getTypeHints(obj, include_extras=False):\n    return obj"
    assert index_terms(text) == "get type hints include extras"


def test_index_terms_keeps_repeats_for_term_frequency() -> None:
    assert index_terms("readLine(); readLine()") == "read line read line"


def test_query_terms_drop_question_words_and_split_identifiers() -> None:
    terms = query_terms("where does `os.makedirs` handle exist_ok in getTypeHints?")
    assert terms == [
        "os",
        "makedirs",
        "handle",
        "exist",
        "ok",
        "gettypehints",
        "get",
        "type",
        "hints",
    ]


def test_alternates_are_other_spellings_only() -> None:
    found = alternates(["database", "config", "db"])
    assert {"configuration", "cfg"} <= set(found)
    assert not {"database", "config", "db"} & set(found)


def test_typed_words_and_alternates_are_separate_expressions() -> None:
    assert fts_query("open the database") == '"open" OR "database"'
    assert fts_alternates("open the database") == '"db"'
    assert fts_alternates("open it") is None


@pytest.mark.parametrize(
    "query",
    [
        'unbalanced "quote',
        "NEAR(a b) OR AND NOT",
        "col:value -excluded +required ^start",
        "prefix* (paren) {brace} [bracket]",
        "emoji 🎉 and ünïcödé words",
        "it's a \"quoted\" 'word'",
        "x" * 5000,
    ],
)
def test_fts_query_is_never_a_syntax_error(query: str) -> None:
    expression = fts_query(query)
    assert expression is not None
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize='porter unicode61')")
    db.execute("INSERT INTO t VALUES ('prefix paren value quote words')")
    db.execute("SELECT rowid FROM t WHERE t MATCH ?", (expression,)).fetchall()


@pytest.mark.parametrize("query", ["", "   ", "?!?", "the of and", "- * ( )"])
def test_fts_query_is_none_when_nothing_is_searchable(query: str) -> None:
    assert fts_query(query) is None


def test_fts_query_finds_camel_case_code_from_plain_words() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(body, terms, tokenize='porter unicode61')")
    code = "function getTypeHints(obj) { return obj.__annotations__; }"
    db.execute("INSERT INTO t VALUES (?, ?)", (code, index_terms(code)))
    db.execute("INSERT INTO t VALUES ('unrelated text about hinting nothing', '')")
    expression = fts_query("how do I get the type hints of an object")
    assert expression is not None
    rows = db.execute(
        "SELECT body FROM t WHERE t MATCH ? ORDER BY bm25(t)", (expression,)
    ).fetchall()
    assert rows[0][0] == code


def test_a_pasted_page_is_cut_to_the_first_terms() -> None:
    page = " ".join(f"word{i}" for i in range(500))
    terms = query_terms(page)
    assert len(terms) == MAX_TERMS
    assert terms[0] == "word0"


def test_words_in_any_script_are_searchable() -> None:
    assert query_terms("Größe der Datei") == ["größe", "der", "datei"]
    assert query_terms("配置 文件") == ["配置", "文件"]
    assert query_terms("表") == ["表"]
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize='porter unicode61')")
    db.execute("INSERT INTO t VALUES ('def größe_berechnen(): pass')")
    expression = fts_query("größe")
    assert expression is not None
    assert db.execute("SELECT count(*) FROM t WHERE t MATCH ?", (expression,)).fetchone() == (1,)
