"""The index of one workspace root: open, bring up to date, search, embed, close.

    index = await Index.open(root, data_dir / "index" / "app-1a2b3c.db", settings)
    run = await index.update()                     # the whole root, incrementally
    run = await index.update(["src/app.py"])       # just these (changed, new or deleted)
    hits = await index.search("parse the config", mode="auto", limit=10)
    await index.close()

Updating is blocking work, done in a thread: discovery, then a stat per file (a file whose
size and mtime are unchanged costs nothing more), then reading, hashing and chunking only
what changed.  tree-sitter holds the GIL, so a cold index of many files chunks in a pool of
processes while this process writes; a few files are chunked in the thread.  Files are
written in batches, one transaction each: killed at any moment, the database holds the
last committed batch, and the next run finds the rest by hash.

Lexical search is ready as soon as chunks are stored.  With an :class:`Embedder`, vectors
fill in behind it: a background task takes chunks with no vector, reuses any vector cached
for the same content hash and embedder (so a renamed file or a branch switch costs no
embedding), embeds the rest in batches with bounded concurrency, retries with back-off
(honouring ``EmbeddingFailed.retryable`` and ``retry_after``), and yields to indexing.
Search never waits for it: reads use their own connection (WAL).

With :class:`SharedVectors` (a team's cache), the hashes still missing locally are asked
of it before embedding, and only its misses are embedded; each vector computed here for a
chunk it ``shares`` is queued in the ``vector_outbox`` table in the same transaction, for
the uploader to drain (:meth:`Index.outbox`, :meth:`Index.outbox_ack`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from indexer.discovery import Exclude, FileInfo, Ignorer, admits, discover, is_binary
from indexer.embedder import document_text, vector_key
from indexer.errors import BadQuery, IndexerError, VectorsUnavailable
from indexer.search import MODES, RanMode, Searcher, SearchResult, SearchResults
from indexer.settings import IndexSettings
from indexer.sqlite import Driver, driver
from indexer.store import FileState, PreparedFile, Store, pack_text, pack_vector

if TYPE_CHECKING:
    from indexer.embedder import Embedder, SharedVectors
    from indexer.ranking import Candidate

__all__ = ["Index", "IndexEvent", "Progress", "RunSummary", "first_things_first", "prepare_file"]

log = logging.getLogger(__name__)

# Files per write transaction: small enough that a kill loses little, large enough that
# commits do not dominate.
BATCH_FILES = 100
# Below this many files to chunk, a process pool costs more than it saves.
POOL_MIN_FILES = 48
# Longest wait (seconds) between two tries of an embedding batch, whatever Retry-After says.
MAX_BACKOFF = 60.0
# Seconds after a run before the search structures are built (``Index._warm``).
WARM_AFTER = 1.0

# (files done, files to do) from the indexing thread.
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class RunSummary:
    files: int  # files seen
    added: int
    updated: int
    removed: int
    unchanged: int
    chunks: int  # chunks written
    seconds: float
    finished_at: float
    paths: tuple[str, ...] = ()  # the files added, updated or removed (first 100)
    # Files and folders (ending in "/") left out because they cannot be read.
    unreadable: tuple[str, ...] = ()

    @property
    def changed(self) -> int:
        return self.added + self.updated + self.removed


@dataclass(frozen=True, slots=True)
class IndexEvent:
    """Something the index did: ``kind`` is ``updated`` (a run wrote rows) or ``vectors``
    (a batch of vectors was stored)."""

    kind: str
    root: Path
    summary: RunSummary | None = None
    vectors: int = 0


@dataclass(slots=True)
class _State:
    state: str = "idle"  # idle | indexing | paused | error
    last_run: RunSummary | None = None
    error: str | None = None
    embed_state: str = "off"  # off | idle | embedding | error | waiting
    embed_error: str | None = None


# --------------------------------------------------------------------------- preparing files


@dataclass(frozen=True, slots=True)
class Withheld:
    """A file whose content ``exclude`` refuses (a private key under an innocent name)."""

    path: str


def prepare_file(
    root: str,
    info: FileInfo,
    known_hash: str | None,
    max_lines: int,
    exclude: Exclude | None = None,
) -> PreparedFile | FileInfo | Withheld | None:
    """Read, hash and chunk one file.  The ``info`` back when its content is unchanged
    (only the stat moved), :class:`Withheld` when ``exclude`` refuses its content, None
    when it cannot be read any more.  Runs in pool workers."""
    from indexer.chunking import chunk_file
    from indexer.ranking import fts_rows

    try:
        data = (Path(root) / info.path).read_bytes()
    except OSError:
        return None
    if is_binary(data[:8192]):
        return None
    if exclude is not None and exclude.content(data):
        return Withheld(info.path)
    digest = hashlib.sha256(data).hexdigest()
    if digest == known_hash:
        return info
    text = data.decode("utf-8", errors="replace")
    try:
        chunked = chunk_file(info.path, text, max_lines=max_lines)
    except Exception:  # chunk_file falls back itself; this is a last resort
        log.exception("chunking %s failed", info.path)
        return None
    fts = tuple(tuple(row.values()) for row in fts_rows(info.path, chunked))
    return PreparedFile(
        info.path,
        chunked.language,
        len(data),
        info.mtime_ns,
        digest,
        chunked.chunks,
        chunked.symbols,
        fts,
        tuple(pack_text(chunk.text) for chunk in chunked.chunks),  # here, not in the writer
    )


_PrepareArgs = tuple[str, FileInfo, str | None, int, Exclude | None]


def _prepare_star(args: _PrepareArgs) -> PreparedFile | FileInfo | Withheld | None:
    return prepare_file(*args)


def _workers(settings: IndexSettings) -> int:
    if settings.workers:
        return settings.workers
    return max(1, min(4, os.cpu_count() or 1))


class _Stopped(Exception):
    pass


# --------------------------------------------------------------------------- the index


class Index:
    def __init__(
        self,
        root: Path,
        writer: Store,
        reader: Store,
        vector_reader: Store,
        spare_reader: Store,
        settings: IndexSettings,
        drv: Driver,
        embedder: Embedder | None,
        shared: SharedVectors | None = None,
        exclude: Exclude | None = None,
    ) -> None:
        self.root = root
        self.shared = shared
        self.exclude = exclude
        self.settings = settings
        self.driver = drv
        self.embedder = embedder
        self._writer = writer
        self._reader = reader
        self._searcher = Searcher(root, reader)
        self._read_lock = threading.Lock()
        # A second reader, so hybrid search runs its text and vector halves at once.
        self._vector_reader = vector_reader
        self._vector_searcher = Searcher(root, vector_reader)
        self._vector_lock = threading.Lock()
        # And a third, for the other-spellings MATCH of a search.
        self._spare_reader = spare_reader
        self._spare_lock = threading.Lock()
        self._write_lock = asyncio.Lock()
        self._ignorer = Ignorer(root, use_gitignore=True)
        self._resume = threading.Event()
        self._resume.set()
        # Clear while a run's thread writes: a cancelled caller does not stop the thread,
        # so close() waits on this before closing the connections under it.
        self._thread_idle = threading.Event()
        self._thread_idle.set()
        self._stopping = threading.Event()
        self._state = _State()
        self._listeners: list[Callable[[IndexEvent], None]] = []
        self._embed_wakeup = asyncio.Event()
        self._embed_task: asyncio.Task[None] | None = None
        self._warm_task: asyncio.Task[None] | None = None
        self._indexing = 0
        self._idle = asyncio.Event()  # set while no run is writing
        self._idle.set()
        self._unpaused = asyncio.Event()
        self._unpaused.set()
        self.db_path = Path(writer.path) if writer.path else None
        self._ever_indexed = writer.get_meta("last_run") is not None
        # (embedder key, dimensions) of the stored vectors, kept here so a search does
        # not ask the database each time.
        self._held = writer.vector_table()
        self._first: list[str] = []

    @classmethod
    async def open(
        cls,
        root: Path,
        db_path: Path,
        settings: IndexSettings | None = None,
        embedder: Embedder | None = None,
        shared: SharedVectors | None = None,
        exclude: Exclude | None = None,
    ) -> Index:
        """``exclude`` names the files never to hold (secrets); one held already is
        removed by the next run that meets it."""
        settings = settings or IndexSettings()

        def open_stores(drv: Driver) -> list[Store]:
            stores: list[Store] = []
            try:
                for _ in range(4):  # writer, reader, vector reader, spare reader
                    stores.append(Store.open(db_path, drv))
            except BaseException:
                for store in stores:
                    store.close()
                raise
            return stores

        def opened() -> tuple[Path, Driver, list[Store]]:
            drv = driver(settings.vectors)
            try:
                stores = open_stores(drv)
            except drv.module.DatabaseError as exc:
                # The index is derived data: a damaged file is set aside and rebuilt.
                aside = db_path.with_name(f"{db_path.name}.damaged-{int(time.time())}")
                log.warning("index %s cannot be read (%s); moved to %s", db_path, exc, aside)
                for suffix in ("", "-wal", "-shm"):
                    damaged = Path(str(db_path) + suffix)
                    if damaged.exists():
                        damaged.rename(Path(str(aside) + suffix))
                stores = open_stores(drv)
            return root.resolve(), drv, stores

        root, drv, stores = await asyncio.to_thread(opened)
        writer, reader, vector_reader, spare_reader = stores
        index = cls(
            root,
            writer,
            reader,
            vector_reader,
            spare_reader,
            settings,
            drv,
            embedder,
            shared,
            exclude,
        )
        if embedder is not None and drv.vectors:
            held = index._held
            if held is not None and held[0] != vector_key(embedder):
                # Another model, or chunks framed another way: every vector is made again.
                await index._write(writer.forget_vectors)
            index._state.embed_state = "idle"
            index._embed_task = asyncio.create_task(index._embed_loop())
            index._embed_wakeup.set()
        return index

    # ---- events

    def subscribe(self, listener: Callable[[IndexEvent], None]) -> None:
        """``listener`` is called on the event loop after each run that changed something,
        and after each batch of vectors stored."""
        self._listeners.append(listener)

    def _emit(self, event: IndexEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("index listener failed")

    # ---- state

    @property
    def indexed(self) -> bool:
        """A run has completed at least once (this process or an earlier one)."""
        return self._ever_indexed

    @property
    def vectors_reason(self) -> str:
        if not self.driver.vectors:
            return self.driver.vectors_reason
        if self.embedder is None:
            return "no embedding backend configured"
        return self.driver.vectors_reason

    def pause(self) -> None:
        self._resume.clear()
        self._unpaused.clear()
        if self._state.state == "indexing":
            self._state.state = "paused"

    def resume(self) -> None:
        self._resume.set()
        self._unpaused.set()
        if self._state.state == "paused":
            self._state.state = "indexing"

    @property
    def paused(self) -> bool:
        return not self._resume.is_set()

    async def status(self) -> dict[str, Any]:
        counts = await self._read(self._reader.counts)
        last = self._state.last_run
        return {
            "root": str(self.root),
            "state": "paused" if self.paused and self._indexing else self._state.state,
            **counts,
            "vectors_enabled": self.driver.vectors and self.embedder is not None,
            "vectors_reason": self.vectors_reason,
            "embedder": self.embedder.key if self.embedder is not None else None,
            "embed_state": self._state.embed_state,
            "embed_error": self._state.embed_error,
            "error": self._state.error,
            "last_run": None
            if last is None
            else {
                "added": last.added,
                "updated": last.updated,
                "removed": last.removed,
                "unchanged": last.unchanged,
                "seconds": round(last.seconds, 3),
                "finished_at": last.finished_at,
            },
        }

    # ---- updating

    async def update(
        self,
        paths: Sequence[str] | None = None,
        *,
        progress: Progress | None = None,
        first: Sequence[str] = (),
    ) -> RunSummary:
        """Bring the index up to date: the whole root (``paths`` None) or those files,
        given relative to the root (or absolute under it).  Files of ``first`` (those open
        in the editor), then the rest of their folders, are written before the others, so
        a search during a long first run already finds them."""
        relative = None if paths is None else [self._relative(p) for p in paths]
        self._first = [self._relative(p) for p in first]
        async with self._write_lock:
            self._indexing += 1
            self._idle.clear()
            self._state.state = "paused" if self.paused else "indexing"
            try:
                summary = await asyncio.to_thread(self._run_thread, relative, progress)
            except _Stopped:
                raise IndexerError("indexing stopped: the index is closing") from None
            except Exception as exc:
                self._state.state = "error"
                self._state.error = str(exc)
                raise
            finally:
                self._indexing -= 1
                if not self._indexing:
                    self._idle.set()
            self._state.state = "idle"
            self._state.error = None
            self._state.last_run = summary
            self._ever_indexed = True
        self._searcher.changed()
        if summary.changed:
            self._emit(IndexEvent("updated", self.root, summary))
            self._embed_wakeup.set()
        if self._warm_task is None or self._warm_task.done():
            self._warm_task = asyncio.create_task(self._warm())
        return summary

    async def _warm(self) -> None:
        """What the first search of a large index would build (the symbol name table,
        the common words of pruned MATCHes: a second or two each at 200,000 chunks),
        built in the background after a run instead.  A moment later: a command that
        indexes and exits (``deputydev index``) closes the index first, and builds nothing."""
        try:
            await asyncio.sleep(WARM_AFTER)
            await self._read(self._searcher.warm)

            def spare() -> None:
                with self._spare_lock:
                    self._spare_reader.warm()

            await asyncio.to_thread(spare)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("warming the search of %s failed", self.root)

    def _relative(self, path: str | Path) -> str:
        p = Path(path)
        if p.is_absolute():
            try:
                p = p.resolve().relative_to(self.root) if p.exists() else p.relative_to(self.root)
            except ValueError:
                raise BadQuery(f"{path} is not under the root {self.root}") from None
        return p.as_posix()

    def _run_thread(self, paths: list[str] | None, progress: Progress | None) -> RunSummary:
        self._thread_idle.clear()
        try:
            return self._run(paths, progress)
        finally:
            self._thread_idle.set()

    def _run(self, paths: list[str] | None, progress: Progress | None) -> RunSummary:
        started = time.perf_counter()
        store = self._writer
        states = store.file_states()
        unreadable: list[str] = []
        if paths is None:
            infos = discover(
                self.root,
                max_file_bytes=self.settings.max_file_bytes,
                exclude=self.exclude,
                unreadable=unreadable,
            )
            seen = {info.path for info in infos}
            removed = sorted(p for p in states if p not in seen)
        else:
            infos, removed = [], []
            for rel in dict.fromkeys(paths):
                info = admits(
                    self.root, rel, self._ignorer, self.settings.max_file_bytes, self.exclude
                )
                if info is not None:
                    infos.append(info)
                elif rel in states:
                    removed.append(rel)
        todo = first_things_first([i for i in infos if _stale(states.get(i.path), i)], self._first)
        added = updated = chunks = 0
        changed_paths: list[str] = list(removed[:100])
        total = len(todo)
        if progress is not None:
            progress(0, total)
        if removed:
            with store.transaction():
                for rel in removed:
                    store.delete_file(rel)
        batch: list[PreparedFile | FileInfo | Withheld] = []
        withheld = 0

        def flush() -> None:
            nonlocal added, updated, chunks, withheld
            if not batch:
                return
            with store.transaction():
                for item in batch:
                    if isinstance(item, Withheld):
                        if item.path in states:
                            store.delete_file(item.path)
                            withheld += 1
                            if len(changed_paths) < 100:
                                changed_paths.append(item.path)
                        continue
                    if isinstance(item, FileInfo):
                        store.touch_file(item.path, item.size, item.mtime_ns)
                        continue
                    if item.path in states:
                        updated += 1
                    else:
                        added += 1
                    if len(changed_paths) < 100:
                        changed_paths.append(item.path)
                    chunks += len(item.chunks)
                    store.replace_file(item)
            names = {
                s.name for item in batch if isinstance(item, PreparedFile) for s in item.symbols
            }
            if names:
                with self._read_lock:
                    self._searcher.names_added(names)
            batch.clear()

        for done, result in enumerate(self._prepared(todo, states), start=1):
            self._checkpoint()
            if result is not None:
                batch.append(result)
            if len(batch) >= BATCH_FILES:
                flush()
            if progress is not None:
                progress(done, total)
        flush()
        finished = time.time()
        summary = RunSummary(
            files=len(infos),
            added=added,
            updated=updated,
            removed=len(removed) + withheld,
            unchanged=len(infos) - added - updated - withheld,
            chunks=chunks,
            seconds=time.perf_counter() - started,
            finished_at=finished,
            paths=tuple(changed_paths),
            unreadable=tuple(sorted(unreadable)),
        )
        if paths is None or summary.changed:
            store.set_meta("last_run", str(finished))
        return summary

    def _checkpoint(self) -> None:
        while not self._resume.wait(0.2):
            if self._stopping.is_set():
                raise _Stopped
        if self._stopping.is_set():
            raise _Stopped

    def _prepared(
        self, todo: list[FileInfo], states: dict[str, FileState]
    ) -> Iterator[PreparedFile | FileInfo | Withheld | None]:
        root = str(self.root)
        args: list[_PrepareArgs] = [
            (
                root,
                info,
                s.hash if (s := states.get(info.path)) else None,
                self._max_lines(),
                self.exclude,
            )
            for info in todo
        ]
        workers = _workers(self.settings)
        if len(args) < POOL_MIN_FILES or workers < 2:
            for arg in args:
                yield _prepare_star(arg)
            return
        pool = _process_pool(workers)
        try:
            # Bounded read-ahead: the writer keeps up, and memory stays flat.
            yield from _bounded_map(pool, args, ahead=workers * 16)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)

    def _max_lines(self) -> int:
        return self.settings.max_chunk_lines

    async def clear(self) -> None:
        """Drop every indexed file (for a full rebuild); vectors stay cached by hash."""
        await self._write(self._writer.clear)
        self._searcher.changed()
        await self._read(self._searcher.names_dropped)

    # ---- searching

    async def _read(self, fn: Callable[..., Any], *args: Any) -> Any:
        def locked() -> Any:
            with self._read_lock:
                return fn(*args)

        return await asyncio.to_thread(locked)

    async def search(
        self,
        query: str,
        *,
        mode: str = "auto",
        limit: int = 10,
        paths: Sequence[str] = (),
        languages: Sequence[str] = (),
    ) -> SearchResults:
        """The best ``limit`` hits, and the mode that found them (``auto`` and ``hybrid``
        run lexical alone when no vectors are stored or the query cannot be embedded)."""
        if mode not in MODES:
            raise BadQuery(f"unknown search mode {mode!r}; use one of {', '.join(MODES)}")
        # Before the first run completes, the hits come from the files written so far.
        partial = not self._ever_indexed
        vector: bytes | None = None
        if mode in ("semantic", "hybrid", "auto"):
            vector = await self._query_vector(query, required=mode == "semantic")
        ran: RanMode
        if mode == "symbol":
            ran = "symbol"
        elif mode == "semantic":
            ran = "semantic"
        else:
            ran = "hybrid" if vector is not None else "lexical"
        if ran == "hybrid" and vector is not None and limit >= 1:
            hits = await self._hybrid(query, vector, limit, paths, languages)
            return SearchResults(ran, hits, partial=partial)
        if ran == "lexical" and limit >= 1:
            hits = await self._lexical(query, limit, paths, languages)
            return SearchResults(ran, hits, partial=partial)

        def run(searcher: Searcher) -> list[SearchResult]:
            return searcher.search(
                query, mode=ran, limit=limit, paths=paths, languages=languages, query_vector=vector
            )

        result: list[SearchResult]
        if ran == "semantic":
            # On the vector reader, as hybrid's semantic half: one copy of the vectors in
            # memory (100 MB at 200,000 x 384), not one per connection.
            def semantic() -> list[SearchResult]:
                with self._vector_lock:
                    return run(self._vector_searcher)

            result = await asyncio.to_thread(semantic)
        else:
            result = await self._read(run, self._searcher)
        return SearchResults(ran, result, partial=partial)

    async def definitions(
        self, names: Sequence[str], per_name: int = 3
    ) -> dict[str, list[SearchResult]]:
        """Definitions named exactly each of ``names`` (:meth:`Searcher.definitions`)."""
        result: dict[str, list[SearchResult]] = await self._read(
            self._searcher.definitions, names, per_name
        )
        return result

    async def mentions(self, name: str, limit: int = 12) -> list[SearchResult]:
        """Chunks that mention ``name`` (:meth:`Searcher.mentions`)."""
        result: list[SearchResult] = await self._read(self._searcher.mentions, name, limit)
        return result

    async def _lexical(
        self, query: str, limit: int, paths: Sequence[str], languages: Sequence[str]
    ) -> list[SearchResult]:
        """Lexical search with its two MATCHes (typed words, other spellings) run at once
        on the two reader connections; the ranking is ``lexical_search``'s as ever."""
        file_ids = None
        if paths or languages:
            file_ids = await self._read(self._searcher.file_ids, paths, languages)
        prefetched = await self._matches(query, file_ids)

        def ranked() -> list[SearchResult]:
            found = self._searcher.lexical(query, limit, file_ids, prefetched)
            return self._searcher.chunk_results(found)

        result: list[SearchResult] = await self._read(ranked)
        return result

    async def _matches(self, query: str, file_ids: list[int] | None) -> dict[str, list[Candidate]]:
        """The two MATCHes of ``lexical_search`` (typed words, other spellings) at once,
        each on its own connection; {} when there is only one to run."""
        from indexer.query import fts_alternates, fts_query
        from indexer.ranking import DEPTH

        primary, alternate = fts_query(query), fts_alternates(query)
        if primary is None or alternate is None or file_ids == []:
            return {}

        def other() -> list[Candidate]:
            with self._spare_lock:
                return self._spare_reader.match(alternate, DEPTH, file_ids)

        first, second = await asyncio.gather(
            self._read(self._reader.match, primary, DEPTH, file_ids), asyncio.to_thread(other)
        )
        return {primary: first, alternate: second}

    async def _hybrid(
        self,
        query: str,
        vector: bytes,
        limit: int,
        paths: Sequence[str],
        languages: Sequence[str],
    ) -> list[SearchResult]:
        from indexer.search import FUSION_DEPTH

        file_ids = None
        if paths or languages:
            file_ids = await self._read(self._searcher.file_ids, paths, languages)

        def semantic() -> list[tuple[int, float]]:
            with self._vector_lock:
                return self._vector_searcher.semantic(vector, FUSION_DEPTH, file_ids)

        prefetched, similar = await asyncio.gather(
            self._matches(query, file_ids), asyncio.to_thread(semantic)
        )

        def ranked() -> list[SearchResult]:
            lexical = self._searcher.lexical(query, FUSION_DEPTH, file_ids, prefetched)
            return self._searcher.fused(query, lexical, similar, limit)

        found: list[SearchResult] = await self._read(ranked)
        return found

    async def _query_vector(self, query: str, *, required: bool) -> bytes | None:
        from indexer.embedder import EmbeddingFailed

        if self.embedder is None or not self.driver.vectors:
            if required:
                raise VectorsUnavailable(
                    f"semantic search is off: {self.vectors_reason}", reason=self.vectors_reason
                )
            return None
        held = self._held
        if held is None or held[0] != vector_key(self.embedder):
            if required:
                raise VectorsUnavailable("semantic search is not ready: no vectors stored yet")
            return None
        try:
            vectors = await self.embedder.embed([query], purpose="query")
        except EmbeddingFailed as exc:
            if required:
                raise VectorsUnavailable(f"the query could not be embedded: {exc}") from exc
            log.warning("query not embedded (%s); lexical results only", exc)
            return None
        return pack_vector(vectors[0])

    # ---- embedding

    async def _write(self, fn: Callable[..., Any], *args: Any) -> Any:
        async with self._write_lock:

            def in_txn() -> Any:
                with self._writer.transaction():
                    return fn(*args)

            return await asyncio.to_thread(in_txn)

    async def _embed_loop(self) -> None:
        from indexer.embedder import EmbeddingFailed

        assert self.embedder is not None
        while not self._stopping.is_set():
            await self._embed_wakeup.wait()
            self._embed_wakeup.clear()
            try:
                await self._embed_pending()
                self._state.embed_state = "idle"
            except EmbeddingFailed as exc:
                # Not retryable, or retries exhausted: wait for the next change.
                self._state.embed_state = "error"
                self._state.embed_error = str(exc)
                log.warning("embedding stopped for %s: %s", self.root, exc)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._state.embed_state = "error"
                self._state.embed_error = repr(exc)
                log.exception("embedding failed for %s", self.root)

    async def _embed_pending(self) -> None:
        assert self.embedder is not None
        embedder = self.embedder
        wanted = self.settings.embeddings.batch_size or embedder.max_batch
        batch = max(1, min(embedder.max_batch, wanted))
        concurrency = self.settings.embeddings.concurrency
        while not self._stopping.is_set():
            await self._idle.wait()  # indexing first: lexical results matter more
            await self._unpaused.wait()
            # With a team cache, larger rounds: most of them are answered by it.
            wanted = batch * concurrency if self.shared is None else max(512, batch * concurrency)
            pending: list[tuple[int, str, str, str]] = await self._read(
                self._reader.pending_chunks, wanted
            )
            if not pending:
                return
            self._state.embed_state = "embedding"
            stored = await self._embed_round(pending, batch, concurrency)
            if stored == 0:
                return

    async def _embed_round(
        self, pending: list[tuple[int, str, str, str]], batch: int, concurrency: int
    ) -> int:
        """Vectors for ``pending`` chunks: cached ones reused (locally, then from the team's
        cache), the rest embedded."""
        assert self.embedder is not None
        key = vector_key(self.embedder)
        cached: dict[str, bytes] = await self._read(
            self._reader.cached_vectors, [h for _, h, _, _ in pending], key
        )
        missing: dict[str, str] = {}
        # A hash is shared only if every chunk holding it may be: the same text in a
        # secret file keeps it home.
        shareable: dict[str, bool] = {}
        for _, h, text, path in pending:
            if self.shared is not None:
                shareable[h] = shareable.get(h, True) and self.shared.shares(path, text)
            if h not in cached:
                missing.setdefault(h, document_text(path, text))
        remote: dict[str, bytes] = {}
        if self.shared is not None and missing:
            asked = [h for h in missing if shareable.get(h)]
            if asked:
                remote = _one_width(await self.shared.fetch(key, asked), self._width(key))
            for h in remote:
                missing.pop(h, None)
        items = list(missing.items())
        groups = [items[i : i + batch] for i in range(0, len(items), batch)]
        limiter = asyncio.Semaphore(concurrency)

        async def embed_group(group: list[tuple[str, str]]) -> dict[str, bytes]:
            async with limiter:
                vectors = await self._embed_with_retries([t for _, t in group])
            return {h: pack_vector(v) for (h, _), v in zip(group, vectors, strict=True)}

        fresh: dict[str, bytes] = {}
        for result in await asyncio.gather(*(embed_group(g) for g in groups)):
            fresh.update(result)
        if fresh and remote:
            width = len(next(iter(fresh.values())))
            remote = {h: v for h, v in remote.items() if len(v) == width}
        every = {**cached, **remote, **fresh}
        if not every:
            return 0
        dims = len(next(iter(every.values()))) // 4
        offered = [h for h in fresh if shareable.get(h)]

        def store_all() -> int:
            self._writer.reset_vectors(key, dims)
            self._writer.cache_vectors(key, {**remote, **fresh})
            if offered:
                self._writer.offer_vectors(key, offered)
            return self._writer.put_vectors(
                [(cid, every[h]) for cid, h, _, _ in pending if h in every]
            )

        stored: int = await self._write(store_all)
        self._held = (key, dims)
        if offered and self.shared is not None:
            self.shared.offered()
        self._announce(stored)
        return stored

    def _width(self, key: str) -> int | None:
        """Bytes per vector of ``key`` as stored here, when known."""
        held = self._held
        if held is not None and held[0] == key:
            return held[1] * 4
        if self.embedder is not None and self.embedder.dimensions:
            return self.embedder.dimensions * 4
        return None

    # ---- publishing (the daemon sends these to the team's database)

    async def file_hashes(self) -> list[tuple[str, str, str | None]]:
        """(path, content hash, language) of every indexed file."""
        rows: list[tuple[str, str, str | None]] = await self._read(self._reader.file_hashes)
        return rows

    async def export_chunks(
        self, paths: Sequence[str]
    ) -> list[tuple[str, int, int, str, tuple[str, ...], str, str, bytes | None]]:
        """The chunks of ``paths`` with their vectors (of the embedder in use, if any)."""
        key = vector_key(self.embedder) if self.embedder is not None else None
        rows: list[tuple[str, int, int, str, tuple[str, ...], str, str, bytes | None]]
        rows = await self._read(self._reader.export_chunks, paths, key)
        return rows

    # ---- the team cache's outbox

    async def outbox(self, limit: int) -> list[tuple[str, str, bytes]]:
        """(embedder, content hash, vector) computed here and not yet in the team cache."""
        rows: list[tuple[str, str, bytes]] = await self._read(self._reader.outbox, limit)
        return rows

    async def outbox_pending(self) -> int:
        pending: int = await self._read(self._reader.outbox_pending)
        return pending

    async def outbox_ack(self, keys: Sequence[tuple[str, str]]) -> None:
        """The team's server has committed these: forget them."""
        if keys:
            await self._write(self._writer.outbox_ack, keys)

    def _announce(self, stored: int) -> None:
        if stored:
            self._searcher.changed()
            self._emit(IndexEvent("vectors", self.root, vectors=stored))

    async def _embed_with_retries(self, texts: list[str]) -> list[list[float]]:
        from indexer.embedder import EmbeddingFailed

        assert self.embedder is not None
        delay = 1.0
        attempts = self.settings.embeddings.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                vectors = await self.embedder.embed(texts, purpose="document")
                if len(vectors) != len(texts):
                    raise EmbeddingFailed(
                        f"the embedder returned {len(vectors)} vectors for {len(texts)} texts",
                        retryable=False,
                    )
                self._state.embed_error = None
                return vectors
            except EmbeddingFailed as exc:
                if not exc.retryable or attempt == attempts:
                    raise
                wait = exc.retry_after if exc.retry_after is not None else delay
                wait = min(max(wait, 0.0), MAX_BACKOFF)
                self._state.embed_state = "waiting"
                self._state.embed_error = str(exc)
                log.info("embedding retry %d in %.1f s: %s", attempt, wait, exc)
                await asyncio.sleep(wait)
                delay = min(delay * 2, MAX_BACKOFF)
        raise AssertionError("unreachable")

    async def embedded(self) -> None:
        """Wait until every chunk has a vector (for tests and benchmarks)."""
        while True:
            counts = await self._read(self._reader.counts)
            if counts["vectors_pending"] == 0 or self._state.embed_state == "error":
                return
            self._embed_wakeup.set()
            await asyncio.sleep(0.05)

    # ---- closing

    async def close(self) -> None:
        self._stopping.set()
        self._resume.set()
        for task in (self._embed_task, self._warm_task):
            if task is not None:
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass
        await asyncio.to_thread(self._thread_idle.wait, 60)
        async with self._write_lock:
            await asyncio.to_thread(self._close_stores)
        if self.embedder is not None:
            try:
                await self.embedder.aclose()
            except Exception:
                log.exception("closing the embedder failed")

    def _close_stores(self) -> None:
        with self._read_lock:
            self._reader.close()
        with self._vector_lock:
            self._vector_reader.close()
        with self._spare_lock:
            self._spare_reader.close()
        self._writer.close()


