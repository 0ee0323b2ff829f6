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
  chunks (public set 0.775 -> 0.800, MRR 0.445 -> 0.477);
- a chunk's comments and docstrings count again in a ``doc`` column: a question in words
  is asked in the words of the prose, and code that merely names the same identifiers
  many times should not outrank the function that says what it does;
- a definition is expanded with what its callers in the same file say about themselves
  (``callers``, ``fts_rows``): private helpers, which answer many questions, carry no
  docstring but are called by a documented public function.  With ``doc`` (symbol
  recall@10 / MRR@10, ``bench/retrieval.py``, public 40 and 88 held-out questions):
  0.800 / 0.477 and 0.750 / 0.476 before, 0.875 / 0.484 and 0.773 / 0.496 after;
  descriptive 0.625 -> 0.688 and 0.455 -> 0.485, crosscutting 0.750 -> 1.000 public.
  Both hold on a plateau (doc 0.5-1.5, callers 0.3-0.6: 0.850-0.875 and 0.750-0.807);
  callers' names alone, without their prose, did not help (0.775);
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
feedback from the top chunks (0.725-0.75), and class docstrings as context for their
methods (0.775-0.800, no gain).  Measured on both sets against the doc column alone
(0.825 public, 0.784 held-out), also left out: expanding each query word with the
identifier parts that co-occur with it in the corpus's docstrings (normalised PMI, top
3-10 parts at weights 0.2-0.5: 0.750-0.825 and 0.739-0.784; the associations a 12,000-
chunk corpus yields are mostly noise: "folder" -> mh, maildir; "shell" -> squeezer),
splitting lowercase compounds into words of the corpus's vocabulary (``rmtree`` -> rm
tree, ``getuser`` -> get user: 0.800 and 0.784, as many questions lost as gained),
re-scoring the top 200 as BM25F with per-field length normalisation (0.800-0.825), and
boosting the share of the query's weight found in a chunk's own name, its prose, or the
best other chunk of its file (each within one question of the plain ranking).

``rank_symbols`` orders definitions for the ``symbol`` search mode: exact, qualified,
prefix, word-part and fuzzy matches of a name; among equal matches, what a developer
typing the name most likely means comes first (``symbol_meaning``): code over tests, a
public name over a private one, a module-level definition over a method, then the
shortest qualified path (``json.dumps`` before ``xmlrpc.client.dumps``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal, Protocol, TypeVar

from indexer.chunking import Chunk, ChunkedFile
from indexer.languages import VALUE_KINDS
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
    "fts_rows",
    "lexical_search",
    "looks_like_symbol",
    "path_role",
    "rank_symbols",
    "symbol_meaning",
    "symbol_score",
]

# bm25() weights for the FTS5 columns, by what they hold: the chunk's symbol names (and
# their split parts), its path (and parts), its text, index_terms(text), its file's
# ChunkedFile.summary, the chunk's comments and docstrings again (``doc``), and what the
# code of its own file that calls it says about itself (``callers``, see ``fts_rows``).
COLUMN_WEIGHTS: dict[str, float] = {
    "symbols": 8.0,
    "path": 1.0,
    "text": 1.0,
    "terms": 1.0,
    "context": 0.3,
    "doc": 1.0,
    "callers": 0.4,
}
# The FTS5 tokenizer the weights were measured with.  Porter stemming lets "parsing"
# find `parse` on both sides; without it the public set fell from 0.725 to 0.700.
FTS_TOKENIZE = "porter unicode61 remove_diacritics 2"


def fts_row(
    path: str, chunk: Chunk, summary: str, *, doc: str = "", callers: str = ""
) -> dict[str, str]:
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
        "doc": doc,
        "callers": callers,
    }


# At most this many callers describe a definition, each with this much of its prose.
MAX_CALLERS = 5
CALLER_PROSE_CHARS = 600
# `name(` or `x.name(`: a call, or a definition (which the chunk defining it then is).
_CALL = re.compile(r"\b([^\W\d]\w*)\s*\(")
_METHOD_CALL = re.compile(r"\.[ \t]*([^\W\d]\w*)\s*\(")


def fts_rows(path: str, chunked: ChunkedFile) -> list[dict[str, str]]:
    """``fts_row`` of every chunk of a file, with its ``doc`` and ``callers`` columns.

    ``doc`` is the chunk's comments and docstrings (``ChunkedFile.prose``), so words that
    describe the code count apart from (and on top of) the code itself.

    ``callers`` expands a definition with what its callers in the same file say: their
    names and prose.  A private helper is usually described by the public function that
    calls it (``_cancel_all_tasks`` by ``Runner.close``, "close the event loop";
    ``_maybe_compile`` by ``compile_command``, "determine whether it is incomplete"), so
    a question in the words of the caller finds the helper, as anchor text finds a page.
    Only the file's own calls are used: they are the ones that surely mean this
    definition, and a file's rows then depend on that file alone.
    """
    chunks = chunked.chunks
    docs = _prose_by_chunk(chunked)
    # name -> chunks defining it, methods apart: `x.name(` calls a method, `name(` a
    # function, unless the file has only the other kind of that name.
    defined: dict[str, tuple[list[int], list[int]]] = {}
    for symbol in chunked.symbols:
        name = symbol.name
        if symbol.kind in VALUE_KINDS or len(name) < 3 or name.startswith("__"):
            continue
        index = _chunk_of(chunks, symbol.start_line)
        if index is not None:
            kinds = defined.setdefault(name, ([], []))
            kinds[symbol.kind == "method"].append(index)
    callers: list[list[int]] = [[] for _ in chunks]
    if defined:
        for index, chunk in enumerate(chunks):
            called = Counter(_CALL.findall(chunk.text))
            names = called.keys() & defined.keys()
            if not names:
                continue
            on_objects = Counter(_METHOD_CALL.findall(chunk.text))
            for name in sorted(names):
                functions, methods = defined[name]
                if index in functions or index in methods:
                    continue  # `name(` in its own definition, or a namesake's
                targets: list[int] = []
                if on_objects[name]:
                    targets += methods or functions
                if called[name] > on_objects[name]:
                    targets += functions or methods
                for target in dict.fromkeys(targets):
                    calls = callers[target]
                    if index not in calls and len(calls) < MAX_CALLERS:
                        calls.append(index)
    return [
        fts_row(
            path,
            chunk,
            chunked.summary,
            doc=docs[index],
            callers=" ".join(_described(chunks[i], docs[i]) for i in callers[index]),
        )
        for index, chunk in enumerate(chunks)
    ]


def _prose_by_chunk(chunked: ChunkedFile) -> list[str]:
    """Each chunk's comments and docstrings (by the line they start on), joined."""
    pieces: list[list[str]] = [[] for _ in chunked.chunks]
    for prose in chunked.prose:
        index = _chunk_of(chunked.chunks, prose.line)
        if index is not None:
            pieces[index].append(prose.text)
    return [" ".join(p) for p in pieces]


def _chunk_of(chunks: Sequence[Chunk], line: int) -> int | None:
    """Index of the chunk holding ``line`` (chunks are in line order and do not nest)."""
    lo, hi = 0, len(chunks)
    while lo < hi:
        mid = (lo + hi) // 2
        if chunks[mid].end_line < line:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < len(chunks) and chunks[lo].start_line <= line else None


def _described(chunk: Chunk, doc: str) -> str:
    name = chunk.symbols[0] if chunk.symbols else ""
    parts = " ".join(split_identifier(name)) if name else ""
    return " ".join(p for p in (name, parts, doc[:CALLER_PROSE_CHARS]) if p)


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
