"""What completions cost, per local day and model, apart from chat: ``completions.db``.

Every daemon on the machine adds to the same rows (an upsert adds, never overwrites), so a
daily budget holds across editors and restarts. Counts are kept in memory and written when
a model call ends and at shutdown; a cache hit alone costs no write.

    ledger = Ledger(paths.data_dir() / "completions.db")
    ledger.count("2026-11-30", "codestral", requests=1, cache_hits=1)
    await ledger.flush()
    (await ledger.today())["costUsd"]

The one table, ``usage``: ``day`` (YYYY-MM-DD, local), ``model``, and the counters of
:data:`COUNTERS`. Migrations are named steps recorded in ``_migrations``, as in the other
stores.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

COUNTERS = (
    "requests",  # inline completion requests answered while a model is configured
    "suggestions",  # answers with a suggestion in them
    "cache_hits",  # answered from the typed-through cache, no model call
    "model_calls",
    "cancelled",  # model calls superseded or cancelled before their end
    "errors",
    "input_tokens",
    "output_tokens",
    "cost_usd",
)


def _m001_usage(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE usage (
            day TEXT NOT NULL,
            model TEXT NOT NULL,
            requests INTEGER NOT NULL DEFAULT 0,
            suggestions INTEGER NOT NULL DEFAULT 0,
            cache_hits INTEGER NOT NULL DEFAULT 0,
            model_calls INTEGER NOT NULL DEFAULT 0,
            cancelled INTEGER NOT NULL DEFAULT 0,
            errors INTEGER NOT NULL DEFAULT 0,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (day, model)
        )
        """
    )


MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("m001_usage", _m001_usage),
]


def today() -> str:
    return datetime.date.today().isoformat()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._pending: dict[tuple[str, str], dict[str, float]] = defaultdict(
            lambda: dict.fromkeys(COUNTERS, 0)
        )
        self._lock = threading.Lock()  # the connection is used from worker threads
        self._conn: sqlite3.Connection | None = None
        self._spent: dict[str, float] = {}  # day -> dollars stored (all models, all daemons)

    # -- counting (in memory, on the event loop) --------------------------------------------

    def count(self, day: str, model: str, **counts: float) -> None:
        row = self._pending[(day, model)]
        for name, value in counts.items():
            row[name] += value

    def spent(self, day: str) -> float:
        """Dollars spent on ``day``: stored by every daemon, plus this one's unwritten."""
        pending = sum(row["cost_usd"] for (d, _), row in self._pending.items() if d == day)
        return self._spent.get(day, 0.0) + pending

    # -- storage (in a thread) --------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=5, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, at REAL)")
            done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
            for name, step in MIGRATIONS:
                if name in done:
                    continue
                with conn:
                    step(conn)
                    conn.execute("INSERT INTO _migrations VALUES (?, ?)", (name, time.time()))
            self._conn = conn
        return self._conn

    def _write(self, rows: dict[tuple[str, str], dict[str, float]]) -> dict[str, float]:
        with self._lock:
            conn = self._connect()
            names = ", ".join(COUNTERS)
            marks = ", ".join("?" for _ in COUNTERS)
            adds = ", ".join(f"{c} = {c} + excluded.{c}" for c in COUNTERS)
            with conn:
                for (day, model), row in rows.items():
                    conn.execute(
                        f"INSERT INTO usage (day, model, {names}) VALUES (?, ?, {marks})"
                        f" ON CONFLICT (day, model) DO UPDATE SET {adds}",
                        (day, model, *(row[c] for c in COUNTERS)),
                    )
            days = {day for day, _ in rows} | {today()}
            return {
                day: float(
                    conn.execute(
                        "SELECT COALESCE(SUM(cost_usd), 0) FROM usage WHERE day = ?", (day,)
                    ).fetchone()[0]
                )
                for day in days
            }

    def _read(self, day: str) -> dict[str, float]:
        with self._lock:
            conn = self._connect()
            sums = ", ".join(f"COALESCE(SUM({c}), 0)" for c in COUNTERS)
            row = conn.execute(f"SELECT {sums} FROM usage WHERE day = ?", (day,)).fetchone()
            return dict(zip(COUNTERS, row, strict=True))

    async def load(self) -> None:
        """Read what today has cost so far (for the budget)."""
        day = today()
        try:
            stored = await asyncio.to_thread(self._read, day)
        except sqlite3.Error as exc:
            log.warning("completion usage cannot be read from %s (%s)", self.path, exc)
            return
        self._spent[day] = stored["cost_usd"]

    async def flush(self) -> None:
        rows, self._pending = dict(self._pending), defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
        rows = {key: row for key, row in rows.items() if any(row.values())}
        if not rows:
            return
        # Counted as spent while they are being written: a request meanwhile sees them.
        for (day, _), row in rows.items():
            self._spent[day] = self._spent.get(day, 0.0) + row["cost_usd"]
        try:
            self._spent.update(await asyncio.to_thread(self._write, rows))
        except sqlite3.Error as exc:
            log.warning("completion usage cannot be written to %s (%s)", self.path, exc)
            for (day, model), row in rows.items():  # keep them for the next try
                self._spent[day] -= row["cost_usd"]
                pending = self._pending[(day, model)]
                for name, value in row.items():
                    pending[name] += value

    def _read_days(self, since: str) -> list[tuple[str, dict[str, float]]]:
        with self._lock:
            conn = self._connect()
            sums = ", ".join(f"COALESCE(SUM({c}), 0)" for c in COUNTERS)
            rows = conn.execute(
                f"SELECT day, {sums} FROM usage WHERE day >= ? GROUP BY day", (since,)
            ).fetchall()
            return [(row[0], dict(zip(COUNTERS, row[1:], strict=True))) for row in rows]

    async def days(self, count: int = 7) -> list[dict[str, Any]]:
        """The last ``count`` days that saw completions, newest first, each with its day
        (local date) and counters as :meth:`today` gives them."""
        since = (datetime.date.today() - datetime.timedelta(days=count - 1)).isoformat()
        try:
            stored = dict(await asyncio.to_thread(self._read_days, since))
        except sqlite3.Error:
            stored = {}
        for (day, _), row in self._pending.items():
            if day >= since and any(row.values()):
                totals = stored.setdefault(day, dict.fromkeys(COUNTERS, 0))
                for name in COUNTERS:
                    totals[name] += row[name]
        return [
            {"day": day, **{_camel(name): value for name, value in stored[day].items()}}
            for day in sorted(stored, reverse=True)
        ]

    async def today(self) -> dict[str, float]:
        """Today's counters over every model and daemon, camelCase, this daemon's unwritten
        counts included."""
        day = today()
        try:
            stored = await asyncio.to_thread(self._read, day)
        except sqlite3.Error:
            stored = dict.fromkeys(COUNTERS, 0)
        for (d, _), row in self._pending.items():
            if d == day:
                for name in COUNTERS:
                    stored[name] += row[name]
        return {_camel(name): value for name, value in stored.items()}

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
