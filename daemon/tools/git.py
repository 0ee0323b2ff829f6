"""Read-only git through one ``git`` tool: status, diff, log and blame of a line range."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from daemon.tools.base import Args, Tool, ToolContext, ToolError
from daemon.tools.paths import confine


def _repo(path: Path) -> Any:
    import git  # gitpython costs ~90 ms to import: only when a git tool runs

    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise ToolError("this path is not inside a git repository") from None


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
        return await asyncio.to_thread(_RUN[args.command], path, args)


def _call(path: Path, name: str, *flags: str) -> str:
    import git

    try:
        out: str = getattr(_repo(path).git, name)(*flags)
    except git.GitCommandError as exc:
        raise ToolError(f"git {name} failed: {str(exc.stderr).strip()[:500]}") from None
    return out


def _status(path: Path, args: GitArgs) -> str:
    return _call(path, "status", "--short", "--branch")


def _diff(path: Path, args: GitArgs) -> str:
    flags = ["--cached"] if args.staged else []
    flags += [args.ref] if args.ref else []
    return _call(path, "diff", *flags, "--", str(path)) or "no differences"


def _log(path: Path, args: GitArgs) -> str:
    fmt = "--format=%h %ad %an: %s"
    return _call(path, "log", f"-{args.limit}", fmt, "--date=short", "--", str(path)) or (
        "no commits"
    )


def _blame(path: Path, args: GitArgs) -> str:
    if not path.is_file():
        raise ToolError("blame needs a file path")
    start = args.start_line or 1
    end = args.end_line or start + 49
    if end < start:
        raise ToolError(f"endLine {end} is before startLine {start}")
    end = min(end, start + 199)
    return _call(path, "blame", "--date=short", "-L", f"{start},{end}", "--", str(path))


_RUN = {"status": _status, "diff": _diff, "log": _log, "blame": _blame}
