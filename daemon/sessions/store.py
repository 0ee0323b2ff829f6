"""The local sessions database: the only module that writes SQL against ``sessions.db``.

Every mutation runs in one ``BEGIN IMMEDIATE`` transaction that also appends one ``outbox``
row per changed entity (its full payload after the change), so team sync can never see a
change without its outbox row or the reverse, whatever kills the process in between. Rows
carry a ``version`` that grows on every change, which lets the sync server drop stale
upserts that arrive out of order.

    store = await SessionStore.open(data_dir() / "sessions.db")
    session = await store.create_session(workspace="/src/app", title="Fix the parser")
    turn = await store.start_turn(session.id, query="why does it crash?")
    await store.add_message(turn.id, role="user", content={"text": "...", "focus_items": []})
    await store.finish_turn(turn.id, status="complete", usage={...}, cost_usd=0.01)

One connection serves the daemon; writes are serialised by a lock because aiosqlite shares
that connection across tasks and SQLite allows one open transaction per connection.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar

from daemon.errors import SessionError, SessionNotFound
from daemon.sessions.migrations import migrate
from providers.base import Usage

if TYPE_CHECKING:
    import aiosqlite

log = logging.getLogger(__name__)

Role = Literal["user", "assistant", "tool"]
TurnStatus = Literal["running", "complete", "cancelled", "failed", "interrupted"]
Visibility = Literal["private", "team"]
Entity = Literal["session", "turn", "message"]

TURN_STATUSES: tuple[TurnStatus, ...] = (
    "running",
    "complete",
    "cancelled",
    "failed",
    "interrupted",
)
EMPTY_USAGE: dict[str, int] = Usage().as_dict()


P = ParamSpec("P")
R = TypeVar("R")


def _atomic(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Run a write to its end even when its caller is cancelled.

    Cancelling a query mid-write would otherwise leave the connection inside a transaction
    the worker thread had already begun, and every later write would fail. A caller that is
    cancelled stops waiting; the write itself still commits (or rolls back) in order.
    """

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        task = asyncio.ensure_future(fn(*args, **kwargs))
        task.add_done_callback(_retrieve)
        return await asyncio.shield(task)

    return wrapper


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.debug("a write finished after its caller left: %r", exc)


class Clock:
    """UTC times as ISO strings, each strictly later than the one before.

    Changes made within one clock tick still sort in the order they happened, so the
    session list's "most recent first" is exact. Each store has its own.
    """

    def __init__(self) -> None:
        self._last = datetime.min.replace(tzinfo=UTC)

    def now_iso(self) -> str:
        stamp = datetime.now(UTC)
        if stamp <= self._last:
            stamp = self._last + timedelta(microseconds=1)
        self._last = stamp
        return stamp.isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    workspace: str
    title: str
    model: str | None
    pinned: bool
    archived: bool
    visibility: Visibility | None
    created_at: str
    updated_at: str
    version: int

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "workspace": self.workspace,
            "title": self.title,
            "model": self.model,
            "pinned": self.pinned,
            "archived": self.archived,
            "visibility": self.visibility,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "version": self.version,
        }


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    session_id: str
    turn_id: str
    seq: int
    role: Role
    content: dict[str, Any]
    created_at: str
    version: int

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "session_id": self.session_id,
            "turn_id": self.turn_id,
            "seq": self.seq,
            "role": self.role,
            "content": self.content,
            "created_at": self.created_at,
            "version": self.version,
        }


@dataclass(frozen=True, slots=True)
class Turn:
    id: str
    session_id: str
    seq: int
    query: str
    focus_items: list[Any]
    agent: str | None
    model: str | None
    status: TurnStatus
    usage: dict[str, int]
    cost_usd: float | None
    timings: dict[str, Any]
    error: str | None
    summary: str | None
    started_at: str
    finished_at: str | None
    version: int
    messages: tuple[Message, ...] = field(default=(), compare=False)

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "session_id": self.session_id,
            "seq": self.seq,
            "query": self.query,
            "focus_items": self.focus_items,
            "agent": self.agent,
            "model": self.model,
            "status": self.status,
            "usage": self.usage,
            "cost_usd": self.cost_usd,
            "timings": self.timings,
            "error": self.error,
            "summary": self.summary,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "version": self.version,
        }


