"""The history panel over stdio: sessions written by an earlier daemon, listed and edited."""

from __future__ import annotations

from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException

from daemon.sessions.store import SessionStore
from protocol import errors as codes
from tests.e2e.harness import start_daemon


async def _seed(home: Path, workspace: Path) -> tuple[str, str]:
    """One finished session and one whose turn a dead daemon left 'running'."""
    store = await SessionStore.open(home / "data" / "sessions.db")
    try:
        done = await store.create_session(workspace=str(workspace), title="Finished work")
        turn = await store.start_turn(done.id, query="what does greet do?")
        await store.add_message(
            turn.id, role="user", content={"text": "what does greet do?", "focus_items": []}
        )
        await store.finish_turn(turn.id, status="complete")
        cut = await store.create_session(workspace=str(workspace), title="Cut short")
        running = await store.start_turn(cut.id, query="refactor everything")
        await store.add_message(
            running.id, role="user", content={"text": "refactor everything", "focus_items": []}
        )
        return done.id, cut.id
    finally:
        await store.close()


async def test_sessions_list_get_rename_pin_delete(
    workspace: Path, tmp_path: Path, hermetic_env: Path
) -> None:
    done_id, cut_id = await _seed(hermetic_env, workspace)
    client = await start_daemon(workspace, stderr_path=tmp_path / "d.stderr")
    try:
        listed = await client.request("deputydev/sessions/list", {})
        assert [s["id"] for s in listed["sessions"]] == [cut_id, done_id]

        got = await client.request("deputydev/sessions/get", {"sessionId": cut_id})
        [turn] = got["turns"]
        assert turn["status"] == "interrupted"
        assert turn["messages"][0]["content"]["text"] == "refactor everything"

        renamed = await client.request(
            "deputydev/sessions/rename", {"sessionId": done_id[:8], "title": "Greeting"}
        )
        assert renamed["session"]["title"] == "Greeting"  # the short id the CLI shows is enough
        assert renamed["session"]["id"] == done_id
        await client.request("deputydev/sessions/pin", {"sessionId": done_id, "pinned": True})
        listed = await client.request("deputydev/sessions/list", {"query": "greet"})
        assert [(s["id"], s["pinned"]) for s in listed["sessions"]] == [(done_id, True)]

        assert await client.request("deputydev/sessions/delete", {"sessionId": cut_id}) == {
            "deleted": True
        }
        with pytest.raises(JsonRpcException) as raised:
            await client.request("deputydev/sessions/get", {"sessionId": cut_id})
        assert raised.value.code == codes.SESSION_NOT_FOUND
        assert cut_id in str(raised.value.message)
        assert await client.stop_daemon() == 0
    finally:
        if client.process is not None and client.process.returncode is None:
            await client.kill()
