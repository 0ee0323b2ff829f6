"""execute_command: a shell command in the workspace, after the user approves it."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field

from daemon.tools.base import Args, Tool, ToolContext, ToolError, cap
from daemon.tools.paths import confine
from daemon.tools.runtime import in_thread, run_process

# Output kept from a command (the model sees at most solver.tools.maxOutputChars of it).
MAX_OUTPUT_BYTES = 4_000_000


class ExecuteCommandArgs(Args):
    command: str = Field(min_length=1)
    cwd: str = Field(default=".", description="Directory relative to the workspace root.")


class ExecuteCommand(Tool):
    name = "execute_command"
    description = (
        "Run a shell command in the workspace (the user approves it first). Returns its exit "
        "code and combined output."
    )
    Arguments = ExecuteCommandArgs
    read_only = False

    async def run(self, args: ExecuteCommandArgs, ctx: ToolContext) -> str:
        cwd = confine(ctx.roots, args.cwd)
        if not cwd.is_dir():
            raise ToolError(f"cwd {args.cwd!r} is not a directory")
        allowed, why = approval(args.command, ctx.settings.command_allow)
        env: dict[str, str] | None = None
        if allowed:
            env, hazards = await in_thread(hardened_env, cwd)
            if hazards:
                allowed = False
                why = (
                    f"this repository's git config names a program ({', '.join(hazards)}) "
                    "that the command could run"
                )
        if not allowed:
            if ctx.confirm is None:
                raise ToolError("commands need the user's approval and no one can give it")
            approved = await ctx.confirm(
                f"Run `{args.command}`? ({why})",
                {"command": args.command, "cwd": str(cwd), "reason": why},
            )
            if not approved:
                raise ToolError(f"the user declined to run `{args.command}`")
        # Nobody looked at an allow-listed command, so the repository's git config must not
        # turn it into another program (git status running core.fsmonitor): every git it
        # starts gets the hardened settings through GIT_CONFIG_COUNT, which beat the files.
        if not allowed:
            env = None
        shell = ["cmd.exe", "/c"] if os.name == "nt" else ["/bin/sh", "-c"]
        argv = [*shell, args.command]
        done = await run_process(
            argv, cwd=cwd, env=env, merge_stderr=True, max_stdout=MAX_OUTPUT_BYTES
        )
        text = done.stdout.decode("utf-8", errors="replace")
        if done.truncated:
            text += "\n[... the command printed more than 4 MB and was stopped there ...]"
        return f"exit code {done.returncode}\n" + cap(text, ctx.settings.max_output_chars)

    def budget(self, ctx: ToolContext) -> float | None:
        return ctx.settings.command_timeout_s

    def over_budget(self, arguments: Mapping[str, Any], seconds: float) -> str:
        return (
            f"`{arguments.get('command')}` did not finish within {seconds:g} s and was killed"
            " (solver.tools.commandTimeoutS)"
        )


def hardened_env(cwd: Path) -> tuple[dict[str, str], list[str]]:
    """The daemon's environment with git's program-naming settings overridden
    (``indexer.gitsafe``) for every git a command starts, as ``-c`` would; and the
    repository's settings no override can disarm (an external diff program runs even when
    emptied, and only a ``--no-ext-diff`` the command does not have would stop it)."""
    from indexer.gitsafe import SAFE_CONFIG, repository_drivers

    env = dict(os.environ)
    drivers = repository_drivers(cwd)
    unarmed = [d.split("=", 1)[0] for d in drivers if d.split("=", 1)[0].endswith(".command")]
    external = _git_config(cwd, "diff.external")
    settings = [
        s
        for s in (*SAFE_CONFIG, *drivers)
        if not s.startswith("diff.external=") and not s.split("=", 1)[0].endswith(".command")
    ]
    for index, setting in enumerate(settings):
        key, _, value = setting.partition("=")
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    env["GIT_CONFIG_COUNT"] = str(len(settings))
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    hazards = (["diff.external"] if external else []) + [
        key for key in unarmed if _git_config(cwd, key)
    ]
    return env, hazards


def _git_config(cwd: Path, key: str) -> str:
    import subprocess

    from indexer.gitsafe import git_env

    try:
        # No -c overrides here: they would answer instead of the repository's files, and
        # reading config runs nothing.
        done = subprocess.run(
            ["git", "config", "--get", key],
            cwd=cwd,
            env=git_env(),
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.decode("utf-8", errors="replace").strip()


# Options that make a program run code or another program, read a config that may, or
# point it at another repository's: beyond an allow-listed prefix, each needs approval.
RISKY_OPTIONS = frozenset(
    {
        "-c",
        "-e",
        "--eval",
        "--exec",
        "-exec",
        "-execdir",
        "-ok",
        "-okdir",
        "-fprint",
        "-fprintf",
        "-fls",
        "-delete",
        "--upload-pack",
        "-u",
        "--receive-pack",
        "--config",
        "--config-env",
        "--exec-path",
        "--git-dir",
        "--work-tree",
        "--namespace",
        "--pre",
        "--run",
        "--command",
        "--init-file",
        "--rcfile",
        "--output",
        "-o",
        "--shell",
        "--editor",
        "--pager",
        "--ext-diff",
        "--textconv",
    }
)
# Shell syntax: more than one simple command, redirections, substitution, expansion.
_SHELL_SYNTAX = ";&|`$<>()\n\r"


def approval(command: str, allow: tuple[str, ...]) -> tuple[bool, str]:
    """Whether ``command`` runs without asking, and if not, why not (shown to the user).

    Each ``command_allow`` entry is an argv prefix (``"pytest"``, ``"git status"``,
    ``"npm test"``). A command runs unasked only when it is one simple command (no shell
    metacharacter: ``; & | ` $ < > ( )`` or a newline), its words start with an entry's
    words, and no word after that prefix is an option that can run code (``-c``,
    ``--exec``, ``-exec``, ``--upload-pack``, ``--config``, ... :data:`RISKY_OPTIONS`,
    also as ``--opt=value`` or ``-cVALUE``).
    """
    if not allow:
        return False, "no command is allowed without asking (solver.tools.commandAllow)"
    found = next((ch for ch in command if ch in _SHELL_SYNTAX), None)
    if found is not None:
        shown = {"\n": "a newline", "\r": "a carriage return"}.get(found, f"`{found}`")
        return False, f"it uses shell syntax ({shown}), which the allow-list never covers"
    try:
        words = shlex.split(command)
    except ValueError:
        return False, "it cannot be split into words"
    if not words:
        return False, "it is empty"
    prefix = _matching_prefix(words, allow)
    if prefix is None:
        return False, f"`{' '.join(words[:2])}` is not in solver.tools.commandAllow"
    for word in words[prefix:]:
        risky = _risky(word)
        if risky is not None:
            return False, f"`{risky}` after `{' '.join(words[:prefix])}` can run other code"
    return True, "allow-listed"


def _matching_prefix(words: list[str], allow: tuple[str, ...]) -> int | None:
    best: int | None = None
    for entry in allow:
        try:
            wanted = shlex.split(entry)
        except ValueError:
            continue
        if wanted and words[: len(wanted)] == wanted and (best is None or len(wanted) > best):
            best = len(wanted)
    return best


def _risky(word: str) -> str | None:
    option = word.split("=", 1)[0]
    if option in RISKY_OPTIONS:
        return option
    # A short option with its value attached (-cfoo), or bundled (-xc).
    if len(word) > 2 and word[0] == "-" and word[1] != "-":
        for flag in ("-c", "-e", "-u", "-o"):
            if word.startswith(flag) or flag[1] in word[1:3]:
                return flag
    return None
