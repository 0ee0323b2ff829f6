"""Reading the team's history: RLS-filtered, read-only, and back after a dropped connection."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from daemon.errors import SessionNotFound, SyncError
from daemon.sync.pusher import Batch
from daemon.sync.redact import Redactor
from daemon.sync.settings import SyncSettings
from daemon.sync.team import TeamReader
from tests.postgres import TcpProxy, TempCluster
from tests.unit.sync.rows import message_row, session_row, turn_row

pytestmark = pytest.mark.postgres


async def _push(url: str, team: str, title: str, visibility: str) -> str:
    sid, tid = str(uuid.uuid4()), str(uuid.uuid4())
    rows = [
        session_row(1, sid, title=title, visibility=visibility),
        turn_row(2, tid, sid),
        message_row(3, str(uuid.uuid4()), sid, tid, text=title),
    ]
    conn = await asyncpg.connect(url)
    try:
        await Batch(rows, team=team, default_sharing="private", redactor=Redactor()).send(conn)
    finally:
        await conn.close()
    return sid


async def test_the_reader_sees_what_rls_allows_and_reconnects_after_a_drop() -> None:
    async with TempCluster() as pg:
        await pg.migrate()
        team = await pg.role("backend", login=False)
        alice = await pg.role("alice", teams=[team])
        bob = await pg.role("bob", teams=[team])
        shared = await _push(pg.url(bob), team, "parser fix", "team")
        private = await _push(pg.url(bob), team, "secret plan", "private")
        proxy = TcpProxy()
        await proxy.open()
        reader = TeamReader(SyncSettings.model_validate({"url": pg.url(alice, port=proxy.port)}))
        try:
            found = await reader.list_sessions(query="parser", limit=10, offset=0)
            assert [(s["id"], s["author"], s["team"]) for s in found] == [(shared, bob, team)]
            assert await reader.list_sessions(query="plan", limit=10, offset=0) == []
            session, turns = await reader.get_session(shared)
            assert session["title"] == "parser fix"
            assert turns[0]["messages"][0]["content"] == {"text": "parser fix"}
            with pytest.raises(SessionNotFound):
                await reader.get_session(private)

            await proxy.close()  # drops the reader's connection
            with pytest.raises(SyncError, match="cannot read the team's history"):
                await reader.list_sessions(query=None, limit=10, offset=0)
            await proxy.open()
            assert len(await reader.list_sessions(query=None, limit=10, offset=0)) == 1
        finally:
            await reader.close()
            await proxy.close()
