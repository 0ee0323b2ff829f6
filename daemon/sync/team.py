"""Reading the team's history from PostgreSQL: read-only, and only what RLS lets us see.

Rows come back shaped like the local store's payloads (``Session.payload()`` and friends)
plus ``author`` (the owner's role) and ``team``, so handlers convert both the same way.
One connection, opened on first use and again after a failure; a lock keeps its queries
in turn (an asyncpg connection runs one at a time). The pusher has its own connection, so
reading never waits behind a batch.

    reader = TeamReader(settings.sync)
    sessions = await reader.list_sessions(query="parser", limit=20, offset=0)
    session, turns = await reader.get_session(session_id)
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from daemon.errors import SessionNotFound, SyncError
from daemon.sync.client import connect, target
from daemon.sync.errors import ServerUnavailable, describe
from daemon.sync.schema import SCHEMA

if TYPE_CHECKING:
    import asyncpg

    from daemon.sync.search import TeamHit
    from daemon.sync.settings import SyncSettings
    from indexer.embedder import Embedder

log = logging.getLogger(__name__)
T = TypeVar("T")

_SESSION_COLUMNS = (
    "id, owner, team, visibility, workspace, title, model, pinned, archived, created_at,"
    " updated_at, version"
)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _session(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "author": row["owner"],
        "team": row["team"],
        "visibility": row["visibility"],
        "workspace": row["workspace"],
        "title": row["title"],
        "model": row["model"],
        "pinned": row["pinned"],
        "archived": row["archived"],
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
        "version": row["version"],
    }


class TeamReader:
    def __init__(self, settings: SyncSettings) -> None:
        self._settings = settings
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._vector_store: str | None = None

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.terminate()
            self._conn = None

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async def fetch(conn: asyncpg.Connection) -> list[asyncpg.Record]:
            rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
            return rows

        return await self._run(fetch)

    async def _run(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """``work`` on our connection, in a read-only transaction."""
        import asyncpg

        async with self._lock:
            for attempt in (1, 2):  # a connection the server dropped is reopened once
                if self._conn is None or self._conn.is_closed():
                    try:
                        self._conn = await connect(self._settings)
                    except ServerUnavailable as exc:
                        raise ServerUnavailable(
                            f"cannot read the team's history: {exc}", **exc.data
                        ) from exc
                    self._vector_store = None
                try:
                    async with self._conn.transaction(readonly=True):
                        return await work(self._conn)
                except (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError) as exc:
                    self._conn.terminate()
                    self._conn = None
                    if attempt == 2:
                        raise self._unavailable(exc) from exc
                except asyncpg.PostgresError as exc:
                    raise self._unavailable(exc) from exc
        raise AssertionError("unreachable")

    async def code_search(
        self,
        query: str,
        *,
        limit: int,
        repositories: Sequence[str] = (),
        embedder: Embedder | None = None,
    ) -> tuple[list[TeamHit], str]:
        """The team's published code for ``query`` (``daemon.sync.search``): hits and the
        mode that ran. The query is embedded only when ``embedder`` made the published
        vectors; otherwise, or without pgvector, the search is full-text."""
        from daemon.sync import search
        from daemon.sync.vectors import prepare
        from indexer.embedder import vector_key

        async def work(conn: asyncpg.Connection) -> tuple[list[TeamHit], str]:
            if self._vector_store is None:
                self._vector_store = await prepare(conn) or ""
            if not self._vector_store:
                raise SyncError(
                    "the team's database has no team index yet (server schema 1): a role"
                    " allowed to migrate runs `deputydev sync migrate` (docs/SYNC.md)"
                )
            vector = None
            if embedder is not None and self._vector_store == "vector":
                published = await search.embedders(conn)
                if vector_key(embedder) in published:
                    vector = await self._query_vector(embedder, query)
            return await search.search(
                conn,
                query,
                limit=limit,
                vector=vector,
                embedder=vector_key(embedder) if embedder is not None else None,
                repositories=repositories,
                vector_store=self._vector_store,
            )

        return await self._run(work)

    async def _query_vector(self, embedder: Embedder, query: str) -> bytes | None:
        from indexer.embedder import EmbeddingFailed
        from indexer.store import pack_vector

        try:
            vectors = await embedder.embed([query], purpose="query")
        except EmbeddingFailed as exc:
            log.warning("team search query not embedded (%s): full-text only", exc)
            return None
        return pack_vector(vectors[0]) if vectors else None

    def _unavailable(self, exc: BaseException) -> ServerUnavailable:
        to = target(self._settings)
        message = describe(exc, where=to.where, role=to.role, database=to.database)
        return ServerUnavailable(f"cannot read the team's history: {message}", server=to.where)

    async def list_sessions(
        self, *, query: str | None, limit: int, offset: int
    ) -> list[dict[str, Any]]:
        """Sessions visible to us (ours and those shared with our teams), newest first."""
        where = ""
        args: list[Any] = [limit, offset]
        if query:
            pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            args.append(pattern + "%")
            where = (
                "WHERE s.title ILIKE $3 OR EXISTS (SELECT 1 FROM "
                f"{SCHEMA}.turns t WHERE t.session_id = s.id AND t.query ILIKE $3)"
            )
        rows = await self._fetch(
            f"SELECT {_SESSION_COLUMNS} FROM {SCHEMA}.sessions s {where}"
            " ORDER BY s.updated_at DESC, s.id LIMIT $1 OFFSET $2",
            *args,
        )
        return [_session(row) for row in rows]

    async def get_session(self, session_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The session and its turns, each with its messages; SessionNotFound when we may
        not see it (not shared with us, deleted, or never synced)."""
        try:
            key = uuid.UUID(session_id)
        except ValueError:
            raise SessionNotFound(f"no team session {session_id!r}", sessionId=session_id) from None
        sessions = await self._fetch(
            f"SELECT {_SESSION_COLUMNS} FROM {SCHEMA}.sessions WHERE id = $1", key
        )
        if not sessions:
            raise SessionNotFound(
                f"no team session {session_id!r} visible to this role", sessionId=session_id
            )
        turns = await self._fetch(
            f"SELECT * FROM {SCHEMA}.turns WHERE session_id = $1 ORDER BY seq", key
        )
        messages = await self._fetch(
            f"SELECT * FROM {SCHEMA}.messages WHERE session_id = $1 ORDER BY seq, created_at", key
        )
        by_turn: dict[str, list[dict[str, Any]]] = {}
        for m in messages:
            by_turn.setdefault(str(m["turn_id"]), []).append(
                {
                    "id": str(m["id"]),
                    "session_id": str(m["session_id"]),
                    "turn_id": str(m["turn_id"]),
                    "seq": m["seq"],
                    "role": m["role"],
                    "content": json.loads(m["content"]),
                    "created_at": _iso(m["created_at"]),
                    "version": m["version"],
                }
            )
        out_turns = [
            {
                "id": str(t["id"]),
                "session_id": str(t["session_id"]),
                "seq": t["seq"],
                "query": t["query"],
                "focus_items": json.loads(t["focus_items"]),
                "agent": t["agent"],
                "model": t["model"],
                "status": t["status"],
                "usage": json.loads(t["usage"]),
                "cost_usd": t["cost_usd"],
                "timings": json.loads(t["timings"]),
                "error": t["error"],
                "summary": t["summary"],
                "started_at": _iso(t["started_at"]),
                "finished_at": _iso(t["finished_at"]),
                "version": t["version"],
                "messages": by_turn.get(str(t["id"]), []),
            }
            for t in turns
        ]
        return _session(sessions[0]), out_turns


class TeamCodeAdapter:
    """The reader's code search as ``daemon.tools.base.TeamCode`` (``team_code_search``)."""

    def __init__(self, reader: TeamReader, embedder: Callable[[], Embedder | None]) -> None:
        self._reader = reader
        self._embedder = embedder

    async def search(self, query: str, *, limit: int, repositories: Sequence[str]) -> list[Any]:
        from daemon.tools.base import CodeHit

        hits, _ = await self._reader.code_search(
            query, limit=limit, repositories=repositories, embedder=self._embedder()
        )
        return [
            CodeHit(
                path=f"{h.repository}@{(h.commit or 'unknown')[:12]}:{h.path}",
                start_line=h.start_line,
                end_line=h.end_line,
                text=h.text,
                score=h.score,
                symbol=h.symbol,
            )
            for h in hits
        ]
