"""The sessions store as a daemon service: opened after ``initialized``, closed at shutdown.

It starts with the daemon (not on first use) because turns left 'running' by a daemon that
was killed must be marked interrupted before the editor lists or resumes them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from daemon.paths import data_dir

if TYPE_CHECKING:
    from daemon.server import DeputyServer
    from daemon.sessions.store import SessionStore

log = logging.getLogger(__name__)


class SessionsService:
    def __init__(self, server: DeputyServer) -> None:
        self._server = server
        self._store: SessionStore | None = None

    async def start(self) -> None:
        from daemon.sessions.store import SessionStore

        self._store = await SessionStore.open(data_dir() / "sessions.db")
        interrupted = await self._store.mark_running_interrupted()
        if interrupted:
            log.warning("marked %d unfinished turn(s) as interrupted", len(interrupted))

    @property
    def store(self) -> SessionStore:
        if self._store is None:
            raise RuntimeError("the sessions service has not started")
        return self._store

    async def aclose(self) -> None:
        if self._store is not None:
            await self._store.close()
            self._store = None
