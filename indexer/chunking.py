"""Cut a file into chunks that follow the code, and list the definitions it holds.

A chunk is the unit of search: the index stores its text, words and vector, and a result
never spans more than one.  So a chunk should be one thing a developer would point at: a
function, a method, a class header, or a run of small neighbours (imports, constants, tiny
helpers) that make no sense alone.  The rules:

- each top-level node is a unit; comments go with the unit that follows;
- a unit longer than ``max_lines`` is split on its inner boundaries (a class on its
  methods, a function on its statements), its header kept with what follows it, and a
  node with nothing inside to split on falls back to line windows;
- small neighbours merge: plain statements up to ``max_lines``, definitions only while
  the run stays short, so a search hit on a small function still points at a small range;
- Markdown and reStructuredText are cut along their headings, other text with no
  grammar (or whose grammar fails to load) into overlapping line windows.

Definitions (functions, methods, types, and top-level constants) are found by one query
per language (see ``languages.py``); the chunker resolves their names, containers and
kinds, and gives each chunk the qualified names of the definitions that start in it,
then of the one it is a part of (a method chunk of a split class: ``Popen.wait``, then
``Popen``), so the first name is what a result shows.  A second query finds what the code
says about itself in words (comments, and Python's docstrings): ``ChunkedFile.prose``,
which the index weighs apart from the code (see ``ranking.py``).

Everything here is pure and thread-safe: parsers and queries are cached per thread, and
tree_sitter is imported on first use, never when the daemon starts.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import re
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from indexer.languages import (
    GRAMMARS,
    TYPE_KINDS,
    VALUE_KINDS,
    language_for_path,
    language_for_shebang,
)

if TYPE_CHECKING:
    from tree_sitter import Language, Node, Parser, Point, Query

__all__ = ["Chunk", "ChunkedFile", "Prose", "Symbol", "chunk_file", "language_for_path"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Symbol:
    """A definition; lines are 1-based and inclusive, ``container`` its dotted parents.

    Kinds are those of ``Chunk`` plus the values: ``constant`` (an UPPER_CASE top-level
    binding), ``variable`` and ``macro`` (C and C++ ``#define``).
    """

    name: str
    kind: str
    container: str | None
    start_line: int
    end_line: int

    @property
    def qualified_name(self) -> str:
        return f"{self.container}.{self.name}" if self.container else self.name


@dataclass(frozen=True, slots=True)
class Chunk:
    """Lines ``start_line..end_line`` (1-based, inclusive) of a file.

    ``kind`` is the kind of its first definition (``function``, ``method``, ``class``,
    ``struct``, ``interface``, ``trait``, ``impl``, ``enum``, ``module``, ``namespace``,
    ``type``, ``property``, Swift's ``extension``), ``block`` for top-level statements,
    ``section`` for a part of a Markdown or reStructuredText document, ``text`` for line
    windows.
    ``content_hash`` is the sha256 of ``text`` alone, so the same text moved to another
    file or line keeps its hash, and its cached vector.
    """

    start_line: int
    end_line: int
    text: str
    kind: str
    symbols: tuple[str, ...]
    content_hash: str


@dataclass(frozen=True, slots=True)
class Prose:
    """A comment or a docstring starting on ``line`` (1-based), without its markers."""

    line: int
    text: str


@dataclass(frozen=True, slots=True)
class ChunkedFile:
    """A file's chunks and definitions.

    ``summary`` is what the file says about itself: a module docstring or the comment
    block that opens it (licence headers skipped).  Indexed as every chunk's context, at
    low weight, it tells BM25 which file a question is about.  ``prose`` holds every
    comment and docstring of the file in order, for files with a grammar.
    """

    language: str | None
    chunks: tuple[Chunk, ...]
    symbols: tuple[Symbol, ...]
    summary: str = ""
    prose: tuple[Prose, ...] = ()


# Definitions merge with neighbours only while the run stays under this fraction of
# ``max_lines`` (20 lines by default), so a hit on a small function does not return a
# range the size of the whole file.
_DEFINITION_RUN = 4
# How much consecutive line windows share, as a fraction of the window.
_OVERLAP = 8
# Lines of signature, decorators or docstring a node may have before its body.
_HEADER_LINES = 12
_MAX_NAME = 200
# A run of plain statements this short (in lines) never stands alone: it leads into the
# definition after it, or else ends the chunk before it.
_STRAY_LINES = 3
# How deep big nodes may nest before the rest is cut into windows (each level is a
# recursive call; Python allows about 1000).
_MAX_DEPTH = 64


def chunk_file(path: str, text: str, *, max_lines: int = 80) -> ChunkedFile:
    """Chunks and symbols of one file.  Never raises on broken code or odd text."""
    if max_lines < 1:
        raise ValueError(f"max_lines must be at least 1, not {max_lines}")
    language = language_for_path(path)
    if language is None:
        language = language_for_shebang(text[:200].partition("\n")[0])
    if not text.strip() or "\x00" in text:
        return ChunkedFile(language, (), ())
    # Lines as tree-sitter and editors count them: only "\n" ends one (str.splitlines
    # would also split at form feeds and other separators, shifting every line number).
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if lines and not lines[-1]:
        lines.pop()
    if language in GRAMMARS and _grammar_loads(language):
        try:
            return _Chunker(language, text, lines, max_lines).run()
        except Exception:
            # One odd file must not stop indexing the rest: windows still find it.
            log.exception("could not chunk %s as %s; using line windows", path, language)
            chunks = _windows(lines, 1, len(lines), max_lines, "text", ())
            return ChunkedFile(language, tuple(chunks), ())
    if language in _SECTIONED:
        return ChunkedFile(language, tuple(_sections(lines, max_lines)), ())
    chunks = _windows(lines, 1, len(lines), max_lines, "text", ())
    return ChunkedFile(language, tuple(chunks), ())


# --- prose: sections under headings ------------------------------------------------------

_SECTIONED = frozenset({"markdown", "rst"})
_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+<>])\1{2,}\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def _headings(lines: Sequence[str]) -> list[tuple[int, str]]:
    """(1-based line, title) of each Markdown or reStructuredText heading."""
    found: list[tuple[int, str]] = []
    fenced = False
    for number, line in enumerate(lines, 1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        atx = _ATX_HEADING.match(line)
        if atx:
            found.append((number, atx.group(2)))
        elif (
            number < len(lines)
            and line.strip()
            and not _UNDERLINE.match(line)
            and _UNDERLINE.match(lines[number])
            and len(lines[number].strip()) >= len(line.strip())
        ):
            found.append((number, line.strip()))
    return found


def _sections(lines: Sequence[str], max_lines: int) -> list[Chunk]:
    """Docs chunk best along their headings: a section, or a few short ones together,
    named by the first heading; a section too long for a chunk becomes windows."""
    headings = _headings(lines)
    bounds = [(1, "")] if not headings or headings[0][0] > 1 else []
    bounds += headings
    chunks: list[Chunk] = []
    run_start, run_title, run_end = 0, "", 0
    merge_limit = max(1, max_lines // _DEFINITION_RUN)

    def flush() -> None:
        if run_start:
            first, last = _trim(lines, run_start, run_end)
            if first <= last:
                names = (run_title,) if run_title else ()
                chunks.append(_make_chunk(lines, first, last, "section", names))

    for index, (start, title) in enumerate(bounds):
        end = bounds[index + 1][0] - 1 if index + 1 < len(bounds) else len(lines)
        if end - start + 1 > max_lines and _trim(lines, start, end)[1] - start + 1 > max_lines:
            flush()
            run_start = 0
            names = (title,) if title else ()
            chunks.extend(_windows(lines, start, end, max_lines, "section", names))
            continue
        if run_start and end - run_start + 1 <= merge_limit:
            run_end = end
            continue
        flush()
        run_start, run_title, run_end = start, title, end
    flush()
    return chunks


# --- tree-sitter, loaded lazily and cached per thread ------------------------------------


@cache
def _language(name: str) -> Language:
    from tree_sitter import Language

    grammar = GRAMMARS[name]
    module = importlib.import_module(grammar.module)
    return Language(getattr(module, grammar.factory)())


_local = threading.local()
_broken: dict[str, str] = {}


def _grammar_loads(name: str) -> bool:
    """Whether the grammar and its query load; a wheel missing, built for another ABI or
    renaming a node type costs that language its structure, not the index its files."""
    if name in _broken:
        return False
    try:
        _parser_and_query(name)
    except (ImportError, ValueError, OSError) as exc:
        _broken[name] = str(exc)
        log.warning("no %s grammar (%s): chunking %s files as line windows", name, exc, name)
        return False
    return True


def _parser_and_query(name: str) -> tuple[Parser, Query]:
    """Parsers hold parse state, so each thread gets its own; queries go with them.

    One query finds both the definitions and the prose (captured as ``@prose``): each
    query is a walk of the whole tree, and one walk costs about half of two."""
    cached: dict[str, tuple[Parser, Query]] = _local.__dict__.setdefault("tools", {})
    if name not in cached:
        from tree_sitter import Parser, Query

        language = _language(name)
        kinds = [kind for kind in _COMMENT_TYPES if language.id_for_node_kind(kind, True)]
        prose = "".join(f"({kind}) @{_PROSE}\n" for kind in kinds) + _DOCSTRINGS.get(name, "")
        source = GRAMMARS[name].definitions + "\n" + prose
        cached[name] = (Parser(language), Query(language, source))
    return cached[name]


# The capture name of comments and docstrings in the query (no symbol kind is called so).
_PROSE = "prose"
# Node types of comments across the grammars (Rust's doc_comment sits inside a
# line_comment, so it is not one of them).
_COMMENT_TYPES = ("comment", "line_comment", "block_comment", "multiline_comment")
# A docstring: the first statement of a module, class or function body being a string.
_DOCSTRINGS = {
    "python": f"(module . (expression_statement (string) @{_PROSE}))\n"
    f"(block . (expression_statement (string) @{_PROSE}))\n"
}


# --- the chunker ----------------------------------------------------------------------

# tree-sitter holds the GIL while it parses or queries (250 ms for a 2 MB file), which
# would stall every other thread of the process, the daemon's event loop included. Fed
# through a Python callback a slice at a time, and queried a byte range at a time, it runs
# a little Python between slices, where the interpreter hands the GIL to a waiting thread
# (files under _QUERY_SLICE, parsed in a few ms, are handed over whole).
_SLICE = 16 * 1024
_QUERY_SLICE = 256 * 1024


def _reader(data: bytes) -> Callable[[int, Point], bytes]:
    def read(offset: int, _point: Point) -> bytes:
        return data[offset : offset + _SLICE]

    return read


@dataclass(slots=True)
class _Unit:
    """Lines ``start..end`` to place in chunks; ``node`` is what can split them further."""

    start: int
    end: int
    node: Node | None
    definition: Symbol | None


class _Chunker:
    def __init__(self, language: str, text: str, lines: list[str], max_lines: int) -> None:
        self.language = language
        self.lines = lines
        self.max_lines = max_lines
        self.definition_run = max(1, max_lines // _DEFINITION_RUN)
        parser, query = _parser_and_query(language)
        data = text.encode("utf-8", "surrogatepass")
        self.tree = parser.parse(_reader(data) if len(data) > _QUERY_SLICE else data)
        self.query = query
        self.symbols: list[Symbol] = []
        self.starts: list[int] = []
        self.definitions: list[Symbol] = []
        self.definition_starts: list[int] = []
        self.prose_nodes: list[Node] = []
        self.depth = 0

    def run(self) -> ChunkedFile:
        self._find_symbols()
        root = self.tree.root_node
        chunks = self._split(1, len(self.lines), root, None)
        return ChunkedFile(
            self.language,
            tuple(chunks),
            tuple(self.symbols),
            _summary(root.named_children),
            self._prose(),
        )

    def _prose(self) -> tuple[Prose, ...]:
        nodes = sorted(self.prose_nodes, key=lambda n: (n.start_byte, -n.end_byte))
        out: list[Prose] = []
        end = -1
        for node in nodes:
            if node.start_byte < end:
                continue  # inside one already taken
            end = node.end_byte
            raw = _text(node)
            if "comment" in node.type:
                text = _COMMENT_END.sub("", _COMMENT_MARKS.sub("", raw))
            else:
                text = _STRING_QUOTES.sub("", raw.strip())
            text = " ".join(text.split())
            if text:
                out.append(Prose(node.start_point[0] + 1, text))
        return tuple(out)

    # symbols

    def _find_symbols(self) -> None:
        from tree_sitter import QueryCursor

        found: list[tuple[Node, str]] = []
        # A slice of the file at a time (see _SLICE); a match across slices comes once.
        root = self.tree.root_node
        seen: set[tuple[int, str]] = set()
        self.prose_nodes = []
        for start in range(0, max(root.end_byte, 1), _QUERY_SLICE):
            cursor = QueryCursor(self.query)
            cursor.set_byte_range(start, start + _QUERY_SLICE)
            for kind, nodes in cursor.captures(root).items():
                for node in nodes:
                    if (node.id, kind) in seen:
                        continue
                    seen.add((node.id, kind))
                    if kind == _PROSE:
                        self.prose_nodes.append(node)
                    else:
                        found.append((node, kind))
        # Parents before children: by start, then the longer first; of two patterns on
        # one node (`const f = () => ...` is a function and a variable), code wins.
        found.sort(key=lambda pair: (pair[0].start_byte, -pair[0].end_byte, pair[1] in VALUE_KINDS))
        stack: list[tuple[Node, Symbol]] = []
        for node, kind in found:
            while stack and stack[-1][0].end_byte <= node.start_byte:
                stack.pop()
            if stack and stack[-1][0].id == node.id:
                continue  # captured by two patterns
            parent = stack[-1][1] if stack else None
            named = self._name(node, parent)
            if named is None:
                continue
            name, container = named
            kind = self._kind(node, kind, parent)
            if kind == "variable" and name.isupper():
                kind = "constant"
            symbol = Symbol(
                name=name,
                kind=kind,
                container=container,
                start_line=node.start_point[0] + 1,
                end_line=_end_line(node),
            )
            self.symbols.append(symbol)
            stack.append((node, symbol))
        self.symbols.sort(key=lambda s: (s.start_line, -s.end_line))
        self.starts = [s.start_line for s in self.symbols]
        self.definitions = [s for s in self.symbols if s.kind not in VALUE_KINDS]
        self.definition_starts = [s.start_line for s in self.definitions]

    def _name(self, node: Node, parent: Symbol | None) -> tuple[str, str | None] | None:
        container = parent.qualified_name if parent else None
        name_node = node.child_by_field_name("name")
        if name_node is None:
            name_node = _declarator_name(node)
        if name_node is None and node.type == "impl_item":
            name_node = node.child_by_field_name("type")
        if name_node is None:
            # JS class fields and object keys: `handle = () => ...`, `{ post: (y) => y }`
            name_node = node.child_by_field_name("property") or node.child_by_field_name("key")
        if name_node is None and node.type == "assignment_expression":
            # CommonJS: `module.exports.run = function () {}`
            left = node.child_by_field_name("left")
            name_node = left.child_by_field_name("property") if left is not None else None
        if name_node is None and node.named_child_count:
            name_node = _assigned_name(node)
        if name_node is None:
            return ("init", container) if node.type == "init_declaration" else None
        name = " ".join(_text(name_node).split())
        if node.type == "impl_item" or "<" in name:
            name = name.split("<", 1)[0].strip()
        if node.type == "method_declaration" and self.language == "go":
            receiver = _go_receiver(node)
            if receiver:
                container = receiver
        if "::" in name:  # C++ out-of-line members: `int Foo::bar() {...}`
            scope, _, name = name.rpartition("::")
            container = scope or container
        if not name or len(name) > _MAX_NAME:
            return None
        return name, container

    def _kind(self, node: Node, captured: str, parent: Symbol | None) -> str:
        if captured == "function" and parent is not None and parent.kind in TYPE_KINDS:
            return "method"
        if node.type == "method_declaration" and self.language == "go":
            return "method"
        if self.language == "swift" and node.type == "class_declaration":
            keyword = node.child_by_field_name("declaration_kind")
            if keyword is not None and _text(keyword) in TYPE_KINDS:
                return _text(keyword)
        return captured

    def _definition_of(self, node: Node) -> Symbol | None:
        """The definition a unit stands for, looking through wrappers.

        Decorators, ``export``, ``template <...>`` and Go's ``type (...)`` wrap the node the
        query captured; the wrapper is what sits among its siblings.  So: the outermost
        definition starting inside the unit, if it makes up most of it.
        """
        first = node.start_point[0] + 1
        last = _end_line(node)
        index = bisect_left(self.definition_starts, first)
        if index == len(self.definitions):
            return None
        symbol = self.definitions[index]
        if symbol.start_line > last:
            return None
        if (symbol.end_line - symbol.start_line + 1) * 2 < last - first + 1:
            return None
        return symbol

    # chunks

    def _split(self, lo: int, hi: int, node: Node | None, context: Symbol | None) -> list[Chunk]:
        """Chunks covering lines ``lo..hi``, which ``node`` spans (plus leading comments)."""
        if self.depth >= _MAX_DEPTH:  # generated code nested past any sense: just windows
            return self._windows(lo, hi, context)
        children = _inner_nodes(node) if node is not None else []
        if not children:
            return self._windows(lo, hi, context)
        units: list[_Unit] = []
        start = lo
        for child in children:
            first = child.start_point[0] + 1
            last = min(_end_line(child), hi)
            if last < start:
                continue
            while start < first and not self.lines[start - 1].strip():
                start += 1  # blank lines join no one; comments join what follows
            if first > start and not units and node is not None and node.parent is not None:
                # The header (`class Foo(Base):`, a signature) is a unit of its own, so
                # it can join what follows.
                units.append(_Unit(start, first - 1, None, None))
                start = first
            units.append(_Unit(start, last, child, self._definition_of(child)))
            start = last + 1
        if not units:
            return self._windows(lo, hi, context)
        if start <= hi:
            units[-1].end = hi  # closing braces, `end`, trailing comments
        return self._group(units, context)

    def _group(self, units: Sequence[_Unit], context: Symbol | None) -> list[Chunk]:
        chunks: list[Chunk] = []
        run: list[_Unit] = []
        run_has_definition = False

        def flush() -> None:
            if not run:
                return
            first, last = _trim(self.lines, run[0].start, run[-1].end)
            previous = chunks[-1] if chunks else None
            if (
                previous is not None
                and not run_has_definition
                and last - first < _STRAY_LINES
                and last - previous.start_line < self.max_lines
            ):
                # A stray statement after a split class (`Set.register(frozenset)`)
                # ends the chunk before it rather than standing alone.
                chunks[-1] = _make_chunk(
                    self.lines, previous.start_line, last, previous.kind, previous.symbols
                )
            else:
                chunks.extend(self._chunk(run[0].start, run[-1].end, run, context))
            run.clear()

        for unit in units:
            size = unit.end - unit.start + 1
            if size > self.max_lines:
                start = unit.start
                lead_in = bool(run) and not run_has_definition
                if lead_in and unit.start - run[0].start <= _HEADER_LINES:
                    # A short lead-in (`if sys.platform == ...:`, a comment) goes into the
                    # first piece of the big unit rather than alone.
                    start = run[0].start
                    run.clear()
                flush()
                inner = unit.definition or context
                self.depth += 1
                try:
                    chunks.extend(self._split(start, unit.end, unit.node, inner))
                finally:
                    self.depth -= 1
                continue
            if run:
                combined = unit.end - run[0].start + 1
                with_definition = run_has_definition or unit.definition is not None
                limit = self.definition_run if with_definition else self.max_lines
                if not run_has_definition and run[-1].end - run[0].start < _STRAY_LINES:
                    limit = self.max_lines  # a class header line leads into what follows
                if combined > limit:
                    flush()
            run_has_definition = bool(run) and run_has_definition
            run_has_definition = run_has_definition or unit.definition is not None
            run.append(unit)
        flush()
        return chunks

    def _chunk(
        self, start: int, end: int, run: Sequence[_Unit], context: Symbol | None
    ) -> list[Chunk]:
        start, end = _trim(self.lines, start, end)
        if start > end:
            return []
        definitions = [u.definition for u in run if u.definition is not None]
        names = self._names_in(start, end)
        if context is not None and context.qualified_name not in names:
            names.append(context.qualified_name)
        if definitions:
            kind = definitions[0].kind
        elif context is not None:
            kind = context.kind
        else:
            first = bisect_left(self.definition_starts, start)
            inside = first < len(self.definitions) and self.definition_starts[first] <= end
            kind = self.definitions[first].kind if inside else "block"
        return [_make_chunk(self.lines, start, end, kind, tuple(names))]

    def _names_in(self, start: int, end: int) -> list[str]:
        lo = bisect_left(self.starts, start)
        hi = bisect_right(self.starts, end)
        names: list[str] = []
        for symbol in self.symbols[lo:hi]:
            qualified = symbol.qualified_name
            if qualified not in names:
                names.append(qualified)
        return names

    def _windows(self, lo: int, hi: int, context: Symbol | None) -> list[Chunk]:
        windows = _windows(self.lines, lo, hi, self.max_lines, "block", ())
        result = []
        for window in windows:
            names = self._names_in(window.start_line, window.end_line)
            if context is not None and context.qualified_name not in names:
                names.append(context.qualified_name)
            kind = context.kind if context is not None else window.kind
            result.append(
                _make_chunk(self.lines, window.start_line, window.end_line, kind, tuple(names))
            )
        return result


# Node types (by substring) with no code structure inside: strings, heredocs, comments.
_OPAQUE = ("string", "heredoc", "comment")


def _inner_nodes(node: Node) -> list[Node]:
    """The children to split ``node`` on: its body's statements or members.

    Walks down while one child holds most of the node (a function's block, Go's
    statement list, Swift's ``statements``), since headers are short and bodies long.
    """
    current = node
    for _ in range(6):
        if any(word in current.type for word in _OPAQUE):
            return []  # a long string's insides are text: windows, not a lone `"""`
        children = [c for c in current.named_children if "comment" not in c.type]
        if not children:
            return []
        if current.parent is None:  # the root: its children are the units
            return children
        total = _end_line(current) - current.start_point[0]
        biggest = max(children, key=lambda c: c.end_point[0] - c.start_point[0])
        biggest_span = biggest.end_point[0] - biggest.start_point[0]
        # Descend only past a short header: a class body whose methods sit beside one
        # big `if` must be split on the methods, not on the branches of the `if`.
        rest = total - biggest_span
        if (
            biggest_span * 10 >= total * 6
            and rest <= max(_HEADER_LINES, total // 5)
            and biggest.named_child_count > 0
        ):
            current = biggest
            continue
        return children if len(children) > 1 else []
    return []


_SUMMARY_CHARS = 2000
_COMMENT_MARKS = re.compile(r"^\s*(?:/\*+!?|\*+/|\*|//+!?|#+|--|;+)\s?", re.M)
_COMMENT_END = re.compile(r"\s*\*+/\s*$", re.M)
_STRING_QUOTES = re.compile(r"^[rRbBuUfF]*(?:\"\"\"|'''|\"|')|(?:\"\"\"|'''|\"|')$")
_LICENCE = re.compile(r"copyright|licen[cs]e|spdx", re.I)


def _summary(top: Sequence[Node]) -> str:
    """The opening docstring or comments of a file, without their comment markers."""
    parts: list[str] = []
    for node in top[:8]:
        if "comment" in node.type:
            raw = _text(node)
            if raw.startswith("#!"):
                continue  # a shebang
            text = _COMMENT_MARKS.sub("", raw)
        elif (
            node.type == "expression_statement"
            and node.named_children
            and node.named_children[0].type == "string"
        ):
            text = _STRING_QUOTES.sub("", _text(node.named_children[0]).strip())
        else:
            break
        if text.startswith("-*-") or _LICENCE.search(text):
            continue  # coding cookies, licence headers
        parts.append(" ".join(text.split()))
        if node.type == "expression_statement":
            break
    return " ".join(p for p in parts if p)[:_SUMMARY_CHARS]


def _windows(
    lines: Sequence[str], lo: int, hi: int, max_lines: int, kind: str, names: tuple[str, ...]
) -> list[Chunk]:
    """Overlapping windows of at most ``max_lines`` lines over ``lo..hi``.

    The windows are spread evenly, each full length, so the last is not a stub of a line
    or two (a closing quote, a brace) that matches nothing and wastes a result.
    """
    lo, hi = _trim(lines, lo, hi)
    length = hi - lo + 1
    starts = [lo]
    if length > max_lines:
        overlap = max_lines // _OVERLAP
        stride = max(1, max_lines - overlap)
        count = max(2, -(-(length - overlap) // stride))
        span = length - max_lines
        starts = [lo + round(i * span / (count - 1)) for i in range(count)]
    chunks: list[Chunk] = []
    for start in starts:
        first, last = _trim(lines, start, min(hi, start + max_lines - 1))
        if first <= last:
            chunks.append(_make_chunk(lines, first, last, kind, names))
    return chunks


def _trim(lines: Sequence[str], start: int, end: int) -> tuple[int, int]:
    """Drop blank lines at both ends of ``start..end``."""
    while start <= end and not lines[start - 1].strip():
        start += 1
    while end >= start and not lines[end - 1].strip():
        end -= 1
    return start, end


def _make_chunk(
    lines: Sequence[str], start: int, end: int, kind: str, symbols: tuple[str, ...]
) -> Chunk:
    text = "\n".join(lines[start - 1 : end])
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return Chunk(start, end, text, kind, symbols, digest)


def _end_line(node: Node) -> int:
    """1-based last line; a node ending at column 0 ends on the line before."""
    row, column = node.end_point
    if column == 0 and row > node.start_point[0]:
        return row
    return row + 1


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


_NAME_TYPES = frozenset(
    {
        "identifier",
        "field_identifier",
        "type_identifier",
        "qualified_identifier",
        "destructor_name",
        "operator_name",
        "primitive_type",
    }
)


def _declarator_name(node: Node) -> Node | None:
    """C and C++ bury a function's name in nested declarators: `*(*f)(int)`."""
    current = node.child_by_field_name("declarator")
    for _ in range(8):
        if current is None:
            return None
        if current.type in _NAME_TYPES:
            return current
        inner = current.child_by_field_name("declarator")
        if inner is None:
            inner = next((c for c in current.named_children if c.type in _NAME_TYPES), None)
        current = inner
    return None


def _assigned_name(node: Node) -> Node | None:
    """The name a top-level value is bound to, in each grammar's own shape."""
    left = node.child_by_field_name("left")  # Ruby: `MAX = 3`
    if left is None:  # Python: an expression statement around `MAX = 3`
        left = node.named_children[0].child_by_field_name("left")
    if left is not None:
        return left if left.type in ("identifier", "constant") else None
    first = node.named_children[0]
    if first.type == "variable_declaration":  # Kotlin: `val LIMIT = 3`
        return next((c for c in first.named_children if c.type == "identifier"), None)
    return first if first.type == "name" else None  # PHP: `const LIMIT = 3;`


def _go_receiver(node: Node) -> str | None:
    """`func (s *Server) Serve()` belongs to Server."""
    receiver = node.child_by_field_name("receiver")
    if receiver is None:
        return None
    for parameter in receiver.named_children:
        kind = parameter.child_by_field_name("type")
        if kind is not None:
            name = _text(kind).lstrip("*").split("[", 1)[0].strip()
            return name or None
    return None