@dataclass(frozen=True, slots=True)
class OutboxRow:
    seq: int
    entity: Entity
    entity_id: str
    op: Literal["upsert", "delete"]
    version: int
    payload: dict[str, Any]


def _session(row: sqlite3.Row) -> Session:
    return Session(
        id=row["id"],
        workspace=row["workspace"],
        title=row["title"],
        model=row["model"],
        pinned=bool(row["pinned"]),
        archived=bool(row["archived"]),
        visibility=row["visibility"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )


def _turn(row: sqlite3.Row) -> Turn:
    return Turn(
        id=row["id"],
        session_id=row["session_id"],
        seq=row["seq"],
        query=row["query"],
        focus_items=json.loads(row["focus_items"]),
        agent=row["agent"],
        model=row["model"],
        status=row["status"],
        usage=json.loads(row["usage"]),
        cost_usd=row["cost_usd"],
        timings=json.loads(row["timings"]),
        error=row["error"],
        summary=row["summary"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        version=row["version"],
    )


def _message(row: sqlite3.Row) -> Message:
    return Message(
        id=row["id"],
        session_id=row["session_id"],
        turn_id=row["turn_id"],
        seq=row["seq"],
        role=row["role"],
        content=json.loads(row["content"]),
        created_at=row["created_at"],
        version=row["version"],
    )


def _connect(path: Path) -> sqlite3.Connection:
    """Open, tune and migrate in the worker thread: none of it may block the event loop."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=5000")
    migrate(db)
    return db


class SessionStore:
    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self.path = path
        self._write = asyncio.Lock()
        # Set after every commit that wrote outbox rows: team sync waits on it.
        self.outbox_event = asyncio.Event()
        self._emitted = False
        self._clock = Clock()

    @classmethod
    async def open(cls, path: Path) -> SessionStore:
        import aiosqlite

        db = aiosqlite.Connection(lambda: _connect(path), iter_chunk_size=64)
        await db
        return cls(db, path)

    async def close(self) -> None:
        await self._db.close()

    # -- plumbing ---------------------------------------------------------------------------

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._write:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._emitted = False
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")
            if self._emitted:
                self._emitted = False
                self.outbox_event.set()

    async def _one(self, sql: str, args: Sequence[Any]) -> sqlite3.Row | None:
        async with self._db.execute(sql, args) as cursor:
            row: sqlite3.Row | None = await cursor.fetchone()
            return row

    async def _all(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        async with self._db.execute(sql, args) as cursor:
            return list(await cursor.fetchall())

    async def _emit(
        self, entity: Entity, op: Literal["upsert", "delete"], payload: dict[str, Any]
    ) -> None:
        version = payload.get("version", 0)
        self._emitted = True
        await self._db.execute(
            "INSERT INTO outbox (entity, entity_id, op, version, payload, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (entity, payload["id"], op, version, json.dumps(payload), time.time()),
        )

    async def _session_row(self, session_id: str) -> Session:
        row = await self._one("SELECT * FROM sessions WHERE id = ?", (session_id,))
        if row is None:
            raise SessionNotFound(f"no session {session_id!r}", sessionId=session_id)
        return _session(row)

    async def resolve_id(self, session_id: str) -> str:
        """The full id of the one session whose id is, or starts with, ``session_id`` (the
        short ids the CLI and the editor show). None, or several, is SessionNotFound naming
        the candidates."""
        if await self._one("SELECT id FROM sessions WHERE id = ?", (session_id,)) is not None:
            return session_id
        prefix = session_id.strip().lower()
        if not prefix:
            raise SessionNotFound("no session ''", sessionId=session_id)
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = await self._all(
            "SELECT id FROM sessions WHERE id LIKE ? ESCAPE '\\' ORDER BY id LIMIT 6", (pattern,)
        )
        if len(rows) == 1:
            return str(rows[0]["id"])
        if not rows:
            raise SessionNotFound(f"no session {session_id!r}", sessionId=session_id)
        shown = ", ".join(str(r["id"])[: len(prefix) + 4] for r in rows[:5])
        raise SessionNotFound(
            f"session id {session_id!r} is ambiguous ({shown}{', ...' if len(rows) > 5 else ''}):"
            " give more of it",
            sessionId=session_id,
            candidates=[str(r["id"]) for r in rows],
        )

    async def _turn_row(self, turn_id: str) -> Turn:
        row = await self._one("SELECT * FROM turns WHERE id = ?", (turn_id,))
        if row is None:
            raise SessionError(f"no turn {turn_id!r}", turnId=turn_id)
        return _turn(row)

    async def _update_session(self, session_id: str, **changes: Any) -> Session:
        """Apply ``changes``, bump version and updated_at, and emit; caller holds the tx."""
        sets = "".join(f"{column} = ?, " for column in changes)
        cursor = await self._db.execute(
            f"UPDATE sessions SET {sets}updated_at = ?, version = version + 1 WHERE id = ?",
            (*changes.values(), self._clock.now_iso(), session_id),
        )
        if cursor.rowcount == 0:
            raise SessionNotFound(f"no session {session_id!r}", sessionId=session_id)
        session = await self._session_row(session_id)
        await self._emit("session", "upsert", session.payload())
        return session

    # -- sessions -----------------------------------------------------------------------------

    @_atomic
    async def create_session(
        self,
        *,
        workspace: str,
        title: str,
        model: str | None = None,
        visibility: Visibility | None = None,
        session_id: str | None = None,
    ) -> Session:
        stamp = self._clock.now_iso()
        session = Session(
            id=session_id or str(uuid.uuid4()),
            workspace=workspace,
            title=title,
            model=model,
            pinned=False,
            archived=False,
            visibility=visibility,
            created_at=stamp,
            updated_at=stamp,
            version=1,
        )
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session.id,
                    session.workspace,
                    session.title,
                    session.model,
                    0,
                    0,
                    session.visibility,
                    session.created_at,
                    session.updated_at,
                    session.version,
                ),
            )
            await self._emit("session", "upsert", session.payload())
        return session

    async def get_session(self, session_id: str) -> Session:
        return await self._session_row(await self.resolve_id(session_id))

    async def list_sessions(
        self,
        *,
        query: str | None = None,
        limit: int = 50,
        offset: int = 0,
        workspace: str | None = None,
        include_archived: bool = True,
    ) -> list[Session]:
        """Pinned first, then most recently updated; ``query`` matches titles and questions."""
        where: list[str] = []
        args: list[Any] = []
        if query:
            pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern += "%"
            where.append(
                "(title LIKE ? ESCAPE '\\' OR id IN"
                " (SELECT session_id FROM turns WHERE query LIKE ? ESCAPE '\\'))"
            )
            args += [pattern, pattern]
        if workspace is not None:
            where.append("workspace = ?")
            args.append(workspace)
        if not include_archived:
            where.append("archived = 0")
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        rows = await self._all(
            f"SELECT * FROM sessions {clause}"
            "ORDER BY pinned DESC, updated_at DESC, rowid DESC LIMIT ? OFFSET ?",
            (*args, limit, offset),
        )
        return [_session(row) for row in rows]

    @_atomic
    async def rename(self, session_id: str, title: str) -> Session:
        async with self._tx():
            return await self._update_session(await self.resolve_id(session_id), title=title)

    @_atomic
    async def set_pinned(self, session_id: str, pinned: bool) -> Session:
        async with self._tx():
            return await self._update_session(await self.resolve_id(session_id), pinned=int(pinned))

    @_atomic
    async def set_visibility(self, session_id: str, visibility: Visibility | None) -> Session:
        """Who may read the session on the team's server (None: sync's default sharing)."""
        async with self._tx():
            return await self._update_session(
                await self.resolve_id(session_id), visibility=visibility
            )

    @_atomic
    @_atomic
    @_atomic
    async def delete_session(self, session_id: str) -> None:
        """Remove the session with its turns and messages; sync deletes them server-side too."""
        session_id = await self.resolve_id(session_id)
        async with self._tx() as db:
            await db.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
            await db.execute("DELETE FROM turns WHERE session_id = ?", (session_id,))
            cursor = await db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            if cursor.rowcount == 0:
                raise SessionNotFound(f"no session {session_id!r}", sessionId=session_id)
            await self._emit("session", "delete", {"id": session_id})

    # -- turns and messages -------------------------------------------------------------------

    @_atomic
    async def start_turn(
        self,
        session_id: str,
        *,
        query: str,
        focus_items: Sequence[Any] = (),
        agent: str | None = None,
        model: str | None = None,
        turn_id: str | None = None,
    ) -> Turn:
        async with self._tx() as db:
            row = await self._one(
                "SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM turns WHERE session_id = ?",
                (session_id,),
            )
            assert row is not None
            turn = Turn(
                id=turn_id or str(uuid.uuid4()),
                session_id=session_id,
                seq=row["next"],
                query=query,
                focus_items=list(focus_items),
                agent=agent,
                model=model,
                status="running",
                usage=dict(EMPTY_USAGE),
                cost_usd=None,
                timings={},
                error=None,
                summary=None,
                started_at=self._clock.now_iso(),
                finished_at=None,
                version=1,
            )
            try:
                await db.execute(
                    "INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        turn.id,
                        turn.session_id,
                        turn.seq,
                        turn.query,
                        json.dumps(turn.focus_items),
                        turn.agent,
                        turn.model,
                        turn.status,
                        json.dumps(turn.usage),
                        turn.cost_usd,
                        json.dumps(turn.timings),
                        turn.error,
                        turn.summary,
                        turn.started_at,
                        turn.finished_at,
                        turn.version,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise SessionNotFound(f"no session {session_id!r}", sessionId=session_id) from exc
            await self._emit("turn", "upsert", turn.payload())
            await self._update_session(session_id)
        return turn

    @_atomic
    async def add_message(
        self,
        turn_id: str,
        *,
        role: Role,
        content: Mapping[str, Any],
        message_id: str | None = None,
    ) -> Message:
        async with self._tx() as db:
            turn = await self._turn_row(turn_id)
            row = await self._one(
                "SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM messages WHERE turn_id = ?",
                (turn_id,),
            )
            assert row is not None
            message = Message(
                id=message_id or str(uuid.uuid4()),
                session_id=turn.session_id,
                turn_id=turn_id,
                seq=row["next"],
                role=role,
                content=dict(content),
                created_at=self._clock.now_iso(),
                version=1,
            )
            await db.execute(
                "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    message.id,
                    message.session_id,
                    message.turn_id,
                    message.seq,
                    message.role,
                    json.dumps(message.content),
                    message.created_at,
                    message.version,
                ),
            )
            await self._emit("message", "upsert", message.payload())
        return message

    @_atomic
    async def update_message(self, message_id: str, content: Mapping[str, Any]) -> Message:
        """Replace a message's content; the loop uses it to save a streaming reply as it grows."""
        async with self._tx() as db:
            cursor = await db.execute(
                "UPDATE messages SET content = ?, version = version + 1 WHERE id = ?",
                (json.dumps(dict(content)), message_id),
            )
            if cursor.rowcount == 0:
                raise SessionError(f"no message {message_id!r}", messageId=message_id)
            row = await self._one("SELECT * FROM messages WHERE id = ?", (message_id,))
            assert row is not None
            message = _message(row)
            await self._emit("message", "upsert", message.payload())
        return message

    @_atomic
    async def finish_turn(
        self,
        turn_id: str,
        *,
        status: TurnStatus,
        usage: Mapping[str, int] | None = None,
        cost_usd: float | None = None,
        timings: Mapping[str, Any] | None = None,
        error: str | None = None,
        model: str | None = None,
        agent: str | None = None,
    ) -> Turn:
        if status not in TURN_STATUSES or status == "running":
            raise ValueError(f"a turn cannot finish as {status!r}")
        async with self._tx() as db:
            turn = await self._turn_row(turn_id)
            finished = replace(
                turn,
                status=status,
                usage={**EMPTY_USAGE, **(usage or turn.usage)},
                cost_usd=cost_usd if cost_usd is not None else turn.cost_usd,
                timings=dict(timings) if timings is not None else turn.timings,
                error=error,
                model=model or turn.model,
                agent=agent or turn.agent,
                finished_at=self._clock.now_iso(),
                version=turn.version + 1,
            )
            await db.execute(
                "UPDATE turns SET status = ?, usage = ?, cost_usd = ?, timings = ?, error = ?,"
                " model = ?, agent = ?, finished_at = ?, version = ? WHERE id = ?",
                (
                    finished.status,
                    json.dumps(finished.usage),
                    finished.cost_usd,
                    json.dumps(finished.timings),
                    finished.error,
                    finished.model,
                    finished.agent,
                    finished.finished_at,
                    finished.version,
                    turn_id,
                ),
            )
            await self._emit("turn", "upsert", finished.payload())
            await self._update_session(turn.session_id)
        return finished

    @_atomic
    async def set_turn_summary(self, turn_id: str, summary: str) -> Turn:
        """Store the short account of a turn that replaces it when the context runs short."""
        async with self._tx() as db:
            await self._turn_row(turn_id)
            await db.execute(
                "UPDATE turns SET summary = ?, version = version + 1 WHERE id = ?",
                (summary, turn_id),
            )
            turn = await self._turn_row(turn_id)
            await self._emit("turn", "upsert", turn.payload())
        return turn

    @_atomic
    async def mark_running_interrupted(self) -> list[Turn]:
        """At start-up, turns still 'running' belong to a daemon that died mid-turn."""
        async with self._tx() as db:
            rows = await self._all("SELECT * FROM turns WHERE status = 'running'")
            marked: list[Turn] = []
            stamp = self._clock.now_iso()
            for row in rows:
                turn = replace(
                    _turn(row), status="interrupted", finished_at=stamp, version=row["version"] + 1
                )
                await db.execute(
                    "UPDATE turns SET status = ?, finished_at = ?, version = ? WHERE id = ?",
                    (turn.status, turn.finished_at, turn.version, turn.id),
                )
                await self._emit("turn", "upsert", turn.payload())
                marked.append(turn)
        return marked

    async def get_turns(self, session_id: str) -> list[Turn]:
        session_id = await self.resolve_id(session_id)
        turns = await self._all(
            "SELECT * FROM turns WHERE session_id = ? ORDER BY seq", (session_id,)
        )
        messages = await self._all(
            "SELECT messages.* FROM messages JOIN turns ON turns.id = messages.turn_id"
            " WHERE messages.session_id = ? ORDER BY turns.seq, messages.seq",
            (session_id,),
        )
        by_turn: dict[str, list[Message]] = {}
        for row in messages:
            by_turn.setdefault(row["turn_id"], []).append(_message(row))
        return [replace(_turn(row), messages=tuple(by_turn.get(row["id"], ()))) for row in turns]

    async def last_statuses(self, session_ids: Sequence[str]) -> dict[str, str]:
        """Each session's latest turn's status (a session with no turn is left out)."""
        if not session_ids:
            return {}
        marks = ",".join("?" * len(session_ids))
        rows = await self._all(
            "SELECT session_id, status FROM turns AS t WHERE session_id IN "
            f"({marks}) AND seq = (SELECT MAX(seq) FROM turns WHERE session_id = t.session_id)",
            tuple(session_ids),
        )
        return {str(r["session_id"]): str(r["status"]) for r in rows}

    async def outbox_batch(self, limit: int) -> list[OutboxRow]:
        rows = await self._all("SELECT * FROM outbox ORDER BY seq LIMIT ?", (limit,))
        return [
            OutboxRow(
                seq=row["seq"],
                entity=row["entity"],
                entity_id=row["entity_id"],
                op=row["op"],
                version=row["version"],
                payload=json.loads(row["payload"]),
            )
            for row in rows
        ]

    @_atomic
    async def outbox_ack(self, seqs: Sequence[int]) -> None:
        if not seqs:
            return
        async with self._tx() as db:
            # One statement for the batch: a DELETE per row cost more than the upload.
            await db.execute(
                "DELETE FROM outbox WHERE seq IN (SELECT value FROM json_each(?))",
                (json.dumps(list(seqs)),),
            )

    async def outbox_pending(self) -> int:
        row = await self._one("SELECT COUNT(*) FROM outbox", ())
        assert row is not None
        return int(row[0])