def _one_width(vectors: dict[str, bytes], width: int | None) -> dict[str, bytes]:
    """Vectors of one length: ``width`` bytes when known, else the most common length (a
    teammate's server may answer the same model name with another width)."""
    if not vectors:
        return vectors
    if width is None:
        lengths: dict[int, int] = {}
        for v in vectors.values():
            lengths[len(v)] = lengths.get(len(v), 0) + 1
        width = max(lengths, key=lambda n: lengths[n])
    return {h: v for h, v in vectors.items() if len(v) == width and width % 4 == 0 and width}


def first_things_first(todo: list[FileInfo], first: Sequence[str]) -> list[FileInfo]:
    """``todo`` with the files of ``first`` ahead, then the other files of their folders
    (closest folder first), then the rest, each part in its own order."""
    if not first:
        return todo
    wanted = set(first)
    folders = {p.rpartition("/")[0] for p in first}

    def rank(info: FileInfo) -> int:
        if info.path in wanted:
            return 0
        folder = info.path.rpartition("/")[0]
        if folder in folders:
            return 1
        if any(f.startswith(folder + "/") or folder.startswith(f + "/") for f in folders):
            return 2
        return 3

    return sorted(todo, key=rank)


def _stale(state: FileState | None, info: FileInfo) -> bool:
    return state is None or state.size != info.size or state.mtime_ns != info.mtime_ns


