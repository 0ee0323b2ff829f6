"""Read-only git through one ``git`` tool: status, diff, log and blame of a line range."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field

from daemon.solver.settings import ToolSettings
from daemon.tools.base import Args, Tool, ToolContext, ToolError
from daemon.tools.paths import check_readable, confine
from daemon.tools.runtime import in_thread, run_process


def git_env() -> dict[str, str]:
    """The environment git runs in: never prompting, never taking a lock."""
    return {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}


async def run_git(cwd: Path, *args: str, max_stdout: int = 4_000_000) -> str:
    """``git ARGS`` in ``cwd``: its output, or a ToolError saying why not.

    Every git the tools run goes through here, in a process the daemon kills when the call
    is cancelled or out of time.
    """
    try:
        done = await run_process(["git", *args], cwd=cwd, env=git_env(), max_stdout=max_stdout)
    except FileNotFoundError:
        raise ToolError("git is not installed, so the git tool cannot run") from None
    err = done.stderr.decode("utf-8", errors="replace").strip()
    if done.returncode != 0:
        if "not a git repository" in err:
            raise ToolError("this path is not inside a git repository")
        raise ToolError(f"git {args[0]} failed: {err[:500]}")
    return done.stdout.decode("utf-8", errors="replace").removesuffix("\n")


def secret_excludes(settings: ToolSettings) -> list[str]:
    """Pathspecs that leave secret files out of a diff (the same patterns that keep the
    model from reading them), to follow ``--``; none when secret files are allowed."""
    if settings.allow_secret_files:
        return []
    out = []
    for pattern in settings.secret_patterns:
        out.append(f":(exclude,glob)**/{pattern}")
        if "/" not in pattern:  # a name pattern matches a directory of that name too
            out.append(f":(exclude,glob)**/{pattern}/**")
    return out


async def _toplevel(path: Path) -> Path:
    folder = path if await in_thread(path.is_dir) else path.parent
    return Path(await run_git(folder, "rev-parse", "--show-toplevel"))


class GitArgs(Args):
    command: Literal["status", "diff", "log", "blame"] = Field(
        description="status: branch and changed files; diff: uncommitted changes (or staged, "
        "or against ref); log: recent commits touching path; blame: who last changed each "
        "line of path between startLine and endLine."
    )
    path: str = Field(default=".", description="A path inside the repository.")
    staged: bool = Field(default=False, description="diff: the staged changes only.")
    ref: str | None = Field(default=None, description="diff: compare against this ref.")
    limit: int = Field(default=10, ge=1, le=100, description="log: how many commits.")
    start_line: int | None = Field(default=None, ge=1, alias="startLine")
    end_line: int | None = Field(default=None, ge=1, alias="endLine")


class Git(Tool):
    name = "git"
    description = "Read-only git: status, diff, log, or blame of a line range."
    Arguments = GitArgs

    async def run(self, args: GitArgs, ctx: ToolContext) -> str:
        path = confine(ctx.roots, args.path)
        if args.ref is not None and args.ref.startswith("-"):
            raise ToolError("ref must be a commit or branch name, not an option")
        if args.command == "blame" or await in_thread(path.is_file):
            check_readable(ctx.roots, path, ctx.settings)
        return await _RUN[args.command](path, args, ctx.settings)


async def _call(path: Path, name: str, *flags: str) -> str:
    return await run_git(await _toplevel(path), name, *flags)


async def _status(path: Path, args: GitArgs, settings: ToolSettings) -> str:
    return await _call(path, "status", "--short", "--branch")


async def _diff(path: Path, args: GitArgs, settings: ToolSettings) -> str:
    # Repository config is untrusted: no external diff program, no textconv filter.
    flags = ["--no-ext-diff", "--no-textconv"]
    flags += ["--cached"] if args.staged else []
    flags += [args.ref] if args.ref else []
    spec = [str(path), *secret_excludes(settings)]
    return await _call(path, "diff", *flags, "--", *spec) or "no differences"


async def _log(path: Path, args: GitArgs, settings: ToolSettings) -> str:
    fmt = "--format=%h %ad %an: %s"
    return await _call(path, "log", f"-{args.limit}", fmt, "--date=short", "--", str(path)) or (
        "no commits"
    )


async def _blame(path: Path, args: GitArgs, settings: ToolSettings) -> str:
    if not await in_thread(path.is_file):
        raise ToolError("blame needs a file path")
    start = args.start_line or 1
    end = args.end_line or start + 49
    if end < start:
        raise ToolError(f"endLine {end} is before startLine {start}")
    end = min(end, start + 199)
    return await _call(path, "blame", "--date=short", "-L", f"{start},{end}", "--", str(path))


_RUN = {"status": _status, "diff": _diff, "log": _log, "blame": _blame}
