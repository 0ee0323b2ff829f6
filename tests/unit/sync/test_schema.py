"""Server migrations against a real PostgreSQL (skipped with a message when none answers)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from daemon.sync import schema
from daemon.sync.errors import MigrationRefused, SchemaTooNew
from tests.postgres import TempCluster

pytestmark = pytest.mark.postgres


async def test_ten_concurrent_migrators_migrate_once() -> None:
    async with TempCluster() as pg:
        conns = [await asyncpg.connect(pg.url()) for _ in range(10)]
        try:
            results = await asyncio.gather(*(schema.migrate(c) for c in conns))
        finally:
            for conn in conns:
                await conn.close()
        assert sorted(results, key=len) == [[]] * 9 + [list(range(1, schema.latest() + 1))]
        rows = await pg.fetch("SELECT version FROM deputydev.schema_version ORDER BY version")
        assert [r["version"] for r in rows] == list(range(1, schema.latest() + 1))


async def test_a_newer_server_schema_is_refused_and_left_alone() -> None:
    async with TempCluster() as pg:
        await pg.migrate()
        newer = schema.latest() + 1
        await pg.fetch(
            "INSERT INTO deputydev.schema_version (version, name) VALUES ($1, 'future')", newer
        )
        conn = await asyncpg.connect(pg.url())
        try:
            with pytest.raises(SchemaTooNew, match=f"version {newer}, newer than this daemon"):
                await schema.migrate(conn)
        finally:
            await conn.close()
        rows = await pg.fetch("SELECT max(version) AS v FROM deputydev.schema_version")
        assert rows[0]["v"] == newer


async def test_a_role_that_may_not_migrate_is_told_to_ask_the_admin() -> None:
    async with TempCluster() as pg:
        alice = await pg.role("alice")
        conn = await asyncpg.connect(pg.url(alice))
        try:
            with pytest.raises(MigrationRefused, match="deputydev sync migrate") as caught:
                await schema.migrate(conn)
        finally:
            await conn.close()
        assert alice in str(caught.value)
        assert await pg.fetch("SELECT to_regclass('deputydev.sessions') AS t") == [{"t": None}]
