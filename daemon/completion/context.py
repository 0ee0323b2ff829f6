"""The prompt of one completion: the document around the cursor and what the workspace knows
of it, within a token budget (4 characters a token).

Its parts, each with a share of the budget (``[completion.shares]``, weights):

- **prefix** and **suffix**: the file before and after the cursor, cut at line boundaries;
  they get whatever the other parts leave unused, in their ratio.
- **definitions**: the names used near the cursor (the 40 lines before it and the 5 after),
  closest first, looked up by exact name in the index's symbols; each definition as its
  first lines. One already in the prompt is left out.
- **callers**: the function the cursor is in, searched for in the index; each chunk that
  calls it, as its first line (the caller's signature) and the calling line.
- **neighbours**: the open buffers, most recently edited first, cut into windows of 20 lines;
  the windows most like the 20 lines before the cursor, by the Jaccard similarity of their
  identifiers (Copilot's "neighbouring tabs").
- **imports**: the file's import lines, when the prefix kept does not reach the top.

Everything but the prefix and suffix is written as comments of the file's language before
the prefix, as the start of a file would read (``Prompt.context``); a language without
comments gets none. The index is asked through :class:`Lookup`; its answers are cached by
name (:class:`Lookups`) and waited for ``context_timeout_ms`` at most: what is not ready by
then is left out of this prompt and lands in the cache for the next keystroke.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from daemon.completion.settings import CompletionSettings

log = logging.getLogger(__name__)

CHARS_PER_TOKEN = 4
NEAR_BEFORE = 40  # lines before the cursor whose names are looked up
NEAR_AFTER = 5
MAX_NAMES = 12
WAIT_NAMES = 6  # of which a request waits for the closest (context_timeout_ms at most)
DEFINITIONS_PER_NAME = 2
DEFINITION_LINES = 12
CALLERS = 3
WINDOW = 20  # lines of a neighbour window, and of the code it is compared with
NEIGHBOUR_BUFFERS = 8
NEIGHBOUR_MIN_SCORE = 0.05
SYNC_LINES = 1500  # lines of new buffers a request windows itself (about 7 ms)
IMPORT_LINES = 300  # imports are looked for in the file's first lines

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Words that name no definition worth looking up: keywords and builtins of common languages.
_KEYWORD_WORDS = """
and as assert async await break case catch class const continue def default defer del
delete do elif else enum except export extends false final finally fn for from func
function go if impl implements import in instanceof interface is lambda let loop match
mod module mut new nil none not null of or package pass private protected pub public
raise return self static struct super switch this throw throws trait true try type
typeof undefined use var void where while with yield None True False int str float bool
dict list set tuple bytes object print len range isinstance string char byte long short
double unsigned signed sizeof auto template typename namespace using include define
println fmt err boolean number any never unknown readonly declare get
"""
_KEYWORDS = frozenset(_KEYWORD_WORDS.split())
_DEFINITION = re.compile(
    r"^(?P<indent>[ \t]*)(?:(?:export|default|pub(?:\([\w:]+\))?|public|private|protected|"
    r"internal|static|async|override|final|open|suspend|inline|unsafe|extern|virtual)\s+)*"
    r"(?:(?:def|function\*?|fn|func|fun|sub|proc)\s+(?:\([^)]*\)\s*)?(?P<name>[A-Za-z_$][\w$]*)"
    r"|(?:const|let|var)\s+(?P<arrow>[A-Za-z_$][\w$]*)\s*=\s*(?:async\s*)?"
    r"(?:\([^)]*\)|[A-Za-z_$][\w$]*)\s*=>"
    r"|(?:[\w:<>\[\]*&,.]+\s+)+\**(?P<cname>[A-Za-z_]\w*)\s*\([^;]*$)"
)
_CONTROL = frozenset({"if", "for", "while", "switch", "return", "else", "catch", "elif", "new"})
# A line starting with one of these is a statement, not a declaration (``return f(x`` is
# no C function named f).
_STATEMENTS = (
    _CONTROL
    | frozenset(
        ("await", "yield", "throw", "raise", "not", "and", "or", "in", "is", "case", "do"),
    )
    | frozenset(("delete", "typeof", "echo", "assert", "del", "go", "defer", "print", "puts"))
)


def defined_name(line: str) -> str | None:
    """The name a definition line defines (``def f(``, ``function f(``, ``int f(``, ...);
    None for any other line."""
    match = _DEFINITION.match(line)
    if match is None:
        return None
    first = line.split(None, 1)[0] if line.strip() else ""
    if match.group("cname") and first in _STATEMENTS:
        return None
    name = match.group("name") or match.group("arrow") or match.group("cname")
    return name if name and name not in _CONTROL else None


_IMPORT = re.compile(
    r"^\s*(?:import\s|from\s+\S+\s+import\s|#\s*include\s|#\s*import\s|@import\s|"
    r"using\s+[\w.]+\s*;|use\s+[\w:\\{]|require(?:_relative)?[\s(]|extern\s+crate\s|"
    r"(?:const|let|var)\s+[\w{},\s]+=\s*require\()"
)

_HASH = """python ruby shellscript bash sh zsh perl r yaml toml dockerfile make makefile
powershell elixir julia nim cmake starlark terraform ini coffeescript"""
_SLASHES = """c cpp csharp java javascript javascriptreact typescript typescriptreact tsx go rust
kotlin swift scala dart php objective-c objective-cpp zig groovy protobuf proto jsonc solidity
vue svelte"""
_DASHES, _SEMICOLON, _PERCENT = "lua sql haskell ada elm", "clojure lisp scheme racket", "erlang"
_LINE_COMMENT: dict[str, str] = {
    **dict.fromkeys(_HASH.split(), "#"),
    **dict.fromkeys(_SLASHES.split(), "//"),
    **dict.fromkeys(_DASHES.split(), "--"),
    **dict.fromkeys(_SEMICOLON.split(), ";"),
    **dict.fromkeys((*_PERCENT.split(), "latex", "tex", "matlab"), "%"),
    "vim": '"',
}
_C_BLOCK, _XML_BLOCK = "css scss less ocaml", "html xml markdown"
_BLOCK_COMMENT = {
    **dict.fromkeys(_C_BLOCK.split(), ("/*", "*/")),
    **dict.fromkeys(_XML_BLOCK.split(), ("<!--", "-->")),
}


def comment_lines(language: str, lines: Sequence[str]) -> str | None:
    """``lines`` as comments of ``language`` (each ending in a newline); None when the
    language has no comments we know (JSON, plain text)."""
    line = _LINE_COMMENT.get(language)
    if line:
        return "".join(f"{line} {text}".rstrip() + "\n" for text in lines)
    block = _BLOCK_COMMENT.get(language)
    if block:
        opener, closer = block
        body = "".join(f"{text}\n" for text in lines).replace(closer, closer[:1] + " " + closer[1:])
        return f"{opener}\n{body}{closer}\n"
    return None


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class Document:
    """The document being completed; ``offset`` is the cursor, in characters."""

    uri: str
    rel: str  # the path shown to the model
    language: str
    text: str
    offset: int

    @property
    def prefix(self) -> str:
        return self.text[: self.offset]

    @property
    def suffix(self) -> str:
        return self.text[self.offset :]


@dataclass(frozen=True, slots=True)
class Buffer:
    """Another open document, for neighbour snippets."""

    uri: str
    rel: str
    language: str
    text: str
    version: int


@dataclass(frozen=True, slots=True)
class Found:
    """A chunk of the index: a definition, or code that mentions a name."""

    path: str  # relative to its root
    start_line: int
    text: str
    symbol: str | None = None


class Lookup(Protocol):
    """What the prompt needs of the index."""

    def ready(self) -> bool: ...

    async def definitions(self, names: Sequence[str]) -> dict[str, list[Found]]:
        """The definitions of each name, by exact name (all the names in one lookup)."""
        ...

    async def mentions(self, name: str) -> list[Found]: ...


class Lookups:
    """Index answers by key, shared by requests: one lookup per key at a time, kept for
    ``ttl_s`` or until :meth:`clear` (the index changed). A lookup keeps running when the
    request that started it gives up waiting."""

    def __init__(self, ttl_s: float = 60.0, size: int = 4096) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._tasks: OrderedDict[tuple[str, str], tuple[float, asyncio.Task[Any]]] = OrderedDict()

    def get(self, key: tuple[str, str], make: Callable[[], Awaitable[Any]]) -> asyncio.Task[Any]:
        found = self.cached(key)
        return found if found is not None else self.put(key, asyncio.ensure_future(make()))

    def cached(self, key: tuple[str, str]) -> asyncio.Task[Any] | None:
        """The lookup of ``key``, running or done, unless it failed or is too old."""
        found = self._tasks.get(key)
        if found is None:
            return None
        made, task = found
        failed = task.done() and (task.cancelled() or task.exception() is not None)
        if time.monotonic() - made > self.ttl_s or failed:
            return None
        self._tasks.move_to_end(key)
        return task

    def put(self, key: tuple[str, str], task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        self._tasks[key] = (time.monotonic(), task)
        self._tasks.move_to_end(key)
        while len(self._tasks) > self.size:
            self._tasks.popitem(last=False)
        return task

    def clear(self) -> None:
        self._tasks.clear()

    def invalidate(self, paths: set[str]) -> None:
        """The index changed these files (relative paths): drop the answers that came from
        them, and the empty ones (the name may be defined now)."""
        for key, (_, task) in list(self._tasks.items()):
            if not task.done():
                continue
            found = _result(task)
            if not found or any(hit.path in paths for hit in found):
                del self._tasks[key]


# --------------------------------------------------------------------------- the prompt


@dataclass(frozen=True, slots=True)
class Prompt:
    prefix: str
    suffix: str
    context: str
    parts: dict[str, int] = field(default_factory=dict)  # characters of each part
    names: tuple[str, ...] = ()  # the names looked up


def _tail(text: str, limit: int) -> str:
    """The end of ``text``, at most ``limit`` characters, starting at a line's start."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    kept = text[-limit:]
    newline = kept.find("\n")
    return kept[newline + 1 :] if 0 <= newline < len(kept) - 1 else kept


def _head(text: str, limit: int) -> str:
    """The start of ``text``, at most ``limit`` characters, ending at a line's end."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    kept = text[:limit]
    newline = kept.rfind("\n")
    return kept[: newline + 1] if newline > 0 else kept


def names_near(prefix: str, suffix: str) -> list[str]:
    """Identifiers used near the cursor, closest first, without keywords and short names.
    The word the cursor is in is left out: it is being typed, and is not a name yet."""
    before = "\n".join(prefix.rsplit("\n", NEAR_BEFORE)[-NEAR_BEFORE:])
    after = "\n".join(suffix.split("\n", NEAR_AFTER)[:NEAR_AFTER])
    words = list(_WORD.finditer(before))
    if words and words[-1].end() == len(before):
        words.pop()
    ordered = [m.group() for m in reversed(words)]
    after_words = list(_WORD.finditer(after))
    if after_words and after_words[0].start() == 0:
        after_words.pop(0)
    ordered += [m.group() for m in after_words]
    out: list[str] = []
    for word in ordered:
        if len(word) < 3 or word in _KEYWORDS or word in out:
            continue
        out.append(word)
        if len(out) >= MAX_NAMES:
            break
    return out


def enclosing_function(prefix: str) -> str | None:
    """The name of the function the cursor is in, from the nearest definition line above it
    that is indented less than the cursor's line (best effort, by regular expressions)."""
    lines = prefix.rsplit("\n", 400)
    current = lines[-1]
    depth = len(current) - len(current.lstrip(" \t"))
    for line in reversed(lines[-400:-1]):
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" \t"))
        name = defined_name(line)
        if name is not None and indent < max(depth, 1):
            return name
        if indent == 0 and depth > 0 and not line.startswith(("}", ")", "@", "#")):
            depth = 0  # left the block the cursor is in without finding its definition
    return None


def imports_of(text: str) -> list[str]:
    """The file's import lines (a multi-line import whole), from its first lines."""
    out: list[str] = []
    lines = text.split("\n")[:IMPORT_LINES]
    open_block = False
    for line in lines:
        if open_block:
            out.append(line)
            if line.strip().startswith(")"):
                open_block = False
            continue
        if _IMPORT.match(line) or line.strip() == "import (":
            out.append(line)
            if line.rstrip().endswith("("):
                open_block = True
    return out


def _tokens(text: str) -> frozenset[str]:
    return frozenset(w for w in _WORD.findall(text) if w not in _KEYWORDS)


@dataclass(frozen=True, slots=True)
class _Windows:
    lines: list[str]
    starts: list[int]
    tokens: list[frozenset[str]]


class Neighbours:
    """Windows of open buffers and their identifiers, kept per buffer version.

    Windowing a buffer costs about 5 ms per 1,000 lines. A request windows the buffers it
    has never seen while they total at most ``SYNC_LINES``; larger ones, and buffers edited
    since they were windowed, are (re)done in the background, one buffer per turn of the
    event loop, for the next request (which uses an edited buffer's old windows until then).
    """

    def __init__(self) -> None:
        self._cache: OrderedDict[str, tuple[int, _Windows]] = OrderedDict()
        self._pending: dict[str, Buffer] = {}
        self._warming: asyncio.Task[None] | None = None

    def _windows(self, buffer: Buffer) -> _Windows:
        lines = buffer.text.split("\n")[:10_000]
        per_line = [_tokens(line) for line in lines]
        starts = list(range(0, max(1, len(lines) - WINDOW // 2), WINDOW // 2))
        tokens = [frozenset().union(*per_line[s : s + WINDOW]) for s in starts]
        windows = _Windows(lines, starts, tokens)
        self._cache[buffer.uri] = (buffer.version, windows)
        self._cache.move_to_end(buffer.uri)
        while len(self._cache) > 4 * NEIGHBOUR_BUFFERS:
            self._cache.popitem(last=False)
        return windows

    def _ready(self, buffer: Buffer, budget: list[int]) -> _Windows | None:
        found = self._cache.get(buffer.uri)
        if found is not None and found[0] == buffer.version:
            self._cache.move_to_end(buffer.uri)
            return found[1]
        if found is None:
            lines = buffer.text.count("\n") + 1
            if lines <= budget[0]:
                budget[0] -= lines
                return self._windows(buffer)
        self._pending[buffer.uri] = buffer
        self._warm_later()
        return found[1] if found is not None else None

    def _warm_later(self) -> None:
        if self._warming is None or self._warming.done():
            self._warming = asyncio.ensure_future(self._warm())

    async def _warm(self) -> None:
        while self._pending:
            await asyncio.sleep(0)  # a request that arrived first goes first
            uri = next(iter(self._pending))
            self._windows(self._pending.pop(uri))

    async def settled(self) -> None:
        """Wait until the background windowing is done."""
        while self._warming is not None and not self._warming.done():
            await asyncio.shield(self._warming)

    async def aclose(self) -> None:
        if self._warming is not None:
            self._warming.cancel()
            await asyncio.gather(self._warming, return_exceptions=True)

    def best(self, prefix: str, buffers: Sequence[Buffer]) -> list[tuple[float, Buffer, int, str]]:
        """The best window of each buffer, most similar first: (score, buffer, first line
        (1-based), text)."""
        query = _tokens("\n".join(prefix.rsplit("\n", WINDOW)[-WINDOW:]))
        if not query:
            return []
        out = []
        budget = [SYNC_LINES]
        for buffer in buffers[:NEIGHBOUR_BUFFERS]:
            windows = self._ready(buffer, budget)
            if windows is None:
                continue
            size = len(query)
            best, index = 0.0, -1
            for i, tokens in enumerate(windows.tokens):
                both = len(query & tokens)
                if both:
                    score = both / (size + len(tokens) - both)
                    if score > best:
                        best, index = score, i
            if index < 0 or best < NEIGHBOUR_MIN_SCORE:
                continue
            start = windows.starts[index]
            text = "\n".join(windows.lines[start : start + WINDOW]).strip("\n")
            out.append((best, buffer, start + 1, text))
        out.sort(key=lambda item: -item[0])
        return out


class Builder:
    """Builds prompts; holds what outlives one request (lookups, neighbour windows)."""

    def __init__(
        self,
        lookup: Lookup | None,
        *,
        is_secret: Callable[[str], bool] = lambda rel: False,
    ) -> None:
        self.lookup = lookup
        self.lookups = Lookups()
        self.neighbours = Neighbours()
        self.is_secret = is_secret

    async def build(
        self,
        document: Document,
        settings: CompletionSettings,
        buffers: Sequence[Buffer] = (),
        *,
        header: bool = True,
    ) -> Prompt:
        """The prompt for ``document`` at its cursor; ``header``: start the context with the
        file's path (a FIM model reads it as the top of the file; a chat prompt names the
        file itself)."""
        budget = settings.context_tokens * CHARS_PER_TOKEN
        shares = settings.shares

        def cap(part: str) -> int:
            return int(budget * shares.fraction(part))

        prefix, suffix = document.prefix, document.suffix
        language = document.language
        commentable = comment_lines(language, ["x"]) is not None
        parts: dict[str, int] = {}
        names: list[str] = []
        sections: list[tuple[str, str]] = []  # (part, text), in prompt order

        if commentable:
            names = names_near(prefix, suffix) if shares.definitions else []
            function = enclosing_function(prefix) if shares.callers else None
            window = _tail(prefix, cap("prefix")) + _head(suffix, cap("suffix"))
            definitions, callers = await self._indexed(names, function, settings, document)
            if shares.neighbours and buffers:
                sections.append(
                    ("neighbours", self._neighbours(prefix, buffers, cap("neighbours"), language))
                )
            if callers:
                sections.append(
                    (
                        "callers",
                        self._callers(callers, function, cap("callers"), document, language),
                    )
                )
            if definitions:
                sections.append(
                    (
                        "definitions",
                        self._definitions(definitions, window, cap("definitions"), language),
                    )
                )
        if header:
            path_line = comment_lines(language, [f"Path: {document.rel}"]) if document.rel else None
            if path_line:
                sections.append(("header", path_line))
        sections = [(part, text) for part, text in sections if text]
        context = "".join(text for _, text in sections)
        for part, text in sections:
            parts[part] = len(text)

        # The file's text gets the rest of the budget: the prefix and suffix in their ratio,
        # and what one of them does not need goes to the other.
        room = max(0, budget - len(context))
        p, s = shares.prefix, shares.suffix
        imports = ""
        first_import = -1
        if len(prefix) + min(len(suffix), int(room * s / (p + s))) > room and shares.imports:
            lines = imports_of(prefix)
            if lines:
                first_import = prefix.find(lines[0])
                imports = _head("\n".join(lines) + "\n", cap("imports"))
                room = max(0, room - len(imports))
        suffix_room = min(len(suffix), int(room * s / (p + s)))
        prefix_part = _tail(prefix, room - suffix_room)
        suffix_part = _head(suffix, room - len(prefix_part))
        if imports and len(prefix) - len(prefix_part) <= first_import:
            imports = ""  # the kept prefix holds them after all
        if imports:
            parts["imports"] = len(imports)
        parts["prefix"], parts["suffix"] = len(prefix_part), len(suffix_part)
        return Prompt(imports + prefix_part, suffix_part, context, parts, tuple(names))

    # -- the index --------------------------------------------------------------------------

    async def _indexed(
        self,
        names: list[str],
        function: str | None,
        settings: CompletionSettings,
        document: Document,
    ) -> tuple[dict[str, list[Found]], list[Found]]:
        lookup = self.lookup
        if lookup is None or not lookup.ready() or not (names or function):
            return {}, []
        wanted: dict[str, asyncio.Task[Any]] = {}
        missing: list[str] = []
        for name in names:
            task = self.lookups.cached(("definition", name))
            if task is None:
                missing.append(name)
            else:
                wanted[name] = task
        if missing:
            # The names not seen lately in one lookup: one trip to the index's thread.
            batch = asyncio.ensure_future(lookup.definitions(missing))
            for name in missing:
                wanted[name] = self.lookups.put(("definition", name), _pick(batch, name))
        wanted = {name: wanted[name] for name in names}  # closest first
        callers: asyncio.Task[Any] | None = None
        if function:
            callers = self.lookups.get(("mentions", function), _call(lookup.mentions, function))
        # Waited for: the closest names (and the callers); the farther ones are used if
        # ready, else they fill the cache in the background for the next keystroke.
        tasks = [*list(wanted.values())[:WAIT_NAMES], *([callers] if callers else [])]
        pending = [t for t in tasks if not t.done()]
        if pending and settings.context_timeout_ms > 0:
            await asyncio.wait(pending, timeout=settings.context_timeout_ms / 1000)
        found = {name: _result(task) for name, task in wanted.items()}
        definitions = {name: hits for name, hits in found.items() if hits}
        return definitions, (_result(callers) if callers is not None else [])

    def _definitions(
        self, found: dict[str, list[Found]], window: str, limit: int, language: str
    ) -> str:
        out: list[str] = []
        used = 0
        seen: set[tuple[str, int]] = set()
        for hits in found.values():  # closest name first
            for hit in hits[:DEFINITIONS_PER_NAME]:
                key = (hit.path, hit.start_line)
                lines = hit.text.split("\n")
                first = lines[0].strip() if lines else ""
                if key in seen or not first or first in window or self.is_secret(hit.path):
                    continue
                seen.add(key)
                shown = lines[:DEFINITION_LINES]
                if len(lines) > DEFINITION_LINES:
                    shown.append("...")
                text = comment_lines(language, [f"{hit.path}:", *shown]) or ""
                if used + len(text) > limit:
                    continue
                used += len(text)
                out.append(text)
        return "".join(reversed(out))  # the closest name's definition nearest the code

    def _callers(
        self,
        found: list[Found],
        function: str | None,
        limit: int,
        document: Document,
        language: str,
    ) -> str:
        if not function:
            return ""
        call = re.compile(rf"(?<![\w$.]){re.escape(function)}\s*\(|\.{re.escape(function)}\s*\(")
        out: list[str] = []
        used = 0
        seen: set[tuple[str, str]] = set()
        for hit in found:
            if self.is_secret(hit.path):
                continue
            for signature, calls in _calling_functions(hit.text, call, function):
                if (hit.path, signature.strip()) in seen:
                    continue
                seen.add((hit.path, signature.strip()))
                if hit.path == document.rel and signature.strip() in document.text:
                    near = document.text.find(signature.strip())
                    if abs(near - document.offset) < 4000:
                        continue  # already in the prompt
                shown = [signature, *(["..."] if calls else []), *calls[:2]]
                text = comment_lines(language, [f"{hit.path}: calls {function}", *shown]) or ""
                if used + len(text) > limit:
                    continue
                used += len(text)
                out.append(text)
                if len(out) >= CALLERS:
                    return "".join(out)
        return "".join(out)

    def _neighbours(self, prefix: str, buffers: Sequence[Buffer], limit: int, language: str) -> str:
        usable = [b for b in buffers if not self.is_secret(b.rel)]
        same = [b for b in usable if b.language == language]
        out: list[str] = []
        used = 0
        for _, buffer, start, text in self.neighbours.best(prefix, same or usable):
            snippet = comment_lines(
                language, [f"Compare this snippet from {buffer.rel}:{start}:", *text.split("\n")]
            )
            if not snippet or used + len(snippet) > limit:
                continue
            used += len(snippet)
            out.append(snippet)
        return "".join(out)


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _calling_functions(
    text: str, call: re.Pattern[str], function: str
) -> list[tuple[str, list[str]]]:
    """The functions of a chunk that call ``function``: each one's signature line (the
    nearest definition above a calling line, indented less) and its calling lines. A call
    outside any definition of the chunk is shown under the chunk's first line."""
    lines = text.split("\n")
    out: dict[int, list[str]] = {}
    for number, line in enumerate(lines):
        if not call.search(line):
            continue
        if defined_name(line) == function:
            continue  # the function's own definition
        owner = 0
        depth = _indent_of(line)
        for above in range(number - 1, -1, -1):
            candidate = lines[above]
            if not candidate.strip() or _indent_of(candidate) >= depth:
                continue
            if defined_name(candidate) is not None:
                owner = above
                break
            depth = min(depth, _indent_of(candidate))
        if owner == number:
            continue
        out.setdefault(owner, []).append(line)
    return [(lines[owner], calls) for owner, calls in out.items()]


def _pick(batch: asyncio.Future[dict[str, list[Found]]], name: str) -> asyncio.Task[Any]:
    async def one() -> list[Found]:
        return (await batch).get(name, [])

    return asyncio.ensure_future(one())


def _call(
    search: Callable[[str], Awaitable[list[Found]]], name: str
) -> Callable[[], Awaitable[list[Found]]]:
    return lambda: search(name)


def _result(task: asyncio.Task[Any]) -> Any:
    if not task.done() or task.cancelled():
        return []
    error = task.exception()
    if error is not None:
        log.debug("an index lookup failed: %s", error)
        return []
    return task.result()
