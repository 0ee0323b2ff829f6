"""Team sync end to end: real daemons over stdio, a real PostgreSQL, a TCP proxy to cut.

Sessions are written to each daemon's sessions database before it starts (as an earlier
daemon would have left them) and changed live through ``deputydev/sessions/*``; the tests
wait on ``deputydev/sync/status`` or on the server's rows, with a deadline, never a sleep.
Skipped with a message when no PostgreSQL answers (tests/postgres.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from daemon.sessions.store import SessionStore
from protocol import errors as codes
from tests.e2e.harness import DaemonClient, start_daemon
from tests.postgres import TcpProxy, TempCluster

pytestmark = pytest.mark.postgres

SECRET = "ghp_" + "k" * 36


async def eventually(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 30) -> Any:
    """Poll ``check`` until it returns neither None nor False, failing after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


async def seed(
    home: Path,
    sessions: int,
    messages: int = 2,
    *,
    visibility: Any = None,
    text: str = "hello",
    title: str = "work",
) -> list[str]:
    """Sessions with one turn each, left in ``home``'s sessions database; their ids."""
    store = await SessionStore.open(home / "data" / "sessions.db")
    ids = []
    try:
        for n in range(sessions):
            session = await store.create_session(
                workspace="/w", title=f"{title} {n}", visibility=visibility
            )
            turn = await store.start_turn(session.id, query=f"question {n}")
            for m in range(messages):
                await store.add_message(
                    turn.id, role="user" if m % 2 == 0 else "assistant", content={"text": text}
                )
            await store.finish_turn(turn.id, status="complete")
            ids.append(session.id)
    finally:
        await store.close()
    return ids


def sync_env(url: str, home: Path, **extra: str) -> dict[str, str]:
    return {
        "DEPUTYDEV_HOME": str(home),
        "DEPUTYDEV_SYNC_URL": url,
        "DEPUTYDEV_SYNC__RETRY_INITIAL_S": "0.05",
        "DEPUTYDEV_SYNC__RETRY_MAX_S": "0.5",
        **extra,
    }


async def sync_status(client: DaemonClient) -> dict[str, Any]:
    result: dict[str, Any] = await client.request("deputydev/sync/status", {})
    return result


async def drained(client: DaemonClient) -> bool:
    status = await sync_status(client)
    return bool(status.get("connected")) and status.get("pending") == 0


async def count(pg: TempCluster, table: str, where: str = "true", *args: Any) -> int:
    rows = await pg.fetch(f"SELECT count(*) AS n FROM deputydev.{table} WHERE {where}", *args)
    n = rows[0]["n"]
    assert isinstance(n, int)
    return n


@pytest.fixture
async def pg() -> AsyncIterator[TempCluster]:
    async with TempCluster() as cluster:
        await cluster.migrate()
        yield cluster


