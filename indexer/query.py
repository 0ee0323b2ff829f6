"""Words for the full-text index, on both sides: what a chunk is indexed under and what a
query asks for.

Code and questions name the same things differently: ``getTypeHints``, ``type_hints``,
"type hints".  FTS5's unicode61 tokenizer splits at ``_`` but not inside ``camelCase``,
so ``index_terms`` adds the parts of every compound identifier, and ``fts_query`` splits
the query the same way, drops the words of the question that say nothing about code, and
quotes every term so no input can be an FTS5 syntax error.  ``fts_alternates`` asks for
the other spellings programmers use for the query's words (``db`` for "database"); they
are searched apart and count for less (see ``ranking.py``), because an equal vote let
common alternates drown the words the user typed.  Stemming is left to the tokenizer
(``porter``), which treats both sides alike.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

__all__ = [
    "alternates",
    "fts_alternates",
    "fts_query",
    "index_terms",
    "names_code",
    "query_terms",
    "split_identifier",
]

# Words in any script (\w is Unicode-aware), as FTS5's unicode61 tokenizer sees them.
_IDENTIFIER = re.compile(r"[^\W\d]\w*|\d+")
# Boundaries inside one word: `parseHTTPResponse2` -> parse, HTTP, Response, 2.
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

# A pasted page of text is not a question: each OR term costs a scan of its postings, so
# latency stays bounded (400 terms took 200 ms on the stdlib corpus).
MAX_TERMS = 32

# Words of a question that no code is about.  Plain English function words only.
_STOP_WORDS = """
    a about above after again all also an and any are as at be because been before
    being between both but by can could did do does doing done down during each either
    else ever every few for from further had has have having he her here hers
    how i if in into is it its itself just let lets may me might more most much must my
    need needs no nor not now of off on once one only or other our out over own per
    same she should so some such than that the their them then there these they this
    those through thus to too under until up upon us use used uses using very via want
    was way we were what when where whether which while who whom whose why will with
    within without would yet you your
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())

# Spellings programmers use for the same thing.  Each group is symmetric: a query with
# any of its words also asks for the others.  General programming vocabulary only.
_SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("config", "configuration", "cfg", "conf", "settings"),
    ("dir", "directory", "folder"),
    ("args", "arguments", "argv"),
    ("arg", "argument"),
    ("param", "parameter", "params", "parameters"),
    ("env", "environment"),
    ("auth", "authentication", "authenticate"),
    ("init", "initialize", "initialise"),
    ("msg", "message"),
    ("err", "error"),
    ("exc", "exception"),
    ("str", "string"),
    ("int", "integer"),
    ("num", "number"),
    ("len", "length"),
    ("tmp", "temp", "temporary"),
    ("db", "database"),
    ("conn", "connection"),
    ("req", "request"),
    ("resp", "response"),
    ("ctx", "context"),
    ("func", "function", "fn"),
    ("cb", "callback"),
    ("obj", "object"),
    ("attr", "attribute", "attrs", "attributes"),
    ("val", "value"),
    ("var", "variable"),
    ("buf", "buffer"),
    ("addr", "address"),
    ("src", "source"),
    ("dst", "dest", "destination"),
    ("prev", "previous"),
    ("cur", "current"),
    ("del", "delete", "remove", "rm"),
    ("cmp", "compare", "comparison"),
    ("gen", "generate", "generator"),
    ("iter", "iterate", "iterator"),
    ("seq", "sequence"),
    ("idx", "index"),
    ("pos", "position", "offset"),
    ("char", "character", "chr"),
    ("sep", "separator", "delimiter", "delim"),
    ("fmt", "format"),
    ("repr", "representation"),
    ("doc", "docs", "documentation", "docstring"),
    ("spec", "specification"),
    ("lib", "library"),
    ("pkg", "package"),
    ("mod", "module"),
    ("util", "utility", "utils", "helper"),
    ("info", "information"),
    ("proc", "process"),
    ("alloc", "allocate"),
    ("mem", "memory"),
    ("ptr", "pointer"),
    ("ref", "reference"),
    ("ext", "extension"),
    ("ver", "version"),
    ("tz", "timezone"),
    ("sock", "socket"),
    ("kw", "keyword"),
    ("kwargs", "keyword"),
    ("opt", "option", "opts", "options"),
    ("cmd", "command"),
    ("exe", "executable"),
    ("app", "application"),
    ("dup", "duplicate"),
    ("tmpl", "template"),
    ("regex", "regexp", "re", "pattern"),
    ("async", "asynchronous"),
    ("sync", "synchronous", "synchronize"),
    ("max", "maximum"),
    ("min", "minimum"),
    ("avg", "average", "mean"),
    ("calc", "calculate", "compute"),
    ("impl", "implementation"),
    ("fs", "filesystem"),
    ("url", "uri", "link"),
    ("ns", "namespace"),
    ("dict", "mapping", "dictionary"),
    ("list", "array"),
    ("hash", "digest"),
    ("encrypt", "cipher"),
    ("decrypt", "decipher"),
    ("login", "signin", "logon"),
    ("logout", "signout"),
    ("utf8", "utf"),
)


