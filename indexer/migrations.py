"""Schema of a workspace index database, as an ordered list of named migrations.

Each step runs once, in the transaction that records its name in ``_migrations`` (as the
sessions database does): a database written by an older daemon is brought forward step by
step.  Append new steps; never edit or reorder one that has shipped.

The vector table is not here: its width is the embedder's, known only at run time, so
``store.py`` creates (and, when the embedder changes, recreates) ``chunk_vectors``.
"""

from __future__ import annotations

import sqlite3

from indexer.ranking import FTS_TOKENIZE
from sqlmigrate import Migrations

MIGRATIONS = Migrations()
migration = MIGRATIONS.step
migrate = MIGRATIONS.apply


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
    # Columns and tokenizer as ranking.py measured them then; rowid = chunks.id.
    db.execute(
        "CREATE VIRTUAL TABLE chunks_fts USING fts5(symbols, path, text, terms, context,"
        f" tokenize='{FTS_TOKENIZE}')"
    )
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


@migration
def m002_fts_doc_and_callers(db: sqlite3.Connection) -> None:
    """The full-text table gains ``doc`` (a chunk's comments and docstrings) and
    ``callers`` (what its callers in the file say).  Its rows can only be made from the
    files, so every file is marked changed: the next update re-reads them all (vectors
    come back from the cache by content hash, unembedded)."""
    db.execute("DROP TABLE chunks_fts")
    db.execute(
        "CREATE VIRTUAL TABLE chunks_fts USING fts5(symbols, path, text, terms, context, doc,"
        f" callers, tokenize='{FTS_TOKENIZE}')"
    )
    db.execute("UPDATE files SET size = -1, hash = ''")


@migration
def m003_vector_outbox(db: sqlite3.Connection) -> None:
    """Vectors computed here that a team cache lacks: written with the vector, deleted
    once the team's server has committed it (``SharedVectors``)."""
    db.execute(
        """
        CREATE TABLE vector_outbox (
            embedder TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            PRIMARY KEY (embedder, content_hash)
        ) WITHOUT ROWID
        """
    )


@migration
def m004_fts_contentless(db: sqlite3.Connection) -> None:
    """The full-text table keeps its index and column sizes but no copy of the text: a
    chunk's text is stored once, in ``chunks`` (zlib-compressed, ``store.pack_text``).
    The stored copy of seven columns (text, its identifier parts, the file's summary,
    prose and callers) was two thirds of a large database: 641 of 936 MB.  Deleting a
    row needs ``contentless_delete`` (SQLite 3.43); an older SQLite keeps the content.
    Every file is marked changed, so the next update writes the new rows."""
    db.execute("DROP TABLE chunks_fts")
    version = tuple(int(p) for p in db.execute("SELECT sqlite_version()").fetchone()[0].split("."))
    contentless = ", content='', contentless_delete=1" if version >= (3, 43) else ""
    db.execute(
        "CREATE VIRTUAL TABLE chunks_fts USING fts5(symbols, path, text, terms, context, doc,"
        f" callers, tokenize='{FTS_TOKENIZE}'{contentless})"
    )
    db.execute("UPDATE files SET size = -1, hash = ''")


@migration
def m005_symbols_by_name(db: sqlite3.Connection) -> None:
    """A symbol search reads the definitions of a few names (``symbols.NameTable``)."""
    db.execute("CREATE INDEX symbols_name ON symbols (name)")


# The columns of ``chunks_fts`` as the last migration made them, in order.
FTS_COLUMNS = ("symbols", "path", "text", "terms", "context", "doc", "callers")
