"""Team sync as a daemon service: started after ``initialized``, only does work when
``[sync] url`` is set. Unconfigured, it imports nothing beyond this module and the state.

The pusher runs as one background task for the daemon's lifetime; the team reader opens
its own connection on the first team request. Both close at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from daemon.errors import SyncError
from daemon.paths import data_dir
from daemon.sync.state import STATE_FILE, SyncState

if TYPE_CHECKING:
    from daemon.server import DeputyServer
    from daemon.sessions.store import SessionStore
    from daemon.sync.team import TeamReader

log = logging.getLogger(__name__)


class SyncService:
    def __init__(self, server: DeputyServer) -> None:
        self._server = server
        self.state = SyncState()
        self._task: asyncio.Task[None] | None = None
        self._reader: TeamReader | None = None
        self._store: SessionStore | None = None

    async def start(self) -> None:
        settings = self._server.settings.sync
        self.state.configured = settings.configured
        if not settings.configured:
            return
        from daemon.logs import register_secret
        from daemon.sessions.service import SessionsService
        from daemon.sync.client import target
        from daemon.sync.pusher import Pusher

        register_secret(settings.password())
        self.state.server = settings.display_url()
        self.state.team = settings.team
        try:
            self.state.role = target(settings).role
        except ValueError:
            self.state.role = settings.user
        self.state.path = data_dir() / STATE_FILE
        self._store = (await self._server.started(SessionsService)).store
        pusher = Pusher(self._store, settings, self.state)
        self._task = asyncio.create_task(pusher.run(), name="sync-pusher")
        self._task.add_done_callback(self._ended)
        log.info("team sync to %s as %s", self.state.server, self.state.role)

    def _ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("the sync pusher stopped: %r", exc)
            self.state.paused(f"the sync task stopped on an unexpected error: {exc!r}")

    async def pending(self) -> int | None:
        if self._store is None:
            return None
        return await self._store.outbox_pending()

    def team(self) -> TeamReader:
        settings = self._server.settings.sync
        if not settings.configured:
            raise SyncError(
                "the team's history needs team sync: set [sync] url in config.toml or"
                " DEPUTYDEV_SYNC_URL (docs/SYNC.md)",
                configKey="sync.url",
            )
        if self._reader is None:
            from daemon.sync.team import TeamReader

            self._reader = TeamReader(settings)
        return self._reader

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None
        if self._reader is not None:
            await self._reader.close()
            self._reader = None
        self.state.save()
