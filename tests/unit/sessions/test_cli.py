"""``deputydev sessions list|show|export`` on a real sessions database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.sessions.store import SessionStore


async def _seed(home: Path) -> str:
    store = await SessionStore.open(home / "data" / "sessions.db")
    try:
        session = await store.create_session(workspace="/src/app", title="Parser crash")
        turn = await store.start_turn(session.id, query="why does parse fail?", model="m1")
        await store.add_message(
            turn.id,
            role="user",
            content={
                "text": "why does parse fail?",
                "focus_items": [],
                "images": [{"media_type": "image/png", "data": "A" * 40_960}],
            },
        )
        await store.add_message(
            turn.id,
            role="assistant",
            content={
                "text": "",
                "thinking": [],
                "tool_calls": [
                    {"id": "c1", "name": "grep_search", "arguments": {"pattern": "parse"}}
                ],
                "model": "m1",
            },
        )
        await store.add_message(
            turn.id,
            role="tool",
            content={
                "results": [
                    {
                        "call_id": "c1",
                        "name": "grep_search",
                        "content": "a.py:1: ```",
                        "is_error": False,
                    }
                ]
            },
        )
        await store.add_message(
            turn.id,
            role="assistant",
            content={"text": "It fails on empty input.", "thinking": [], "tool_calls": []},
        )
        await store.finish_turn(turn.id, status="complete", cost_usd=0.0123)
        await store.create_session(workspace="/src/app", title="Other")
        return session.id
    finally:
        await store.close()


def test_list_show_and_export(
    hermetic_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sessions", "list"]) == 0
    assert capsys.readouterr().out.strip() == "no sessions yet"

    session_id = asyncio.run(_seed(hermetic_env))
    assert main(["sessions", "list", "--query", "parse", "--all"]) == 0
    header, line = capsys.readouterr().out.strip().splitlines()
    assert header.split() == ["ID", "UPDATED", "STATUS", "WORKSPACE", "TITLE"]
    assert line.split()[0] == session_id[:8] and line.endswith("Parser crash")
    assert line.split()[3:5] == ["complete", "/src/app"]

    assert main(["sessions", "show", session_id[:8]]) == 0  # the short id shown is enough
    md = capsys.readouterr().out
    assert md.startswith("# Parser crash")
    assert "**You:**\n\nwhy does parse fail?\n\n*(image attached: image/png, 30 KB)*" in md
    assert "AAAAAAAA" not in md  # the bytes are not shown
    assert '> tool `grep_search` {"pattern": "parse"}' in md
    assert "````\na.py:1: ```\n````" in md  # a fence longer than any backticks inside
    assert "It fails on empty input." in md and "$0.0123" in md

    out = tmp_path / "s.json"
    assert main(["sessions", "export", session_id, "--format", "json", "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["id"] == session_id
    assert [m["role"] for m in data["turns"][0]["messages"]] == [
        "user",
        "assistant",
        "tool",
        "assistant",
    ]

    assert main(["sessions", "show", "nope"]) == 1
    assert "no session 'nope'" in capsys.readouterr().err


def test_list_shows_this_folders_sessions_unless_all_and_ids_resolve_by_prefix(
    hermetic_env: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    here = tmp_path / "app"
    (here / "src").mkdir(parents=True)

    async def seed() -> list[str]:
        store = await SessionStore.open(hermetic_env / "data" / "sessions.db")
        try:
            ids = ["abc12345-0000-4000-8000-000000000001", "abc12399-0000-4000-8000-000000000002"]
            await store.create_session(workspace=str(here), title="Here", session_id=ids[0])
            await store.create_session(
                workspace=str(here / "src"), title="Below", session_id=ids[1]
            )
            await store.create_session(workspace="/elsewhere", title="Elsewhere")
            return ids
        finally:
            await store.close()

    ids = asyncio.run(seed())
    monkeypatch.chdir(here)
    assert main(["sessions", "list"]) == 0
    out = capsys.readouterr().out
    assert "Here" in out and "Below" in out and "Elsewhere" not in out
    assert "empty" in out  # no turn yet
    assert main(["sessions", "list", "--all"]) == 0
    assert "Elsewhere" in capsys.readouterr().out
    (tmp_path / "other").mkdir()
    monkeypatch.chdir(tmp_path / "other")
    assert main(["sessions", "list"]) == 0
    assert "--all" in capsys.readouterr().out

    assert main(["sessions", "show", "abc123"]) == 1
    err = capsys.readouterr().err
    assert "ambiguous" in err and "abc12345" in err and "abc12399" in err
    assert main(["sessions", "export", "ABC1239", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == ids[1]
