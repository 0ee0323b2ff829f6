"""Finding code: grep (ripgrep, or a killable Python process), and the index's searches.

grep_search runs ripgrep (the ``ripgrep`` wheel is a dependency; an ``rg`` on PATH does
too): Rust's regex engine runs in linear time, so no pattern can backtrack, and the search
runs in a process the daemon kills when the call is cancelled or out of time. Without
ripgrep, Python's ``re`` runs in a process of its own (``grep_worker.py``), so a pattern
that backtracks costs at most the tool's time budget and never freezes the daemon.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field

from daemon.tools import grep_worker
from daemon.tools.base import Args, CodeHit, Tool, ToolContext, ToolError
from daemon.tools.fileio import kind
from daemon.tools.paths import confine, is_secret, relative
from daemon.tools.runtime import in_thread, run_process
from daemon.tools.secrets import SecretPolicy

MAX_MATCHES = 200
MAX_COLUMNS = 500


class GrepArgs(Args):
    pattern: str = Field(min_length=1, description="A regular expression.")
    path: str = Field(default=".", description="File or directory to search.")
    case_sensitive: bool = Field(default=True, alias="caseSensitive")


@functools.cache
def ripgrep() -> str | None:
    """The ``rg`` of this environment (the ripgrep wheel's), else one on PATH."""
    name = "rg.exe" if sys.platform == "win32" else "rg"
    for folder in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("rg")


class Grep(Tool):
    name = "grep_search"
    description = (
        "Search file contents with a regular expression (Rust regex syntax: no look-around "
        "or backreferences); returns path:line: text."
    )
    Arguments = GrepArgs
    # The engine of the last call: what to blame when it runs out of time.
    _backtracking = False

    async def run(self, args: GrepArgs, ctx: ToolContext) -> str:
        if "\0" in args.pattern:
            raise ToolError(r"pattern contains a NUL character; write it as \x00")
        target = confine(ctx.roots, args.path)
        if not target.is_dir() and not target.is_file():  # a FIFO would block the search
            mode = target.stat().st_mode
            raise ToolError(f"{args.path} is {kind(mode)}; only regular files are searched")
        argv = _command(args, target, ctx.settings.grep_engine)
        self._backtracking = argv[0] == sys.executable
        done = await run_process(argv, max_stdout=2_000_000)
        lines = _parse(done.stdout)
        if done.returncode not in (0, 1) and not lines:
            message = done.stderr.decode(errors="replace").strip()
            if "regex parse error" in message or "error parsing regex" in message:
                raise ToolError(f"pattern is not a valid regular expression: {message[:800]}")
            raise ToolError(f"grep failed: {message[:500]}")
        found: list[str] = []
        secret: dict[str, bool] = {}  # by path: each file is judged once
        for path_text, number, text in lines:
            path = Path(path_text)  # under the resolved target; links are not followed
            rel = relative(ctx.roots, path)
            if path_text not in secret:
                secret[path_text] = await in_thread(is_secret, path, rel, ctx.settings)
            if secret[path_text]:
                continue
            found.append(f"{rel}:{number}: {text.rstrip()[:300]}")
            if len(found) >= MAX_MATCHES:
                found.append(f"[stopped at {MAX_MATCHES} matches; narrow the pattern or path]")
                break
        if done.truncated and len(found) < MAX_MATCHES:
            found.append("[output cut short; narrow the pattern or path]")
        return "\n".join(found) or "no matches"

    def over_budget(self, arguments: Mapping[str, Any], seconds: float) -> str:
        if self._backtracking:
            return (
                f"grep_search did not finish within {seconds:g} s and was stopped: without "
                "ripgrep the pattern runs on Python's backtracking engine; simplify it (no "
                "nested repetition such as (a+)+) or narrow the path"
            )
        return super().over_budget(arguments, seconds)


def _command(args: GrepArgs, target: Path, engine: str) -> list[str]:
    rg = ripgrep() if engine != "python" else None
    if rg is None and engine == "ripgrep":
        raise ToolError(
            "ripgrep (rg) is not installed: pip install ripgrep, or set "
            'solver.tools.grepEngine = "auto"'
        )
    case = [] if args.case_sensitive else ["--ignore-case"]
    if rg is None:
        worker = [sys.executable, "-I", "-S", grep_worker.__file__]
        return [*worker, *case, "--max-count", str(MAX_MATCHES), "-e", args.pattern, str(target)]
    return [
        rg,
        "--no-config",  # RIPGREP_CONFIG_PATH could change the output format
        "--no-heading",
        "--with-filename",
        "--line-number",
        "--null",
        "--color=never",
        "--max-columns",
        str(MAX_COLUMNS),
        "--max-columns-preview",
        *case,
        "--max-count",
        str(MAX_MATCHES),
        "-e",
        args.pattern,
        "--",
        str(target),
    ]


def _parse(out: bytes) -> list[tuple[str, int, str]]:
    """``path NUL number : text`` lines (ripgrep's ``--null`` output, and the worker's)."""
    results: list[tuple[str, int, str]] = []
    for line in out.split(b"\n"):
        path, nul, rest = line.partition(b"\0")
        number, _, text = rest.partition(b":")
        if nul and number.isdigit():
            results.append((os.fsdecode(path), int(number), text.decode("utf-8", errors="replace")))
    return results


def _format_hits(ctx: ToolContext, hits: Sequence[CodeHit]) -> str:
    """The hits as text, without any from a secrets file: the index leaves them out, and
    this catches an index built before a file became secret (its next run drops it)."""
    policy = SecretPolicy.of(ctx.settings)
    blocks: list[str] = []
    for hit in hits:
        if policy.path(hit.path) or policy.content(hit.text):
            continue
        label = f" ({hit.symbol})" if hit.symbol else ""
        blocks.append(f"{hit.path}:{hit.start_line}-{hit.end_line}{label}\n{hit.text}")
    return "\n\n".join(blocks) or "no results"


class CodeSearchArgs(Args):
    query: str = Field(min_length=1, description="What the code does, or words it contains.")
    limit: int = Field(default=8, ge=1, le=30)


class CodeSearch(Tool):
    name = "code_search"
    description = "Search the workspace index for code relevant to a question."
    Arguments = CodeSearchArgs

    async def run(self, args: CodeSearchArgs, ctx: ToolContext) -> str:
        if ctx.index is None:
            raise ToolError("the workspace index is not available; use grep_search instead")
        return _format_hits(ctx, await ctx.index.search(args.query, limit=args.limit))


class SymbolSearchArgs(Args):
    name: str = Field(min_length=1, description="A function, class or variable name.")
    limit: int = Field(default=10, ge=1, le=50)


class SymbolSearch(Tool):
    name = "symbol_search"
    description = "Find where a symbol is defined."
    Arguments = SymbolSearchArgs

    async def run(self, args: SymbolSearchArgs, ctx: ToolContext) -> str:
        if ctx.index is None:
            raise ToolError("the workspace index is not available; use grep_search instead")
        return _format_hits(ctx, await ctx.index.symbols(args.name, limit=args.limit))


class TeamCodeSearchArgs(Args):
    query: str = Field(min_length=1, description="What the code does, or words it contains.")
    repositories: list[str] = Field(
        default_factory=list,
        description="Only these published repositories (by name); every one you may read"
        " when empty.",
    )
    limit: int = Field(default=8, ge=1, le=30)


class TeamCodeSearch(Tool):
    name = "team_code_search"
    description = (
        "Search the code your team has published, including repositories not cloned here;"
        " each result is REPOSITORY@COMMIT:PATH:LINES."
    )
    Arguments = TeamCodeSearchArgs

    async def run(self, args: TeamCodeSearchArgs, ctx: ToolContext) -> str:
        from daemon.errors import DaemonError

        if ctx.team_code is None:
            raise ToolError("team search is not configured; search the workspace instead")
        try:
            hits = await ctx.team_code.search(
                args.query, limit=args.limit, repositories=args.repositories
            )
        except DaemonError as exc:
            raise ToolError(f"team search cannot answer: {exc}") from exc
        return _format_hits(ctx, hits)
