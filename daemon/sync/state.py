"""What sync is doing, shared by the pusher (which writes it) and status (which reads it).

Kept free of asyncpg so that ``deputydev/sync/status`` answers without loading the driver.
The pusher also saves it to ``sync-state.json`` in the data directory, so that
``deputydev sync status`` in a terminal can say when the daemon last succeeded or failed.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STATE_FILE = "sync-state.json"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class SyncState:
    configured: bool = False
    server: str | None = None  # the URL without its password
    role: str | None = None
    team: str | None = None
    connected: bool = False
    last_success: str | None = None
    last_error: str | None = None
    last_error_at: str | None = None
    paused_reason: str | None = None
    schema_version: int | None = None
    pushed_rows: int = 0
    # The team index: what the server stores vectors as ("pgvector", or "bytea" when it
    # lacks pgvector: full-text team search only), vectors sent to and taken from the
    # team's embedding cache, and the uploader's last error.
    vector_store: str | None = None
    vectors_uploaded: int = 0
    vectors_fetched: int = 0
    vectors_error: str | None = None
    # [sync] publish: per repository, what the last attempt did ("published 4ca6427 ...",
    # "not published: uncommitted changes", or the error).
    published: dict[str, str] = field(default_factory=dict)
    path: Path | None = field(default=None, repr=False, compare=False)
    _saved_at: float = field(default=0.0, repr=False, compare=False)

    def snapshot(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("path")
        out.pop("_saved_at")
        return out

    def succeeded(self, rows: int) -> None:
        # A burst of batches would otherwise rewrite the file on every one.
        force = not self.connected or self.paused_reason is not None
        self.connected = True
        self.pushed_rows += rows
        self.last_success = now_iso()
        self.paused_reason = None
        self.save(force=force or time.monotonic() - self._saved_at > 2)

    def failed(self, message: str) -> None:
        if message != self.last_error:
            log.warning("sync: %s", message)
        self.connected = False
        self.last_error = message
        self.last_error_at = now_iso()
        self.save()

    def paused(self, reason: str) -> None:
        if reason != self.paused_reason:
            log.error("sync paused: %s", reason)
        self.paused_reason = reason
        self.last_error = reason
        self.last_error_at = now_iso()
        self.save()

    def save(self, *, force: bool = True) -> None:
        if self.path is None or not force:
            return
        self._saved_at = time.monotonic()
        tmp = self.path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(self.snapshot(), indent=2), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            log.debug("cannot save %s: %s", self.path, exc)


def load_saved(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
