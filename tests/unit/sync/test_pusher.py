"""The pusher against a real PostgreSQL and a real sessions store."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from daemon.sessions.store import SessionStore
from daemon.sync.pusher import Batch, Pusher
from daemon.sync.redact import Redactor
from daemon.sync.settings import SyncSettings
from daemon.sync.state import SyncState
from tests.postgres import TcpProxy, TempCluster
from tests.unit.sync.rows import message_row, session_row

pytestmark = pytest.mark.postgres

SECRET = "sk-ant-api03-" + "Q" * 40


async def eventually(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 15) -> Any:
    """Poll ``check`` until it returns something truthy, failing after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running(store: SessionStore, **settings: Any) -> AsyncIterator[Pusher]:
    sync = SyncSettings.model_validate({"retry_initial_s": 0.05, "retry_max_s": 0.3, **settings})
    pusher = Pusher(store, sync, SyncState(configured=True))
    task = asyncio.create_task(pusher.run())
    try:
        yield pusher
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SessionStore]:
    s = await SessionStore.open(tmp_path / "sessions.db")
    yield s
    await s.close()


async def _fill(store: SessionStore, text: str = "hello") -> str:
    session = await store.create_session(workspace="/w", title="first")
    turn = await store.start_turn(session.id, query="why?")
    await store.add_message(turn.id, role="user", content={"text": text})
    reply = await store.add_message(turn.id, role="assistant", content={"text": "par"})
    await store.update_message(reply.id, {"text": "partial answer"})
    await store.finish_turn(turn.id, status="complete")
    return session.id


async def _count(pg: TempCluster, table: str) -> int:
    rows = await pg.fetch(f"SELECT count(*) AS n FROM deputydev.{table}")
    count = rows[0]["n"]
    assert isinstance(count, int)
    return count


async def test_rows_arrive_at_their_newest_version_and_the_outbox_empties(
    store: SessionStore,
) -> None:
    async with TempCluster() as pg:
        await pg.migrate()
        session_id = await _fill(store)
        async with running(store, url=pg.url()) as pusher:
            await eventually(lambda: _empty(store), "the outbox to drain")
        assert pusher.state.connected is False  # closed with the task
        assert pusher.state.last_success is not None
        sessions = await pg.fetch("SELECT id, owner, version, visibility FROM deputydev.sessions")
        assert [(str(s["id"]), s["owner"], s["visibility"]) for s in sessions] == [
            (session_id, "postgres", "private")
        ]
        local = await store.get_session(session_id)
        assert sessions[0]["version"] == local.version
        messages = await pg.fetch(
            "SELECT content->>'text' AS t, version FROM deputydev.messages ORDER BY seq"
        )
        assert [(m["t"], m["version"]) for m in messages] == [("hello", 1), ("partial answer", 2)]
        assert [t["status"] for t in await pg.fetch("SELECT status FROM deputydev.turns")] == [
            "complete"
        ]


async def _empty(store: SessionStore) -> bool:
    return await store.outbox_pending() == 0


async def test_a_batch_sent_again_or_out_of_order_leaves_one_copy_at_the_newest_version() -> None:
    async with TempCluster() as pg:
        await pg.migrate()
        sid, tid, mid = (str(uuid.uuid4()) for _ in range(3))
        newer = [
            session_row(1, sid, title="v2", version=2),
            message_row(2, mid, sid, tid, text="new", version=3),
        ]
        older = [
            session_row(1, sid, title="v1", version=1),
            message_row(2, mid, sid, tid, text="old", version=1),
        ]
        conn = await asyncpg.connect(pg.url())
        try:
            for rows in (newer, newer, older):  # a resend after a lost ack, then stale rows
                await Batch(rows, team=None, default_sharing="team", redactor=Redactor()).send(conn)
        finally:
            await conn.close()
        assert await pg.fetch("SELECT title, version, visibility FROM deputydev.sessions") == [
            {"title": "v2", "version": 2, "visibility": "team"}
        ]
        assert await pg.fetch("SELECT content->>'text' AS t, version FROM deputydev.messages") == [
            {"t": "new", "version": 3}
        ]


async def test_deleting_a_session_locally_deletes_it_on_the_server(store: SessionStore) -> None:
    async with TempCluster() as pg:
        await pg.migrate()
        keep = await _fill(store)
        gone = await _fill(store)
        async with running(store, url=pg.url()):
            await eventually(lambda: _empty(store), "the outbox to drain")
            assert await _count(pg, "messages") == 4
            await store.delete_session(gone)
            await eventually(lambda: _empty(store), "the delete to be pushed")
        ids = [str(r["id"]) for r in await pg.fetch("SELECT id FROM deputydev.sessions")]
        assert ids == [keep]
        assert await _count(pg, "turns") == 1
        assert await _count(pg, "messages") == 2


