"""The team's embedding cache: vectors by (embedder key, chunk content hash) in PostgreSQL.

Three parts, all owned by :class:`~daemon.sync.service.SyncService`:

- :class:`TeamCache` answers an index's ``fetch`` (one connection of its own, a lock, a
  time limit). A failure never reaches the index: it gets ``{}`` and embeds itself, and
  the cache is not asked again until a back-off has passed, so a server that is away
  costs indexing one timeout, not one per batch.
- :class:`RootShare` is what one workspace root's index holds (``indexer.embedder.
  SharedVectors``). It applies the user's settings as they are now (``[sync]
  embedding_cache``, ``embedding_cache_exclude``) and the trust rules: a chunk of a secret
  file (``solver.tools.secret_patterns``, whatever ``allow_secret_files`` says) or one that
  redaction would change never has its hash sent, nor asked for.
- :class:`VectorUploader` drains the indexes' outboxes (``vector_outbox`` in each index
  database, written with the vector) to the server: a batch in one transaction,
  ``ON CONFLICT DO NOTHING``, acknowledged locally only after the commit. Killed between
  the two, the batch is sent again and changes nothing; the server away, rows wait.

Vectors travel as packed little-endian float32 (the index's format). With pgvector the
columns are ``vector`` and a binary codec converts; without it they are ``bytea`` holding
those same bytes.
"""

from __future__ import annotations

import asyncio
import logging
import random
import struct
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from daemon.sync import schema
from daemon.sync.client import connect, target
from daemon.sync.errors import BadServerUrl, ServerUnavailable, describe
from daemon.sync.redact import Redactor

if TYPE_CHECKING:
    import asyncpg

    from daemon.config import Settings
    from daemon.sync.state import SyncState

log = logging.getLogger(__name__)

TEAM_INDEX_VERSION = 2  # the server schema version that brought the team index
IDLE_PING_S = 30.0

_S = schema.SCHEMA
INSERT_VECTOR = (
    f"INSERT INTO {_S}.embedding_cache (embedder, content_hash, dims, embedding)"
    " VALUES ($1, $2, $3, $4) ON CONFLICT (embedder, content_hash) DO NOTHING"
)
SELECT_VECTORS = (
    f"SELECT content_hash, embedding FROM {_S}.embedding_cache"
    " WHERE embedder = $1 AND content_hash = ANY($2::text[])"
)
PGVECTOR_FIX = (
    "the team's PostgreSQL has no pgvector: vectors are kept as bytea and team search is"
    " full-text only. An administrator installs pgvector for the server (the"
    " postgresql-NN-pgvector package, or from source), runs CREATE EXTENSION vector in the"
    " team's database, then `deputydev sync migrate`"
)


class Outbox(Protocol):
    """What the uploader needs of an index (``indexer.index.Index``)."""

    root: Path

    async def outbox(self, limit: int) -> list[tuple[str, str, bytes]]: ...

    async def outbox_pending(self) -> int: ...

    async def outbox_ack(self, keys: Sequence[tuple[str, str]]) -> None: ...


# --------------------------------------------------------------------------- the codec


def encode_vector(packed: bytes) -> bytes:
    """Little-endian float32 bytes -> pgvector's binary format (dims, unused, big-endian)."""
    import numpy as np

    dims = len(packed) // 4
    return struct.pack(">HH", dims, 0) + np.frombuffer(packed, "<f4").astype(">f4").tobytes()


def decode_vector(data: bytes) -> bytes:
    import numpy as np

    dims, _ = struct.unpack_from(">HH", data)
    return np.frombuffer(data, ">f4", count=dims, offset=4).astype("<f4").tobytes()


async def prepare(conn: asyncpg.Connection) -> str | None:
    """The server's vector column type (``vector``, ``bytea``, None before schema 2); with
    pgvector, its binary codec is set on ``conn``."""
    kind = await schema.vector_column(conn)
    if kind == "vector":
        where = await conn.fetchval(
            "SELECT n.nspname FROM pg_catalog.pg_type t"
            " JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"
            " WHERE t.typname = 'vector' ORDER BY n.nspname = 'public' DESC LIMIT 1"
        )
        await conn.set_type_codec(
            "vector",
            schema=where,
            encoder=encode_vector,
            decoder=decode_vector,
            format="binary",
        )
    return kind


