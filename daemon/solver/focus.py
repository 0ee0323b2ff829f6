"""Focus items: what the user pointed at, rendered as text for the model.

Each kind reads what the user sees: a file or snippet comes from the editor's unsaved buffer
when one is open, a directory is listed as ``list_directory`` would, a symbol is found in
the named file (tree-sitter) or else in the workspace index, the git diff is the working
tree's against HEAD (plus untracked files), and a URL is fetched (text only, capped).
A focus item that cannot be read becomes a one-line note for the model, never a failed turn.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path

from daemon.tools.base import ToolContext, ToolError, cap
from daemon.tools.files import ListFiles, current_text
from daemon.tools.git import run_git, secret_on_disk
from daemon.tools.paths import check_readable, confine, relative, secret_refusal
from daemon.tools.runtime import Budget, in_thread
from daemon.tools.secrets import SecretPolicy, filter_diff
from hosting.markdown import fence
from protocol.query import FocusItem, FocusKind

log = logging.getLogger(__name__)

ITEM_CHARS = 12_000
WORK_ITEM_CHARS = 40_000
TOTAL_CHARS = 60_000
URL_TIMEOUT_S = 10.0
URL_MAX_BYTES = 2_000_000


def kind_of(item: FocusItem, roots: Sequence[Path]) -> FocusKind:
    if item.kind is not None:
        return item.kind
    if item.url is not None:
        return "url"
    if item.server is not None and (item.uri is not None or item.prompt is not None):
        return "mcp"
    if item.symbol is not None:
        return "symbol"
    if item.text is not None or item.start_line is not None:
        return "snippet"
    assert item.path is not None  # the model's validator guarantees one of them
    try:
        return "directory" if confine(roots, editor_path(roots, item.path)).is_dir() else "file"
    except ToolError:
        return "file"


async def render_focus(items: Sequence[FocusItem], ctx: ToolContext) -> str:
    """The focus items as a block to append to the user's query ("" when there are none)."""
    parts: list[str] = []
    used = 0
    for item in items:
        kind = kind_of(item, ctx.roots)
        budget = Budget(ctx.settings.timeout_s)
        try:
            async with budget:
                label, body = await _RENDER[kind](item, ctx)
        except TimeoutError:
            if not budget.expired:
                raise
            parts.append(f"(focus {_name(item)}: not read within {budget.seconds:g} s)")
            continue
        except ToolError as exc:
            parts.append(f"(focus {_name(item)}: {exc})")
            continue
        except Exception as exc:  # a focus item must never fail the turn
            log.warning("focus item %s failed: %r", _name(item), exc)
            parts.append(f"(focus {_name(item)}: could not be read: {type(exc).__name__})")
            continue
        if isinstance(body, Markdown):
            body = cap(body, min(WORK_ITEM_CHARS, max(TOTAL_CHARS - used, 500)))
            used += len(body)
            parts.append(f"Focus {label}:\n\n{body}")
            continue
        body = cap(body, min(ITEM_CHARS, max(TOTAL_CHARS - used, 500)))
        used += len(body)
        parts.append(f"Focus {label}:\n{fence(body)}")
    return ("\n\n" + "\n\n".join(parts)) if parts else ""


class Markdown(str):
    """A focus body that is Markdown already, with its caps stated: given its own, larger
    share and not wrapped in a code fence."""


def editor_path(roots: Sequence[Path], raw: str) -> str:
    """Editors name files by absolute path; tools take them relative to a root. An absolute
    path inside a root becomes relative; anything else is left for ``confine`` to judge
    (and refuse when it leads outside the workspace)."""
    candidate = Path(raw).expanduser()
    if candidate.is_absolute():
        resolved = candidate.resolve()
        if any(resolved.is_relative_to(root.resolve()) for root in roots):
            return relative(roots, resolved)
    return raw


def _name(item: FocusItem) -> str:
    if item.kind == "mcp":
        return f"{item.server}:{item.uri if item.prompt is None else 'prompt ' + item.prompt}"
    return item.url or item.symbol or item.path or "snippet"


