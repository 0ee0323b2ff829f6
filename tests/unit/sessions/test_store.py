"""The sessions store against a real SQLite file: schema, ordering, outbox and recovery."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from daemon.errors import SessionNotFound
from daemon.sessions.migrations import MIGRATIONS
from daemon.sessions.store import SessionStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SessionStore]:
    opened = await SessionStore.open(tmp_path / "data" / "sessions.db")
    yield opened
    await opened.close()


async def test_blank_file_gets_every_migration_once(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    for _ in range(2):
        store = await SessionStore.open(path)
        await store.close()
    db = sqlite3.connect(path)
    names = [row[0] for row in db.execute("SELECT name FROM _migrations ORDER BY name")]
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    db.close()
    assert names == [name for name, _ in MIGRATIONS]
    assert {"sessions", "turns", "messages", "outbox"} <= tables
    assert mode == "wal"


async def test_a_turn_is_saved_with_its_messages_in_order(store: SessionStore) -> None:
    session = await store.create_session(workspace="/src/app", title="Parser crash")
    turn = await store.start_turn(session.id, query="why?", focus_items=[{"path": "a.py"}])
    await store.add_message(turn.id, role="user", content={"text": "why?", "focus_items": []})
    reply = await store.add_message(
        turn.id, role="assistant", content={"text": "Be", "thinking": [], "tool_calls": []}
    )
    await store.update_message(
        reply.id, {"text": "Because", "thinking": [], "tool_calls": [], "model": "m"}
    )
    await store.finish_turn(
        turn.id, status="complete", usage={"input_tokens": 10, "output_tokens": 3}, cost_usd=0.5
    )

    [saved] = await store.get_turns(session.id)
    assert saved.status == "complete"
    assert saved.usage["input_tokens"] == 10 and saved.usage["reasoning_tokens"] == 0
    assert saved.cost_usd == 0.5 and saved.finished_at is not None
    assert saved.focus_items == [{"path": "a.py"}]
    assert [m.role for m in saved.messages] == ["user", "assistant"]
    assert saved.messages[1].content["text"] == "Because"
    assert saved.messages[1].version == 2


async def test_list_puts_pinned_first_then_recent_and_filters(store: SessionStore) -> None:
    old = await store.create_session(workspace="/w", title="old one")
    pinned = await store.create_session(workspace="/w", title="pinned")
    recent = await store.create_session(workspace="/w", title="recent")
    await store.set_pinned(pinned.id, True)
    await store.start_turn(old.id, query="a question about tokenizers")
    # `old` was touched last, `recent` before it; `pinned` stays on top.
    assert [s.id for s in await store.list_sessions()] == [pinned.id, old.id, recent.id]
    assert [s.id for s in await store.list_sessions(query="tokenizer")] == [old.id]
    assert [s.id for s in await store.list_sessions(query="recent")] == [recent.id]
    assert [s.id for s in await store.list_sessions(limit=1, offset=1)] == [old.id]
    assert await store.list_sessions(query="100%") == []


async def test_every_change_writes_one_outbox_row_per_entity(store: SessionStore) -> None:
    session = await store.create_session(workspace="/w", title="t")
    turn = await store.start_turn(session.id, query="q")
    await store.add_message(turn.id, role="user", content={"text": "q", "focus_items": []})
    await store.rename(session.id, "renamed")

    rows = await store.outbox_batch(100)
    assert [(r.entity, r.op) for r in rows] == [
        ("session", "upsert"),
        ("turn", "upsert"),
        ("session", "upsert"),
        ("message", "upsert"),
        ("session", "upsert"),
    ]
    assert [r.seq for r in rows] == sorted(r.seq for r in rows)
    last = rows[-1]
    assert last.payload["title"] == "renamed"
    assert last.version == last.payload["version"] == (await store.get_session(session.id)).version
    assert rows[1].payload["status"] == "running" and rows[1].payload["session_id"] == session.id
    assert rows[3].payload["content"] == {"text": "q", "focus_items": []}

    await store.outbox_ack([r.seq for r in rows[:2]])
    assert await store.outbox_pending() == 3
    assert (await store.outbox_batch(1))[0].seq == rows[2].seq


async def test_a_failed_change_leaves_no_outbox_row(store: SessionStore) -> None:
    with pytest.raises(SessionNotFound):
        await store.rename("no-such-id", "x")
    with pytest.raises(SessionNotFound):
        await store.start_turn("no-such-id", query="q")
    assert await store.outbox_pending() == 0


async def test_delete_removes_turns_and_messages_and_emits_one_delete(
    store: SessionStore, tmp_path: Path
) -> None:
    session = await store.create_session(workspace="/w", title="t")
    turn = await store.start_turn(session.id, query="q")
    await store.add_message(turn.id, role="user", content={"text": "q", "focus_items": []})
    await store.outbox_ack([r.seq for r in await store.outbox_batch(100)])

    await store.delete_session(session.id)

    [row] = await store.outbox_batch(100)
    assert (row.entity, row.op, row.payload) == ("session", "delete", {"id": session.id})
    with pytest.raises(SessionNotFound):
        await store.get_turns(session.id)
    db = sqlite3.connect(store.path)
    counts = [db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("turns", "messages")]
    db.close()
    assert counts == [0, 0]


async def test_running_turns_of_a_dead_daemon_become_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    first = await SessionStore.open(path)
    session = await first.create_session(workspace="/w", title="t")
    turn = await first.start_turn(session.id, query="q")
    await first.add_message(turn.id, role="user", content={"text": "q", "focus_items": []})
    await first.close()  # the turn never finished

    second = await SessionStore.open(path)
    try:
        [marked] = await second.mark_running_interrupted()
        assert marked.id == turn.id
        [saved] = await second.get_turns(session.id)
        assert saved.status == "interrupted" and saved.version == 2
        assert saved.messages[0].content["text"] == "q"
        assert (await second.outbox_batch(100))[-1].payload["status"] == "interrupted"
        assert await second.mark_running_interrupted() == []
    finally:
        await second.close()


async def test_summary_and_finish_bump_the_turn_version(store: SessionStore) -> None:
    session = await store.create_session(workspace="/w", title="t")
    turn = await store.start_turn(session.id, query="q")
    finished = await store.finish_turn(turn.id, status="cancelled")
    summarised = await store.set_turn_summary(turn.id, "asked q; cancelled")
    assert (finished.version, summarised.version) == (2, 3)
    assert summarised.summary == "asked q; cancelled"
    with pytest.raises(ValueError, match="running"):
        await store.finish_turn(turn.id, status="running")


async def test_a_cancelled_caller_leaves_the_store_usable(store: SessionStore) -> None:
    session = await store.create_session(workspace="/w", title="t")
    turn = await store.start_turn(session.id, query="q")
    for _ in range(20):  # cancel at every point of a write's life
        task = asyncio.ensure_future(
            store.add_message(turn.id, role="user", content={"text": "q", "focus_items": []})
        )
        await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finished = await store.finish_turn(turn.id, status="cancelled")
    assert finished.status == "cancelled"
    [saved] = await store.get_turns(session.id)
    assert len(saved.messages) == 20  # each write, once begun, completed
