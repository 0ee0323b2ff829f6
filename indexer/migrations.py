"""Schema of a workspace index database, as an ordered list of named migrations.

Each step runs once, in the transaction that records its name in ``_migrations`` (as the
sessions database does): a database written by an older daemon is brought forward step by
step.  Append new steps; never edit or reorder one that has shipped.

The vector table is not here: its width is the embedder's, known only at run time, so
``store.py`` creates (and, when the embedder changes, recreates) ``chunk_vectors``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from indexer.ranking import COLUMN_WEIGHTS, FTS_TOKENIZE

Migration = Callable[[sqlite3.Connection], None]

MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute(
        """
        CREATE TABLE files (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            language TEXT,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            hash TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            file_id INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,
            start_line INTEGER NOT NULL,
            end_line INTEGER NOT NULL,
            kind TEXT NOT NULL,
            symbols TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            text TEXT NOT NULL,
            has_vector INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute("CREATE INDEX chunks_file ON chunks (file_id)")
    db.execute("CREATE INDEX chunks_pending ON chunks (has_vector) WHERE has_vector = 0")
    db.execute(
        """
        CREATE TABLE symbols (
            id INTEGER PRIMARY KEY,
            file_id INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            container TEXT,
            start_line INTEGER NOT NULL,
            end_line INTEGER NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX symbols_file ON symbols (file_id)")
    # Columns and tokenizer exactly as ranking.py measured them; rowid = chunks.id.
    columns = ", ".join(COLUMN_WEIGHTS)
    db.execute(f"CREATE VIRTUAL TABLE chunks_fts USING fts5({columns}, tokenize='{FTS_TOKENIZE}')")
    # Vectors by (content hash, embedder key): an unchanged chunk is never embedded twice,
    # across renames, branch switches and rebuilds.
    db.execute(
        """
        CREATE TABLE embeddings (
            content_hash TEXT NOT NULL,
            embedder TEXT NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (content_hash, embedder)
        ) WITHOUT ROWID
        """
    )


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply the steps this database lacks; returns their names."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL)")
    done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    applied = []
    for name, fn in MIGRATIONS:
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
