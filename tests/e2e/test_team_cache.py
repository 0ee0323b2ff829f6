"""The team's embedding cache end to end: real daemons over stdio, each with its own fake
embeddings server counting what it embeds, and a real PostgreSQL (with pgvector from
tests/pgvector.py, or the machine's PostgreSQL 15 for the bytea fallback)."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.harness import start_daemon
from tests.e2e.team_repo import (
    embedded,
    eventually,
    sync_status,
    team_env,
    uploaded,
    write_repo,
)
from tests.fakes.embeddings_server import EmbeddingsServer
from tests.postgres import TcpProxy, TempCluster


def local_hashes(home: Path) -> dict[str, set[str]]:
    """Content hashes of the chunks of each file in ``home``'s one index database."""
    (db,) = (home / "data" / "index").glob("*.db")
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT f.path, c.content_hash FROM chunks c JOIN files f ON f.id = c.file_id"
        ).fetchall()
    finally:
        conn.close()
    out: dict[str, set[str]] = {}
    for path, h in rows:
        out.setdefault(path, set()).add(h)
    return out


async def cached(pg: TempCluster) -> list[str]:
    rows = await pg.fetch("SELECT content_hash FROM deputydev.embedding_cache")
    return [str(r["content_hash"]) for r in rows]


@pytest.fixture
async def vector_pg(pgvector_server: str) -> AsyncIterator[TempCluster]:
    async with TempCluster(pgvector_server) as cluster:
        await cluster.migrate()
        yield cluster


async def test_the_second_developer_embeds_nothing_the_first_uploaded(
    vector_pg: TempCluster, tmp_path: Path
) -> None:
    pg = vector_pg
    team = await pg.role("team", login=False)
    alice = await pg.role("alice", teams=[team])
    bob = await pg.role("bob", teams=[team])
    repo_a = write_repo(tmp_path / "alice" / "payments")
    repo_b = tmp_path / "bob" / "payments"
    shutil.copytree(repo_a, repo_b)

    with EmbeddingsServer() as fake_a, EmbeddingsServer() as fake_b:
        home_a = tmp_path / "home-a"
        a = await start_daemon(
            repo_a,
            stderr_path=tmp_path / "a.stderr",
            env=team_env(pg.url(alice), home_a, fake_a, DEPUTYDEV_SYNC__TEAM=team),
        )
        try:
            root_a = await eventually(lambda: embedded(a), "alice's vectors")
            status_a = await eventually(lambda: uploaded(a), "alice's uploads")
        finally:
            await a.stop_daemon()
        assert status_a["vectorStore"] == "pgvector"
        assert status_a["teamSearch"] == "hybrid"
        assert status_a.get("vectorStoreFix") is None
        assert fake_a.text_count == root_a["chunks"]

        by_file = local_hashes(home_a)
        # A secret file's chunks (if the index keeps them at all) and a redacted one stay.
        kept_home = by_file.get(".env", set()) | by_file["settings.py"]
        on_server = await cached(pg)
        assert len(on_server) == len(set(on_server))
        everything = set().union(*by_file.values())
        assert set(on_server) == everything - kept_home
        assert status_a["vectorsUploaded"] == len(on_server)
        # The column is pgvector's, holding the vectors alice's server gave.
        dims = await pg.fetch(
            "SELECT DISTINCT vector_dims(embedding) AS d FROM deputydev.embedding_cache"
        )
        assert dims == [{"d": 64}]

        home_b = tmp_path / "home-b"
        b = await start_daemon(
            repo_b,
            stderr_path=tmp_path / "b.stderr",
            env=team_env(pg.url(bob), home_b, fake_b, DEPUTYDEV_SYNC__TEAM=team),
        )
        try:
            root_b = await eventually(lambda: embedded(b), "bob's vectors")
            status_b = await sync_status(b)
            found = await b.request(
                "deputydev/search",
                {"query": "render the receipt number 3", "mode": "semantic", "limit": 3},
            )
        finally:
            await b.stop_daemon()
        assert root_b["chunks"] == root_a["chunks"]
        # Only what never left alice's machine was embedded again.
        assert fake_b.text_count - 1 == len(kept_home)  # and the query
        texts = [t for r in fake_b.requests for t in r.body["input"]]
        assert any("DATABASE_HOST" in t for t in texts) == (".env" in by_file)
        assert any("api_token" in t for t in texts)
        assert status_b["vectorsFetched"] == len(on_server)
        assert found["results"][0]["path"] == "billing_3.py"


