"""execute_command: a shell command in the workspace, after the user approves it."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from daemon.tools.base import Args, Tool, ToolContext, ToolError, cap
from daemon.tools.paths import confine
from daemon.tools.runtime import run_process

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
        if not _allowed(args.command, ctx.settings.command_allow):
            if ctx.confirm is None:
                raise ToolError("commands need the user's approval and no one can give it")
            approved = await ctx.confirm(
                f"Run `{args.command}`?", {"command": args.command, "cwd": str(cwd)}
            )
            if not approved:
                raise ToolError(f"the user declined to run `{args.command}`")
        shell = ["cmd.exe", "/c"] if os.name == "nt" else ["/bin/sh", "-c"]
        argv = [*shell, args.command]
        done = await run_process(argv, cwd=cwd, merge_stderr=True, max_stdout=MAX_OUTPUT_BYTES)
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


def _allowed(command: str, allow: tuple[str, ...]) -> bool:
    """Only a single simple command whose program is allow-listed skips the approval."""
    if not allow or any(ch in command for ch in ";&|`$<>\n"):
        return False
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    return bool(words) and words[0] in allow
