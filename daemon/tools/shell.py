"""execute_command: a shell command in the workspace, after the user approves it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal

from pydantic import Field

from daemon.tools.base import Args, Tool, ToolContext, ToolError, cap
from daemon.tools.paths import confine


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
        process = await asyncio.create_subprocess_shell(
            args.command,
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a kill reaches its children
        )
        try:
            out, _ = await asyncio.wait_for(
                process.communicate(), timeout=ctx.settings.command_timeout_s
            )
        except TimeoutError:
            await _kill(process)
            raise ToolError(
                f"`{args.command}` did not finish within {ctx.settings.command_timeout_s:g} s"
                " and was killed"
            ) from None
        except asyncio.CancelledError:
            await _kill(process)
            raise
        text = out.decode("utf-8", errors="replace")
        return f"exit code {process.returncode}\n" + cap(text, ctx.settings.max_output_chars)


def _allowed(command: str, allow: tuple[str, ...]) -> bool:
    """Only a single simple command whose program is allow-listed skips the approval."""
    if not allow or any(ch in command for ch in ";&|`$<>\n"):
        return False
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    return bool(words) and words[0] in allow


async def _kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    await process.wait()
