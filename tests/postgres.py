"""A real PostgreSQL for sync tests: throwaway databases and roles, and a TCP proxy to cut.

Tests use the server on 127.0.0.1:5432 (trust authentication; override with
``DEPUTYDEV_TEST_PG_ADMIN``). Each test gets its own database and roles under unique names,
dropped afterwards. When no server answers, :func:`require_server` skips with a message,
and fails under CI (``CI`` set, as ``.ci/run`` does), where a skipped PostgreSQL test would
hide a broken setup. Tests that need the server carry the ``postgres`` marker.
A cluster on another server (the pgvector one of tests/pgvector.py) takes its admin URL.

    async with TempCluster() as pg:                 # a database dd_<hex>, migrated or not
        alice = await pg.role("alice", teams=[team])
        url = pg.url(alice)                         # postgresql://dd_..._alice@.../dd_<hex>
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    import asyncpg

# Read once, at import: CI has PostgreSQL, so there a test that cannot reach it fails.
REQUIRED = bool(os.environ.get("CI"))
ADMIN_URL = os.environ.get("DEPUTYDEV_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
HOST, PORT = "127.0.0.1", 5432
_available: bool | None = None
_reason = ""


async def _probe(admin_url: str = ADMIN_URL) -> tuple[bool, str]:
    import asyncpg

    try:
        conn = await asyncpg.connect(admin_url, timeout=3)
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"
    await conn.close()
    return True, ""


async def require_server() -> None:
    """Skip the calling test when no PostgreSQL answers at ADMIN_URL."""
    global _available, _reason
    if _available is None:
        _available, _reason = await _probe()
    if not _available:
        skip_or_fail(f"sync tests need PostgreSQL at {ADMIN_URL}, unreachable: {_reason}")


def skip_or_fail(message: str) -> None:
    """Skip a test whose server is missing; fail it under CI, where it must be there."""
    if REQUIRED:
        pytest.fail(message)
    pytest.skip(message)


class TempCluster:
    """A fresh database plus roles, all dropped on exit."""

    def __init__(self, admin_url: str = ADMIN_URL) -> None:
        self.tag = "dd_" + uuid.uuid4().hex[:10]
        self.database = self.tag
        self.roles: list[str] = []
        self.admin_url = admin_url
        parts = urlsplit(admin_url)
        self.host = parts.hostname or HOST
        self.port = parts.port or PORT

    async def admin(self, database: str | None = None) -> asyncpg.Connection:
        import asyncpg

        base = self.admin_url
        url = base if database is None else base.rsplit("/", 1)[0] + "/" + database
        return await asyncpg.connect(url)

    async def __aenter__(self) -> TempCluster:
        if self.admin_url == ADMIN_URL:
            await require_server()
        conn = await self.admin()
        try:
            await conn.execute(f'CREATE DATABASE "{self.database}"')
            # Nobody connects but the roles this test grants CONNECT to.
            await conn.execute(f'REVOKE CONNECT ON DATABASE "{self.database}" FROM PUBLIC')
        finally:
            await conn.close()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = await self.admin()
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            for role in reversed(self.roles):
                await conn.execute(f'DROP ROLE IF EXISTS "{role}"')
        finally:
            await conn.close()

    async def role(
        self, name: str, *, login: bool = True, teams: Sequence[str] = (), create: bool = False
    ) -> str:
        full = f"{self.tag}_{name}"
        conn = await self.admin()
        try:
            await conn.execute(f'CREATE ROLE "{full}" {"LOGIN" if login else "NOLOGIN"}')
            self.roles.append(full)
            for team in teams:
                await conn.execute(f'GRANT "{team}" TO "{full}"')
            if login:
                await conn.execute(f'GRANT CONNECT ON DATABASE "{self.database}" TO "{full}"')
            if create:
                await conn.execute(f'GRANT CREATE ON DATABASE "{self.database}" TO "{full}"')
        finally:
            await conn.close()
        return full

    def url(self, role: str | None = None, *, port: int | None = None) -> str:
        user = role or "postgres"
        return f"postgresql://{user}@{self.host}:{port or self.port}/{self.database}"

    async def migrate(self) -> None:
        """Apply the sync schema as the admin would (docs/SYNC.md)."""
        from daemon.sync.schema import migrate

        conn = await self.admin(self.database)
        try:
            await migrate(conn)
        finally:
            await conn.close()

    async def fetch(self, sql: str, *args: object) -> list[dict[str, object]]:
        """Rows as the admin sees them (a superuser: row-level security does not apply)."""
        conn = await self.admin(self.database)
        try:
            rows = await conn.fetch(sql, *args)
        finally:
            await conn.close()
        return [dict(r) for r in rows]


class TcpProxy:
    """Forwards 127.0.0.1:<port> to the PostgreSQL server; ``close()`` cuts every connection
    and stops listening (the server looks down), ``open()`` listens on the same port again.

    Every socket it holds is closed by ``close()``, or when its task is cancelled with the
    test's loop: one left to the garbage collector fails the run (filterwarnings=error)."""

    def __init__(self, target_port: int = PORT) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._closed = False

    async def open(self) -> None:
        self._closed = False
        self._server = await asyncio.start_server(self._handle, HOST, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self._closed = True
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await asyncio.sleep(0)  # connections just accepted register their sockets
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(0)  # the aborted transports close their sockets

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        current = asyncio.current_task()
        if current is not None:
            self._track(current)
        try:
            up_reader, up_writer = await asyncio.open_connection(HOST, self.target_port)
        except OSError:  # the server is down: so is the proxy
            writer.transport.abort()
            return
        except BaseException:  # cancelled with the loop
            writer.transport.abort()
            raise
        self._writers.add(up_writer)
        if self._closed:  # cut while this connection was being made
            writer.transport.abort()
            up_writer.transport.abort()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                with contextlib.suppress(OSError):
                    while data := await src.read(65536):
                        dst.write(data)
                        await dst.drain()
            finally:
                dst.transport.abort()

        self._track(asyncio.create_task(pipe(reader, up_writer)))
        self._track(asyncio.create_task(pipe(up_reader, writer)))


@contextlib.asynccontextmanager
async def temp_cluster() -> AsyncIterator[TempCluster]:
    async with TempCluster() as pg:
        yield pg
