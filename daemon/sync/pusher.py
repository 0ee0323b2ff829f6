"""The pusher: drains the local outbox to PostgreSQL, in order, exactly once in effect.

One background task. It connects, checks (and if needed migrates) the server schema, then
loops: read a batch of outbox rows, upsert them in one server transaction, and only after
that transaction commits delete them from the local outbox. Killed between the two, the next
start sends the same rows again, and every upsert is guarded by
``ON CONFLICT (id) DO UPDATE ... WHERE t.version < excluded.version``, so the resend changes
nothing: one copy of every row, at its newest version. A delete (the outbox's tombstone)
removes the session with its turns and messages.

While the server is unreachable it retries with exponential back-off and full jitter; the
store's ``outbox_event`` wakes it as soon as a new row is written, so the lag from a local
write to the server is one round trip when the server is up. Nothing here blocks the
editor's requests: SQLite work runs in aiosqlite's thread, and the network is awaited.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from daemon.sync import schema
from daemon.sync.client import connect, target
from daemon.sync.errors import (
    BadServerUrl,
    MigrationRefused,
    SchemaTooNew,
    ServerUnavailable,
    describe,
)
from daemon.sync.redact import Redactor

if TYPE_CHECKING:
    import asyncpg

    from daemon.sessions.store import OutboxRow, SessionStore
    from daemon.sync.settings import SyncSettings
    from daemon.sync.state import SyncState

log = logging.getLogger(__name__)

IDLE_PING_S = 30.0

_S = schema.SCHEMA
UPSERT_SESSION = f"""
INSERT INTO {_S}.sessions AS t (id, team, visibility, workspace, title, model, pinned, archived,
                                created_at, updated_at, version)
VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9::text::timestamptz, $10::text::timestamptz, $11)
ON CONFLICT (id) DO UPDATE SET
    team = excluded.team, visibility = excluded.visibility, workspace = excluded.workspace,
    title = excluded.title, model = excluded.model, pinned = excluded.pinned,
    archived = excluded.archived, updated_at = excluded.updated_at, version = excluded.version,
    synced_at = now()
WHERE t.version < excluded.version
"""
UPSERT_TURN = f"""
INSERT INTO {_S}.turns AS t (id, session_id, seq, query, focus_items, agent, model, status, usage,
                             cost_usd, timings, error, summary, started_at, finished_at, version)
VALUES ($1::uuid, $2::uuid, $3, $4, $5::jsonb, $6, $7, $8, $9::jsonb, $10, $11::jsonb, $12, $13,
        $14::text::timestamptz, $15::text::timestamptz, $16)
ON CONFLICT (id) DO UPDATE SET
    query = excluded.query, focus_items = excluded.focus_items, agent = excluded.agent,
    model = excluded.model, status = excluded.status, usage = excluded.usage,
    cost_usd = excluded.cost_usd, timings = excluded.timings, error = excluded.error,
    summary = excluded.summary, finished_at = excluded.finished_at, version = excluded.version,
    synced_at = now()
WHERE t.version < excluded.version
"""
UPSERT_MESSAGE = f"""
INSERT INTO {_S}.messages AS t (id, session_id, turn_id, seq, role, content, created_at, version)
VALUES ($1::uuid, $2::uuid, $3::uuid, $4, $5, $6::jsonb, $7::text::timestamptz, $8)
ON CONFLICT (id) DO UPDATE SET
    content = excluded.content, version = excluded.version, synced_at = now()
