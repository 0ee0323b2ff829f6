"""One look at the team's database, for ``deputydev sync status`` and ``deputydev doctor``:
can we connect, as whom, at which schema version, and how many rows can we see."""

from __future__ import annotations

from dataclasses import dataclass

from daemon.sync.settings import SyncSettings


@dataclass(frozen=True, slots=True)
class Probe:
    connected: bool
    error: str | None = None
    role: str | None = None
    schema_version: int | None = None
    known_version: int | None = None
    own_sessions: int | None = None
    team_sessions: int | None = None
    # The team index (schema 2): "vector" (pgvector) or "bytea", whether the server could
    # have pgvector, and the published repositories this role may read.
    vector_store: str | None = None
    pgvector_installable: bool | None = None
    repositories: int | None = None


async def probe(settings: SyncSettings) -> Probe:
    from daemon.errors import SyncError
    from daemon.sync import schema
    from daemon.sync.client import connect

    try:
        conn = await connect(settings)
    except SyncError as exc:
        return Probe(False, str(exc))
    try:
        role = await conn.fetchval("SELECT current_user")
        version = await schema.server_version(conn)
        own = team = None
        if version > 0:
            own = await conn.fetchval(
                f"SELECT count(*) FROM {schema.SCHEMA}.sessions WHERE owner = current_user"
            )
            team = await conn.fetchval(
                f"SELECT count(*) FROM {schema.SCHEMA}.sessions WHERE owner <> current_user"
            )
        store = repos = None
        if version >= 2:
            store = await schema.vector_column(conn)
            repos = await conn.fetchval(f"SELECT count(*) FROM {schema.SCHEMA}.code_repos")
        installable = await schema.pgvector_available(conn)
        return Probe(
            True, None, role, version, schema.latest(), own, team, store, installable, repos
        )
    finally:
        await conn.close()
