"""The tool runtime: threads that stop, processes that die, budgets that pause for the user."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from daemon.solver.settings import ToolSettings
from daemon.tools import runtime
from daemon.tools.base import Args, Tool, ToolContext, ToolError, invoke


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_a_cancelled_thread_is_told_to_stop_and_the_caller_returns_at_once() -> None:
    started, stopped = threading.Event(), threading.Event()

    def spin() -> None:
        started.set()
        try:
            while True:
                runtime.checkpoint()
        except runtime.Stopped:
            stopped.set()
            raise

    task = asyncio.ensure_future(runtime.in_thread(spin))
    await asyncio.to_thread(started.wait, 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(stopped.wait, 10)


async def test_a_thread_returns_its_value_or_raises_its_error() -> None:
    assert await runtime.in_thread(sum, [1, 2, 3]) == 6
    with pytest.raises(ZeroDivisionError):
        await runtime.in_thread(lambda: 1 / 0)


async def test_a_cancelled_process_and_its_children_are_killed(tmp_path: Path) -> None:
    script = "sleep 60 & echo $! > child; echo $$ > pid; wait"
    task = asyncio.ensure_future(runtime.run_process(["/bin/sh", "-c", script], cwd=tmp_path))
    pid_file, child_file = tmp_path / "pid", tmp_path / "child"
    for _ in range(1000):  # a bounded wait for the shell to start its child
        if pid_file.exists() and child_file.exists() and child_file.read_text().strip():
            break
        await asyncio.sleep(0.01)
    pid, child = int(pid_file.read_text()), int(child_file.read_text())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _gone(pid)
    for _ in range(200):  # the child is reaped by init: a bounded wait for that
        if _gone(child):
            break
        await asyncio.sleep(0.01)
    assert _gone(child)


async def test_output_past_the_limit_stops_the_process() -> None:
    done = await runtime.run_process(["yes"], max_stdout=100_000)
    assert done.truncated and len(done.stdout) == 100_000


async def test_a_child_holding_the_pipe_does_not_hold_the_caller(tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    done = await runtime.run_process(["/bin/sh", "-c", "sleep 60 & echo out"], cwd=tmp_path)
    assert done.returncode == 0 and done.stdout == b"out\n"
    assert loop.time() - started < runtime.DRAIN_S + 5


class _Args(Args):
    seconds: float = 0


class _Waits(Tool):
    """Sleeps for ``seconds``, then asks the user, then sleeps again; like an MCP tool, it
    has a ``__call__`` of its own."""

    name = "waits"
    description = "test tool"
    Arguments = _Args

    async def __call__(self, arguments: Mapping[str, Any], ctx: ToolContext) -> str:
        args = _Args.model_validate(dict(arguments))
        await asyncio.sleep(args.seconds)
        assert ctx.confirm is not None
        await ctx.confirm("ok?", {})
        await asyncio.sleep(args.seconds)
        return "done"


async def test_the_budget_stops_a_tool_and_the_model_is_told() -> None:
    """Even a tool with its own ``__call__``: the budget is the agent loop's (invoke)."""

    async def confirm(message: str, details: Mapping[str, Any]) -> bool:
        return True

    ctx = ToolContext(roots=[], settings=ToolSettings(timeout_s=0.2), confirm=confirm)
    with pytest.raises(ToolError, match=r"did not finish within 0\.2 s"):
        await invoke(_Waits(), {"seconds": 5}, ctx)


async def test_time_waiting_on_the_user_does_not_count() -> None:
    async def slow_person(message: str, details: Mapping[str, Any]) -> bool:
        await asyncio.sleep(0.5)
        return True

    ctx = ToolContext(roots=[], settings=ToolSettings(timeout_s=0.3), confirm=slow_person)
    assert await invoke(_Waits(), {"seconds": 0.1}, ctx) == "done"


async def test_a_tools_own_timeout_error_is_not_taken_for_the_budget() -> None:
    class Raises(Tool):
        name = "raises"
        description = "test tool"
        Arguments = _Args

        async def run(self, args: _Args, ctx: ToolContext) -> str:
            raise TimeoutError("its own")

    with pytest.raises(TimeoutError, match="its own"):
        await invoke(Raises(), {}, ToolContext(roots=[]))


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups")
async def test_a_command_killed_at_its_budget_says_so(tmp_path: Path) -> None:
    from daemon.tools.shell import ExecuteCommand

    settings = ToolSettings(command_timeout_s=0.3, timeout_s=0.1, command_allow=("sleep",))
    ctx = ToolContext(roots=[tmp_path], settings=settings)
    with pytest.raises(ToolError, match=r"`sleep 30` did not finish within 0\.3 s"):
        await invoke(ExecuteCommand(), {"command": "sleep 30"}, ctx)
