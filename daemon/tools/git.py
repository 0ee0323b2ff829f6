"""Read-only git: status, diff and log of the repository holding a workspace path."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

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
    path: str = Field(default=".", description="A path inside the repository.")


class GitStatus(Tool):
    name = "git_status"
    description = "The git branch and the changed, staged and untracked files."
    Arguments = GitArgs

    async def run(self, args: GitArgs, ctx: ToolContext) -> str:
        path = confine(ctx.roots, args.path)
        return await asyncio.to_thread(lambda: _repo(path).git.status("--short", "--branch"))


class GitDiffArgs(GitArgs):
    staged: bool = False
    ref: str | None = Field(default=None, description="Compare against this commit or branch.")


class GitDiff(Tool):
    name = "git_diff"
    description = "The diff of uncommitted changes (or staged, or against a ref)."
    Arguments = GitDiffArgs

    async def run(self, args: GitDiffArgs, ctx: ToolContext) -> str:
        path = confine(ctx.roots, args.path)
        if args.ref is not None and args.ref.startswith("-"):
            raise ToolError("ref must be a commit or branch name, not an option")

        def diff() -> str:
            import git

            flags = ["--cached"] if args.staged else []
            flags += [args.ref] if args.ref else []
            try:
                out: str = _repo(path).git.diff(*flags, "--", str(path))
            except git.GitCommandError as exc:
                raise ToolError(f"git diff failed: {exc.stderr.strip()[:500]}") from None
            return out or "no differences"

        return await asyncio.to_thread(diff)


class GitLogArgs(GitArgs):
    limit: int = Field(default=10, ge=1, le=100)


class GitLog(Tool):
    name = "git_log"
    description = "Recent commits touching a path: hash, date, author and subject."
    Arguments = GitLogArgs

    async def run(self, args: GitLogArgs, ctx: ToolContext) -> str:
        path = confine(ctx.roots, args.path)

        def log() -> str:
            out: str = _repo(path).git.log(
                f"-{args.limit}", "--format=%h %ad %an: %s", "--date=short", "--", str(path)
            )
            return out or "no commits"

        return await asyncio.to_thread(log)