def _readable(item: FocusItem, ctx: ToolContext) -> tuple[Path, str]:
    if item.path is None:
        raise ToolError("no path given")
    path = confine(ctx.roots, editor_path(ctx.roots, item.path))
    if path.is_dir():
        raise ToolError("is a directory")
    return path, check_readable(ctx.roots, path, ctx.settings)


def _lines(text: str, start: int | None, end: int | None) -> tuple[int, int, str]:
    lines = text.splitlines()
    first = max(start or 1, 1)
    last = min(end or len(lines), len(lines))
    if first > max(len(lines), 1):
        raise ToolError(f"line {first} is past the end ({len(lines)} lines)")
    return first, last, "\n".join(lines[first - 1 : last])


async def _text_of(ctx: ToolContext, path: Path, rel: str) -> str:
    """What the user sees of a file that passed ``_readable``, unless that (an unsaved
    buffer) holds a secret itself."""
    text = await in_thread(current_text, ctx, path)
    if SecretPolicy.of(ctx.settings).content(text):
        raise secret_refusal(rel)
    return text


async def _file(item: FocusItem, ctx: ToolContext) -> tuple[str, str]:
    path, rel = _readable(item, ctx)
    return rel, await _text_of(ctx, path, rel)


async def _snippet(item: FocusItem, ctx: ToolContext) -> tuple[str, str]:
    if item.text is not None:
        where = item.path or "selection"
        policy = SecretPolicy.of(ctx.settings)
        # A selection in a secrets file, or one holding a key, is a secret all the same.
        if (item.path is not None and policy.path(editor_path(ctx.roots, item.path))) or (
            policy.content(item.text)
        ):
            raise secret_refusal(where)
        if item.start_line is not None:
            where += f":{item.start_line}-{item.end_line or item.start_line}"
        return where, item.text
    path, rel = _readable(item, ctx)
    text = await _text_of(ctx, path, rel)
    first, last, body = _lines(text, item.start_line, item.end_line)
    return f"{rel}:{first}-{last}", body


async def _directory(item: FocusItem, ctx: ToolContext) -> tuple[str, str]:
    if item.path is None:
        raise ToolError("no path given")
    path = confine(ctx.roots, editor_path(ctx.roots, item.path))
    if not path.is_dir():
        raise ToolError("is not a directory")
    listing = await in_thread(ListFiles._list, ctx, path, True)
    return relative(ctx.roots, path) + "/", listing


async def _symbol(item: FocusItem, ctx: ToolContext) -> tuple[str, str]:
    assert item.symbol is not None
    if item.path is not None:
        path, rel = _readable(item, ctx)
        text = await _text_of(ctx, path, rel)
        found = await in_thread(_find_symbol, rel, text, item.symbol)
        if found is not None:
            first, last = found
            return f"{rel}:{first}-{last} ({item.symbol})", _lines(text, first, last)[2]
    if ctx.index is not None:
        policy = SecretPolicy.of(ctx.settings)
        hits = [
            h
            for h in await ctx.index.symbols(item.symbol, limit=3)
            if not (policy.path(h.path) or policy.content(h.text))
        ]
        if hits:
            blocks = [f"{h.path}:{h.start_line}-{h.end_line}\n{h.text}" for h in hits]
            return f"symbol {item.symbol}", "\n\n".join(blocks)
    raise ToolError(f"no definition of {item.symbol!r} found")


def _find_symbol(rel: str, text: str, name: str) -> tuple[int, int] | None:
    from indexer.chunking import chunk_file

    symbols = chunk_file(rel, text).symbols
    wanted = name.replace("::", ".")
    for symbol in symbols:
        if symbol.qualified_name == wanted or symbol.name == wanted:
            return symbol.start_line, symbol.end_line
    return None


async def _git_diff(item: FocusItem, ctx: ToolContext) -> tuple[str, str]:
    where = (
        [confine(ctx.roots, editor_path(ctx.roots, item.path))] if item.path else list(ctx.roots)
    )
    return "git diff (working tree against HEAD)", await _diffs(ctx, where)