async def test_secrets_are_redacted_on_the_server_and_intact_locally(store: SessionStore) -> None:
    async with TempCluster() as pg:
        await pg.migrate()
        session_id = await _fill(store, text=f"my key is {SECRET}, password=hunter22")
        async with running(store, url=pg.url()):
            await eventually(lambda: _empty(store), "the outbox to drain")
        texts = [
            r["t"]
            for r in await pg.fetch(
                "SELECT content->>'text' AS t FROM deputydev.messages WHERE role = 'user'"
            )
        ]
        assert texts == ["my key is [REDACTED:anthropic], password=[REDACTED:assignment]"]
        turns = await store.get_turns(session_id)
        assert turns[0].messages[0].content["text"] == f"my key is {SECRET}, password=hunter22"


async def test_images_stay_local_and_only_their_type_and_size_are_synced(
    store: SessionStore,
) -> None:
    image = base64.b64encode(b"\x89PNG\r\n\x1a\n" + SECRET.encode() * 3000).decode()
    session = await store.create_session(workspace="/w", title="with a screenshot")
    turn = await store.start_turn(session.id, query="what is this?")
    await store.add_message(
        turn.id,
        role="user",
        content={"text": "see", "images": [{"media_type": "image/png", "data": image}]},
    )
    await store.finish_turn(turn.id, status="complete")
    async with TempCluster() as pg:
        await pg.migrate()
        async with running(store, url=pg.url()):
            await eventually(lambda: _empty(store), "the outbox to drain")
        rows = await pg.fetch("SELECT content::text AS c FROM deputydev.messages")
    assert len(rows) == 1
    text = str(rows[0]["c"])
    assert image[:40] not in text and len(text) < 400
    shared = json.loads(text)
    assert shared == {
        "text": "see",
        "images": [
            {
                "media_type": "image/png",
                "bytes": len(image) * 3 // 4,
                "omitted": "images are not synced",
            }
        ],
    }
    local = await store.get_turns(session.id)
    assert local[0].messages[0].content["images"][0]["data"] == image


async def test_rows_written_while_the_server_is_down_arrive_once_it_is_back(
    store: SessionStore,
) -> None:
    async with TempCluster() as pg:
        await pg.migrate()
        proxy = TcpProxy()
        await proxy.open()
        await proxy.close()  # the port is known, nobody listens: the server is "down"
        try:
            async with running(store, url=pg.url(port=proxy.port)) as pusher:
                await _fill(store)
                await eventually(
                    lambda: _true(pusher.state.last_error and "refused" in pusher.state.last_error),
                    "a connection-refused error",
                )
                assert await store.outbox_pending() > 0
                assert not pusher.state.connected
                await proxy.open()
                await eventually(lambda: _empty(store), "the outbox to drain once the server is up")
                assert pusher.state.connected
                # Cut again mid-life: the next write fails, then goes through after reopening.
                await proxy.close()
                await _fill(store)
                await eventually(lambda: _true(not pusher.state.connected), "the cut to be seen")
                await proxy.open()
                await eventually(lambda: _empty(store), "the outbox to drain again")
        finally:
            await proxy.close()
        assert await _count(pg, "sessions") == 2
        assert await _count(pg, "messages") == 4


async def _true(value: Any) -> bool:
    return bool(value)


async def test_an_unknown_role_gives_a_precise_error_and_the_pusher_keeps_trying(
    store: SessionStore,
) -> None:
    async with TempCluster() as pg, running(store, url=pg.url("no_such_role_dd")) as pusher:
        await eventually(lambda: _true(pusher.state.last_error), "an error")
        assert pusher.state.last_error is not None
        assert "'no_such_role_dd'" in pusher.state.last_error
        assert pg.database in pusher.state.last_error
        assert pusher.state.paused_reason is None  # still retrying


async def test_an_unusable_url_pauses_sync_with_the_reason(store: SessionStore) -> None:
    async with running(
        store, url="postgresql://u:secretpw1@127.0.0.1:5432/db?sslmode=sometimes"
    ) as pusher:
        await eventually(lambda: _true(pusher.state.paused_reason), "a pause")
        reason = pusher.state.paused_reason
        assert reason is not None and "sslmode" in reason and "secretpw1" not in reason


async def test_a_newer_server_schema_pauses_sync_and_keeps_the_outbox(store: SessionStore) -> None:
    async with TempCluster() as pg:
        await pg.migrate()
        await pg.fetch("INSERT INTO deputydev.schema_version (version, name) VALUES (99, 'x')")
        await _fill(store)
        pending = await store.outbox_pending()
        async with running(store, url=pg.url()) as pusher:
            await eventually(lambda: _true(pusher.state.paused_reason), "a pause")
            assert "version 99, newer than this daemon knows" in (pusher.state.paused_reason or "")
        assert await store.outbox_pending() == pending
        assert await _count(pg, "sessions") == 0


async def test_a_team_the_role_is_not_in_is_named_in_the_error(store: SessionStore) -> None:
    async with TempCluster() as pg:
        await pg.migrate()
        team = await pg.role("backend", login=False)
        outsider = await pg.role("outsider")
        await _fill(store)
        async with running(store, url=pg.url(outsider), team=team) as pusher:
            await eventually(lambda: _true(pusher.state.last_error), "an error")
            error = pusher.state.last_error or ""
            assert f"is role {outsider!r} a member of the team role {team!r}" in error
        assert await store.outbox_pending() > 0