WHERE t.version < excluded.version
"""


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _text(redactor: Redactor, value: Any) -> Any:
    return redactor.text(value) if isinstance(value, str) else value


def _without_images(content: Any) -> Any:
    """A message's content as shared: each image becomes its type and size, no pixels.

    Redaction reads text; a screenshot can show a token it cannot see, and each image
    may be megabytes of base64. Images stay in the local session only.
    """
    if not isinstance(content, dict) or not isinstance(content.get("images"), list):
        return content
    kept = []
    for image in content["images"]:
        data = image.get("data") if isinstance(image, dict) else None
        media = image.get("media_type") if isinstance(image, dict) else None
        kept.append(
            {
                "media_type": media if isinstance(media, str) else "unknown",
                "bytes": len(data) * 3 // 4 if isinstance(data, str) else 0,
                "omitted": "images are not synced",
            }
        )
    return {**content, "images": kept}


class Batch:
    """One outbox batch as server statements: the newest row per entity, grouped by kind."""

    def __init__(
        self,
        rows: Sequence[OutboxRow],
        *,
        team: str | None,
        default_sharing: str,
        redactor: Redactor,
    ) -> None:
        latest: dict[tuple[str, str], OutboxRow] = {}
        self.skipped: list[int] = []
        for row in rows:
            if not _is_uuid(row.entity_id):
                log.warning("sync: %s %r is not a UUID; not uploaded", row.entity, row.entity_id)
                self.skipped.append(row.seq)
                continue
            latest.pop((row.entity, row.entity_id), None)
            latest[(row.entity, row.entity_id)] = row  # re-insert: keeps outbox order
        self.sessions: list[tuple[Any, ...]] = []
        self.turns: list[tuple[Any, ...]] = []
        self.messages: list[tuple[Any, ...]] = []
        self.deleted: dict[str, list[str]] = {"session": [], "turn": [], "message": []}
        r = redactor
        for row in latest.values():
            p = row.payload
            if row.op == "delete":
                self.deleted[row.entity].append(row.entity_id)
            elif row.entity == "session":
                self.sessions.append(
                    (
                        p["id"],
                        team,
                        p.get("visibility") or default_sharing,
                        r.text(p["workspace"]),
                        r.text(p["title"]),
                        _text(r, p.get("model")),
                        bool(p.get("pinned")),
                        bool(p.get("archived")),
                        p["created_at"],
                        p["updated_at"],
                        p["version"],
                    )
                )
            elif row.entity == "turn":
                self.turns.append(
                    (
                        p["id"],
                        p["session_id"],
                        p["seq"],
                        r.text(p["query"]),
                        json.dumps(r.value(p.get("focus_items") or [])),
                        _text(r, p.get("agent")),
                        _text(r, p.get("model")),
                        p["status"],
                        json.dumps(r.value(p.get("usage") or {})),
                        p.get("cost_usd"),
                        # Every JSON field goes through redaction: a tool call's error in
                        # the timings may quote a URL or a file.
                        json.dumps(r.value(p.get("timings") or {})),
                        r.text(p["error"]) if p.get("error") else None,
                        r.text(p["summary"]) if p.get("summary") else None,
                        p["started_at"],
                        p.get("finished_at"),
                        p["version"],
                    )
                )
            elif row.entity == "message":
                self.messages.append(
                    (
                        p["id"],
                        p["session_id"],
                        p["turn_id"],
                        p["seq"],
                        p["role"],
                        json.dumps(r.value(_without_images(p["content"]))),
                        p["created_at"],
                        p["version"],
                    )
                )

    async def send(self, conn: asyncpg.Connection) -> None:
        """Everything in one transaction: the server has the whole batch or none of it."""
        async with conn.transaction():
            if self.sessions:
                await conn.executemany(UPSERT_SESSION, self.sessions)
            if self.turns:
                await conn.executemany(UPSERT_TURN, self.turns)
            if self.messages:
                await conn.executemany(UPSERT_MESSAGE, self.messages)
            if self.deleted["message"]:
                await conn.execute(
                    f"DELETE FROM {_S}.messages WHERE id = ANY($1::uuid[])",
                    self.deleted["message"],
                )
            if self.deleted["turn"]:
                await conn.execute(
                    f"DELETE FROM {_S}.messages WHERE turn_id = ANY($1::uuid[])",
                    self.deleted["turn"],
                )
                await conn.execute(
                    f"DELETE FROM {_S}.turns WHERE id = ANY($1::uuid[])", self.deleted["turn"]
                )
            if self.deleted["session"]:
                for table, column in (("messages", "session_id"), ("turns", "session_id")):
                    await conn.execute(
                        f"DELETE FROM {_S}.{table} WHERE {column} = ANY($1::uuid[])",
                        self.deleted["session"],
                    )
                await conn.execute(
                    f"DELETE FROM {_S}.sessions WHERE id = ANY($1::uuid[])",
                    self.deleted["session"],
                )


class Pusher:
    """Runs until cancelled; :attr:`state` says how it is going.

    pusher = Pusher(store, settings.sync, state)
    task = asyncio.create_task(pusher.run())
    """

    def __init__(self, store: SessionStore, settings: SyncSettings, state: SyncState) -> None:
        self._store = store
        self._settings = settings
        self.state = state
        self._redactor = Redactor(settings.redaction.patterns, enabled=settings.redaction.enabled)
        self._delay = settings.retry_initial_s

    async def run(self) -> None:
        import asyncpg

        settings = self._settings
        to = target(settings)
        while True:
            try:
                conn = await connect(settings)
            except BadServerUrl as exc:
                self.state.paused(str(exc))
                return  # no retry will fix the URL: a settings change and a restart will
            except ServerUnavailable as exc:
                self.state.failed(str(exc))
                await self._backoff()
                continue
            try:
                await self._serve(conn)
            except (SchemaTooNew, MigrationRefused) as exc:
                self.state.paused(str(exc))
                await self._sleep(settings.retry_max_s)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                message = describe(exc, where=to.where, role=to.role, database=to.database)
                if "row-level security" in str(exc):
                    message = (
                        f"the server refused our rows: is role {to.role!r} a member of the team"
                        f" role {settings.team!r} ([sync] team)? ({exc})"
                    )
                self.state.failed(message)
                await self._backoff()
            finally:
                self.state.connected = False
                conn.terminate()

    async def drain(self) -> int:
        """Push the whole outbox once and return how many rows went: for commands that end
        (``ask``, ``sync push``), where no daemon keeps pushing. The caller bounds it in
        time. A failure raises a SyncError naming what to fix (and is kept in the state)."""
        import asyncpg

        settings = self._settings
        to = target(settings)
        conn = await connect(settings)
        sent = 0
        try:
            await schema.migrate(conn)
            self.state.schema_version = await schema.check(conn)
            while rows := await self._store.outbox_batch(settings.batch_size):
                await self.push(conn, rows)
                sent += len(rows)
        except (SchemaTooNew, MigrationRefused) as exc:
            self.state.paused(str(exc))
            raise
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            message = describe(exc, where=to.where, role=to.role, database=to.database)
            self.state.failed(message)
            raise ServerUnavailable(message) from exc
        finally:
            self.state.connected = False
            conn.terminate()
        self.state.save(force=True)
        return sent

    async def _serve(self, conn: asyncpg.Connection) -> None:
        await schema.migrate(conn)
        self.state.schema_version = await schema.check(conn)
        self.state.succeeded(0)
        self._delay = self._settings.retry_initial_s
        wake = self._store.outbox_event
        while True:
            wake.clear()  # before reading: a write after this read wakes the next wait
            rows = await self._store.outbox_batch(self._settings.batch_size)
            if not rows:
                try:
                    await asyncio.wait_for(wake.wait(), IDLE_PING_S)
                except TimeoutError:
                    await conn.execute("SELECT 1")  # notice a dead connection while idle
                continue
            await self.push(conn, rows)

    async def push(self, conn: asyncpg.Connection, rows: Sequence[OutboxRow]) -> None:
        batch = Batch(
            rows,
            team=self._settings.team,
            default_sharing=self._settings.default_sharing,
            redactor=self._redactor,
        )
        await batch.send(conn)
        # Acked only once the server has committed: killed before this line, the rows are
        # sent again on the next start, and the version guard makes that a no-op.
        await self._store.outbox_ack([row.seq for row in rows])
        self.state.succeeded(len(rows) - len(batch.skipped))
        self._delay = self._settings.retry_initial_s

    async def _backoff(self) -> None:
        # Full jitter: daemons that lost the server together do not come back together.
        await self._sleep(random.uniform(self._delay / 2, self._delay))
        self._delay = min(self._delay * 2, self._settings.retry_max_s)

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def push_now(store: SessionStore, settings: SyncSettings, timeout_s: float) -> int:
    """Push the outbox within ``timeout_s`` from a command with no daemon behind it; the
    rows sent. Raises SyncError, or TimeoutError when the time ran out (what was sent by
    then stays sent)."""
    from daemon.logs import register_secret
    from daemon.paths import data_dir
    from daemon.sync.state import STATE_FILE, SyncState, load_saved

    register_secret(settings.password())
    path = data_dir() / STATE_FILE
    saved = load_saved(path) or {}
    state = SyncState(
        configured=True,
        server=settings.display_url(),
        team=settings.team,
        pushed_rows=int(saved.get("pushed_rows") or 0),
        path=path,
    )
    async with asyncio.timeout(timeout_s):
        return await Pusher(store, settings, state).drain()
