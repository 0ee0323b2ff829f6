"""The provider contract: requests, the event stream, and the Provider protocol.

Everything a caller of ``providers`` needs is declared here, the way pluggy's hookspecs list
every extension point in one file. A provider turns one :class:`ChatRequest` into an async
stream of :data:`Event` values. Events are small frozen dataclasses, one per kind, so that
``match event:`` with ``assert_never`` lets the type checker confirm every kind is handled.
Events are pure values: identity (session, turn, message ids) belongs to the caller's storage.

The conversation is provider-neutral: each provider translates :class:`ChatRequest` into its
own wire format (tool definitions, tool results, thinking blocks) and back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, Protocol

Reasoning = Literal["none", "low", "medium", "high"]
FinishReason = Literal["stop", "length", "tool_use", "content_filter"]


# --------------------------------------------------------------------------- the request


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One tool the model may call: a name, a description and a JSON schema of its input."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ImagePart:
    media_type: str  # "image/png", ...
    data_base64: str


@dataclass(frozen=True, slots=True)
class UserMessage:
    text: str
    images: tuple[ImagePart, ...] = ()


@dataclass(frozen=True, slots=True)
class ThinkingBlock:
    """Reasoning the model produced; ``signature`` (Anthropic) lets it be sent back verbatim.

    ``redacted`` holds Anthropic's opaque redacted-thinking payload, kept only to send back.
    """

    text: str = ""
    signature: str | None = None
    redacted: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A complete tool call: arguments already parsed from JSON."""

    call_id: str
    name: str
    arguments: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AssistantMessage:
    text: str = ""
    thinking: tuple[ThinkingBlock, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True, slots=True)
class ToolResult:
    """The answer to one tool call; several may follow one assistant message."""

    call_id: str
    name: str
    content: str
    is_error: bool = False


@dataclass(frozen=True, slots=True)
class ToolResults:
    """All results for the tool calls of the preceding assistant message, in call order."""

    results: tuple[ToolResult, ...]


Message = UserMessage | AssistantMessage | ToolResults


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One call to a model. ``model`` is the provider's own model id (e.g. ``gpt-4.1``)."""

    model: str
    messages: tuple[Message, ...]
    system: str = ""
    tools: tuple[ToolSpec, ...] = ()
    max_output_tokens: int | None = None
    reasoning: Reasoning = "none"
    temperature: float | None = None
    prompt_caching: bool = True
    timeout_s: float | None = None


@dataclass(frozen=True, slots=True)
class FimRequest:
    """One code completion: fill the text between ``prefix`` and ``suffix``.

    ``context`` is text the model should see before the prefix (definitions, similar code,
    the file's path), already written in the file's language, such as comments; a FIM
    model reads it as the start of the file, a chat model as a separate section. ``path``
    and ``language`` name the file for a chat model. ``stop`` ends the completion early.
    """

    model: str
    prefix: str
    suffix: str
    context: str = ""
    path: str = ""
    language: str = ""
    max_output_tokens: int = 128
    temperature: float | None = 0.0
    stop: tuple[str, ...] = ()
    timeout_s: float | None = None


# --------------------------------------------------------------------------- the events


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    text: str
    signature: str | None = None  # Anthropic sends the block's signature at its end


@dataclass(frozen=True, slots=True)
class RedactedThinking:
    """Opaque reasoning (Anthropic ``redacted_thinking``); keep it to send back unchanged."""

    data: str


@dataclass(frozen=True, slots=True)
class ToolCallOpened:
    """A tool call has begun streaming; its complete :class:`ToolCallEvent` follows."""

    call_id: str
    name: str


@dataclass(frozen=True, slots=True)
class ToolCallEvent:
    call: ToolCall


@dataclass(frozen=True, slots=True)
class MalformedToolCall:
    """The model called a tool with arguments that are not a JSON object."""

    call_id: str
    name: str
    raw_arguments: str
    error: str


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(a + b for a, b in zip(self.counts(), other.counts(), strict=True)))

    def counts(self) -> tuple[int, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))

    def as_dict(self) -> dict[str, int]:
        """``{"input_tokens": ..., ...}``: the one spelling of usage for storage and the wire."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class UsageEvent:
    usage: Usage


@dataclass(frozen=True, slots=True)
class Finished:
    reason: FinishReason
    usage: Usage | None = None


@dataclass(frozen=True, slots=True)
class ModelFallback:
    """Emitted by the router when ``from_model`` failed and ``to_model`` takes over."""

    from_model: str
    to_model: str
    reason: str


@dataclass(frozen=True, slots=True)
class CallRecord:
    """Accounting for one finished (or failed) call, emitted by the router last.

    ``model`` is the registry name that answered; cost is in US dollars.
    """

    model: str
    provider: str
    model_id: str
    usage: Usage
    cost_usd: float
    ttft_ms: float | None
    total_ms: float
    status: Literal["ok", "error", "cancelled"] = "ok"
    error: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


Event = (
    TextDelta
    | ThinkingDelta
    | RedactedThinking
    | ToolCallOpened
    | ToolCallEvent
    | MalformedToolCall
    | UsageEvent
    | Finished
    | ModelFallback
    | CallRecord
)


class Provider(Protocol):
    """One wire format. ``stream`` is a plain ``def`` returning an async iterator.

    Implementations raise only :mod:`providers.errors` exceptions; no SDK type escapes.
    """

    name: str

    def stream(self, request: ChatRequest) -> AsyncIterator[Event]: ...

    async def aclose(self) -> None: ...