async def _diffs(ctx: ToolContext, paths: Sequence[Path]) -> str:
    out: list[str] = []
    for path in paths:
        folder = path if path.is_dir() else path.parent
        try:
            top = Path(await run_git(folder, "rev-parse", "--show-toplevel"))
        except ToolError:
            out.append(f"{relative(ctx.roots, path)}: not a git repository")
            continue
        try:
            await run_git(top, "rev-parse", "--verify", "--quiet", "HEAD")
        except ToolError:
            diff = ""  # no commit yet: everything is untracked
        else:
            try:
                diff = await run_git(top, "diff", "--ignore-submodules", "HEAD", "--", str(path))
            except ToolError as exc:
                diff = str(exc)[:300]
        untracked = await run_git(
            top, "ls-files", "--others", "--exclude-standard", "--", str(path)
        )
        if untracked:
            diff += "\n\nUntracked files:\n" + untracked
        policy = SecretPolicy.of(ctx.settings)
        diff = await in_thread(filter_diff, diff, policy, secret_on_disk(policy, top))
        out.append(diff.strip() or "no changes")
    return "\n\n".join(out)


class _TextOnly(HTMLParser):
    SKIP = frozenset({"script", "style", "noscript", "svg", "head"})
    BLOCK = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "pre", "section"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skipping += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)

    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self.parts).splitlines())
        return "\n".join(line for line in lines if line)


def html_text(html: str) -> str:
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    return parser.text()


async def _url(item: FocusItem, ctx: ToolContext) -> tuple[str, str]:
    import httpx

    assert item.url is not None
    if not item.url.startswith(("http://", "https://")):
        raise ToolError("only http and https URLs can be fetched")
    ref = ctx.hosting.recognise(item.url) if ctx.hosting is not None else None
    if ref is not None and ctx.hosting is not None:
        from daemon.tools.hosting import secret_paths
        from hosting.errors import HostingError

        try:
            text = await ctx.hosting.fetch(ref, budget=WORK_ITEM_CHARS, withhold=secret_paths(ctx))
        except HostingError as exc:
            raise ToolError(str(exc)) from None
        return f"{ref.noun} {ref.label}", Markdown(text)
    timeout = httpx.Timeout(URL_TIMEOUT_S)
    try:
        async with (
            httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client,
            client.stream("GET", item.url, headers={"User-Agent": "deputydev"}) as response,
        ):
            if response.status_code >= 400:
                raise ToolError(f"the server answered {response.status_code}")
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > URL_MAX_BYTES:
                    break
            kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
            charset = response.charset_encoding or "utf-8"
    except httpx.HTTPError as exc:
        raise ToolError(f"could not fetch it: {type(exc).__name__}: {exc}") from None
    if kind and not (kind.startswith("text/") or kind in _TEXT_TYPES or kind.endswith("+json")):
        raise ToolError(f"not text ({kind})")
    body = bytes(data).decode(charset, errors="replace")
    if kind in ("text/html", "application/xhtml+xml"):
        body = await in_thread(html_text, body)
    return item.url, body


async def _mcp(item: FocusItem, ctx: ToolContext) -> tuple[str, str]:
    assert item.server is not None
    if item.prompt is not None:
        if ctx.get_mcp_prompt is None:
            raise ToolError("MCP prompts cannot be used here")
        text = await ctx.get_mcp_prompt(item.server, item.prompt, item.arguments or {})
        return f"prompt {item.prompt} (MCP server {item.server})", text
    assert item.uri is not None
    if ctx.read_mcp_resource is None:
        raise ToolError("MCP resources cannot be read here")
    return f"{item.uri} (MCP server {item.server})", await ctx.read_mcp_resource(
        item.server, item.uri
    )


_TEXT_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})

_RENDER = {
    "file": _file,
    "snippet": _snippet,
    "directory": _directory,
    "symbol": _symbol,
    "gitDiff": _git_diff,
    "url": _url,
    "mcp": _mcp,
}
