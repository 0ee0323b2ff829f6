"""The one migration runner (sqlmigrate), against a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sqlmigrate import Migrations


def schema(fail_second: bool = False) -> Migrations:
    steps = Migrations()

    @steps.step
    def m001_notes(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")

    @steps.step
    def m002_tags(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE tags (name TEXT PRIMARY KEY)")
        if fail_second:
            raise RuntimeError("disk on fire")

    return steps


def connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def tables(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_a_blank_database_gets_every_step_once_in_order(tmp_path: Path) -> None:
    db = connect(tmp_path / "a.db")
    try:
        assert schema().apply(db) == ["m001_notes", "m002_tags"]
        assert schema().apply(db) == []
        recorded = [row[0] for row in db.execute("SELECT name FROM _migrations ORDER BY rowid")]
        assert recorded == ["m001_notes", "m002_tags"]
        assert {"notes", "tags"} <= tables(db)
    finally:
        db.close()


def test_a_failing_step_leaves_nothing_behind_and_runs_again_next_time(tmp_path: Path) -> None:
    db = connect(tmp_path / "b.db")
    try:
        with pytest.raises(RuntimeError, match="disk on fire"):
            schema(fail_second=True).apply(db)
        assert "tags" not in tables(db)  # rolled back with its record
        assert [row[0] for row in db.execute("SELECT name FROM _migrations")] == ["m001_notes"]
        assert schema().apply(db) == ["m002_tags"]
    finally:
        db.close()


def test_an_older_database_is_brought_forward_by_the_new_steps_only(tmp_path: Path) -> None:
    db = connect(tmp_path / "c.db")
    try:
        old = Migrations()
        old.step(schema()[0][1])
        assert old.apply(db) == ["m001_notes"]
        db.execute("INSERT INTO notes (text) VALUES ('kept')")
        assert schema().apply(db) == ["m002_tags"]
        assert db.execute("SELECT text FROM notes").fetchall() == [("kept",)]
    finally:
        db.close()


def test_two_steps_of_one_name_are_refused() -> None:
    steps = schema()
    with pytest.raises(ValueError, match="m001_notes"):
        steps.step(steps[0][1])
