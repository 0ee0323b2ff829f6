"""A git repository with every kind of change a review reads, made in a temporary folder.

``main`` has ``app.py``, ``util.py`` and a committed ``.env``; the branch ``feature`` adds a
commit that changes ``app.py`` (a query built with an f-string at line 8); on top of it
``staged.py`` is new and staged, ``util.py`` has an unstaged change (line 3), ``.env`` has an
unstaged secret, ``image.bin`` is an untracked binary and ``notes.py`` an untracked file.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

SECRET = "sk-live-do-not-send-0123456789"

APP_MAIN = """import sqlite3


def connect(path):
    return sqlite3.connect(path)


def find_user(db, name):
    return db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
"""

APP_FEATURE = """import sqlite3


def connect(path):
    return sqlite3.connect(path)


def find_user(db, name):
    return db.execute(f"SELECT * FROM users WHERE name = '{name}'").fetchone()


def count_users(db):
    return len(db.execute("SELECT * FROM users").fetchall())
"""

UTIL_MAIN = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
UTIL_NOW = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return b - a\n"
STAGED = "def shout(text):\n    return text.upper() + '!'\n"


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def make_repo(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    (root / "app.py").write_text(APP_MAIN)
    (root / "util.py").write_text(UTIL_MAIN)
    (root / ".env").write_text("API_KEY=placeholder\n")
    git(root, "add", ".")
    git(root, "commit", "-qm", "first")
    git(root, "checkout", "-qb", "feature")
    (root / "app.py").write_text(APP_FEATURE)
    git(root, "commit", "-qam", "feature: find users by name")
    (root / "staged.py").write_text(STAGED)
    git(root, "add", "staged.py")
    (root / "util.py").write_text(UTIL_NOW)
    (root / ".env").write_text(f"API_KEY={SECRET}\n")
    (root / "image.bin").write_bytes(b"\x89PNG\0\0binary\0data")
    (root / "notes.py").write_text("TODO = 1\n")
    return root
