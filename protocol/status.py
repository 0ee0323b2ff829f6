"""``deputydev/status``: what the daemon is doing, for the editor's status line."""

from __future__ import annotations

from typing import Any

from protocol.base import WireModel
from protocol.completion import CompletionStatus
from protocol.mcp import McpServerStatus

STATUS = "deputydev/status"


class StatusParams(WireModel):
    pass


class RootStatus(WireModel):
    uri: str
    path: str
    index_state: str = "not-indexed"


class ProviderStatus(WireModel):
    name: str
    configured: bool
    source: str | None = None  # "env:OPENAI_API_KEY", "config", ... never the key itself


class StatusResult(WireModel):
    version: str
    uptime_s: float
    pid: int
    roots: list[RootStatus]
    index: dict[str, Any] = {}
    providers: list[ProviderStatus] = []
    open_documents: int = 0
    config_errors: list[str] = []
    # What a workspace's .deputydev/config.toml tried to set and was refused (user-only).
    workspace_refused: list[str] = []
    sync: dict[str, Any] = {}  # the fields of deputydev/sync/status
    completion: CompletionStatus = CompletionStatus()
    mcp: list[McpServerStatus] = []  # each MCP server's state, and its prompts once it ran


METHODS: dict[str, tuple[type[Any] | None, type[Any] | None]] = {
    STATUS: (StatusParams, StatusResult),
}
