"""Finding code: grep (ripgrep when installed), and the index's code and symbol search."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from pydantic import Field

from daemon.tools.base import Args, SearchHit, Tool, ToolContext, ToolError
from daemon.tools.files import SKIPPED_DIRS
from daemon.tools.paths import confine, is_secret, relative

MAX_MATCHES = 200


class GrepArgs(Args):
    pattern: str = Field(min_length=1, description="A regular expression.")
    path: str = Field(default=".", description="File or directory to search.")
    case_sensitive: bool = Field(default=True, alias="caseSensitive")


class Grep(Tool):
    name = "grep_search"
    description = "Search file contents with a regular expression; returns path:line: text."
    Arguments = GrepArgs

    async def run(self, args: GrepArgs, ctx: ToolContext) -> str:
        try:
            compiled = re.compile(args.pattern, 0 if args.case_sensitive else re.IGNORECASE)
        except re.error as exc:
            raise ToolError(f"pattern is not a valid regular expression: {exc}") from None
        target = confine(ctx.roots, args.path)
        rg = shutil.which("rg")
        if rg is not None:
            lines = await _ripgrep(rg, args, target)
        else:
            lines = await asyncio.to_thread(_python_grep, compiled, target)
        found: list[str] = []
        for path_text, number, text in lines:
            path = Path(path_text)  # under the resolved target; links are not followed
            rel = relative(ctx.roots, path)
            if is_secret(path, rel, ctx.settings):
                continue
            found.append(f"{rel}:{number}: {text.rstrip()[:300]}")
            if len(found) >= MAX_MATCHES:
                found.append(f"[stopped at {MAX_MATCHES} matches; narrow the pattern or path]")
                break
        return "\n".join(found) or "no matches"


async def _ripgrep(rg: str, args: GrepArgs, target: Path) -> list[tuple[str, int, str]]:
    argv = [rg, "--no-heading", "--line-number", "--with-filename", "--color=never"]
    argv += [] if args.case_sensitive else ["--ignore-case"]
    argv += ["--max-count", str(MAX_MATCHES), "-e", args.pattern, str(target)]
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await process.communicate()
    except asyncio.CancelledError:
        process.kill()
        await process.wait()
        raise
    if process.returncode not in (0, 1):
        raise ToolError(f"grep failed: {err.decode(errors='replace').strip()[:500]}")
    results: list[tuple[str, int, str]] = []
    for line in out.decode(errors="replace").splitlines():
        path, _, rest = line.partition(":")
        number, _, text = rest.partition(":")
        if number.isdigit():
            results.append((path, int(number), text))
    return results


def _python_grep(pattern: re.Pattern[str], target: Path) -> list[tuple[str, int, str]]:
    """The fallback when ripgrep is missing: same output, skipping binaries and vendor dirs."""
    files: list[Path] = []
    if target.is_file():
        files = [target]
    else:
        for folder, dirs, names in os.walk(target):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
            files += [Path(folder) / n for n in sorted(names)]
    results: list[tuple[str, int, str]] = []
    for file in files:
        if file.is_symlink():  # as ripgrep: a link may lead outside the workspace
            continue
        try:
            data = file.read_bytes()
        except OSError:
            continue
        if b"\0" in data[:8192]:
            continue
        for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            if pattern.search(line):
                results.append((str(file), number, line))
                if len(results) > MAX_MATCHES:
                    return results
    return results


def _format_hits(ctx: ToolContext, hits: Sequence[SearchHit]) -> str:
    blocks: list[str] = []
    for hit in hits:
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
