"""``deputydev/query``: one turn of a conversation, streamed as it happens.

The editor passes a ``partialResultToken``; every step of the turn arrives as
``$/progress {token, value: QueryEvent}`` and the response carries the whole turn.
Server-to-client requests made during a turn: ``deputydev/confirm`` (approve a command),
``deputydev/askUser`` (a question from the model) and ``workspace/applyEdit`` (write mode).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from protocol.base import WireModel

QUERY = "deputydev/query"
CONFIRM = "deputydev/confirm"
ASK_USER = "deputydev/askUser"


FocusKind = Literal["file", "directory", "snippet", "symbol", "gitDiff", "url", "mcp"]


class FocusItem(WireModel):
    """Something the user pointed at, sent to the model with the query.

    ``kind`` may be left out: a ``url`` makes it a URL, a ``symbol`` a symbol, a range or
    ``text`` a snippet, and a ``path`` a file or a directory, whichever it names.
    ``text`` is the snippet as the editor shows it (so unsaved changes count).
    An ``mcp`` item is a resource of an MCP server (``server`` and ``uri``, which may be a
    resource template filled in), or one of its prompts (``server``, ``prompt`` and the
    prompt's ``arguments``), whose messages become the item's text.
    """

    kind: FocusKind | None = None
    path: str | None = None
    start_line: int | None = Field(default=None, ge=1)
    end_line: int | None = Field(default=None, ge=1)
    symbol: str | None = None
    text: str | None = None
    url: str | None = None
    server: str | None = None
    uri: str | None = None
    prompt: str | None = None
    arguments: dict[str, str] | None = None

    @model_validator(mode="after")
    def _complete(self) -> FocusItem:
        if self.kind == "mcp" and (
            self.server is None or (self.uri is None) == (self.prompt is None)
        ):
            raise ValueError("an mcp focus item needs 'server' and one of 'uri' or 'prompt'")
        needs = {"url": "url", "symbol": "symbol"}
        if self.kind in needs and getattr(self, needs[self.kind]) is None:
            raise ValueError(f"a {self.kind} focus item needs '{needs[self.kind]}'")
        has_text = self.kind == "snippet" and self.text is not None
        if self.kind in ("file", "directory", "snippet") and self.path is None and not has_text:
            raise ValueError(f"a {self.kind} focus item needs 'path'")
        if self.kind is None and not (
            self.path
            or self.url
            or self.symbol
            or self.text
            or (self.server and (self.uri or self.prompt))
        ):
            raise ValueError(
                "a focus item needs 'kind', 'path', 'url', 'symbol', 'text' or 'server' and "
                "'uri' or 'prompt'"
            )
        return self


ImageMediaType = Literal["image/png", "image/jpeg", "image/gif", "image/webp"]


class Attachment(WireModel):
    """An image sent with the query: its bytes in base64 (``data``, with ``mediaType``) or a
    ``path`` inside the workspace. The daemon checks the bytes are the format they claim."""

    kind: Literal["image"] = "image"
    media_type: ImageMediaType | None = None
    data: str | None = None
    path: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Attachment:
        if (self.data is None) == (self.path is None):
            raise ValueError("an attachment needs either 'data' (base64) or 'path', not both")
        if self.data is not None and self.media_type is None:
            raise ValueError("an attachment with 'data' needs 'mediaType'")
        return self


class QueryParams(WireModel):
    query: str = Field(min_length=1)
    session_id: str | None = None
    model: str | None = None
    agent: str | None = None
    reasoning: Literal["none", "low", "medium", "high"] | None = None
    write_mode: bool = False
    focus_items: list[FocusItem] = []
    attachments: list[Attachment] = Field(default=[], max_length=20)
    partial_result_token: int | str | None = None


class ToolCallInfo(WireModel):
    call_id: str
    name: str
    arguments: dict[str, Any]
    result: str | None = None
    is_error: bool = False


class UsageInfo(WireModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0


StopReason = Literal[
    "stop", "length", "content_filter", "step_limit", "cancelled", "error", "tool_use"
]


class QueryResult(WireModel):
    session_id: str
    query_id: str
    text: str
    tool_calls: list[ToolCallInfo] = []
    model: str | None = None
    agent: str | None = None
    usage: UsageInfo = UsageInfo()
    cost_usd: float = 0.0
    stop_reason: StopReason
    steps: int = 0


# --- the streamed events (the ``value`` of each ``$/progress``) ---------------------------


class SessionStarted(WireModel):
    kind: Literal["session"] = "session"
    session_id: str
    query_id: str
    title: str


class AgentChosen(WireModel):
    kind: Literal["agent"] = "agent"
    agent: str
    model: str


class StepStarted(WireModel):
    kind: Literal["step"] = "step"
    step: int


class TextStarted(WireModel):
    """The model began a block of answer text (one per step that has text)."""

    kind: Literal["textStart"] = "textStart"
    step: int


class TextChunk(WireModel):
    kind: Literal["text"] = "text"
    text: str


class TextEnded(WireModel):
    """The block ended; ``text`` is all of it, for clients that rebuild rather than append."""

    kind: Literal["textEnd"] = "textEnd"
    step: int
    text: str


class ThinkingChunk(WireModel):
    kind: Literal["thinking"] = "thinking"
    text: str


class ToolCallStarted(WireModel):
    kind: Literal["toolCall"] = "toolCall"
    call_id: str
    name: str
    arguments: dict[str, Any]
    # What the call is about, for a one-line view: "src/app.py", '"retry back-off"'.
    summary: str = ""


class ToolCallFinished(WireModel):
    kind: Literal["toolResult"] = "toolResult"
    call_id: str
    name: str
    status: Literal["ok", "error"] = "ok"
    # One line for a collapsed view ("42 lines of src/app.py", "3 matches"), then all of it.
    summary: str = ""
    content: str
    is_error: bool = False


EditStatus = Literal["proposed", "applied", "rejected", "written"]


class FileEdit(WireModel):
    """An edit the model made in write mode: proposed to the editor, then its fate.

    ``applied``: the editor applied it (through ``workspace/applyEdit``; undo is the
    editor's); ``rejected``: the editor declined; ``written``: written to disk directly
    (``solver.tools.directWrite``, for clients without applyEdit).
    """

    kind: Literal["fileEdit"] = "fileEdit"
    path: str
    status: EditStatus
    added: int
    removed: int


class QueryFailed(WireModel):
    """The turn ends in an error; the response carries the same code, message and data.

    ``data.kind`` names the error: ``RateLimited`` (with ``retryAfter``),
    ``TokenLimitExceeded`` (``count``, ``limit``, ``betterModels``), ``AuthenticationError``
    (``variable``), ``ProviderUnavailable``, ``StreamInterrupted``, ``Cancelled``...
    """

    kind: Literal["error"] = "error"
    code: int
    message: str
    data: dict[str, Any] = {}


class ModelSwitched(WireModel):
    kind: Literal["modelFallback"] = "modelFallback"
    from_model: str
    to_model: str
    reason: str


class UsageUpdate(WireModel):
    kind: Literal["usage"] = "usage"
    usage: UsageInfo
    cost_usd: float


QueryEvent = Annotated[
    SessionStarted
    | AgentChosen
    | StepStarted
    | TextStarted
    | TextChunk
    | TextEnded
    | ThinkingChunk
    | ToolCallStarted
    | ToolCallFinished
    | FileEdit
    | ModelSwitched
    | UsageUpdate
    | QueryFailed,
    Field(discriminator="kind"),
]


class ConfirmParams(WireModel):
    message: str
    details: dict[str, Any] = {}


class ConfirmResult(WireModel):
    approved: bool


class AskUserParams(WireModel):
    question: str
    options: list[str] = []


class AskUserResult(WireModel):
    answer: str


METHODS: dict[str, tuple[type[Any] | None, type[Any] | None]] = {
    QUERY: (QueryParams, QueryResult),
}

CLIENT_METHODS: dict[str, tuple[type[Any] | None, type[Any] | None]] = {
    CONFIRM: (ConfirmParams, ConfirmResult),
    ASK_USER: (AskUserParams, AskUserResult),
}
