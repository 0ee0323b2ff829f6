"""Named SQLite migrations applied in order, each once: the one runner of every local database.

A database's schema is a :class:`Migrations` list of plain functions (simonw/llm's
``migrations.py`` pattern). Each step runs in the ``BEGIN IMMEDIATE`` transaction that
records its name in ``_migrations``, so a step either happened and is recorded, or neither;
a database written by an older daemon is brought forward step by step, and a blank one gets
every step. Append new steps; never edit or reorder one that has shipped.

This package imports nothing of ours, so that ``indexer`` and ``daemon`` may both use it.

    MIGRATIONS = Migrations()

    @MIGRATIONS.step
    def m001_initial(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")

    applied = MIGRATIONS.apply(db)      # ["m001_initial"] the first time, [] after
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

__all__ = ["Migration", "Migrations"]

Migration = Callable[[sqlite3.Connection], None]


class Migrations(list[tuple[str, Migration]]):
    """The ordered steps of one database's schema, by name."""

    def step(self, fn: Migration) -> Migration:
        """Register ``fn`` as the next step (a decorator); its name is its identity."""
        if any(name == fn.__name__ for name, _ in self):
            raise ValueError(f"a migration named {fn.__name__} is already registered")
        self.append((fn.__name__, fn))
        return fn

    def apply(self, db: sqlite3.Connection) -> list[str]:
        """Apply the steps ``db`` has not recorded, in order; returns their names.

        ``db`` must be in autocommit mode (``isolation_level=None``): each step's transaction
        is opened and closed here.
        """
        db.execute(
            "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL)"
        )
        done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
        applied: list[str] = []
        for name, fn in self:
            if name in done:
                continue
            db.execute("BEGIN IMMEDIATE")
            try:
                fn(db)
                db.execute("INSERT INTO _migrations VALUES (?, ?)", (name, time.time()))
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            applied.append(name)
        return applied
