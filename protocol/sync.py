"""``deputydev/sync/status``: whether team sync is on, and how it is going."""

from __future__ import annotations

from typing import Any

from protocol.base import WireModel

SYNC_STATUS = "deputydev/sync/status"


class SyncStatusParams(WireModel):
    pass


class SyncStatusResult(WireModel):
    configured: bool
    connected: bool = False
    pending: int | None = None  # outbox rows not yet on the server
    server: str | None = None  # the URL without its password
    role: str | None = None
    team: str | None = None
    last_success: str | None = None
    last_error: str | None = None
    last_error_at: str | None = None
    paused_reason: str | None = None  # set while sync waits for a fix (schema, URL)
    schema_version: int | None = None
    pushed_rows: int = 0


METHODS: dict[str, tuple[type[Any] | None, type[Any] | None]] = {
    SYNC_STATUS: (SyncStatusParams, SyncStatusResult),
}
