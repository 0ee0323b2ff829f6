"""Team sync as a daemon service: started after ``initialized``, only does work when
``[sync] url`` is set. Unconfigured, it imports nothing beyond this module and the state.

The pusher runs as one background task; the team reader opens its own connection on the
first team request. When the settings change (``workspace/didChangeConfiguration``, which
also re-reads config.toml) and the ``[sync]`` section differs, both are stopped and started
again with the new settings; nothing is lost, since the outbox is only emptied after the
server commits. Both close at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Literal

from daemon.errors import ConfigError, SyncError
from daemon.paths import data_dir
from daemon.sync.settings import SyncSettings
from daemon.sync.state import STATE_FILE, SyncState

if TYPE_CHECKING:
    from pathlib import Path

    from daemon.config import Settings
    from daemon.server import DeputyServer
    from daemon.sessions.store import SessionStore
    from daemon.sync.autopublish import AutoPublisher
    from daemon.sync.team import TeamCodeAdapter, TeamReader
    from daemon.sync.vectors import Outbox, RootShare, TeamCache
    from indexer.embedder import Embedder

log = logging.getLogger(__name__)


class SyncService:
    def __init__(self, server: DeputyServer) -> None:
        self._server = server
        self.state = SyncState()
        self._settings = SyncSettings()
        self._task: asyncio.Task[None] | None = None
        self._reader: TeamReader | None = None
        self._store: SessionStore | None = None
        self._switch = asyncio.Lock()
        self._cache: TeamCache | None = None
        self._uploader: asyncio.Task[None] | None = None
        self._outboxes: dict[Path, Outbox] = {}
        self._embedder: Embedder | Literal[False] | None = None
        self._publisher: AutoPublisher | None = None
        self._publishing: asyncio.Task[None] | None = None

    # ---- the team's embedding cache (daemon/sync/vectors.py)

    def cache(self) -> TeamCache:
        if self._cache is None:
            from daemon.sync.vectors import TeamCache

            self._cache = TeamCache(lambda: self._server.settings, lambda: self.state)
        return self._cache

    def share(self, root: Path) -> RootShare:
        """What ``root``'s index asks before embedding (it follows the settings as they
        change: off, excluded or unconfigured, it shares nothing)."""
        return self.cache().share(root)

    def query_embedder(self) -> Embedder | None:
        """The configured embedder, for team search queries (built on first use)."""
        if self._embedder is None:
            from daemon.index.service import build_embedder

            self._embedder = build_embedder(self._server.settings) or False
        return self._embedder or None

    def team_code(self) -> TeamCodeAdapter | None:
        """``team_code_search``'s back end, when team sync is configured."""
        if not self._settings.configured:
            return None
        from daemon.sync.team import TeamCodeAdapter

        return TeamCodeAdapter(self.team(), self.query_embedder)

    def attach(self, box: Outbox) -> None:
        """An index whose outbox the uploader drains (until :meth:`detach`), and which
        ``[sync] publish`` may publish."""
        self._outboxes[box.root] = box
        self.cache().wake.set()
        subscribe = getattr(box, "subscribe", None)
        if subscribe is not None:
            subscribe(lambda event: self._index_changed(event.root))
        self._index_changed(box.root)

    def _index_changed(self, root: Path) -> None:
        if self._publisher is not None:
            self._publisher.changed(root)

    def detach(self, root: Path) -> None:
        self._outboxes.pop(root, None)

    async def vectors_pending(self) -> int | None:
        if not self._outboxes:
            return None
        total = 0
        for box in list(self._outboxes.values()):
            with contextlib.suppress(Exception):  # an index closing as we ask
                total += await box.outbox_pending()
        return total

    async def start(self) -> None:
        self._server.settings_changed.connect(self._settings_changed)
        async with self._switch:
            await self._run(self._server.settings.sync)

    async def _settings_changed(self, settings: Settings) -> None:
        async with self._switch:
            if settings.sync == self._settings:
                return
            log.info("sync settings changed: restarting sync")
            await self._stop()
            await self._run(settings.sync)

    async def _run(self, settings: SyncSettings) -> None:
        self._settings = settings
        self.state = SyncState(configured=settings.configured)
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
        if settings.embedding_cache:
            from daemon.sync.vectors import VectorUploader

            uploader = VectorUploader(self.cache(), self.state, lambda: [*self._outboxes.values()])
            self._uploader = asyncio.create_task(uploader.run(), name="sync-vectors")
        if settings.publish:
            from daemon.sync.autopublish import AutoPublisher

            self._publisher = AutoPublisher(
                lambda: self._server.settings, self.state, lambda: dict(self._outboxes)
            )
            for root in self._outboxes:
                self._publisher.changed(root)
            self._publishing = asyncio.create_task(self._publisher.run(), name="sync-publish")
        log.info("team sync to %s as %s", self.state.server, self.state.role)

    def _ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("the sync pusher stopped: %r", exc)
            self.state.paused(f"the sync task stopped on an unexpected error: {exc!r}")

    def config_error(self) -> ConfigError | None:
        """Why sync is off although asked for: a ``[sync] url`` that did not validate (the
        settings then fell back to no URL). None when sync runs, or was never asked for."""
        if self._settings.configured:
            return None
        for issue in self._server.loaded.issues:
            if issue.key.replace("_", "").lower() in ("sync.url", "sync"):
                why = issue.message.removesuffix("; using the previous value")
                return ConfigError(
                    f"team sync is off: sync.url from {issue.source} cannot be used: {why}",
                    key="sync.url",
                    source=issue.source,
                )
        return None

    async def pending(self) -> int | None:
        if self._store is None:
            return None
        return await self._store.outbox_pending()

    def team(self) -> TeamReader:
        if not self._settings.configured:
            raise SyncError(
                "the team's history needs team sync: set [sync] url in config.toml or"
                " DEPUTYDEV_SYNC_URL (docs/SYNC.md)",
                configKey="sync.url",
            )
        if self._reader is None:
            from daemon.sync.team import TeamReader

            self._reader = TeamReader(self._settings)
        return self._reader

    async def _stop(self) -> None:
        for task in (self._task, self._uploader, self._publishing):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._task = self._uploader = self._publishing = None
        self._publisher = None
        if self._cache is not None:
            await self._cache.close()
        if self._embedder:
            with contextlib.suppress(Exception):
                await self._embedder.aclose()
        self._embedder = None
        if self._reader is not None:
            await self._reader.close()
            self._reader = None
        self.state.connected = False
        self.state.save()

    async def aclose(self) -> None:
        async with self._switch:
            await self._stop()
