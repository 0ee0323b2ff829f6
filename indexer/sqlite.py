"""Which SQLite the index runs on, and whether it can do vector search.

The index needs FTS5 everywhere and, for semantic search, the sqlite-vec extension, which
only loads into a SQLite module built with ``enable_load_extension``.  Many Pythons
(pyenv, python.org macOS builds, this machine's 3.11) ship a ``sqlite3`` without it, so
the module is chosen once per process, in this order:

1. the stdlib ``sqlite3``, when it can load extensions (Debian's and Homebrew's can);
2. ``sqlean`` (sqlean.py: SQLite 3.50 with FTS5, a dependency of ours);
3. ``pysqlite3`` (pysqlite3-binary), when installed;
4. the stdlib ``sqlite3`` without vectors: lexical search still works.

All three are the same DB-API module built differently: a cold index of the stdlib corpus
took 5.1-7.9 s on sqlean and 5.4-5.8 s on the stdlib module (one process, a shared 2-core
machine: the same within noise), so the order only prefers fewer moving parts.
:class:`Driver` says which one was taken and, when vectors are off, why: ``doctor`` and
``deputydev/index/status`` show that reason.  Setting ``index.vectors = false`` (or
``DEPUTYDEV_INDEX__VECTORS=false``) skips the extension on purpose.
"""

from __future__ import annotations

import importlib
import logging
import sqlite3
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["Driver", "connect", "driver"]

log = logging.getLogger(__name__)

_CANDIDATES = ("sqlite3", "sqlean", "pysqlite3.dbapi2")


@dataclass(frozen=True, slots=True)
class Driver:
    """A DB-API sqlite module, and whether sqlite-vec loads into it (if not, why)."""

    name: str
    module: ModuleType
    sqlite_version: str
    vectors: bool
    vectors_reason: str
    vec_version: str | None = None


def _load_vec(conn: Any) -> str:
    import sqlite_vec

    conn.enable_load_extension(True)
    try:
        sqlite_vec.load(conn)
    finally:
        conn.enable_load_extension(False)
    version: str = conn.execute("select vec_version()").fetchone()[0]
    return version


def _has_fts5(conn: Any) -> bool:
    try:
        conn.execute("create virtual table temp.probe using fts5(x)")
    except Exception:
        return False
    return True


@cache
def driver(vectors: bool = True) -> Driver:
    """The module the index uses in this process (probed once per ``vectors`` value).

    Without vectors it is still the module vectors would use: one database is opened
    with either setting, and a full-text table written by SQLite 3.43 or later
    (contentless, ``migrations.m004``) cannot be read by an older one, such as this
    machine's stdlib ``sqlite3`` (3.40) beside sqlean (3.50)."""
    if not vectors:
        same = driver(True)
        off = "turned off by index.vectors = false"
        return Driver(same.name, same.module, same.sqlite_version, False, off)
    reasons: list[str] = []
    fallback: Driver | None = None
    for name in _CANDIDATES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            if name != "pysqlite3.dbapi2":
                reasons.append(f"{name}: not installed")
            continue
        conn = module.connect(":memory:")
        try:
            if not _has_fts5(conn):
                reasons.append(f"{name}: no FTS5")
                continue
            version = str(module.sqlite_version)
            if fallback is None:
                fallback = Driver(name, module, version, False, "")
            if not hasattr(conn, "enable_load_extension"):
                reasons.append(f"{name}: built without extension loading")
                continue
            try:
                vec = _load_vec(conn)
            except Exception as exc:
                reasons.append(f"{name}: sqlite-vec does not load ({exc})")
                continue
            return Driver(name, module, version, True, f"sqlite-vec {vec} via {name}", vec)
        finally:
            conn.close()
    if fallback is None:
        raise RuntimeError("no SQLite module with FTS5: " + "; ".join(reasons))
    reason = "no SQLite module here can load sqlite-vec: " + "; ".join(reasons)
    log.warning("vector search off: %s", reason)
    return Driver(fallback.name, fallback.module, fallback.sqlite_version, False, reason)


def connect(path: Path | str, drv: Driver) -> sqlite3.Connection:
    """A connection in WAL mode with sqlite-vec loaded when ``drv.vectors``.

    ``check_same_thread`` is off: the index hands each connection to one worker thread at
    a time, under its own lock.
    """
    conn: sqlite3.Connection = drv.module.connect(
        str(path), check_same_thread=False, isolation_level=None, timeout=30
    )
    if drv.vectors:
        _load_vec(conn)
    conn.execute("pragma journal_mode = wal")
    conn.execute("pragma synchronous = normal")
    conn.execute("pragma foreign_keys = on")
    conn.execute("pragma temp_store = memory")
    return conn
