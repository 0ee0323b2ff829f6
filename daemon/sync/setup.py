"""The SQL a team admin runs once per team (``deputydev sync setup-sql``); docs/SYNC.md
explains it. Roles are cluster-wide, so creating them is guarded; the schema itself comes
from ``deputydev sync migrate``, run by the admin against the team's database."""

from __future__ import annotations

from collections.abc import Sequence


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def setup_sql(*, database: str, team: str, members: Sequence[str]) -> str:
    lines = [
        "-- DeputyDev team sync: run as a superuser (or a role with CREATEROLE that owns the",
        f"-- database), e.g. psql -d {database} -f setup.sql; then, as the same admin:",
        f"--   deputydev sync migrate --url postgresql://ADMIN@HOST/{database}",
        "-- Each developer connects as their own role (password, certificate or peer auth:",
        "-- see pg_hba.conf); row-level security keeps their private sessions their own.",
        "",
        f"DO $$ BEGIN CREATE ROLE {_ident(team)} NOLOGIN;",
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$;",
    ]
    for member in members:
        lines += [
            f"DO $$ BEGIN CREATE ROLE {_ident(member)} LOGIN;",
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$;",
            f"GRANT {_ident(team)} TO {_ident(member)};",
        ]
    lines += [
        "",
        "-- pgvector, for the team index (shared embedding cache, team search). Install the",
        "-- extension's package for this server first (e.g. postgresql-16-pgvector); without it",
        "-- vectors are stored as bytea and team search is full-text only (a warning below).",
        "DO $$ BEGIN CREATE EXTENSION IF NOT EXISTS vector;",
        "EXCEPTION WHEN OTHERS THEN RAISE WARNING 'pgvector is not installed (%): install it,"
        " run CREATE EXTENSION vector, then deputydev sync migrate', SQLERRM; END $$;",
        "",
        "-- Only the team may connect; rows are then guarded by the schema's policies.",
        f"REVOKE CONNECT ON DATABASE {_ident(database)} FROM PUBLIC;",
        f"GRANT CONNECT ON DATABASE {_ident(database)} TO {_ident(team)};",
        "",
        "-- To set a developer's password (never put it in a shared file):",
        f"--   ALTER ROLE {_ident(members[0] if members else 'alice')} PASSWORD '...';",
        "-- To add a developer later: CREATE ROLE bob LOGIN; GRANT " + _ident(team) + " TO bob;",
    ]
    return "\n".join(lines)
