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
    # The team index: "pgvector", or "bytea" when the server lacks pgvector (then
    # team_search is "full-text" and vector_store_fix says what an administrator runs).
    vector_store: str | None = None
    team_search: str | None = None  # hybrid | full-text
    vector_store_fix: str | None = None
    vectors_pending: int | None = None  # vectors computed here, not yet in the team cache
    vectors_uploaded: int = 0
    vectors_fetched: int = 0  # vectors the team cache gave this daemon
    vectors_error: str | None = None
    # [sync] publish: per repository name, the last attempt's outcome.
    published: dict[str, str] = {}


METHODS: dict[str, tuple[type[Any] | None, type[Any] | None]] = {
    SYNC_STATUS: (SyncStatusParams, SyncStatusResult),
}
