"""Work-done progress for long background work (indexing): create, begin, report, end.

Only when the client said ``window.workDoneProgress``; otherwise the calls do nothing, so
callers never branch on the client. Reports are throttled: at most one every 100 ms, except
the last.

    async with WorkDone(server, "Indexing app") as progress:
        for i, path in enumerate(paths):
            progress.report(f"{i}/{len(paths)} files", percentage=100 * i // len(paths))
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from types import TracebackType
from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from daemon.server import DeputyServer

log = logging.getLogger(__name__)


class WorkDone:
    def __init__(
        self,
        server: DeputyServer,
        title: str,
        *,
        cancellable: bool = False,
        message: str | None = None,
        percentage: int | None = 0,
    ) -> None:
        self._server = server
        self._title = title
        self._cancellable = cancellable
        self._begin_message = message
        self._percentage = percentage
        self._token: str | None = None
        self._last = 0.0
        self.message = ""

    def _supported(self) -> bool:
        try:
            window = self._server.client_capabilities.window
        except (AttributeError, RuntimeError):
            return False
        return bool(window and window.work_done_progress)

    async def __aenter__(self) -> WorkDone:
        if not self._supported():
            return self
        token = f"deputydev-{uuid.uuid4().hex[:12]}"
        try:
            await self._server.work_done_progress.create_async(token)
        except Exception as exc:  # the client refused: carry on without a progress bar
            log.debug("workDoneProgress/create refused: %s", exc)
            return self
        self._token = token
        self._server.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(
                title=self._title,
                cancellable=self._cancellable,
                message=self._begin_message,
                percentage=self._percentage,
            ),
        )
        return self

    @property
    def token(self) -> str | None:
        """The progress token, once the client accepted it (None: no progress shown)."""
        return self._token

    def report(self, message: str, percentage: int | None = None, *, force: bool = False) -> None:
        self.message = message
        if self._token is None:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        self._server.work_done_progress.report(
            self._token, types.WorkDoneProgressReport(message=message, percentage=percentage)
        )

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is None:
            return
        if exc is None:
            message = self.message or "done"
        elif isinstance(exc, asyncio.CancelledError):
            message = "cancelled"
        else:
            message = f"stopped: {exc or exc_type.__name__ if exc_type else ''}"
        self._server.work_done_progress.end(self._token, types.WorkDoneProgressEnd(message=message))
        self._token = None