# --------------------------------------------------------------------------- policy


def secret_file(path: str, patterns: Sequence[str]) -> bool:
    """The tools' secret patterns (``daemon.tools.secrets``: ordered, ``!`` negates)."""
    from daemon.tools.secrets import path_matches

    return path_matches(tuple(patterns), path)


class RootShare:
    """One root's view of the team cache (``indexer.embedder.SharedVectors``)."""

    def __init__(self, root: Path, cache: TeamCache) -> None:
        self.root = root
        self._cache = cache

    def _on(self) -> bool:
        return self._cache.settings().sync.caches_embeddings_of(self.root)

    def shares(self, path: str, text: str) -> bool:
        if not self._on():
            return False
        settings = self._cache.settings()
        if secret_file(path, settings.solver.tools.secret_patterns):
            return False
        from daemon.tools.secrets import content_is_secret

        if content_is_secret(text):  # a key under an innocent name
            return False
        return self._cache.redactor().text(text) == text

    async def fetch(self, embedder: str, hashes: Sequence[str]) -> dict[str, bytes]:
        if not self._on():
            return {}
        return await self._cache.fetch(embedder, hashes)

    def offered(self) -> None:
        self._cache.wake.set()


# --------------------------------------------------------------------------- reading


class TeamCache:
    def __init__(self, settings: Callable[[], Settings], state: Callable[[], SyncState]) -> None:
        self.settings = settings
        self.state = state
        self.wake = asyncio.Event()  # the uploader's: an outbox has new rows
        self._conn: asyncpg.Connection | None = None
        self._kind: str | None = None
        self._lock = asyncio.Lock()
        self._down_until = 0.0
        self._delay = 0.0
        self._redactor: tuple[Any, Redactor] | None = None

    def redactor(self) -> Redactor:
        redaction = self.settings().sync.redaction
        if self._redactor is None or self._redactor[0] != redaction:
            self._redactor = (
                redaction,
                Redactor(redaction.patterns, enabled=redaction.enabled),
            )
        return self._redactor[1]

    def share(self, root: Path) -> RootShare:
        return RootShare(root, self)

    async def fetch(self, embedder: str, hashes: Sequence[str]) -> dict[str, bytes]:
        import asyncpg

        sync = self.settings().sync
        if not sync.configured or not hashes or time.monotonic() < self._down_until:
            return {}
        async with self._lock:
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await connect(sync)
                    version = await schema.check(self._conn)
                    self._kind = await prepare(self._conn) if version >= 2 else None
                if self._kind is None:
                    return {}
                rows = await asyncio.wait_for(
                    self._conn.fetch(SELECT_VECTORS, embedder, list(hashes)),
                    sync.connect_timeout_s * 2,
                )
            except (
                ServerUnavailable,
                BadServerUrl,
                OSError,
                TimeoutError,
                asyncpg.PostgresError,
                asyncpg.InterfaceError,
            ) as exc:
                self._failed(exc)
                return {}
        self._delay = 0.0
        found = {
            str(r["content_hash"]): r["embedding"]
            for r in rows
            if isinstance(r["embedding"], bytes) and len(r["embedding"]) % 4 == 0
        }
        self.state().vectors_fetched += len(found)
        return found

    def _failed(self, exc: BaseException) -> None:
        sync = self.settings().sync
        if self._conn is not None:
            self._conn.terminate()
            self._conn = None
        self._delay = min(max(self._delay * 2, sync.retry_initial_s), sync.retry_max_s)
        self._down_until = time.monotonic() + self._delay
        if isinstance(exc, ServerUnavailable | BadServerUrl):
            message = str(exc)
        else:
            to = target(sync)
            message = describe(exc, where=to.where, role=to.role, database=to.database)
        log.warning("team embedding cache not asked for %.1f s: %s", self._delay, message)

    async def close(self) -> None:
        async with self._lock:
            if self._conn is not None:
                self._conn.terminate()
                self._conn = None


