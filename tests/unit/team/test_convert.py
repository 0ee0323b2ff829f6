"""A team index made without pgvector (bytea) becomes pgvector's once the extension is
there: ``deputydev sync migrate`` converts the vectors and indexes the published ones, and
doctor says which state the server is in."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from daemon.cli import main
from daemon.sync import schema
from daemon.sync.doctor import team_index_checks
from daemon.sync.probe import probe
from daemon.sync.publish import publish
from daemon.sync.redact import Redactor
from daemon.sync.search import search
from daemon.sync.settings import SyncSettings
from daemon.sync.vectors import INSERT_VECTOR, prepare
from indexer.store import pack_vector
from tests.postgres import TempCluster

VECTOR = pack_vector([0.6, 0.8, 0.0])


class Repo:
    """Two published files, one chunk each, with vectors (``publish.Exportable``)."""

    root = None

    async def file_hashes(self) -> list[tuple[str, str, str | None]]:
        return [("ledger.py", "h1", "python"), ("audit.py", "h2", "python")]

    async def export_chunks(self, paths: object) -> list[tuple[object, ...]]:
        return [
            (
                "ledger.py",
                1,
                3,
                "function",
                ("settle_ledger",),
                "c1",
                "def settle_ledger(): ...",
                VECTOR,
            ),
            (
                "audit.py",
                1,
                3,
                "function",
                ("audit_trail",),
                "c2",
                "def audit_trail(): ...",
                pack_vector([0.0, 0.0, 1.0]),
            ),
        ]


async def test_sync_migrate_converts_bytea_vectors_once_pgvector_is_in(
    pgvector_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with TempCluster(pgvector_server) as pg:
        owner = await pg.role("owner", create=True)  # may create the schema, not extensions
        team = await pg.role("team", login=False)
        alice = await pg.role("alice", teams=[team])
        conn = await asyncpg.connect(pg.url(owner))
        try:
            await schema.migrate(conn)
            assert await schema.vector_column(conn) == "bytea"
        finally:
            await conn.close()

        conn = await asyncpg.connect(pg.url(alice))
        try:
            await conn.execute(INSERT_VECTOR, "fake:m", "c1", 3, VECTOR)
            await publish(
                conn,
                Repo(),  # type: ignore[arg-type]
                name="ledger",
                team=team,
                commit="abc",
                embedder="fake:m",
                redactor=Redactor(),
                secret_patterns=(),
            )
        finally:
            await conn.close()

        found = await probe(SyncSettings.model_validate({"url": pg.url(alice)}))
        (check,) = team_index_checks(found)
        assert check.status == "warn" and "still stores bytea" in check.detail
        assert "deputydev sync migrate" in check.fix

        assert await asyncio.to_thread(main, ["sync", "migrate", "--url", pg.url()]) == 0
        assert "pgvector is in: 3 vectors converted" in capsys.readouterr().out

        conn = await asyncpg.connect(pg.url(alice))
        try:
            assert await prepare(conn) == "vector"
            row = await conn.fetchrow(
                "SELECT embedding FROM deputydev.embedding_cache WHERE content_hash = 'c1'"
            )
            assert row is not None and row["embedding"] == VECTOR
            hits, mode = await search(
                conn,
                "settle",
                vector=pack_vector([0.6, 0.8, 0.0]),
                embedder="fake:m",
                vector_store="vector",
            )
        finally:
            await conn.close()
        assert mode == "hybrid" and hits[0].path == "ledger.py"
        indexes = await pg.fetch(
            "SELECT indexdef FROM pg_indexes WHERE indexname LIKE 'code_chunks_hnsw_%'"
        )
        assert len(indexes) == 1 and "vector(3)" in str(indexes[0]["indexdef"])
        found = await probe(SyncSettings.model_validate({"url": pg.url(alice)}))
        (check,) = team_index_checks(found)
        assert check.status == "ok" and "1 published repositories" in check.detail
        assert await asyncio.to_thread(main, ["sync", "migrate", "--url", pg.url()]) == 0
        assert "nothing to do" in capsys.readouterr().out


async def test_doctor_without_pgvector_says_what_the_admin_runs() -> None:
    async with TempCluster() as pg:
        await pg.migrate()
        found = await probe(SyncSettings.model_validate({"url": pg.url()}))
    (check,) = team_index_checks(found)
    assert check.status == "warn"
    assert "full-text only" in check.detail
    assert "CREATE EXTENSION vector" in check.fix and "deputydev sync migrate" in check.fix
