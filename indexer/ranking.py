"""How lexical search ranks chunks, apart from the SQL that finds them.

search.py (through store.py, the only module with SQL) runs FTS5 MATCH expressions and
hands back ``Candidate``s scored ``-bm25()`` with ``COLUMN_WEIGHTS``; everything else is
here and pure, so it can be measured (``bench/retrieval.py``) and tested without a
database:

- the words the user typed and their other spellings are two MATCHes, and an alternate
  counts ``ALTERNATE_WEIGHT`` of a typed word: searched together with equal votes,
  common alternates drowned the typed words (symbol recall@10 on the public set 0.725
  without alternates, 0.675 with equal votes, 0.775 at 0.3);
- module-level statement chunks (imports, constants, ``if __name__`` blocks) lose to
  definitions at equal text score, since questions are about what code does;
- every chunk carries its file's own description (module docstring, header comment) in a
  low-weight ``context`` column, so a question about what a file is for finds its
  chunks (public set 0.775 -> 0.800, MRR 0.445 -> 0.477; 20 questions of our own held
  out from tuning: recall@10 0.900 either way, MRR 0.695 -> 0.699.  Heavier, it drowns the
  chunk's own text: at 1.0, 0.775 and a held-out MRR of 0.624);
- for a question in words, tests, fixtures and vendored code (``path_role``) count
  ``ROLE_WEIGHTS`` of the code they exercise or copy: they repeat its words, and a new
  user asking what the code does wanted the code (a test file ranked first for 5 of 15
  such questions on this repository).  A symbol-like query (``looks_like_symbol``) or one
  that asks for tests keeps them at full weight;
- ties go to the shorter range, then to the path and line, so results are stable.

Tried and left out, each measured on the public set (symbol recall@10, against 0.725-
0.800 for the variants kept): per-file caps (0.525-0.70; the answer is usually in the
file that matches best), a file prior from summed chunk scores (0.55-0.70; big files
win), boosting symbol-name matches on top of the weighted symbols column (0.525-0.775,
worse MRR), boosting a symbol named exactly as a word of the query (0.75-0.775: plain
words like "quote" or "walk" name many functions), summing the scores of the pieces of
one split function (0.50-0.65), query-word coverage as a factor (0.65-0.725), bigram
phrases or NEAR as a bonus pass (0.775-0.825, held-out MRR down to 0.62), pseudo-relevance
feedback from the top chunks (0.725-0.75), docstrings and comments as a weighted column
(0.65-0.70), and class docstrings as context for their methods (0.775-0.800, no gain).

``rank_symbols`` orders definitions for the ``symbol`` search mode: exact, qualified,
prefix, word-part and fuzzy matches of a name; among equal matches, what a developer
typing the name most likely means comes first (``symbol_meaning``): code over tests, a
public name over a private one, a module-level definition over a method, then the
shortest qualified path (``json.dumps`` before ``xmlrpc.client.dumps``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal, Protocol, TypeVar

from indexer.chunking import Chunk
from indexer.query import fts_alternates, fts_query, index_terms, split_identifier

__all__ = [
    "ALTERNATE_WEIGHT",
    "COLUMN_WEIGHTS",
    "FTS_TOKENIZE",
    "Candidate",
    "Match",
    "Named",
    "combine",
    "fts_row",
    "lexical_search",
    "looks_like_symbol",
    "path_role",
    "rank_symbols",
    "symbol_meaning",
    "symbol_score",
]

# bm25() weights for the FTS5 columns, by what they hold: the chunk's symbol names (and
# their split parts), its path (and parts), its text, index_terms(text), and its file's
# ChunkedFile.summary.
COLUMN_WEIGHTS: dict[str, float] = {
    "symbols": 8.0,
    "path": 1.0,
    "text": 1.0,
    "terms": 1.0,
    "context": 0.3,
}
# The FTS5 tokenizer the weights were measured with.  Porter stemming lets "parsing"
# find `parse` on both sides; without it the public set fell from 0.725 to 0.700.
FTS_TOKENIZE = "porter unicode61 remove_diacritics 2"


def fts_row(path: str, chunk: Chunk, summary: str) -> dict[str, str]:
    """What each FTS5 column holds for one chunk, keyed (and ordered) like COLUMN_WEIGHTS.

    Identifiers are indexed whole and in parts (``getTypeHints`` also as get, type,
    hints), so a question in words finds code in any casing.
    """
    symbols = " ".join(chunk.symbols)
    return {
        "symbols": f"{symbols} {index_terms(symbols)}".strip(),
        "path": f"{path} {' '.join(split_identifier(path))}",
        "text": chunk.text,
        "terms": index_terms(chunk.text),
        "context": summary,
    }


ALTERNATE_WEIGHT = 0.3
# Score factor by chunk kind; kinds not listed count fully.
KIND_WEIGHTS: dict[str, float] = {"block": 0.7}
# Score factor by what a file is to the code base (``path_role``), for questions in words.
ROLE_WEIGHTS: dict[str, float] = {"test": 0.5, "vendored": 0.5}
# How many candidates each MATCH fetches before ranking.
DEPTH = 200

Role = Literal["code", "test", "vendored"]

# Folders that hold tests or their data, and folders of code copied from elsewhere.
_TEST_DIRS = frozenset(
    [
        "test",
        "tests",
        "testing",
        "__tests__",
        "__test__",
        "spec",
        "specs",
        "fixtures",
        "fixture",
        "testdata",
        "test_data",
        "__mocks__",
        "__snapshots__",
        "e2e",
    ]
)
_VENDOR_DIRS = frozenset(
    [
        "vendor",
        "vendored",
        "_vendor",
        "third_party",
        "thirdparty",
        "third-party",
        "node_modules",
        "site-packages",
        "bower_components",
    ]
)
# File names of tests across ecosystems: test_x.py, x_test.py, x_test.go, x.test.ts,
# x.spec.js, XTest.java, XTests.cs, x_spec.rb, conftest.py.
_TEST_FILE = re.compile(
    r"^(test_.+|.+_tests?|tests?|conftest)\.py$"
    r"|_test\.go$|\.(test|spec)\.[cm]?[jt]sx?$|_spec\.rb$"
    r"|^.+[a-z0-9](Test|Tests|Spec|IT)\.(java|kt|cs|scala|groovy|php|swift)$"
)
_MINIFIED = re.compile(r"\.min\.(js|css)$")
# Words by which a question asks for tests themselves.
_TEST_WORDS = frozenset(
    [
        "test",
        "tests",
        "testing",
        "tested",
        "unittest",
        "unittests",
        "pytest",
        "fixture",
        "fixtures",
        "spec",
        "specs",
        "mock",
        "mocks",
        "mocked",
        "conftest",
    ]
)
# One name as typed into a symbol search: `dumps`, `json.dumps`, `Popen::wait`, `getX`.
_SYMBOL_QUERY = re.compile(r"^\s*[^\W\d]\w*(?:(?:\.|::)[^\W\d]\w*)*\s*$")


@lru_cache(maxsize=65_536)
def path_role(path: str) -> Role:
    """``test`` for tests and their fixtures, ``vendored`` for copied-in third-party
    code, else ``code``; decided by the path alone."""
    parts = path.replace("\\", "/").split("/")
    folders = [part.lower() for part in parts[:-1]]
    if any(folder in _VENDOR_DIRS for folder in folders) or _MINIFIED.search(parts[-1]):
        return "vendored"
    if any(folder in _TEST_DIRS for folder in folders) or _TEST_FILE.search(parts[-1]):
        return "test"
    return "code"


def looks_like_symbol(query: str) -> bool:
    """The query is one name (possibly dotted), not a question in words."""
    return _SYMBOL_QUERY.match(query) is not None


def _demotes_tests(query: str) -> bool:
    if looks_like_symbol(query):
        return False
    words = {w for word in re.findall(r"\w+", query) for w in split_identifier(word)}
    return not words & _TEST_WORDS


@dataclass(frozen=True, slots=True)
class Candidate:
    """One chunk a MATCH found; ``key`` is its row id, ``score`` higher for better."""

    key: int
    path: str
    start_line: int
    end_line: int
    kind: str
    symbols: tuple[str, ...]
    score: float


# Runs one MATCH expression, returning at most ``depth`` candidates scored -bm25().
Match = Callable[[str, int], Sequence[Candidate]]


def combine(
    primary: Sequence[Candidate],
    alternate: Sequence[Candidate],
    *,
    limit: int,
    demote_tests: bool = False,
) -> list[Candidate]:
    """The best ``limit`` chunks from the typed words' and the alternates' candidates;
    with ``demote_tests``, tests and vendored code weigh ``ROLE_WEIGHTS``."""
    alternate_score = {c.key: c.score for c in alternate}
    merged = {c.key: c for c in alternate}
    merged.update((c.key, c) for c in primary)
    primary_score = {c.key: c.score for c in primary}
    ranked = []
    for key, candidate in merged.items():
        text_score = primary_score.get(key, 0.0)
        text_score += ALTERNATE_WEIGHT * alternate_score.get(key, 0.0)
        score = text_score * KIND_WEIGHTS.get(candidate.kind, 1.0)
        if demote_tests:
            score *= ROLE_WEIGHTS.get(path_role(candidate.path), 1.0)
        ranked.append(replace(candidate, score=score))
    ranked.sort(key=_order)
    return ranked[:limit]


def _order(c: Candidate) -> tuple[float, int, str, int]:
    return (-c.score, c.end_line - c.start_line, c.path, c.start_line)


def lexical_search(query: str, match: Match, *, limit: int, depth: int = DEPTH) -> list[Candidate]:
    """Rank chunks for ``query``; ``match`` runs the SQL.  [] when nothing is searchable."""
    expression = fts_query(query)
    if expression is None:
        return []
    primary = match(expression, depth)
    alternates = fts_alternates(query)
    alternate = match(alternates, depth) if alternates is not None else ()
    return combine(primary, alternate, limit=limit, demote_tests=_demotes_tests(query))


# --- symbol lookup ------------------------------------------------------------------------


class Named(Protocol):
    """Anything with a definition's name and container (chunking.Symbol, a store row)."""

    @property
    def name(self) -> str: ...

    @property
    def container(self) -> str | None: ...


