"""What can go wrong talking to the team's PostgreSQL, as messages a developer can act on.

    SyncError (daemon.errors)    SYNC_ERROR
    ├── ServerUnavailable        cannot connect (refused, unknown host, timeout, auth, no db)
    ├── BadServerUrl             the URL cannot be used at all: retrying will not help
    ├── SchemaTooNew             the server's schema is newer than this daemon knows: paused
    └── MigrationRefused         the schema is older and this role may not migrate it: paused

:func:`describe` turns a driver or socket exception into one line naming host, role or
database, never the password.
"""

from __future__ import annotations

import socket

from daemon.errors import SyncError


class ServerUnavailable(SyncError):
    pass


class BadServerUrl(SyncError):
    pass


class SchemaTooNew(SyncError):
    pass


class MigrationRefused(SyncError):
    pass


def describe(exc: BaseException, *, where: str, role: str | None, database: str | None) -> str:
    """One line for status and logs: what failed and against what."""
    import asyncpg

    if isinstance(exc, asyncpg.InvalidPasswordError):
        return f"authentication failed for role {role!r} at {where}: check the password"
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        return f"the server at {where} refused role {role!r}: {exc}"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return f"database {database!r} does not exist at {where}"
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return f"role {role!r} lacks a privilege at {where}: {exc}"
    if isinstance(exc, ConnectionRefusedError):
        return f"cannot connect to {where}: connection refused (is the server running?)"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host of {where}: {exc.strerror or exc}"
    if isinstance(exc, TimeoutError):
        return f"no answer from {where} in time (timed out)"
    if isinstance(exc, asyncpg.PostgresError):
        return f"server error at {where}: {type(exc).__name__}: {exc}"
    if isinstance(exc, OSError | ConnectionError):
        return f"connection to {where} failed: {exc.strerror or exc}"
    return f"sync with {where} failed: {type(exc).__name__}: {exc}"