def _process_pool(workers: int) -> Executor:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: the daemon has threads (asyncio's, SQLite's) that fork would copy
    # in whatever state they are.
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=exit_with_parent,
        initargs=(os.getpid(),),
    )


def exit_with_parent(parent: int) -> None:
    """Pool initializer: the worker exits as soon as ``parent`` (its creator) dies.

    Without it, a SIGKILLed ``deputydev index`` left its workers blocked for ever on the
    task queue: each holds both ends of that pipe, so no EOF ever comes, and the
    multiprocessing resource tracker lives as long as they do. A pidfd wakes the watcher
    the moment the parent exits; where there is none, it polls ``getppid`` twice a second.
    """
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        try:
            fd = os.pidfd_open(parent)
        except (AttributeError, OSError):
            while os.getppid() == parent:
                time.sleep(0.5)
        else:
            import select

            select.select([fd], [], [])  # readable once the parent has exited
        os._exit(1)  # nothing to save: the parent that wanted the results is gone

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _bounded_map(
    pool: Executor, args: Iterable[_PrepareArgs], *, ahead: int
) -> Iterator[PreparedFile | FileInfo | Withheld | None]:
    from collections import deque

    pending: deque[Any] = deque()
    for arg in args:
        pending.append(pool.submit(_prepare_star, arg))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
