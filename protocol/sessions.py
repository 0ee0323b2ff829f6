"""``deputydev/sessions/*``: the editor's history panel (list, open, rename, pin, delete)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from protocol.base import WireModel

SESSIONS_LIST = "deputydev/sessions/list"
SESSIONS_GET = "deputydev/sessions/get"
SESSIONS_RENAME = "deputydev/sessions/rename"
SESSIONS_PIN = "deputydev/sessions/pin"
SESSIONS_SHARE = "deputydev/sessions/share"
SESSIONS_DELETE = "deputydev/sessions/delete"

TurnStatus = Literal["running", "complete", "cancelled", "failed", "interrupted"]


class SessionInfo(WireModel):
    id: str
    workspace: str
    title: str
    model: str | None = None
    pinned: bool = False
    archived: bool = False
    created_at: str
    updated_at: str
    visibility: Literal["private", "team"] | None = None
    # Only for sessions read from the team's database (scope "team"):
    author: str | None = None  # the PostgreSQL role that wrote it
    team: str | None = None


class MessageInfo(WireModel):
    id: str
    seq: int
    role: Literal["user", "assistant", "tool"]
    content: dict[str, Any]
    created_at: str


class TurnInfo(WireModel):
    id: str
    seq: int
    query: str
    focus_items: list[Any] = []
    agent: str | None = None
    model: str | None = None
    status: TurnStatus
    usage: dict[str, int] = {}
    cost_usd: float | None = None
    error: str | None = None
    # The turn's own summary (cheap model), used when history must shrink.
    summary: str | None = None
    # total_ms, and per model call: model, provider, model_id, usage, cost_usd, ttft_ms,
    # total_ms, status.
    timings: dict[str, Any] = {}
    started_at: str
    finished_at: str | None = None
    messages: list[MessageInfo] = []


Scope = Literal["local", "team"]


class SessionsListParams(WireModel):
    query: str | None = None
    # "team": the sessions of the team's database this role may read (own and shared).
    scope: Scope = "local"
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


class SessionsListResult(WireModel):
    sessions: list[SessionInfo]


class SessionParams(WireModel):
    session_id: str


class SessionsGetParams(SessionParams):
    # "team": read the session from the team's database (read-only), with its author.
    scope: Scope = "local"


class SessionsGetResult(WireModel):
    session: SessionInfo
    turns: list[TurnInfo]


class SessionsRenameParams(WireModel):
    session_id: str
    title: str = Field(min_length=1, max_length=200)


class SessionsPinParams(WireModel):
    session_id: str
    pinned: bool = True


class SessionsShareParams(WireModel):
    session_id: str
    # "team": teammates may read it on the sync server; None: the [sync] default_sharing.
    visibility: Literal["private", "team"] | None


class SessionResult(WireModel):
    session: SessionInfo


class SessionsDeleteResult(WireModel):
    deleted: bool


METHODS: dict[str, tuple[type[Any] | None, type[Any] | None]] = {
    SESSIONS_LIST: (SessionsListParams, SessionsListResult),
    SESSIONS_GET: (SessionsGetParams, SessionsGetResult),
    SESSIONS_RENAME: (SessionsRenameParams, SessionResult),
    SESSIONS_PIN: (SessionsPinParams, SessionResult),
    SESSIONS_SHARE: (SessionsShareParams, SessionResult),
    SESSIONS_DELETE: (SessionParams, SessionsDeleteResult),
}
