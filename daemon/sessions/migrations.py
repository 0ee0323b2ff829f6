"""Schema of the local sessions database, as an ordered list of named migrations.

Each migration runs once, inside the transaction that records its name in ``_migrations``
(the pattern of simonw/llm's ``migrations.py``): a database written by an older daemon is
brought forward step by step, and a blank file gets every step. Append new steps; never edit
or reorder a step that has shipped, because databases in the field already recorded it.
"""

from __future__ import annotations

import sqlite3

from sqlmigrate import Migrations

MIGRATIONS = Migrations()
migration = MIGRATIONS.step
migrate = MIGRATIONS.apply


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            workspace TEXT NOT NULL,
            title TEXT NOT NULL,
            model TEXT,
            pinned INTEGER NOT NULL DEFAULT 0,
            archived INTEGER NOT NULL DEFAULT 0,
            visibility TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            version INTEGER NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX sessions_order ON sessions (pinned DESC, updated_at DESC)")
    db.execute(
        """
        CREATE TABLE turns (
            id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            query TEXT NOT NULL,
            focus_items TEXT NOT NULL,
            agent TEXT,
            model TEXT,
            status TEXT NOT NULL,
            usage TEXT NOT NULL,
            cost_usd REAL,
            timings TEXT NOT NULL,
            error TEXT,
            summary TEXT,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            version INTEGER NOT NULL,
            UNIQUE (session_id, seq)
        )
        """
    )
    db.execute("CREATE INDEX turns_status ON turns (status)")
    db.execute(
        """
        CREATE TABLE messages (
            id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            turn_id TEXT NOT NULL REFERENCES turns (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            role TEXT NOT NULL,
            content TEXT NOT NULL,
            created_at TEXT NOT NULL,
            version INTEGER NOT NULL,
            UNIQUE (turn_id, seq)
        )
        """
    )
    db.execute("CREATE INDEX messages_session ON messages (session_id)")
    db.execute(
        """
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            entity TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            op TEXT NOT NULL,
            version INTEGER NOT NULL,
            payload TEXT NOT NULL,
            created_at REAL NOT NULL
        )
        """
    )
