"""``[sync] publish``: the daemon republishes the listed repositories by itself.

Woken by the index (a run that changed files, a batch of vectors stored) and, every
:data:`RECHECK_S`, to notice a commit that changed no file the index sees. A root is
published when its repository's name is listed, its index has settled (every chunk has
its vector, unless embedding failed), and its working tree has no uncommitted changes (a
teammate never sees work in progress); then only the files whose hash changed go
(``daemon.sync.publish``). What each attempt did is in ``SyncState.published``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from daemon.errors import SyncError
from daemon.words import plural

if TYPE_CHECKING:
    from daemon.config import Settings
    from daemon.sync.state import SyncState

log = logging.getLogger(__name__)

DEBOUNCE_S = 1.0
RECHECK_S = 60.0


class AutoPublisher:
    def __init__(
        self,
        settings: Callable[[], Settings],
        state: SyncState,
        indexes: Callable[[], Mapping[Path, Any]],
    ) -> None:
        self._settings = settings
        self.state = state
        self._indexes = indexes
        self.wake = asyncio.Event()
        self._done: dict[Path, str | None] = {}  # root -> the commit last published

    def changed(self, root: Path) -> None:
        self._done.pop(root, None)
        self.wake.set()

    async def run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self.wake.wait(), RECHECK_S)
            except TimeoutError:
                pass
            self.wake.clear()
            await asyncio.sleep(DEBOUNCE_S)  # a burst of saves or vector batches: once
            for root, index in list(self._indexes().items()):
                try:
                    await self._consider(root, index)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # one repository's failure must not stop the rest
                    log.warning("publishing %s failed: %r", root, exc)

    async def _consider(self, root: Path, index: Any) -> None:
        from daemon.sync.repo import repo_info

        settings = self._settings()
        if not settings.sync.publish or not settings.sync.team:
            return
        info = await repo_info(root)
        if info.name not in settings.sync.publish:
            return
        if info.commit is not None and self._done.get(root) == info.commit:
            return  # published at this commit, and nothing changed since
        status = await index.status()
        if status["state"] != "idle":
            return  # woken again when the run ends
        embedding = status["vectors_enabled"] and status["embed_state"] != "error"
        if embedding and status["vectors_pending"]:
            return  # woken again by the vectors
        if info.dirty:
            self.state.published[info.name] = "not published: uncommitted changes"
            return
        await self._publish(root, index, info.name, info.commit, vectors=embedding)

    async def _publish(
        self, root: Path, index: Any, name: str, commit: str | None, *, vectors: bool
    ) -> None:
        from daemon.sync.client import connect
        from daemon.sync.publish import publish
        from daemon.sync.redact import Redactor

        settings = self._settings()
        sync = settings.sync
        assert sync.team is not None
        try:
            conn = await connect(sync)
            try:
                summary = await publish(
                    conn,
                    index,
                    name=name,
                    team=sync.team,
                    commit=commit,
                    embedder=index.embedder.key if vectors and index.embedder else None,
                    redactor=Redactor(sync.redaction.patterns, enabled=sync.redaction.enabled),
                    secret_patterns=settings.solver.tools.secret_patterns,
                )
            finally:
                await conn.close()
        except (SyncError, OSError) as exc:
            self.state.published[name] = f"not published: {exc}"
            log.warning("publishing %s: %s", name, exc)
            return
        self._done[root] = commit
        at = (commit or "no commit")[:12]
        self.state.published[name] = (
            f"published {at}: {plural(summary.sent, 'file')} sent, {summary.removed} removed,"
            f" {summary.unchanged} unchanged"
        )
        log.info("published %s at %s (%d files sent)", name, at, summary.sent)
