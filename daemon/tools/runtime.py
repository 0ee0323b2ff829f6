"""How tools run: off the event loop, within a time budget, and cancellable for real.

The event loop answers the editor (``deputydev/status``, ``$/cancelRequest``) while tools
work, so no tool may block it, and a tool that is cancelled or runs out of time must stop
working, not merely stop being awaited:

- :func:`in_thread` runs blocking Python in a daemon thread of its own. When the awaiting
  task is cancelled (or its budget runs out) the caller returns at once and the thread's
  stop flag is set; code that loops calls :func:`checkpoint`, which raises :class:`Stopped`.
  C code that holds the GIL for long (Python's ``re``, a tree-sitter parse of a huge file)
  would still stall the loop, so such work runs in a subprocess or in slices.
- :func:`run_process` runs a program in its own process group, reads at most a bounded
  amount of its output, and kills the whole group when cancelled, when its output is too
  large, or when its children keep the pipes open after it exits.
- :class:`Budget` is the time a tool call may take. ``Tool.__call__`` opens one around
  every tool, so any tool (present or future) gets it for free; the time spent waiting on
  the user (``deputydev/confirm``, ``deputydev/askUser``, ``workspace/applyEdit``) does
  not count: those waits run inside :func:`waiting_on_user`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import signal
import sys
import threading
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

# Once a program has exited, how long its output pipes may stay open (held by a child it
# left behind) before the group is killed and what was read is returned.
DRAIN_S = 1.0


class Stopped(Exception):
    """Raised by :func:`checkpoint` in a thread whose caller has gone away."""


# --------------------------------------------------------------------------- threads

_local = threading.local()


def checkpoint() -> None:
    """In code run by :func:`in_thread`: stop here if the caller was cancelled or timed out."""
    flag: threading.Event | None = getattr(_local, "stop", None)
    if flag is not None and flag.is_set():
        raise Stopped


def stop_requested() -> bool:
    flag: threading.Event | None = getattr(_local, "stop", None)
    return flag is not None and flag.is_set()


async def in_thread(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` in a fresh daemon thread; cancelling the caller stops it.

    A daemon thread of its own rather than a pool's: a thread that is slow to notice its
    stop flag neither holds a pool slot others wait for nor keeps the daemon from exiting.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    stop = threading.Event()
    context = contextvars.copy_context()

    def deliver(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def work() -> None:
        _local.stop = stop
        result: T | None = None
        error: BaseException | None = None
        try:
            result = context.run(fn, *args, **kwargs)
        except Stopped:
            return
        except BaseException as exc:
            error = exc
        finally:
            _local.stop = None
        if not stop.is_set():
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
                loop.call_soon_threadsafe(deliver, result, error)

    name = getattr(fn, "__qualname__", "work")
    threading.Thread(target=work, name=f"tool:{name}", daemon=True).start()
    try:
        return await future
    finally:
        stop.set()  # done, cancelled or timed out: the thread has nothing more to do


# --------------------------------------------------------------------------- processes


@dataclass(frozen=True, slots=True)
class Completed:
    returncode: int
    stdout: bytes
    stderr: bytes
    # The output went past ``max_stdout`` and the program was stopped there.
    truncated: bool = False


def _kill_group(process: asyncio.subprocess.Process) -> None:
    try:
        if sys.platform == "win32":
            process.kill()
        else:
            os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class _Output:
    """What one pipe delivered, kept as it arrives so a reader stopped midway loses none."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: list[bytes] = []
        self.size = 0
        self.full = asyncio.Event()

    async def read(self, stream: asyncio.StreamReader | None) -> None:
        if stream is None:
            return
        while chunk := await stream.read(65536):
            self.chunks.append(chunk)
            self.size += len(chunk)
            if self.size > self.limit:
                self.full.set()
                return

    def data(self) -> bytes:
        return b"".join(self.chunks)[: self.limit]


