"""IndexService: one :class:`indexer.index.Index` per workspace root, kept up to date.

It follows the editor: a root added is opened and indexed in the background (work-done
progress while it runs), a root removed is closed; a saved buffer and a changed file are
re-indexed alone; with ``index.watch`` a watcher (``indexer.watch``) catches changes
made outside the editor, including branch switches, as one batch.  Each run that changes
something, and each batch of vectors stored, is announced as ``deputydev/index/updated``.

The embedding backend comes from ``daemon.index.embedders.build_embedder``: with none
configured the index is lexical only, and ``doctor`` and status say why.

    service = await server.started(IndexService)
    hits = await service.search("parse the config", mode="auto", limit=10)
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from daemon import paths
from daemon.errors import WorkspaceError

if TYPE_CHECKING:
    from daemon.config import Settings
    from daemon.server import DeputyServer
    from daemon.sync.service import SyncService
    from daemon.tools.secrets import SecretPolicy
    from indexer.embedder import Embedder, SharedVectors
    from indexer.index import Index, IndexEvent
    from indexer.search import RanMode, SearchResult, SearchResults
    from indexer.settings import IndexSettings
    from protocol.index import IndexUpdated

log = logging.getLogger(__name__)

# Seconds a search waits for a root's first index before answering from what it holds.
PARTIAL_AFTER = 3.0


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def database_path(root: Path) -> Path:
    """Where ``root``'s index lives: the data directory, named after the folder and a hash
    of its full path (two checkouts named ``app`` get two databases)."""
    resolved = root.resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", resolved.name) or "root"
    return paths.data_dir() / "index" / f"{name}-{digest}.db"


def build_embedder(settings: Settings) -> Embedder | None:
    """The configured embedding backend, or None (``backend = "none"``, or it failed)."""
    from daemon.index.embedders import build_embedder as build

    try:
        return build(settings.index)
    except Exception as exc:
        log.warning("no embeddings: the backend could not be built (%s)", exc)
        return None


async def open_index(root: Path, settings: Settings, shared: SharedVectors | None = None) -> Index:
    """The index of ``root`` with the configured embedder (for the daemon and the CLI),
    asking ``shared`` (the team's embedding cache) before embedding."""
    from indexer.index import Index

    return await Index.open(
        root,
        database_path(root),
        settings.index,
        build_embedder(settings),
        shared,
        exclude=secret_policy(settings),
    )


def secret_policy(settings: Settings) -> SecretPolicy:
    """The files the index never holds: the tools' own secret policy."""
    from daemon.tools.secrets import SecretPolicy

    return SecretPolicy.of(settings.solver.tools)


class IndexService:
    def __init__(self, server: DeputyServer) -> None:
        self._server = server
        self.indexes: dict[Path, Index] = {}
        self._opening: dict[Path, asyncio.Task[Index]] = {}
        self._runs: dict[Path, asyncio.Task[None]] = {}
        self._watchers: dict[Path, asyncio.Task[None]] = {}
        self._watching: dict[Path, asyncio.Event] = {}
        self._paused = False
        self._opened_with: tuple[IndexSettings, SecretPolicy] | None = None

    @property
    def settings(self) -> IndexSettings:
        return self._server.settings.index

    async def start(self) -> None:
        self._server.roots_changed.connect(self._on_roots_changed)
        self._server.document_saved.connect(self._on_saved)
        self._server.settings_changed.connect(self._on_settings_changed)
        self._opened_with = (self.settings, secret_policy(self._server.settings))
        if not self.settings.enabled:
            log.info("indexing is off (index.enabled = false)")
            return
        for root in self._server.roots():
            self._schedule(root)

    async def aclose(self) -> None:
        for task in [*self._watchers.values(), *self._runs.values()]:
            task.cancel()
        for task in [*self._watchers.values(), *self._runs.values()]:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        for root, index in list(self.indexes.items()):
            await self._close(root, index)
        self.indexes.clear()

    # ---- roots

    async def index_for(self, root: Path) -> Index:
        root = _real(root)
        if root in self.indexes:
            return self.indexes[root]
        task = self._opening.get(root)
        if task is None:
            task = asyncio.ensure_future(
                open_index(root, self._server.settings, self._sync_share(root))
            )
            self._opening[root] = task
        try:
            index = await asyncio.shield(task)
        finally:
            self._opening.pop(root, None)
        if root not in self.indexes:
            self.indexes[root] = index
            index.subscribe(self._announce)
            if self._paused:
                index.pause()
            if index.shared is not None:
                self._sync().attach(index)
        return self.indexes[root]

    def _sync(self) -> SyncService:
        from daemon.sync.service import SyncService

        return self._server.service(SyncService)

    def _sync_share(self, root: Path) -> SharedVectors | None:
        """The team's embedding cache for ``root`` when team sync is configured (it then
        follows the settings as they change)."""
        if not self._server.settings.sync.configured:
            return None
        return self._sync().share(root)

    async def _close(self, root: Path, index: Index) -> None:
        if index.shared is not None:
            self._sync().detach(root)
        await index.close()

    def _roots(self, root: str | None) -> list[Path]:
        roots = [r.resolve() for r in self._server.roots()]
        if root is None:
            if not roots:
                raise WorkspaceError("no workspace folder is open")
            return roots
        from daemon.convert import uri_to_path

        wanted = (uri_to_path(root) or Path(root)) if root.startswith("file:") else Path(root)
        wanted = wanted.resolve()
        if wanted not in roots:
            raise WorkspaceError(
                f"{root} is not a workspace root; open roots: {', '.join(map(str, roots))}",
                root=root,
            )
        return [wanted]

    def root_of(self, path: Path) -> Path | None:
        resolved = path.resolve()
        best: Path | None = None
        for root in self._server.roots():
            root = root.resolve()
            if resolved.is_relative_to(root) and (
                best is None or len(root.parts) > len(best.parts)
            ):
                best = root
        return best

    def _schedule(self, root: Path, files: Sequence[str] | None = None) -> None:
        """Index ``root`` (or those files of it) in the background."""
        root = root.resolve()
        previous = self._runs.get(root)
        task = asyncio.ensure_future(self._run(root, files, previous))
        self._runs[root] = task

    async def _run(
        self, root: Path, files: Sequence[str] | None, previous: asyncio.Task[None] | None
    ) -> None:
        if previous is not None and not previous.done():
            try:
                await previous  # cancelling this run cancels the one it waits for too
            except asyncio.CancelledError:
                # The previous run's cancellation is its own; this run's is not to be
                # swallowed: a root removed meanwhile must not be reopened and indexed.
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
        try:
            await self.update(root, files)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("indexing %s failed", root)
        if files is None and self.settings.watch and root not in self._watchers:
            self._start_watcher(root)

    async def update(self, root: Path, files: Sequence[str] | None = None) -> None:
        from daemon.progress import WorkDone

        index = await self.index_for(root)
        if files is not None:
            await index.update(files)
            return
        loop = asyncio.get_running_loop()
        async with WorkDone(self._server, f"Indexing {root.name}") as progress:

            def report(done: int, total: int) -> None:
                percentage = 100 * done // total if total else 100
                message = f"{done}/{total} files"
                loop.call_soon_threadsafe(progress.report, message, percentage)

            # Open files and their folders first: a search during a long first run
            # already finds what the user is looking at.
            first = []
            for path in self._server.open_documents():
                real = _real(path)
                if real.is_relative_to(root):
                    first.append(real.relative_to(root).as_posix())
            run = await index.update(progress=report, first=first)
            from daemon.words import plural

            skipped = (
                f"; {len(run.unreadable)} unreadable (permission denied):"
                f" {', '.join(run.unreadable[:5])}{', ...' if len(run.unreadable) > 5 else ''}"
                if run.unreadable
                else ""
            )
            if run.unreadable:
                log.warning("%s: cannot read %s", root, ", ".join(run.unreadable[:20]))
            progress.report(
                f"{plural(run.files, 'file')}, {run.changed} changed in {run.seconds:.1f} s"
                + skipped,
                100,
                force=True,
            )

    def _start_watcher(self, root: Path) -> None:
        from indexer.watch import watch
        from protocol.index import IndexUpdated

        index = self.indexes.get(root)
        if index is None:
            return

        async def changed(batch: Sequence[str] | None) -> None:
            # None: too many changes, or the branch moved: one incremental run of the root.
            await index.update(batch)

        ready = self._watching[root] = asyncio.Event()

        async def watching() -> None:
            task = asyncio.ensure_future(
                watch(
                    root,
                    changed,
                    debounce_ms=self.settings.debounce_ms,
                    ready=ready,
                    exclude=[database_path(root).parent],
                )
            )
            waiter = asyncio.ensure_future(ready.wait())
            try:
                await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
                if ready.is_set():
                    self._notify(IndexUpdated(root=str(root), kind="watching"))
                await task
            finally:
                waiter.cancel()
                task.cancel()

        self._watchers[root] = asyncio.ensure_future(watching())

    async def _on_roots_changed(self, added: list[Path], removed: list[Path]) -> None:
        for root in removed:
            root = root.resolve()
            self._watching.pop(root, None)
            for tasks in (self._watchers, self._runs):
                task = tasks.pop(root, None)
                if task is not None:
                    task.cancel()
            index = self.indexes.pop(root, None)
            if index is not None:
                await self._close(root, index)
        if self.settings.enabled:
            for root in added:
                self._schedule(root)

    async def _on_settings_changed(self, settings: Settings) -> None:
        """New ``[index]`` settings (limits, vectors, embedder) or secret patterns: reopen
        every root (its next run drops the files that became secret)."""
        opened_with = (settings.index, secret_policy(settings))
        if opened_with == self._opened_with:
            return
        self._opened_with = opened_with
        log.info("index settings changed; reopening the indexes")
        roots = list(self.indexes)
        await self._on_roots_changed([], roots)
        if settings.index.enabled:
            for root in self._server.roots():
                self._schedule(root)

    async def _on_saved(self, path: Path, text: str | None) -> None:
        if not self.settings.enabled:
            return
        root = self.root_of(path)
        if root is None:
            return
        self._schedule(root, [_real(path).relative_to(root).as_posix()])

    # ---- events

    def _announce(self, event: IndexEvent) -> None:
        from protocol.index import IndexUpdated

        summary = event.summary
        params = IndexUpdated(
            root=str(event.root),
            kind="vectors" if event.kind == "vectors" else "updated",
            added=summary.added if summary else 0,
            updated=summary.updated if summary else 0,
            removed=summary.removed if summary else 0,
            paths=list(summary.paths) if summary else [],
            vectors=event.vectors,
        )
        self._notify(params)

    def _notify(self, params: IndexUpdated) -> None:
        from protocol.index import INDEX_UPDATED

        try:
            self._server.notify(INDEX_UPDATED, params)
        except Exception:
            log.debug("index/updated not sent", exc_info=True)

    # ---- requests

    async def wait_idle(self, roots: Sequence[Path]) -> None:
        for root in roots:
            task = self._runs.get(root)
            if task is not None and not task.done():
                try:
                    await asyncio.shield(task)
                except Exception:
                    pass

    async def search(
        self,
        query: str,
        *,
        mode: str = "auto",
        limit: int = 10,
        globs: Sequence[str] = (),
        languages: Sequence[str] = (),
        root: str | None = None,
    ) -> SearchResults:
        from indexer.search import SearchResults

        roots = self._roots(root)
        out: list[SearchResult] = []
        modes: set[RanMode] = set()
        partial = False
        for r in roots:
            index = await self.index_for(r)
            if not index.indexed:
                # The first run is under way (or never started): a small root is done in
                # a moment, a large one answers from what is written so far, marked partial.
                if r not in self._runs:
                    self._schedule(r)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wait_idle([r]), PARTIAL_AFTER)
            found = await index.search(
                query, mode=mode, limit=limit, paths=globs, languages=languages
            )
            modes.add(found.mode)
            partial = partial or found.partial
            out.extend(found)
        if len(roots) > 1:
            out.sort(key=lambda hit: -hit.score)
        # Roots that ran differently (one with vectors, one without): hybrid, for it ran.
        ran: RanMode = modes.pop() if len(modes) == 1 else "hybrid"
        return SearchResults(ran, out[:limit], partial=partial)

    async def status(self, root: str | None = None) -> list[dict[str, Any]]:
        try:
            roots = self._roots(root)
        except WorkspaceError:
            if root is not None:
                raise
            return []
        out = []
        for r in roots:
            index = self.indexes.get(r)
            if index is None:
                out.append({"root": str(r), "state": "not-indexed"})
                continue
            status = await index.status()
            status["watching"] = r in self._watching and self._watching[r].is_set()
            if not index.indexed and status["state"] == "idle":
                status["state"] = "not-indexed"
            out.append(status)
        return out

    async def rebuild(self, root: str | None = None, *, full: bool = False) -> None:
        roots = self._roots(root)
        for r in roots:
            index = await self.index_for(r)
            if full:
                await index.clear()
        for r in roots:
            self._schedule(r)
        await self.wait_idle(roots)

    def pause(self, paused: bool) -> None:
        self._paused = paused
        for index in self.indexes.values():
            if paused:
                index.pause()
            else:
                index.resume()


