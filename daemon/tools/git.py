"""Read-only git through one ``git`` tool: status, diff, log (with patches), show, and
blame of a line range.

Every git goes through :func:`run_git`, hardened by ``indexer.gitsafe``: the repository is
untrusted, and its configuration could otherwise make a read-only command run a program
(``core.fsmonitor``, filters, external diffs, textconv, ``log.showSignature``, a lazy
fetch). Patches of secret files (``daemon.tools.secrets``) are withheld from ``diff``,
``log`` and ``show``; ``blame`` of a secret file is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import Field

from daemon.tools.base import Args, Tool, ToolContext, ToolError
from daemon.tools.paths import check_readable, confine, relative
from daemon.tools.runtime import in_thread, run_process
from daemon.tools.secrets import SecretPolicy, filter_diff
from indexer.gitsafe import DIFF_FLAGS, config_flags, git_env, repository_drivers

# Subcommands whose output is a patch: no external diff program, no textconv.
_DIFFING = frozenset({"diff", "log", "show", "blame"})


async def run_git(cwd: Path, *args: str, max_stdout: int = 4_000_000) -> str:
    """``git ARGS`` in ``cwd``, hardened: its output, or a ToolError saying why not.

    Every git the tools run goes through here, in a process the daemon kills when the call
    is cancelled or out of time.
    """
    overrides = await in_thread(repository_drivers, cwd)
    flags = list(DIFF_FLAGS) if args and args[0] in _DIFFING else []
    argv = ["git", *config_flags(overrides), args[0], *flags, *args[1:]] if args else ["git"]
    try:
        done = await run_process(argv, cwd=cwd, env=git_env(), max_stdout=max_stdout)
    except FileNotFoundError:
        raise ToolError("git is not installed, so the git tool cannot run") from None
    err = done.stderr.decode("utf-8", errors="replace").strip()
    if done.returncode != 0:
        if "not a git repository" in err:
            raise ToolError("this path is not inside a git repository")
        raise ToolError(f"git {args[0]} failed: {err[:500]}")
    return done.stdout.decode("utf-8", errors="replace").removesuffix("\n")


async def _toplevel(path: Path) -> Path:
    folder = path if await in_thread(path.is_dir) else path.parent
    return Path(await run_git(folder, "rev-parse", "--show-toplevel"))


class GitArgs(Args):
    command: Literal["status", "diff", "log", "show", "blame"] = Field(
        description="status: branch and changed files; diff: uncommitted changes (or staged, "
        "or against ref); log: recent commits touching path (with patch: their changes); "
        "show: one commit (ref) and its changes under path; blame: who last changed each "
        "line of path between startLine and endLine."
    )
    path: str = Field(default=".", description="A path inside the repository.")
    staged: bool = Field(default=False, description="diff: the staged changes only.")
    ref: str | None = Field(
        default=None, description="diff: compare against this ref; show: the commit (default HEAD)."
    )
    limit: int = Field(default=10, ge=1, le=100, description="log: how many commits.")
    patch: bool = Field(default=False, description="log: include each commit's changes.")
    start_line: int | None = Field(default=None, ge=1, alias="startLine")
    end_line: int | None = Field(default=None, ge=1, alias="endLine")


class Git(Tool):
    name = "git"
    description = "Read-only git: status, diff, log, show, or blame of a line range."
    Arguments = GitArgs

    async def run(self, args: GitArgs, ctx: ToolContext) -> str:
        path = confine(ctx.roots, args.path)
        if args.ref is not None and (args.ref.startswith("-") or not args.ref.strip()):
            raise ToolError("ref must be a commit or branch name, not an option")
        if args.ref is not None and ":" in args.ref:
            # REV:PATH names a file's content (git show HEAD:.env), not a commit.
            raise ToolError("ref must name a commit or branch; give a file in path, not ref")
        policy = SecretPolicy.of(ctx.settings)
        if args.command == "blame":
            check_readable(ctx.roots, path, ctx.settings)
        elif args.command in ("diff", "log", "show") and await in_thread(path.is_file):
            # A secret file's own history: names and messages, never its content.
            rel = relative(ctx.roots, path)
            if (args.command != "log" or args.patch) and await in_thread(policy.file, path, rel):
                raise ToolError(
                    f"{rel} looks like a secrets file; its changes are not shown "
                    "(solver.tools.allowSecretFiles in your own config.toml)"
                )
        out = await _RUN[args.command](path, args)
        if args.command in ("status", "blame"):
            return out
        top = await _toplevel(path)
        return await in_thread(filter_diff, out, policy, secret_on_disk(policy, top))


def secret_on_disk(policy: SecretPolicy, top: Path) -> Callable[[str], bool]:
    """Whether a path of a diff, relative to the repository's top, is a secret file there
    now (by its content: a key under an innocent name)."""

    def secret(name: str) -> bool:
        target = top / name
        return target.resolve().is_relative_to(top.resolve()) and policy.file(target, name)

    return secret


async def _call(path: Path, name: str, *flags: str) -> str:
    return await run_git(await _toplevel(path), name, *flags)


async def _status(path: Path, args: GitArgs) -> str:
    return await _call(path, "status", "--short", "--branch", "--ignore-submodules=all")


async def _diff(path: Path, args: GitArgs) -> str:
    flags = ["--cached"] if args.staged else []
    flags += [args.ref] if args.ref else []
    return await _call(path, "diff", "--ignore-submodules", *flags, "--", str(path)) or (
        "no differences"
    )


async def _log(path: Path, args: GitArgs) -> str:
    fmt = "--format=%h %ad %an: %s"
    patch = ["-p"] if args.patch else []
    return await _call(
        path, "log", f"-{args.limit}", fmt, "--date=short", *patch, "--", str(path)
    ) or ("no commits")


async def _show(path: Path, args: GitArgs) -> str:
    ref = args.ref or "HEAD"
    return await _call(path, "show", "--format=fuller", ref, "--", str(path))


async def _blame(path: Path, args: GitArgs) -> str:
    if not await in_thread(path.is_file):
        raise ToolError("blame needs a file path")
    start = args.start_line or 1
    end = args.end_line or start + 49
    if end < start:
        raise ToolError(f"endLine {end} is before startLine {start}")
    end = min(end, start + 199)
    return await _call(path, "blame", "--date=short", "-L", f"{start},{end}", "--", str(path))


_RUN = {"status": _status, "diff": _diff, "log": _log, "show": _show, "blame": _blame}
