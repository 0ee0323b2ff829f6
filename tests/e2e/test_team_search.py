"""Publishing a repository and searching the team's code: ``deputydev index --publish`` and
``deputydev search --team`` as subprocesses, ``deputydev/search {scope: "team"}`` through a
daemon, against PostgreSQL with pgvector (hybrid) and without it (full-text)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import start_daemon
from tests.e2e.team_repo import git, team_env, write_repo
from tests.fakes.embeddings_server import EmbeddingsServer
from tests.postgres import TempCluster


@dataclass
class Done:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


async def deputydev(env: dict[str, str], *args: str, cwd: Path | None = None) -> Done:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "daemon",
        *args,
        cwd=cwd,
        env={**os.environ, **env},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return Done(process.returncode, out.decode(), err.decode())


@dataclass
class Team:
    pg: TempCluster
    team: str
    alice: str
    bob: str
    carol: str  # in another team


async def team_of(pg: TempCluster) -> Team:
    await pg.migrate()
    team = await pg.role("team", login=False)
    other = await pg.role("other", login=False)
    return Team(
        pg,
        team,
        await pg.role("alice", teams=[team]),
        await pg.role("bob", teams=[team]),
        await pg.role("carol", teams=[other]),
    )


@pytest.fixture
async def vector_team(pgvector_server: str) -> AsyncIterator[Team]:
    async with TempCluster(pgvector_server) as pg:
        yield await team_of(pg)


@pytest.fixture
def fake() -> Any:
    with EmbeddingsServer() as server:
        yield server


def env_of(
    t: Team, role: str, home: Path, fake: EmbeddingsServer, team: str | None = None
) -> dict[str, str]:
    return team_env(t.pg.url(role), home, fake, DEPUTYDEV_SYNC__TEAM=team or t.team)


async def test_a_published_repository_is_found_by_a_teammate_and_not_by_an_outsider(
    vector_team: Team, fake: EmbeddingsServer, tmp_path: Path
) -> None:
    t = vector_team
    repo = write_repo(tmp_path / "payments")
    head = git(repo, "rev-parse", "HEAD")
    alice = env_of(t, t.alice, tmp_path / "home-a", fake)
    published = await deputydev(alice, "index", str(repo), "--publish")
    assert published.code == 0, published.err
    assert f"published payments to team {t.team} at {head[:12]}" in published.out
    assert "13 files sent, 0 removed, 0 unchanged" in published.out  # .env stays home

    bob = env_of(t, t.bob, tmp_path / "home-b", fake)
    found = await deputydev(bob, "search", "--team", "refund the payment number 5", "--json")
    assert found.code == 0, found.err
    hits = found.json()
    assert hits[0]["repository"] == "payments"
    assert hits[0]["commit"] == head
    assert hits[0]["path"] == "billing_5.py"
    assert hits[0]["author"] == t.alice
    assert "hybrid search" in (await deputydev(bob, "search", "--team", "refund")).err

    carol = env_of(t, t.carol, tmp_path / "home-c", fake, team=t.carol)
    outsider = await deputydev(carol, "search", "--team", "refund the payment number 5", "--json")
    assert outsider.code == 0, outsider.err
    assert outsider.json() == []

    rows = await t.pg.fetch(
        "SELECT path, text, embedding IS NULL AS bare FROM deputydev.code_chunks"
    )
    assert ".env" not in {r["path"] for r in rows}
    settings = [r for r in rows if r["path"] == "settings.py"]
    assert settings and all("tok_live" not in str(r["text"]) for r in settings)
    assert all("[REDACTED:assignment]" in str(r["text"]) and r["bare"] for r in settings)
    plans = await t.pg.fetch(
        "SELECT indexdef FROM pg_indexes WHERE indexname LIKE 'code_chunks_hnsw_%'"
    )
    assert len(plans) == 1 and "vector(64)" in str(plans[0]["indexdef"])

    # The same through a daemon: deputydev/search with scope "team".
    client = await start_daemon(tmp_path, stderr_path=tmp_path / "b.stderr", env=bob)
    try:
        result = await client.request(
            "deputydev/search",
            {"query": "render the receipt number 7", "scope": "team", "limit": 3},
        )
        narrowed = await client.request(
            "deputydev/search",
            {"query": "render receipt", "scope": "team", "repositories": ["elsewhere"]},
        )
    finally:
        await client.stop_daemon()
    assert result["mode"] == "hybrid"
    first = result["results"][0]
    assert (first["repository"], first["commit"], first["path"]) == (
        "payments",
        head,
        "billing_7.py",
    )
    assert "def render_receipt_7" in first["snippet"]
    assert narrowed["results"] == []


async def test_republishing_after_a_push_sends_only_what_changed(
    vector_team: Team, fake: EmbeddingsServer, tmp_path: Path
) -> None:
    t = vector_team
    repo = write_repo(tmp_path / "payments")
    alice = env_of(t, t.alice, tmp_path / "home-a", fake)
    assert (await deputydev(alice, "index", str(repo), "--publish")).code == 0
    (repo / "billing_2.py").write_text("def settle_ledger_2(value):\n    return value\n")
    (repo / "billing_3.py").unlink()
    dirty = await deputydev(alice, "index", str(repo), "--publish")
    assert dirty.code == 1 and "uncommitted changes" in dirty.err
    git(repo, "commit", "-qam", "second")
    head = git(repo, "rev-parse", "HEAD")
    again = await deputydev(alice, "index", str(repo), "--publish")
    assert again.code == 0, again.err
    assert "1 file sent, 1 removed, 11 unchanged" in again.out
    rows = await t.pg.fetch("SELECT f.path, f.commit FROM deputydev.code_files f ORDER BY f.path")
    paths = {str(r["path"]): r["commit"] for r in rows}
    assert "billing_3.py" not in paths and paths["billing_2.py"] == head
    repo_row = await t.pg.fetch("SELECT commit, files FROM deputydev.code_repos")
    assert repo_row == [{"commit": head, "files": 12}]
    bob = env_of(t, t.bob, tmp_path / "home-b", fake)
    hits = (await deputydev(bob, "search", "--team", "settle ledger", "--json")).json()
    assert any(h["path"] == "billing_2.py" and h["commit"] == head for h in hits)

    # Bob cannot republish alice's repository, and says so.
    bobs = write_repo(tmp_path / "bob" / "payments")
    refused = await deputydev(bob, "index", str(bobs), "--publish")
    assert refused.code == 1 and f"published by {t.alice!r}" in refused.err


async def test_readers_narrow_a_repository_to_one_role(
    vector_team: Team, fake: EmbeddingsServer, tmp_path: Path
) -> None:
    t = vector_team
    payments_devs = await t.pg.role("payments_devs", login=False)
    dave = await t.pg.role("dave", teams=[t.team, payments_devs])
    repo = write_repo(tmp_path / "payments")
    alice = env_of(t, t.alice, tmp_path / "home-a", fake)
    done = await deputydev(alice, "index", str(repo), "--publish", "--readers", payments_devs)
    assert done.code == 0, done.err
    bob = env_of(t, t.bob, tmp_path / "home-b", fake)
    assert (await deputydev(bob, "search", "--team", "refund payment", "--json")).json() == []
    dave_env = env_of(t, dave, tmp_path / "home-d", fake)
    hits = (await deputydev(dave_env, "search", "--team", "refund payment", "--json")).json()
    assert hits and hits[0]["repository"] == "payments"


async def test_without_pgvector_team_search_is_full_text_and_says_why(
    fake: EmbeddingsServer, tmp_path: Path
) -> None:
    async with TempCluster() as pg:
        t = await team_of(pg)
        repo = write_repo(tmp_path / "payments")
        alice = env_of(t, t.alice, tmp_path / "home-a", fake)
        published = await deputydev(alice, "index", str(repo), "--publish")
        assert published.code == 0, published.err
        assert "CREATE EXTENSION vector" in published.err
        bob = env_of(t, t.bob, tmp_path / "home-b", fake)
        found = await deputydev(bob, "search", "--team", "refund the payment number 5")
        assert found.code == 0, found.err
        assert "lexical search" in found.err
        assert found.out.startswith("payments@") and "billing_5.py" in found.out.splitlines()[0]
        stored = await pg.fetch(
            "SELECT count(*) AS n FROM deputydev.code_chunks WHERE embedding IS NOT NULL"
        )
        count = stored[0]["n"]
        assert isinstance(count, int) and count > 0  # vectors kept (bytea) for pgvector later


async def test_the_daemon_publishes_listed_repositories_at_each_clean_commit(
    vector_team: Team, fake: EmbeddingsServer, tmp_path: Path
) -> None:
    from tests.e2e.team_repo import eventually, sync_status

    t = vector_team
    repo = write_repo(tmp_path / "payments")
    env = {
        **env_of(t, t.alice, tmp_path / "home-a", fake),
        "DEPUTYDEV_SYNC__PUBLISH": '["payments"]',
    }
    client = await start_daemon(repo, stderr_path=tmp_path / "a.stderr", env=env)

    async def outcome(prefix: str) -> str | None:
        said = (await sync_status(client)).get("published", {}).get("payments")
        return said if said and said.startswith(prefix) else None

    try:
        first = await eventually(
            lambda: outcome(f"published {git(repo, 'rev-parse', 'HEAD')[:12]}"), "a publish"
        )
        assert "13 files sent" in first
        (repo / "billing_4.py").write_text("def reconcile_bank_4(value):\n    return value\n")
        git(repo, "commit", "-qam", "reconcile")
        head = git(repo, "rev-parse", "HEAD")
        again = await eventually(lambda: outcome(f"published {head[:12]}"), "the republish")
        assert "1 file sent, 0 removed, 12 unchanged" in again
    finally:
        await client.stop_daemon()
    bob = env_of(t, t.bob, tmp_path / "home-b", fake)
    hits = (await deputydev(bob, "search", "--team", "reconcile bank", "--json")).json()
    assert any(h["path"] == "billing_4.py" and h["commit"] == head for h in hits)