async def test_a_daemon_killed_mid_upload_loses_and_duplicates_nothing(
    vector_pg: TempCluster, tmp_path: Path
) -> None:
    pg = vector_pg
    alice = await pg.role("alice")
    repo = write_repo(tmp_path / "payments", modules=30)
    # The third batch blocks on the server (inside its transaction) while the test holds an
    # advisory lock: the daemon is killed there, between sending and the server's commit.
    admin = await pg.admin(pg.database)
    await admin.execute(
        """
        CREATE FUNCTION public.gate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
            IF (SELECT count(*) FROM deputydev.embedding_cache) >= 20 THEN
                PERFORM pg_advisory_xact_lock_shared(4242);
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER gate BEFORE INSERT ON deputydev.embedding_cache
            FOR EACH ROW EXECUTE FUNCTION public.gate();
        """
    )
    await admin.close()
    home = tmp_path / "home"
    holder = await pg.admin(pg.database)
    await holder.execute("SELECT pg_advisory_lock(4242)")
    with EmbeddingsServer() as fake:
        env = team_env(pg.url(alice), home, fake, DEPUTYDEV_SYNC__BATCH_SIZE="10")
        first = await start_daemon(repo, stderr_path=tmp_path / "1.stderr", env=env)
        try:
            await eventually(lambda: embedded(first), "vectors")

            async def blocked() -> bool:
                rows = await pg.fetch(
                    "SELECT 1 FROM pg_stat_activity WHERE application_name = 'deputydev-sync'"
                    " AND wait_event_type = 'Lock' AND datname = $1",
                    pg.database,
                )
                return bool(rows)

            await eventually(blocked, "an upload blocked on the server")
        finally:
            await first.kill()
        await holder.execute("SELECT pg_advisory_unlock(4242)")
        await holder.close()
        assert len(await cached(pg)) == 20  # two batches committed, the third was in flight

        second = await start_daemon(repo, stderr_path=tmp_path / "2.stderr", env=env)
        try:
            status = await eventually(lambda: uploaded(second), "the rest uploaded")
        finally:
            await second.stop_daemon()
    by_file = local_hashes(home)
    expected = set().union(*by_file.values()) - by_file.get(".env", set()) - by_file["settings.py"]
    on_server = await cached(pg)
    assert len(on_server) == len(set(on_server)) == len(expected)
    assert set(on_server) == expected
    assert status["vectorsPending"] == 0


async def test_with_the_server_away_indexing_is_unaffected_and_uploads_resume(
    tmp_path: Path,
) -> None:
    async with TempCluster() as pg:  # the machine's PostgreSQL 15: no pgvector
        await pg.migrate()
        alice = await pg.role("alice")
        repo = write_repo(tmp_path / "payments")
        proxy = TcpProxy(pg.port)
        await proxy.open()
        await proxy.close()
        home = tmp_path / "home"
        with EmbeddingsServer() as fake:
            client = await start_daemon(
                repo,
                stderr_path=tmp_path / "d.stderr",
                env=team_env(pg.url(alice, port=proxy.port), home, fake),
            )
            try:
                await eventually(lambda: embedded(client), "local vectors")
                found = await client.request(
                    "deputydev/search", {"query": "refund the payment number 5", "limit": 3}
                )
                assert found["mode"] == "hybrid"
                assert found["results"][0]["path"] == "billing_5.py"
                status = await sync_status(client)
                by_file = local_hashes(home)
                shared = set().union(*by_file.values()) - by_file.get(".env", set())
                shared -= by_file["settings.py"]
                assert status["vectorsPending"] == len(shared)
                assert status.get("vectorStore") is None
                assert await cached(pg) == []

                await proxy.open()
                status = await eventually(lambda: uploaded(client), "uploads after the outage")
            finally:
                await client.stop_daemon()
                await proxy.close()
        assert status["vectorStore"] == "bytea"
        assert status["teamSearch"] == "full-text"
        assert "CREATE EXTENSION vector" in status["vectorStoreFix"]
        assert set(await cached(pg)) == shared
        rows = await pg.fetch("SELECT embedding, dims FROM deputydev.embedding_cache LIMIT 1")
        vector, dims = rows[0]["embedding"], rows[0]["dims"]
        assert isinstance(vector, bytes) and isinstance(dims, int)
        assert len(vector) == 4 * dims == 4 * 64