class _Protocol(asyncio.subprocess.SubprocessStreamProtocol):
    """The stream protocol of ``create_subprocess_exec``, telling when the program exits:
    ``Process.wait()`` also waits for every pipe to close, which a child left behind in
    the background may never do."""

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=limit, loop=loop)
        self.exited = asyncio.Event()

    def process_exited(self) -> None:
        super().process_exited()
        self.exited.set()


async def _first(*events: asyncio.Event) -> None:
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


async def run_process(
    argv: Sequence[str],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    merge_stderr: bool = False,
    max_stdout: int = 4_000_000,
    max_stderr: int = 65_536,
) -> Completed:
    """Run ``argv`` to completion in its own process group; killed if the caller gives up.

    ``stdout`` is cut at ``max_stdout`` bytes (the program is then killed and ``truncated``
    set); with ``merge_stderr`` the program's stderr goes to the same pipe. Once the
    program exits, children it left holding its pipes get :data:`DRAIN_S` to let go
    before the group is killed.
    """
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_exec(
        lambda: _Protocol(limit=2**16, loop=loop),
        *argv,
        cwd=str(cwd) if cwd is not None else None,
        env=dict(env) if env is not None else None,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT if merge_stderr else asyncio.subprocess.PIPE,
        start_new_session=True,  # a group of its own, so one kill reaches its children too
    )
    process = asyncio.subprocess.Process(transport, protocol, loop)
    out, err = _Output(max_stdout), _Output(max_stderr)
    readers = asyncio.gather(out.read(process.stdout), err.read(process.stderr))
    readers.add_done_callback(lambda f: f.cancelled() or f.exception())
    try:
        if stdin is not None and process.stdin is not None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                process.stdin.write(stdin)
                await process.stdin.drain()
            process.stdin.close()
        await _first(protocol.exited, out.full)
        if not protocol.exited.is_set():  # too much output: stop it here
            _kill_group(process)
            await protocol.exited.wait()
        # Children it left may still hold the pipes: a moment to let go, then the group goes.
        for _ in range(2):
            _done, pending = await asyncio.wait({readers}, timeout=DRAIN_S)
            if not pending:
                break
            _kill_group(process)
    except BaseException:
        _kill_group(process)
        if not protocol.exited.is_set():  # reaped before the caller moves on
            with contextlib.suppress(BaseException):
                await asyncio.shield(asyncio.wait_for(protocol.exited.wait(), 5))
        raise
    finally:
        readers.cancel()
        transport.close()
    returncode = transport.get_returncode()
    assert returncode is not None
    return Completed(returncode, out.data(), err.data(), out.full.is_set())


# --------------------------------------------------------------------------- budgets

_BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("budget", default=None)


class Budget:
    """At most ``seconds`` of work (None: no limit) for the code inside ``async with``.

    On expiry the work is cancelled (threads told to stop, processes killed) and
    ``TimeoutError`` comes out of the block, with :attr:`expired` set.
    """

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._timeout = asyncio.timeout(seconds)
        self._paused = 0
        self._remaining: float | None = None
        self._token: contextvars.Token[Budget | None] | None = None

    async def __aenter__(self) -> Budget:
        await self._timeout.__aenter__()
        self._token = _BUDGET.set(self)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _BUDGET.reset(self._token)
        await self._timeout.__aexit__(kind, exc, tb)  # raises TimeoutError once expired

    @property
    def expired(self) -> bool:
        return self._timeout.expired()

    def pause(self) -> None:
        self._paused += 1
        when = self._timeout.when()
        if self._paused == 1 and when is not None and not self._timeout.expired():
            self._remaining = max(when - asyncio.get_running_loop().time(), 0.0)
            self._timeout.reschedule(None)

    def resume(self) -> None:
        self._paused -= 1
        if self._paused == 0 and self._remaining is not None and not self._timeout.expired():
            self._timeout.reschedule(asyncio.get_running_loop().time() + self._remaining)
            self._remaining = None


@contextlib.asynccontextmanager
async def waiting_on_user() -> AsyncIterator[None]:
    """Time spent in here (a person deciding) does not count against the tool's budget."""
    budget = _BUDGET.get()
    if budget is None:
        yield
        return
    budget.pause()
    try:
        yield
    finally:
        budget.resume()