N = TypeVar("N", bound=Named)


def symbol_score(query: str, name: str, container: str | None = None) -> float:
    """How well a definition's name answers a symbol query, 0 (not at all) to 1 (exactly).

    The tiers follow what a developer means by typing a name: the exact name, then a
    different case, then a qualified ``Class.method``, a prefix, all the query's word
    parts (``close matches`` for ``get_close_matches``), a substring, and last the
    letters in order (``gcm``), as editors' fuzzy finders do.
    """
    query = query.strip()
    if not query or not name:
        return 0.0
    if name == query:
        return 1.0
    lowered, wanted = name.lower(), query.lower()
    if lowered == wanted:
        return 0.95
    if "." in query or "::" in query:
        qualified = f"{container}.{name}" if container else name
        target = wanted.replace("::", ".")
        if qualified.lower() == target or qualified.lower().endswith("." + target):
            return 0.9
        wanted = target.rsplit(".", 1)[-1]
        if lowered == wanted:
            return 0.85
    # Length ratio: the closer in length, the likelier the one meant.
    closeness = len(wanted) / max(len(lowered), len(wanted))
    if lowered.startswith(wanted):
        return 0.7 + 0.1 * closeness
    parts = split_identifier(name)
    query_parts = split_identifier(query.rsplit(".", 1)[-1])
    if query_parts and all(part in parts for part in query_parts):
        return 0.55 + 0.1 * len(query_parts) / len(parts)
    if wanted in lowered:
        return 0.45 + 0.1 * closeness
    if _subsequence(wanted, lowered):
        return 0.2 + 0.1 * closeness
    return 0.0


