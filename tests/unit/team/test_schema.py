"""The team index's server schema (version 2) on both kinds of server: PostgreSQL 18 with
pgvector (tests/pgvector.py) and the machine's PostgreSQL 15 without it."""

from __future__ import annotations

import asyncpg
import pytest

from daemon.sync import schema
from daemon.sync.setup import setup_sql
from tests.postgres import TempCluster

pytestmark = pytest.mark.postgres


async def test_with_pgvector_vectors_are_pgvector_columns_with_hnsw_indexes(
    pgvector_server: str,
) -> None:
    async with TempCluster(pgvector_server) as pg:
        await pg.migrate()
        team = await pg.role("team", login=False)
        alice = await pg.role("alice", teams=[team])
        conn = await asyncpg.connect(pg.url(alice))
        try:
            assert await schema.vector_column(conn) == "vector"
            small = await conn.fetchval("SELECT deputydev.ensure_code_index('fake:m', 64)")
            again = await conn.fetchval("SELECT deputydev.ensure_code_index('fake:m', 64)")
            large = await conn.fetchval("SELECT deputydev.ensure_code_index('big:m', 3072)")
            with pytest.raises(asyncpg.RaiseError, match="cannot index 5000 dimensions"):
                await conn.fetchval("SELECT deputydev.ensure_code_index('huge:m', 5000)")
            # The role cannot make indexes of its own on the admin's tables.
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("CREATE INDEX mine ON deputydev.code_chunks (path)")
        finally:
            await conn.close()
        assert small == again
        rows = await pg.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY($1::text[])",
            [small, large],
        )
        defs = {str(r["indexname"]): str(r["indexdef"]) for r in rows}
        assert "USING hnsw" in defs[small] and "vector(64)" in defs[small]
        assert "vector_cosine_ops" in defs[small] and "'fake:m'" in defs[small]
        assert "halfvec(3072)" in defs[large] and "halfvec_cosine_ops" in defs[large]


async def test_without_pgvector_vectors_are_bytea_and_there_is_no_hnsw_index() -> None:
    async with TempCluster() as pg:
        await pg.migrate()
        conn = await asyncpg.connect(pg.url())
        try:
            if await schema.pgvector_available(conn):
                pytest.fail("this test needs a server without pgvector (the machine's own)")
            assert await schema.vector_column(conn) == "bytea"
            assert await conn.fetchval("SELECT deputydev.ensure_code_index('fake:m', 64)") is None
            assert (
                await conn.fetchval(
                    "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                    " WHERE attrelid = 'deputydev.embedding_cache'::regclass"
                    " AND attname = 'embedding'"
                )
                == "bytea"
            )
        finally:
            await conn.close()


async def test_before_version_2_there_is_no_vector_column() -> None:
    async with TempCluster() as pg:
        conn = await asyncpg.connect(pg.url())
        try:
            assert await schema.vector_column(conn) is None
        finally:
            await conn.close()


def test_the_setup_sql_creates_pgvector_and_says_what_to_do_without_it() -> None:
    sql = setup_sql(database="deputydev", team="backend", members=["alice"])
    assert "CREATE EXTENSION IF NOT EXISTS vector;" in sql
    assert "deputydev sync migrate" in sql
