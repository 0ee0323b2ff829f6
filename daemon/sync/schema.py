"""The server schema: versioned SQL files in ``daemon/sync/migrations``, applied in order.

Every daemon checks the schema when it connects. Migrations run in one transaction under a
transaction-scoped advisory lock, so when ten daemons start at once the first migrates and
the others, once the lock is theirs, find nothing left to do. A server newer than the files
we ship raises :class:`SchemaTooNew` (sync pauses; local data is untouched); an older one
that this role may not change raises :class:`MigrationRefused`.

    applied = await migrate(conn)     # the versions this call applied, usually []
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from daemon.sync.errors import MigrationRefused, SchemaTooNew

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger(__name__)

SCHEMA = "deputydev"
# pg_advisory_xact_lock key: the bytes of "deputyde" as a bigint, fixed for all versions.
LOCK_KEY = 0x6465707574796465
_FILE = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


@cache
def migrations() -> tuple[Migration, ...]:
    folder = Path(__file__).parent / "migrations"
    found = []
    for path in sorted(folder.iterdir()):
        match = _FILE.match(path.name)
        if match:
            found.append(
                Migration(int(match.group(1)), match.group(2), path.read_text(encoding="utf-8"))
            )
    versions = [m.version for m in found]
    assert versions == list(range(1, len(found) + 1)), f"gaps in migrations: {versions}"
    return tuple(found)


def latest() -> int:
    return len(migrations())


async def server_version(conn: asyncpg.Connection) -> int:
    """The schema version on the server, 0 when it has none."""
    # A catalog query, not to_regclass(): its cached "no such table" could outlive the
    # commit of a migrator we waited for on the advisory lock.
    exists = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables"
        " WHERE schemaname = $1 AND tablename = 'schema_version')",
        SCHEMA,
    )
    if not exists:
        return 0
    version = await conn.fetchval(f"SELECT COALESCE(MAX(version), 0) FROM {SCHEMA}.schema_version")
    return int(version)


async def check(conn: asyncpg.Connection) -> int:
    """Raise if this daemon cannot sync with the server's schema as it is; its version."""
    version = await server_version(conn)
    if version > latest():
        raise SchemaTooNew(
            f"the server's sync schema is version {version}, newer than this daemon knows"
            f" ({latest()}): sync is paused until DeputyDev is upgraded; local data is kept",
            serverVersion=version,
            knownVersion=latest(),
        )
    return version