class SearchSource(Protocol):
    """What CodeIndexAdapter needs: the IndexService, or one root's index (``deputydev ask``)."""

    @property
    def indexes(self) -> Mapping[Path, Any]: ...

    async def search(self, query: str, *, mode: str, limit: int) -> SearchResults: ...


class OneRoot:
    """One root's index as a SearchSource."""

    def __init__(self, index: Index) -> None:
        self.indexes = {index.root: index}
        self._index = index

    async def search(self, query: str, *, mode: str, limit: int) -> SearchResults:
        return await self._index.search(query, mode=mode, limit=limit)


class CodeIndexAdapter:
    """What the solver's ``code_search`` and ``symbol_search`` tools ask of the index
    (``daemon.tools.base.CodeIndex``), answered by the service."""

    def __init__(self, service: SearchSource) -> None:
        self._service = service

    async def search(self, query: str, *, limit: int) -> list[Any]:
        return await self._run(query, "auto", limit)

    async def symbols(self, name: str, *, limit: int) -> list[Any]:
        return await self._run(name, "symbol", limit)

    async def _run(self, query: str, mode: str, limit: int) -> list[Any]:
        from daemon.errors import DaemonError
        from daemon.tools.base import ToolError
        from indexer.errors import IndexerError

        try:
            found = await self._service.search(query, mode=mode, limit=limit)
        except (IndexerError, DaemonError) as exc:
            # The model's problem to work around (grep instead), not the turn's end.
            raise ToolError(f"the workspace index cannot answer: {exc}") from exc
        return self._hits(found)

    def _hits(self, results: Sequence[SearchResult]) -> list[Any]:
        from daemon.tools.base import CodeHit

        several = len({r.root for r in results}) > 1 or len(self._service.indexes) > 1
        return [
            CodeHit(
                path=str(r.root / r.path) if several else r.path,
                start_line=r.start_line,
                end_line=r.end_line,
                text=r.text,
                score=r.score,
                symbol=r.symbol,
            )
            for r in results
        ]
