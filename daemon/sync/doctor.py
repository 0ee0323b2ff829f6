"""Sync's checks for ``deputydev doctor``: configured, reachable, schema in step."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from daemon.config import LoadedSettings
from daemon.doctor import Check

if TYPE_CHECKING:
    from daemon.sync.probe import Probe


def check(loaded: LoadedSettings) -> list[Check]:
    from daemon.sync.probe import probe

    settings = loaded.settings.sync
    if not settings.configured:
        return [Check("team sync", "ok", "off (set [sync] url or DEPUTYDEV_SYNC_URL to turn on)")]
    where = settings.display_url() or ""
    try:
        import asyncpg  # noqa: F401  (a dependency; an install that lost it cannot sync)
    except ImportError as exc:
        return [
            Check(
                "team sync",
                "fail",
                f"the PostgreSQL driver is missing ({exc})",
                "pip install asyncpg, or reinstall DeputyDev (asyncpg is one of its dependencies)",
            )
        ]
    found = asyncio.run(probe(settings))
    if not found.connected:
        return [
            Check(
                "team sync",
                "fail",
                found.error or "cannot connect",
                "check [sync] url (host, port, database, role) and that the server runs; see"
                " docs/SYNC.md",
            )
        ]
    checks = [Check("team sync", "ok", f"connected to {where} as {found.role}")]
    if found.schema_version is not None and found.known_version is not None:
        if found.schema_version > found.known_version:
            checks.append(
                Check(
                    "sync schema",
                    "fail",
                    f"server schema {found.schema_version} is newer than this daemon knows"
                    f" ({found.known_version}): sync is paused",
                    "upgrade DeputyDev",
                )
            )
        elif found.schema_version < found.known_version:
            checks.append(
                Check(
                    "sync schema",
                    "warn",
                    f"server schema {found.schema_version}, this daemon needs"
                    f" {found.known_version}",
                    "a role allowed to migrate runs `deputydev sync migrate` (docs/SYNC.md)",
                )
            )
        else:
            checks.append(Check("sync schema", "ok", f"version {found.schema_version}"))
    checks += team_index_checks(found)
    return checks


def team_index_checks(found: Probe) -> list[Check]:
    """Whether the server keeps vectors in pgvector (hybrid team search) or as bytea."""
    from daemon.sync.vectors import PGVECTOR_FIX

    if found.vector_store is None:
        return []
    published = f"{found.repositories or 0} published repositories readable"
    if found.vector_store == "vector":
        return [Check("team index", "ok", f"pgvector: hybrid team search; {published}")]
    detail = (
        "the server has no pgvector: the team's embedding cache keeps vectors as bytea and"
        f" team search is full-text only; {published}"
    )
    fix = PGVECTOR_FIX.split(". ", 1)[-1]
    if found.pgvector_installable:
        detail = (
            "pgvector is installed on the server but the team index still stores bytea:"
            f" team search is full-text only; {published}"
        )
        fix = "the team admin runs `deputydev sync migrate` (it converts the vectors)"
    return [Check("team index", "warn", detail, fix)]
