"""Sync's checks for ``deputydev doctor``: configured, reachable, schema in step."""

from __future__ import annotations

import asyncio

from daemon.config import LoadedSettings
from daemon.doctor import Check


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
    return checks