def _subsequence(needle: str, haystack: str) -> bool:
    letters = iter(haystack)
    return all(char in letters for char in needle)


def _module(path: str) -> str:
    """``json/__init__.py`` -> ``json``, ``xmlrpc/client.py`` -> ``xmlrpc.client``."""
    stem = path.replace("\\", "/").rsplit(".", 1)[0] if "." in path.rsplit("/", 1)[-1] else path
    parts = [p for p in stem.split("/") if p]
    if len(parts) > 1 and parts[-1] in ("__init__", "index", "mod", "lib"):
        parts.pop()
    return ".".join(parts)


def symbol_meaning(name: str, container: str | None, path: str | None) -> tuple[int, ...]:
    """How likely a developer typing a name means this definition, among equal matches:
    lower first.  Code before tests and vendored code, a public name before a private
    one (``_x`` in the name, its container or its module), a module-level definition
    before a nested one, then fewer and shorter parts of the qualified path."""
    module = _module(path) if path else ""
    qualified = ".".join(p for p in (module, container, name) if p)
    private = any(
        part.startswith("_") and not (part.startswith("__") and part.endswith("__"))
        for part in qualified.split(".")
    )
    return (
        0 if path is None or path_role(path) == "code" else 1,
        int(private),
        0 if container is None else 1 + container.count("."),
        qualified.count("."),
        len(qualified),
    )


def rank_symbols(
    query: str,
    symbols: Iterable[N],
    *,
    limit: int,
    path: Callable[[N], str | None] = lambda symbol: None,
) -> list[tuple[N, float]]:
    """The definitions that best answer a symbol query, best first, with their scores;
    ``path`` gives a definition's file, which breaks ties (``symbol_meaning``)."""
    scored = [(symbol, symbol_score(query, symbol.name, symbol.container)) for symbol in symbols]
    matched = [(symbol, score) for symbol, score in scored if score > 0]
    matched.sort(
        key=lambda pair: (
            -pair[1],
            symbol_meaning(pair[0].name, pair[0].container, path(pair[0])),
            pair[0].name,
        )
    )
    return matched[:limit]
