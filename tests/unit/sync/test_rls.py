"""Row-level security, exercised with plain SQL as each developer's own role."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from daemon.sync.pusher import Batch
from daemon.sync.redact import Redactor
from tests.postgres import TempCluster
from tests.unit.sync.rows import message_row, session_row, turn_row

pytestmark = pytest.mark.postgres


async def _push_session(url: str, team: str, visibility: str, title: str) -> str:
    """Push a session with one turn and one message as the URL's role; its id."""
    session_id = str(uuid.uuid4())
    turn_id = str(uuid.uuid4())
    rows = [
        session_row(1, session_id, title=title, visibility=visibility),
        turn_row(2, turn_id, session_id),
        message_row(3, str(uuid.uuid4()), session_id, turn_id, text=f"text of {title}"),
    ]
    conn = await asyncpg.connect(url)
    try:
        await Batch(rows, team=team, default_sharing="private", redactor=Redactor()).send(conn)
    finally:
        await conn.close()
    return session_id


async def test_a_role_reads_its_own_and_team_rows_and_writes_only_its_own() -> None:
    async with TempCluster() as pg:
        await pg.migrate()
        team = await pg.role("backend", login=False)
        other_team = await pg.role("frontend", login=False)
        alice = await pg.role("alice", teams=[team])
        bob = await pg.role("bob", teams=[team])
        carol = await pg.role("carol", teams=[other_team])

        private = await _push_session(pg.url(bob), team, "private", "bob private")
        shared = await _push_session(pg.url(bob), team, "team", "bob shared")

        conn = await asyncpg.connect(pg.url(alice))
        try:
            titles = {r["title"] for r in await conn.fetch("SELECT title FROM deputydev.sessions")}
            assert titles == {"bob shared"}
            texts = [
                r["t"]
                for r in await conn.fetch("SELECT content->>'text' AS t FROM deputydev.messages")
            ]
            assert texts == ["text of bob shared"]
            assert (
                await conn.fetchval(
                    "SELECT count(*) FROM deputydev.turns WHERE session_id = $1", uuid.UUID(private)
                )
                == 0
            )
            # Writing bob's rows: updates and deletes find nothing, inserts as bob are refused.
            for sql in (
                "UPDATE deputydev.sessions SET title = 'mine now' WHERE id = $1",
                "DELETE FROM deputydev.sessions WHERE id = $1",
                "UPDATE deputydev.messages SET content = '{}' WHERE session_id = $1",
            ):
                for target in (private, shared):
                    assert await conn.execute(sql, uuid.UUID(target)) in ("UPDATE 0", "DELETE 0")
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
                await conn.execute(
                    "INSERT INTO deputydev.sessions (id, owner, team, visibility, workspace,"
                    " title, created_at, updated_at, version)"
                    " VALUES ($1, $2, $3, 'team', '/w', 'forged', now(), now(), 1)",
                    uuid.uuid4(),
                    bob,
                    team,
                )
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
                await conn.execute(
                    "INSERT INTO deputydev.sessions (id, team, visibility, workspace, title,"
                    " created_at, updated_at, version)"
                    " VALUES ($1, $2, 'team', '/w', 'not my team', now(), now(), 1)",
                    uuid.uuid4(),
                    other_team,
                )
            # A message slipped into bob's shared session is alice's own, and nobody else's.
            await conn.execute(
                "INSERT INTO deputydev.messages (id, session_id, turn_id, seq, role, content,"
                " created_at, version) VALUES ($1, $2, $3, 9, 'user', '{\"text\": \"spam\"}',"
                " now(), 1)",
                uuid.uuid4(),
                uuid.UUID(shared),
                uuid.uuid4(),
            )
        finally:
            await conn.close()

        conn = await asyncpg.connect(pg.url(bob))
        try:
            own = {
                r["t"]
                for r in await conn.fetch("SELECT content->>'text' AS t FROM deputydev.messages")
            }
            assert own == {"text of bob private", "text of bob shared"}
        finally:
            await conn.close()

        conn = await asyncpg.connect(pg.url(carol))
        try:
            assert await conn.fetchval("SELECT count(*) FROM deputydev.sessions") == 0
            assert await conn.fetchval("SELECT count(*) FROM deputydev.messages") == 0
        finally:
            await conn.close()

        rows = await pg.fetch("SELECT title FROM deputydev.sessions ORDER BY title")
        assert [r["title"] for r in rows] == ["bob private", "bob shared"]