# --------------------------------------------------------------------------- writing


class VectorUploader:
    """Runs until cancelled: the indexes' outboxes to the team's embedding cache."""

    def __init__(
        self,
        cache: TeamCache,
        state: SyncState,
        outboxes: Callable[[], list[Outbox]],
    ) -> None:
        self._cache = cache
        self.state = state
        self._outboxes = outboxes
        self._delay = cache.settings().sync.retry_initial_s

    async def run(self) -> None:
        import asyncpg

        settings = self._cache.settings().sync
        to = target(settings)
        while True:
            try:
                conn = await connect(settings)
            except BadServerUrl:
                return  # the pusher reports it
            except ServerUnavailable as exc:
                self.state.vectors_error = str(exc)
                await self._backoff()
                continue
            try:
                await self._serve(conn)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                message = describe(exc, where=to.where, role=to.role, database=to.database)
                self.state.vectors_error = message
                log.warning("team embedding cache upload: %s", message)
                await self._backoff()
            finally:
                conn.terminate()

    async def _serve(self, conn: asyncpg.Connection) -> None:
        settings = self._cache.settings().sync
        while True:
            # The pusher migrates; until the server has the team index, wait for it.
            version = await schema.server_version(conn)
            if version > schema.latest():
                self.state.vector_store = None
                await asyncio.sleep(settings.retry_max_s)
                continue
            kind = await prepare(conn) if version >= TEAM_INDEX_VERSION else None
            if kind is not None:
                break
            await asyncio.sleep(min(1.0, settings.retry_max_s))
        self.state.vector_store = "pgvector" if kind == "vector" else "bytea"
        self.state.vectors_error = None
        self._delay = settings.retry_initial_s
        wake = self._cache.wake
        while True:
            wake.clear()  # before reading: a row written after this read wakes the wait
            sent = 0
            for box in list(self._outboxes()):
                sent += await self.push(conn, box, settings.batch_size)
            if sent:
                continue
            try:
                await asyncio.wait_for(wake.wait(), IDLE_PING_S)
            except TimeoutError:
                await conn.execute("SELECT 1")

    async def push(self, conn: asyncpg.Connection, box: Outbox, limit: int) -> int:
        try:
            rows = await box.outbox(limit)
        except Exception as exc:  # the index closed under us: the next round skips it
            log.debug("outbox of %s not read: %r", box.root, exc)
            return 0
        if not rows:
            return 0
        async with conn.transaction():
            await conn.executemany(INSERT_VECTOR, [(e, h, len(v) // 4, v) for e, h, v in rows])
        # Acknowledged only once the server has committed: killed before this line, the
        # rows go again, and ON CONFLICT DO NOTHING makes that a no-op.
        await box.outbox_ack([(e, h) for e, h, _ in rows])
        self.state.vectors_uploaded += len(rows)
        return len(rows)

    async def _backoff(self) -> None:
        settings = self._cache.settings().sync
        await asyncio.sleep(random.uniform(self._delay / 2, self._delay))
        self._delay = min(self._delay * 2, settings.retry_max_s)


async def upload_all(cache: TeamCache, box: Outbox) -> int:
    """Send everything in ``box``'s outbox now (``deputydev index``): the rows sent; raises
    :class:`ServerUnavailable` when the server cannot take them (they stay queued)."""
    import asyncpg

    settings = cache.settings().sync
    conn = await connect(settings)
    try:
        version = await schema.check(conn)
        if version < TEAM_INDEX_VERSION:
            await schema.migrate(conn)
        if await prepare(conn) is None:
            return 0
        state = cache.state()
        uploader = VectorUploader(cache, state, lambda: [box])
        sent = 0
        while n := await uploader.push(conn, box, settings.batch_size):
            sent += n
        return sent
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        to = target(settings)
        message = describe(exc, where=to.where, role=to.role, database=to.database)
        raise ServerUnavailable(message, server=to.where) from exc
    finally:
        await conn.close()