def _synonym_index(groups: Iterable[tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for group in groups:
        for word in group:
            others = index.setdefault(word, [])
            others.extend(w for w in group if w != word and w not in others)
    return {word: tuple(others) for word, others in index.items()}


SYNONYMS = _synonym_index(_SYNONYM_GROUPS)


def split_identifier(word: str) -> list[str]:
    """Lowercased parts of ``word``: ``getHTTPResponse_code`` -> get, http, response, code.

    Case boundaries are only looked for in ASCII; a piece in another script (``größe``,
    ``配置``) is one part, whole, rather than losing its letters.
    """
    parts: list[str] = []
    for piece in word.split("_"):
        if piece.isascii():
            parts.extend(part.lower() for part in _PARTS.findall(piece))
        elif piece:
            parts.append(piece.lower())
    return parts


# Parts of identifiers seen so far: code repeats its names, and splitting each of the
# 1.4 million identifiers of the stdlib corpus afresh took longer than parsing it.
_PARTS_SEEN: dict[str, tuple[str, ...]] = {}
_PARTS_SEEN_MAX = 200_000


def _parts_of(word: str) -> tuple[str, ...]:
    parts = _PARTS_SEEN.get(word)
    if parts is None:
        parts = tuple(split_identifier(word))
        if len(_PARTS_SEEN) < _PARTS_SEEN_MAX:
            _PARTS_SEEN[word] = parts
    return parts


def index_terms(text: str) -> str:
    """Extra tokens to index with ``text``: the parts of its compound identifiers.

    Parts are repeated as often as the identifiers occur, so term frequencies stay
    honest; plain words are already tokens of ``text`` and are not repeated.
    """
    out: list[str] = []
    # Each distinct word once, its parts repeated as often as it occurs: code repeats its
    # names, and this halved the cost on a 265 MB corpus.  Only the order of the tokens
    # differs from one word at a time, and no query asks for order.
    for word, count in Counter(_IDENTIFIER.findall(text)).items():
        parts = _parts_of(word)
        if len(parts) > 1:
            out.extend(parts * count)
    return " ".join(out)


def query_terms(query: str) -> list[str]:
    """The searchable words of a query, in order, without repeats or stop words.

    A compound identifier counts as its parts and, when it is one token to the
    tokenizer (``camelCase``, ``mkdir``), as itself too.
    """
    terms: list[str] = []
    for match in _IDENTIFIER.finditer(query):
        word = match.group()
        parts = split_identifier(word)
        candidates = parts if "_" in word else [word.lower(), *parts]
        for term in candidates:
            if term in terms or term in STOP_WORDS:
                continue
            if len(term) == 1 and term.isascii() and term.isalpha():
                continue  # `x`, `i`: in every chunk; one CJK character is a word
            terms.append(term)
            if len(terms) == MAX_TERMS:
                return terms
    return terms


# A word written as code: snake_case, camelCase, a dotted name (`os.path`, not "e.g."),
# a call `f()`, a dunder.
_CODE_WORD = re.compile(r"[^\W_]_[^\W_]|[a-z][A-Z]|[A-Za-z_]\w+\.[A-Za-z_]|\w\(\)|__\w+__")


def names_code(query: str) -> bool:
    """The query names code as it is written (``exist_ok``, ``getTypeHints``, ``asyncio.run``,
    ``__new__``), not only in words."""
    return any(_CODE_WORD.search(word) for word in query.split())


def alternates(terms: Iterable[str]) -> list[str]:
    """Other spellings of ``terms``, without the terms themselves."""
    given = list(dict.fromkeys(terms))
    out: list[str] = []
    for term in given:
        for other in SYNONYMS.get(term, ()):
            if other not in given and other not in out:
                out.append(other)
    return out


def _match(terms: Sequence[str]) -> str | None:
    return " OR ".join(f'"{term}"' for term in terms) if terms else None


def fts_query(query: str) -> str | None:
    """An FTS5 MATCH expression for what the user typed, or None if nothing is searchable.

    Every term is a quoted string, so quotes, parentheses, ``NEAR``, ``*``, ``:`` or
    ``-`` in the input are just characters; terms are ORed and BM25 ranks chunks with
    more (and rarer) of them first.
    """
    return _match(query_terms(query))


def fts_alternates(query: str) -> str | None:
    """A MATCH expression for the other spellings of the query's words, or None."""
    return _match(alternates(query_terms(query)))
