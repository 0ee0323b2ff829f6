"""Issue 10's leaks, tried through the real daemon over stdio: secrets in what the team
database receives (every synced row read back from a real PostgreSQL), in the log file at
``log_level = "debug"``, and a sync URL's password wherever a bad URL is reported
(``deputydev/status``, ``window/showMessage``, ``doctor``, ``sync status``)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import daemon_env
from tests.e2e.test_trust import Scene, answer, calls
from tests.fakes.llm_server import Call, LLMServer, Reply, Text

PG_PASSWORD = "pgPW-7f3k2"
DB_PASSWORD = "dbPW-q9x4m"
JSON_SECRET = "jsonS3cret-words here"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GITHUB_PAT = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF"
KEY_BODY = "MIIEowIBAAKCAQEA7bq9trust"
ASSIGNED = "hunter2-assigned"


@pytest.fixture
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture(name="scene")
async def leak_scene(
    workspace: Path, tmp_path: Path, hermetic_env: Path, llm: LLMServer
) -> AsyncIterator[Scene]:
    s = Scene(workspace, tmp_path, hermetic_env, llm)
    yield s
    await s.close()


def _cli(scene: Scene, *args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "daemon", *args],
        cwd=scene.workspace,
        env=daemon_env(env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout + done.stderr


@pytest.mark.parametrize(
    "url",
    [
        f"mysql://bob:{PG_PASSWORD}@db.internal/app",
        f"postgresql://bob:{PG_PASSWORD}@db.internal:99999/app",
        f"postgresql://bob:{PG_PASSWORD}@[::1/app",
        f"postgres ql://bob:{PG_PASSWORD}@db/app",
    ],
)
async def test_an_invalid_sync_url_never_shows_its_password(scene: Scene, url: str) -> None:
    env = {"DEPUTYDEV_SYNC_URL": url}
    client = await scene.start(env=env)
    await client.wait_for(
        lambda: any("sync.url" in m.message for m in client.messages),
        what="a showMessage about sync.url",
    )
    status = await client.request("deputydev/status", {})
    assert any("sync.url" in e for e in status["configErrors"])
    try:
        sync = json.dumps(await client.request("deputydev/sync/status", {}))
    except Exception as exc:  # team sync is off, and the error says why
        sync = str(exc)
    shown = json.dumps([m.message for m in client.messages]) + json.dumps(status) + sync
    await client.stop_daemon()
    shown += _cli(scene, "doctor", env=env) + _cli(scene, "sync", "status", env=env)
    assert "sync.url" in shown
    assert PG_PASSWORD not in shown
    assert PG_PASSWORD not in scene.log_text() + client.stderr_text()


async def test_synced_rows_hold_no_secret_in_any_column(scene: Scene) -> None:
    from tests.postgres import TempCluster

    scene.write("config/settings.yaml", f"db_password: {DB_PASSWORD}\nname: app\n")
    leaky = (
        f'Found it: {{"db_password": "{JSON_SECRET}"}} and the team DB is '
        f"postgresql://bob:{PG_PASSWORD}@db.internal/app"
    )
    failure = Reply(
        status=400,
        error={
            "error": {
                "message": f"cannot reach postgresql://bob:{PG_PASSWORD}@db.internal/app "
                f"(password={ASSIGNED})",
                "type": "invalid_request_error",
            }
        },
    )
    async with TempCluster() as pg:
        await pg.migrate()
        scene.user_config(f'[sync]\nurl = "{pg.url()}"\n')
        client = await scene.start(
            calls(Call("r", "read_file", {"path": "config/settings.yaml"})),
            Reply([Text(leaky)], usage={"input": 10, "output": 5}),
            failure,
        )
        first = await scene.query(
            f"postgresql://bob:{PG_PASSWORD}@db.internal/app is down, api_key={ASSIGNED}"
        )
        assert first["stopReason"] == "stop"
        with pytest.raises(Exception, match="postgresql"):
            await scene.query("try again", sessionId=first["sessionId"])

        async def rows() -> dict[str, list[dict[str, object]]]:
            return {
                table: await pg.fetch(f"SELECT * FROM deputydev.{table}")
                for table in ("sessions", "turns", "messages")
            }

        def complete(found: dict[str, list[dict[str, object]]]) -> bool:
            turns = found["turns"]
            return len(turns) == 2 and all(t["status"] != "running" for t in turns)

        found = await rows()
        for _ in range(1500):
            if complete(found) and len(found["messages"]) >= 4:
                break
            await asyncio.sleep(0.02)
            found = await rows()
        assert complete(found)
        uploaded = json.dumps(found, default=str)
        await client.stop_daemon()
    # What was uploaded: titles, queries, messages, tool results, errors, timings.
    assert "db.internal" in uploaded and "REDACTED" in uploaded
    failed = next(t for t in found["turns"] if t["seq"] == 2)
    assert "db.internal" in json.dumps(failed["timings"], default=str)  # calls[].error
    for secret in (PG_PASSWORD, DB_PASSWORD, JSON_SECRET, ASSIGNED):
        assert secret not in uploaded, secret


async def test_a_debug_log_keeps_no_secret_pasted_into_a_query(scene: Scene) -> None:
    pasted = (
        f"aws_secret_access_key = {AWS_SECRET}\n"
        f"token {GITHUB_PAT}\n"
        f"-----BEGIN RSA PRIVATE KEY-----\n{KEY_BODY}\n-----END RSA PRIVATE KEY-----\n"
        f"password={ASSIGNED}\n"
        f'{{"password": "{JSON_SECRET}"}}\n'
        f"dsn postgresql://bob:{PG_PASSWORD}@db.internal/app"
    )
    await scene.start(
        calls(Call("g", "grep_search", {"pattern": "password"})),
        answer(f"noted: {pasted}"),
        env={"DEPUTYDEV_LOG_LEVEL": "debug"},
    )
    await scene.query(f"why does this fail?\n{pasted}")
    assert scene.client is not None
    await scene.client.stop_daemon()
    logged = scene.log_text() + scene.client.stderr_text()
    assert "DEBUG" in logged and "why does this fail?" in logged  # the query was logged
    for secret in (AWS_SECRET, GITHUB_PAT, KEY_BODY, ASSIGNED, JSON_SECRET, PG_PASSWORD):
        assert secret not in logged, secret