async def test_sessions_written_while_the_server_is_down_arrive_once_it_is_back(
    pg: TempCluster, workspace: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    ids = await seed(home, 3)
    proxy = TcpProxy()
    await proxy.open()
    await proxy.close()
    client = await start_daemon(
        workspace,
        stderr_path=tmp_path / "d.stderr",
        env=sync_env(pg.url(port=proxy.port), home),
    )
    try:
        status = await eventually(
            lambda: _with(sync_status(client), lambda s: "refused" in (s.get("lastError") or "")),
            "a connection-refused error in sync status",
        )
        assert status["configured"] and not status["connected"] and status["pending"] > 0
        # The editor is not held up: local requests answer while sync cannot connect.
        listed = await client.request("deputydev/sessions/list", {})
        assert len(listed["sessions"]) == 3
        overall = await client.request("deputydev/status", {})
        assert overall["sync"]["pending"] > 0

        await proxy.open()
        await eventually(lambda: drained(client), "the outbox to drain once the server is up")
        server_ids = {str(r["id"]) for r in await pg.fetch("SELECT id FROM deputydev.sessions")}
        assert server_ids == set(ids)

        # Live changes go through the same path, and a delete reaches the server.
        await client.request("deputydev/sessions/rename", {"sessionId": ids[0], "title": "Renamed"})
        await client.request("deputydev/sessions/delete", {"sessionId": ids[1]})
        await eventually(
            lambda: _with(
                pg.fetch("SELECT title FROM deputydev.sessions WHERE id = $1::uuid", ids[0]),
                lambda rows: rows == [{"title": "Renamed"}],
            ),
            "the rename on the server",
        )
        await eventually(
            lambda: _with(count(pg, "sessions", "id = $1::uuid", ids[1]), lambda n: n == 0),
            "the delete on the server",
        )
        assert await count(pg, "messages", "session_id = $1::uuid", ids[1]) == 0
        assert await count(pg, "turns", "session_id = $1::uuid", ids[1]) == 0
        assert await count(pg, "messages") == 4
        assert await client.stop_daemon() == 0
    finally:
        await proxy.close()
        await client.kill()


async def _with(value: Awaitable[Any], test: Callable[[Any], bool]) -> Any:
    got = await value
    return got if test(got) else None


async def test_a_daemon_killed_mid_batch_and_restarted_leaves_one_copy_of_every_row(
    pg: TempCluster, workspace: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    await seed(home, 60, messages=30)
    total_messages = 60 * 30
    env = sync_env(pg.url(), home, DEPUTYDEV_SYNC__BATCH_SIZE="10")
    client = await start_daemon(workspace, stderr_path=tmp_path / "d1.stderr", env=env)
    try:
        await eventually(
            lambda: _with(count(pg, "messages"), lambda n: n > 0), "the first batches", timeout=30
        )
    finally:
        await client.kill()  # SIGKILL, somewhere in the middle of the stream of batches
    partial = await count(pg, "messages")
    assert partial < total_messages, "the kill came too late to test anything"

    client = await start_daemon(workspace, stderr_path=tmp_path / "d2.stderr", env=env)
    try:
        await eventually(lambda: drained(client), "the rest after the restart", timeout=60)
        assert await client.stop_daemon() == 0
    finally:
        await client.kill()

    store = await SessionStore.open(home / "data" / "sessions.db")
    try:
        local = {s.id: s.version for s in await store.list_sessions(limit=1000)}
    finally:
        await store.close()
    for table in ("sessions", "turns", "messages"):
        rows = await pg.fetch(
            f"SELECT count(*) AS n, count(DISTINCT id) AS d FROM deputydev.{table}"
        )
        assert rows[0]["n"] == rows[0]["d"]
    assert await count(pg, "messages") == total_messages
    assert await count(pg, "turns") == 60
    server = {
        str(r["id"]): r["version"]
        for r in await pg.fetch("SELECT id, version FROM deputydev.sessions")
    }
    assert server == local


async def test_two_developers_of_one_team_sync_at_once_and_read_what_was_shared(
    pg: TempCluster, workspace: Path, tmp_path: Path
) -> None:
    team = await pg.role("backend", login=False)
    alice = await pg.role("alice", teams=[team])
    bob = await pg.role("bob", teams=[team])
    alice_home, bob_home = tmp_path / "alice", tmp_path / "bob"
    alice_ids = await seed(alice_home, 5, text=f"token {SECRET}", title="alice")
    bob_private = await seed(bob_home, 4, title="bob private")
    [bob_shared] = await seed(bob_home, 1, visibility="team", title="bob shared")

    def env(role: str, home: Path) -> dict[str, str]:
        return sync_env(
            pg.url(role), home, DEPUTYDEV_SYNC__TEAM=team, DEPUTYDEV_SYNC__DEFAULT_SHARING="private"
        )

    a, b = await asyncio.gather(
        start_daemon(workspace, stderr_path=tmp_path / "a.stderr", env=env(alice, alice_home)),
        start_daemon(workspace, stderr_path=tmp_path / "b.stderr", env=env(bob, bob_home)),
    )
    try:
        await asyncio.gather(
            eventually(lambda: drained(a), "alice's outbox to drain"),
            eventually(lambda: drained(b), "bob's outbox to drain"),
        )
        owners = await pg.fetch(
            "SELECT owner, count(*) AS n FROM deputydev.sessions GROUP BY owner ORDER BY owner"
        )
        assert owners == [{"owner": alice, "n": 5}, {"owner": bob, "n": 5}]

        listed = await a.request("deputydev/sessions/list", {"scope": "team"})
        seen = {s["id"]: s for s in listed["sessions"]}
        assert set(seen) == set(alice_ids) | {bob_shared}
        assert seen[bob_shared]["author"] == bob and seen[bob_shared]["team"] == team
        assert seen[bob_shared]["title"] == "bob shared 0"

        got = await a.request("deputydev/sessions/get", {"sessionId": bob_shared, "scope": "team"})
        assert got["session"]["author"] == bob
        [turn] = got["turns"]
        assert [m["content"]["text"] for m in turn["messages"]] == ["hello", "hello"]
        with pytest.raises(JsonRpcException) as raised:
            await a.request(
                "deputydev/sessions/get", {"sessionId": bob_private[0], "scope": "team"}
            )
        assert raised.value.code == codes.SESSION_NOT_FOUND

        # Alice's token is redacted on the server, intact in her own history.
        mine = await a.request("deputydev/sessions/get", {"sessionId": alice_ids[0]})
        assert mine["turns"][0]["messages"][0]["content"]["text"] == f"token {SECRET}"
        remote = await a.request(
            "deputydev/sessions/get", {"sessionId": alice_ids[0], "scope": "team"}
        )
        assert remote["turns"][0]["messages"][0]["content"]["text"] == "token [REDACTED:github]"
        assert await a.stop_daemon() == 0
        assert await b.stop_daemon() == 0
    finally:
        await a.kill()
        await b.kill()


async def test_an_unknown_role_is_reported_precisely_and_the_daemon_keeps_working(
    pg: TempCluster, workspace: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    await seed(home, 1)
    password = "pw-never-logged-42"
    url = f"postgresql://nobody_{pg.tag}:{password}@127.0.0.1:5432/{pg.database}"
    client = await start_daemon(
        workspace, stderr_path=tmp_path / "d.stderr", env=sync_env(url, home)
    )
    try:
        status = await eventually(
            lambda: _with(sync_status(client), lambda s: s.get("lastError")), "an error"
        )
        assert f"nobody_{pg.tag}" in status["lastError"]
        assert "does not exist" in status["lastError"]
        assert password not in str(status)
        assert status["server"].startswith(f"postgresql://nobody_{pg.tag}:***@")
        listed = await client.request("deputydev/sessions/list", {})
        assert len(listed["sessions"]) == 1
        with pytest.raises(JsonRpcException) as raised:
            await client.request("deputydev/sessions/list", {"scope": "team"})
        assert raised.value.code == codes.SYNC_ERROR
        assert "does not exist" in raised.value.message
        assert await client.stop_daemon() == 0
    finally:
        await client.kill()
    assert password not in client.stderr_text()
    assert password not in (home / "data" / "sync-state.json").read_text()


async def test_sharing_one_session_lets_teammates_read_it_until_it_is_unshared(
    pg: TempCluster, workspace: Path, tmp_path: Path
) -> None:
    import asyncpg

    team = await pg.role("backend", login=False)
    alice = await pg.role("alice", teams=[team])
    bob = await pg.role("bob", teams=[team])
    home = tmp_path / "alice"
    [session_id] = await seed(home, 1)
    env = sync_env(pg.url(alice), home, DEPUTYDEV_SYNC__TEAM=team)
    client = await start_daemon(workspace, stderr_path=tmp_path / "a.stderr", env=env)
    as_bob = await asyncpg.connect(pg.url(bob))

    async def bob_sees() -> int:
        n = await as_bob.fetchval("SELECT count(*) FROM deputydev.messages")
        assert isinstance(n, int)
        return n

    try:
        await eventually(lambda: drained(client), "alice's outbox to drain")
        assert await bob_sees() == 0
        shared = await client.request(
            "deputydev/sessions/share", {"sessionId": session_id, "visibility": "team"}
        )
        assert shared["session"]["visibility"] == "team"
        await eventually(lambda: _with(bob_sees(), lambda n: n == 2), "bob to see the messages")
        await client.request(
            "deputydev/sessions/share", {"sessionId": session_id, "visibility": "private"}
        )
        await eventually(lambda: _with(bob_sees(), lambda n: n == 0), "the session to be private")
        assert await client.stop_daemon() == 0
    finally:
        await as_bob.close()
        await client.kill()


async def test_sync_configured_while_the_daemon_runs_starts_and_stops_without_a_restart(
    pg: TempCluster, workspace: Path, tmp_path: Path
) -> None:
    from lsprotocol import types

    home = tmp_path / "home"
    [session_id] = await seed(home, 1)
    client = await start_daemon(
        workspace, stderr_path=tmp_path / "d.stderr", env={"DEPUTYDEV_HOME": str(home)}
    )
    config = home / "config" / "config.toml"
    try:
        assert (await sync_status(client))["configured"] is False
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(f'[sync]\nurl = "{pg.url()}"\n')
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={}))
        await eventually(lambda: drained(client), "sync to start and drain")
        ids = [str(r["id"]) for r in await pg.fetch("SELECT id FROM deputydev.sessions")]
        assert ids == [session_id]

        config.write_text("")
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={}))
        await eventually(
            lambda: _with(sync_status(client), lambda s: s["configured"] is False),
            "sync to stop",
        )
        assert await client.stop_daemon() == 0
    finally:
        await client.kill()
