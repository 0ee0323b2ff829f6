"""Team sync from commands that end: ``ask`` pushes its turn before it exits, and
``deputydev sync push`` sends the outbox now. Real CLI subprocesses, a real PostgreSQL, the
on-wire fake model behind ``OPENAI_BASE_URL``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.test_ask_cli import closed_port, deputydev
from tests.e2e.test_sync import count, seed
from tests.fakes.llm_server import LLMServer, Reply, Text
from tests.postgres import TempCluster

pytestmark = pytest.mark.postgres


@pytest.fixture
async def pg() -> AsyncIterator[TempCluster]:
    async with TempCluster() as cluster:
        await cluster.migrate()
        yield cluster


async def test_ask_pushes_its_turn_to_the_team_server_before_it_exits(
    pg: TempCluster, workspace: Path
) -> None:
    with LLMServer() as llm:
        llm.script(Reply([Text("It greets.")]))
        result = deputydev(
            workspace,
            "ask",
            "what does greet do?",
            "--agent",
            "explainer",
            env={"OPENAI_BASE_URL": f"{llm.url}/v1", "DEPUTYDEV_SYNC_URL": pg.url()},
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "It greets."
    assert "team sync" not in result.stderr  # nothing to report: it went
    assert await count(pg, "sessions") == 1
    assert await count(pg, "turns") == 1
    status = deputydev(workspace, "sync", "status", "--json", env={"DEPUTYDEV_SYNC_URL": pg.url()})
    assert json.loads(status.stdout)["pending"] == 0


async def test_ask_with_the_team_server_down_answers_and_says_what_waits(
    workspace: Path,
) -> None:
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/nowhere"
    with LLMServer() as llm:
        llm.script(Reply([Text("It greets.")]))
        result = deputydev(
            workspace,
            "ask",
            "what does greet do?",
            "--agent",
            "explainer",
            env={"OPENAI_BASE_URL": f"{llm.url}/v1", "DEPUTYDEV_SYNC_URL": url},
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "It greets."
    assert "team sync: not pushed" in result.stderr and "deputydev sync push" in result.stderr
    assert "changes wait" in result.stderr


async def test_sync_push_sends_the_outbox_and_says_how_much(
    pg: TempCluster, workspace: Path, hermetic_env: Path
) -> None:
    ids = await seed(hermetic_env, 2)
    env = {"DEPUTYDEV_SYNC_URL": pg.url()}

    pushed = deputydev(workspace, "sync", "push", env=env)
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.startswith("pushed ") and "rows to postgresql://" in pushed.stdout
    assert {str(r["id"]) for r in await pg.fetch("SELECT id FROM deputydev.sessions")} == set(ids)

    again = deputydev(workspace, "sync", "push", env=env)
    assert again.returncode == 0 and "nothing to push" in again.stdout

    down = f"postgresql://postgres@127.0.0.1:{closed_port()}/nowhere"
    await seed(hermetic_env, 1)
    failed = deputydev(workspace, "sync", "push", env={"DEPUTYDEV_SYNC_URL": down})
    assert failed.returncode == 1 and failed.stdout == ""
    assert "sync push failed" in failed.stderr and "refused" in failed.stderr

    off = deputydev(workspace, "sync", "push")
    assert off.returncode == 2 and "DEPUTYDEV_SYNC_URL" in off.stderr
