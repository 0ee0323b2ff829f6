"""Drive the real daemon: ``python -m daemon serve`` in a subprocess, over stdio.

:class:`DaemonClient` is pygls's ``LanguageClient`` with what our tests need: it records
``$/progress`` values by token, ``window/showMessage`` and custom notifications, answers
the server's requests (``workspace/applyEdit``, ``deputydev/confirm``,
``deputydev/askUser``, ``window/workDoneProgress/create``) with per-test handlers, and lets
a test wait for any of these as an event, never a sleep. The daemon's stderr goes to a file
(a pipe nobody reads would fill and stall it); ``stderr_text()`` reads it for assertions.
The process and its reader loop are wired here with pygls's public pieces (``set_writer``,
``pygls.io_.run_async``), not through ``start_io``'s private attributes; a request made
through :meth:`DaemonClient.request` fails at once when the daemon exits.

    client = await start_daemon(workspace=tmp_path)     # spawned and initialized
    result = await client.request("deputydev/status", {})
    await client.stop_daemon()                          # shutdown + exit, returns the exit code
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

ServerRequestHandler = Callable[[Any], Awaitable[Any] | Any]
TIMEOUT = 30.0


def _plain(value: Any) -> Any:
    """Namedtuples (pygls's untyped params) and attrs objects into plain JSON values."""
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class DaemonClient(LanguageClient):
    def __init__(self) -> None:
        super().__init__("deputydev-tests", "1.0")
        self.process: asyncio.subprocess.Process | None = None
        self.stderr_path: Path | None = None
        self.progress_values: dict[str, list[Any]] = defaultdict(list)
        self.messages: list[types.ShowMessageParams] = []
        self.notifications: dict[str, list[Any]] = defaultdict(list)
        self.server_requests: dict[str, list[Any]] = defaultdict(list)
        self.handlers: dict[str, ServerRequestHandler] = {}
        self._changed = asyncio.Condition()
        # Set when the reader loop should end; the loop, and the watcher of the process.
        self._reading_done = threading.Event()
        self._io_tasks: list[asyncio.Task[None]] = []
        self.exited = asyncio.Event()

        async def on_progress(params: types.ProgressParams) -> None:
            await self._record(self.progress_values[str(params.token)], _plain(params.value))

        self.handle(types.PROGRESS, on_progress)

        async def on_show_message(params: types.ShowMessageParams) -> None:
            await self._record(self.messages, params)

        self.handle(types.WINDOW_SHOW_MESSAGE, on_show_message)

        def on_log_message(params: types.LogMessageParams) -> None:
            pass

        self.handle(types.WINDOW_LOG_MESSAGE, on_log_message)

        def on_progress_create(params: types.WorkDoneProgressCreateParams) -> None:
            return None

        self.handle(types.WINDOW_WORK_DONE_PROGRESS_CREATE, on_progress_create)

    def handle(self, method: str, handler: Callable[..., Any]) -> None:
        """Register ``handler`` for the server's ``method`` (pygls's ``feature``, untyped, as
        a plain call)."""
        self.feature(method)(handler)

    async def _record(self, target: list[Any], value: Any) -> None:
        target.append(value)
        async with self._changed:
            self._changed.notify_all()

    def on_notification(self, method: str) -> None:
        """Record a custom notification so a test can wait for it."""

        async def record(params: Any) -> None:
            await self._record(self.notifications[method], _plain(params))

        self.handle(method, record)

    def on_request(self, method: str, handler: ServerRequestHandler) -> None:
        """Answer the server's ``method`` requests with ``handler(params)``."""
        self.handlers[method] = handler
        if method in self.protocol.fm.features:
            return

        async def answer(params: Any) -> Any:
            await self._record(self.server_requests[method], _plain(params))
            result = self.handlers[method](params)
            if asyncio.iscoroutine(result):
                result = await result
            return result

        self.handle(method, answer)

    async def wait_for(
        self, predicate: Callable[[], Any], timeout: float = TIMEOUT, what: str = "condition"
    ) -> Any:
        """Wait until ``predicate()`` is truthy; re-checked whenever anything is recorded."""

        async def wait() -> Any:
            async with self._changed:
                while not (value := predicate()):
                    await self._changed.wait()
                return value

        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what}\n--- daemon stderr ---\n"
                + self.stderr_text()[-4000:]
            ) from None

    async def request(self, method: str, params: Any = None, timeout: float = TIMEOUT) -> Any:
        """The daemon's answer; its error as an exception, and RuntimeError if it exits."""
        answer = asyncio.ensure_future(
            self.protocol.send_request_async(method, params if params is not None else {})
        )
        exited = asyncio.ensure_future(self.exited.wait())
        try:
            done, _ = await asyncio.wait(
                {answer, exited}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            exited.cancel()
        if answer in done:
            return _plain(answer.result())
        answer.cancel()
        if exited.done() and not exited.cancelled():
            code = self.process.returncode if self.process is not None else None
            raise RuntimeError(f"the daemon exited (code {code}) before answering {method}")
        raise TimeoutError(f"no answer to {method} within {timeout} s")

    def attach(self, process: asyncio.subprocess.Process) -> None:
        """Speak LSP over ``process``'s stdin and stdout until it exits or :meth:`stop`."""
        from pygls.io_ import run_async

        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self.protocol.set_writer(process.stdin)
        reading = run_async(
            stop_event=self._reading_done,
            reader=process.stdout,
            protocol=self.protocol,
            error_handler=self.report_server_error,
        )

        async def watch() -> None:
            await process.wait()
            self.exited.set()
            self._reading_done.set()

        self._io_tasks += [asyncio.create_task(reading), asyncio.create_task(watch())]

    async def stop(self) -> None:
        """Stop reading and wait for the process (after exit, or a kill)."""
        self._reading_done.set()
        if self.process is not None and self.process.returncode is None:
            await self.process.wait()
        if self._io_tasks:
            await asyncio.gather(*self._io_tasks)
        await super().stop()  # type: ignore[no-untyped-call]  # pygls's is unannotated

    def stderr_text(self) -> str:
        if self.stderr_path is None or not self.stderr_path.exists():
            return ""
        return self.stderr_path.read_text(errors="replace")

    async def stop_daemon(self, timeout: float = TIMEOUT) -> int:
        """shutdown, exit, and the process's exit code."""
        assert self.process is not None
        if self.process.returncode is None:
            await asyncio.wait_for(self.shutdown_async(None), timeout)
            self.exit(None)
            await asyncio.wait_for(self.process.wait(), timeout)
        await self.stop()
        assert self.process.returncode is not None
        return self.process.returncode

    async def kill(self) -> None:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        await self.stop()


def daemon_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # Benches drive the daemon through here too: embeddings stay off unless asked for,
    # so that the local model's background work does not enter their timings.
    env.setdefault("DEPUTYDEV_INDEX__EMBEDDINGS__BACKEND", "none")
    env.update(extra or {})
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


async def spawn_daemon(
    stderr_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    prefix: Sequence[str] = (),
) -> DaemonClient:
    """Start the daemon without initializing it (``prefix``: a command that runs it, such
    as ``unshare``)."""
    client = DaemonClient()
    stderr_path.parent.mkdir(parents=True, exist_ok=True)
    with open(stderr_path, "wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            *prefix,
            sys.executable,
            "-m",
            "daemon",
            "serve",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env=daemon_env(env),
            cwd=str(cwd) if cwd else None,
        )
    client.stderr_path = stderr_path
    client.attach(process)
    return client


async def start_daemon(
    workspace: Path | list[Path],
    *,
    stderr_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    initialization_options: Any = None,
    capabilities: types.ClientCapabilities | None = None,
    process_id: int | None = None,
    prefix: Sequence[str] = (),
) -> DaemonClient:
    roots = workspace if isinstance(workspace, list) else [workspace]
    stderr_path = stderr_path or roots[0].parent / f"daemon-{os.getpid()}-{id(roots)}.stderr"
    client = await spawn_daemon(stderr_path, env, prefix=prefix)
    caps = capabilities or types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(
            apply_edit=True, workspace_folders=True, configuration=True
        ),
        window=types.WindowClientCapabilities(work_done_progress=True),
    )
    result = await asyncio.wait_for(
        client.initialize_async(
            types.InitializeParams(
                process_id=process_id,
                root_uri=roots[0].as_uri(),
                workspace_folders=[
                    types.WorkspaceFolder(uri=r.as_uri(), name=r.name) for r in roots
                ],
                capabilities=caps,
                initialization_options=initialization_options,
            )
        ),
        TIMEOUT,
    )
    client.initialize_result = result  # type: ignore[attr-defined]
    client.initialized(types.InitializedParams())
    return client