async def migrate(conn: asyncpg.Connection) -> list[int]:
    """Bring the server's schema to :func:`latest`; the versions this call applied."""
    import asyncpg

    if await check(conn) == latest():
        return []
    applied: list[int] = []
    role = await conn.fetchval("SELECT current_user")
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
            current = await check(conn)  # another daemon may have migrated while we waited
            for migration in migrations()[current:]:
                await conn.execute(migration.sql)
                await conn.execute(
                    f"INSERT INTO {SCHEMA}.schema_version (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
                applied.append(migration.version)
    except asyncpg.InsufficientPrivilegeError as exc:
        raise MigrationRefused(
            f"the server's sync schema is version {await server_version(conn)}, this daemon needs"
            f" {latest()}, and role {role!r} may not migrate it ({exc}): ask the team admin to"
            " run `deputydev sync migrate` (docs/SYNC.md); sync is paused, local data is kept",
            role=role,
        ) from exc
    if applied:
        log.info("migrated the sync schema to version %d", applied[-1])
    return applied


async def vector_column(conn: asyncpg.Connection) -> str | None:
    """What the team index's vector columns are on this server: ``"vector"`` (pgvector),
    ``"bytea"`` (no pgvector when the schema was made: full-text team search only), or
    None before schema version 2."""
    value = await conn.fetchval(
        "SELECT t.typname::text FROM pg_catalog.pg_attribute a"
        " JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
        " JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = $1 AND c.relname = 'code_chunks' AND a.attname = 'embedding'"
        " AND NOT a.attisdropped",
        SCHEMA,
    )
    return None if value is None else str(value)


async def pgvector_available(conn: asyncpg.Connection) -> bool:
    """Whether this server could have pgvector (its package is installed)."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'vector')"
        )
    )


async def convert_vectors(conn: asyncpg.Connection) -> int | None:
    """Once pgvector is on a server whose team index was made without it, turn the bytea
    vector columns into pgvector's and index the published vectors (``deputydev sync
    migrate``, as the admin who owns the tables). The rows converted, or None when there
    was nothing to do (no team index, already pgvector, or pgvector still missing)."""
    from daemon.sync.vectors import prepare

    if await vector_column(conn) != "bytea" or not await pgvector_available(conn):
        return None
    converted = 0
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
        if await vector_column(conn) != "bytea":  # another admin was first
            return None
        await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        where = await conn.fetchval(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n"
            " ON n.oid = e.extnamespace WHERE e.extname = 'vector'"
        )
        vtype = f'"{where}".vector'
        await conn.reload_schema_state()
        for table in ("embedding_cache", "code_chunks"):
            await conn.execute(f"ALTER TABLE {SCHEMA}.{table} ADD COLUMN embedding_v {vtype}")
        await prepare_codec(conn, where)
        # Keyset pages (an open cursor would keep the tables from being altered below).
        last: tuple[str, str] = ("", "")
        while rows := await conn.fetch(
            f"SELECT embedder, content_hash, embedding FROM {SCHEMA}.embedding_cache"
            " WHERE (embedder, content_hash) > ($1, $2) ORDER BY embedder, content_hash"
            " LIMIT 2000",
            *last,
        ):
            await conn.execute(
                f"UPDATE {SCHEMA}.embedding_cache t SET embedding_v = u.v FROM unnest($1::text[],"
                f" $2::text[], $3::{vtype}[]) AS u(e, h, v)"
                " WHERE t.embedder = u.e AND t.content_hash = u.h",
                [r["embedder"] for r in rows],
                [r["content_hash"] for r in rows],
                [bytes(r["embedding"]) for r in rows],
            )
            last = (rows[-1]["embedder"], rows[-1]["content_hash"])
            converted += len(rows)
        after = 0
        while rows := await conn.fetch(
            f"SELECT id, embedding FROM {SCHEMA}.code_chunks WHERE id > $1"
            " AND embedding IS NOT NULL ORDER BY id LIMIT 2000",
            after,
        ):
            await conn.execute(
                f"UPDATE {SCHEMA}.code_chunks t SET embedding_v = u.v"
                f" FROM unnest($1::bigint[], $2::{vtype}[]) AS u(id, v) WHERE t.id = u.id",
                [r["id"] for r in rows],
                [bytes(r["embedding"]) for r in rows],
            )
            after = rows[-1]["id"]
            converted += len(rows)
        for table in ("embedding_cache", "code_chunks"):
            await conn.execute(f"ALTER TABLE {SCHEMA}.{table} DROP COLUMN embedding")
            await conn.execute(
                f"ALTER TABLE {SCHEMA}.{table} RENAME COLUMN embedding_v TO embedding"
            )
        await conn.execute(
            f"ALTER TABLE {SCHEMA}.embedding_cache ALTER COLUMN embedding SET NOT NULL"
        )
        for embedder, dims in await conn.fetch(
            f"SELECT DISTINCT embedder, dims FROM {SCHEMA}.code_repos"
            " WHERE embedder IS NOT NULL AND dims IS NOT NULL"
        ):
            await conn.fetchval(f"SELECT {SCHEMA}.ensure_code_index($1, $2)", embedder, dims)
    await prepare(conn)
    log.info("converted %d vectors to pgvector", converted)
    return converted


async def prepare_codec(conn: asyncpg.Connection, where: str) -> None:
    from daemon.sync.vectors import decode_vector, encode_vector

    await conn.set_type_codec(
        "vector", schema=where, encoder=encode_vector, decoder=decode_vector, format="binary"
    )
