"""Connecting to the team's PostgreSQL (asyncpg), with errors that say what to fix.

asyncpg was chosen over psycopg 3 by measurement on this project's machines (bench numbers
in docs/SYNC.md): it imports in about half the time (89 ms against 154 ms) and upserts a
batch about 1.8 times faster (about 49,000 against 27,000 rows/s); both connect in a few ms.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from daemon.sync.errors import BadServerUrl, ServerUnavailable, describe

if TYPE_CHECKING:
    import asyncpg

    from daemon.sync.settings import SyncSettings


@dataclass(frozen=True, slots=True)
class Target:
    """Where a URL points, for messages: never holds the password."""

    where: str  # host:port/database
    role: str
    database: str


def target(settings: SyncSettings) -> Target:
    assert settings.url is not None
    parts = urlsplit(settings.url.get_secret_value())
    try:
        port = parts.port or 5432
    except ValueError:
        port = 5432
    host = parts.hostname or "localhost"
    role = parts.username or settings.user or getpass.getuser()
    database = parts.path.lstrip("/") or role
    return Target(f"{host}:{port}/{database}", role, database)


async def connect(settings: SyncSettings) -> asyncpg.Connection:
    import asyncpg

    if settings.url is None:
        raise BadServerUrl("sync is not configured: set [sync] url or DEPUTYDEV_SYNC_URL")
    url = settings.url.get_secret_value()
    where = settings.display_url() or "?"
    try:
        to = target(settings)
    except ValueError as exc:
        raise BadServerUrl(f"sync.url {where!r} is not a valid PostgreSQL URL: {exc}") from exc
    user = settings.user if not urlsplit(url).username else None
    try:
        conn: asyncpg.Connection = await asyncpg.connect(
            url,
            user=user,
            timeout=settings.connect_timeout_s,
            server_settings={"application_name": "deputydev-sync"},
        )
    except ValueError as exc:  # asyncpg.ClientConfigurationError is a ValueError too
        raise BadServerUrl(f"sync.url {where!r} cannot be used: {exc}") from exc
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        message = describe(exc, where=to.where, role=to.role, database=to.database)
        raise ServerUnavailable(message, server=to.where, role=to.role) from exc
    return conn
