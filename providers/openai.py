"""OpenAI through the official ``openai`` SDK: Chat Completions, and the Responses API for the
models that need it (``api = "responses"`` in the registry).

The SDK does the wire work (SSE parsing, auth headers, base URL from ``OPENAI_BASE_URL``);
this module translates :class:`~providers.base.ChatRequest` into its parameters and its chunks
into our events, and maps its exceptions onto :mod:`providers.errors`. Retries are the
router's: the client is built with ``max_retries=0``. :class:`OpenAIProvider` also serves
OpenAI-compatible servers (see :mod:`providers.compatible`), which differ only in how the key
is found and in a few request fields.

Tool calls arrive as fragments keyed by index; each call is emitted whole
(:class:`ToolCallEvent`) when the choice finishes, or as :class:`MalformedToolCall` when its
arguments are not a JSON object. Usage comes in a last chunk (``stream_options.include_usage``);
OpenAI's ``prompt_tokens`` includes cached tokens, ours (``input_tokens``) does not.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from providers.base import (
    AssistantMessage,
    ChatRequest,
    Event,
    Finished,
    FinishReason,
    ImagePart,
    MalformedToolCall,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolCallEvent,
    ToolCallOpened,
    ToolResults,
    Usage,
    UserMessage,
)
from providers.errors import (
    AuthenticationError,
    BadRequest,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    TokenLimitExceeded,
    interrupted,
    retry_after,
)
from providers.keys import get_key
from providers.settings import ConnectionSettings

if TYPE_CHECKING:
    from openai import AsyncOpenAI

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "content_filter",
}


# OpenAI's own API; any other base URL is a server of the user's (Ollama, llama.cpp, vLLM,
# LM Studio, a proxy), which decides for itself whether it wants a key.
OPENAI_HOST = "api.openai.com"
# Sent when no key is set for such a server: the SDK requires one, local servers ignore it.
NO_KEY = "no-key"


def own_server(connection: ConnectionSettings) -> str | None:
    """The base URL of OpenAI models when it is not OpenAI's API (the setting, else
    ``OPENAI_BASE_URL``), or None."""
    from urllib.parse import urlsplit

    base = connection.base_url or os.environ.get("OPENAI_BASE_URL") or None
    if base is None:
        return None
    try:
        host = urlsplit(base).hostname
    except ValueError:
        return None
    return None if host is None or host == OPENAI_HOST else base


class OpenAIProvider:
    """``OpenAIProvider(connection).stream(ChatRequest(model="gpt-4.1", ...))``.

    ``responses_models``: model ids to call through the Responses API. ``reasoning_models``:
    model ids that reason by default (GPT-6 defaults to medium effort), to which reasoning
    ``none`` is sent explicitly, and which take a temperature only with no reasoning.
    """

    name = "openai"
    key_env_vars: tuple[str, ...] = ("OPENAI_API_KEY",)
    config_key = "providers.openai.api_key"

    def __init__(
        self,
        connection: ConnectionSettings,
        *,
        responses_models: frozenset[str] = frozenset(),
        reasoning_models: frozenset[str] = frozenset(),
    ) -> None:
        self.connection = connection
        self.responses_models = responses_models
        self.reasoning_models = reasoning_models
        self._client: AsyncOpenAI | None = None

    # -- the client --------------------------------------------------------------------------

    @property
    def key_env(self) -> str:
        """The variable named in a missing key's message ("" when none is read)."""
        return self.key_env_vars[0] if self.key_env_vars else ""

    def api_key(self) -> str | None:
        key = get_key(self.connection.api_key, self.key_env_vars)
        if key is None and self.name == "openai" and own_server(self.connection) is not None:
            return NO_KEY  # a server of the user's own (OPENAI_BASE_URL) needs no key
        return key

    def _missing_key(self) -> AuthenticationError:
        return AuthenticationError(
            f"no API key for {self.name}: set {self.key_env} or {self.config_key} in config.toml",
            provider=self.name,
            envVar=self.key_env,
            configKey=self.config_key,
        )

    def default_headers(self) -> dict[str, str]:
        """Headers sent with every request (OpenRouter's attribution headers)."""
        return {}

    def client(self) -> AsyncOpenAI:
        if self._client is None:
            import openai  # ~0.6 s: only on the first call

            key = self.api_key()
            if key is None:
                raise self._missing_key()
            self._client = openai.AsyncOpenAI(
                api_key=key,
                base_url=self.connection.base_url,  # None: OPENAI_BASE_URL, else the API
                default_headers=self.default_headers(),
                max_retries=0,
                timeout=openai.Timeout(
                    self.connection.timeout_s, connect=self.connection.connect_timeout_s
                ),
            )
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    # -- streaming ---------------------------------------------------------------------------

    def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        if request.model in self.responses_models:
            return self._stream_responses(request, request.model in self.reasoning_models)
        return self._stream_chat(request)

    async def _stream_chat(self, request: ChatRequest) -> AsyncIterator[Event]:
        async def open_stream() -> Any:
            return await self.client().chat.completions.create(**self.chat_params(request))

        async for event in self._relay(open_stream, ChatState()):
            yield event

    async def _stream_responses(
        self, request: ChatRequest, reasons: bool = False
    ) -> AsyncIterator[Event]:
        async def open_stream() -> Any:
            return await self.client().responses.create(**responses_params(request, reasons))

        async for event in self._relay(open_stream, ResponsesState()):
            yield event

    async def _relay(
        self, open_stream: Callable[[], Awaitable[Any]], state: ChatState | ResponsesState
    ) -> AsyncIterator[Event]:
        """Our events from an SDK stream; its errors mapped, and any failure after the
        first event is an interruption (never retried: the user has seen output)."""
        started = False
        try:
            stream = await open_stream()
            async with stream:
                async for item in stream:
                    for event in state.feed(item):
                        started = True
                        yield event
                if state.reason is None:
                    # A server that stops early (a crash, a proxy's time limit) may still
                    # end the body cleanly: without its last event the reply is not known
                    # to be whole. Before any output the router retries it.
                    raise ProviderUnavailable(
                        f"{self.name}: the stream ended before {state.terminal}",
                        provider=self.name,
                        unterminated=True,
                    )
                for event in state.end():
                    yield event
        except ProviderError as exc:
            if started and isinstance(exc, ProviderUnavailable):
                raise interrupted(exc) from exc
            raise
        except Exception as exc:
            raise self.map_error(exc, started=started) from exc

    # -- requests ----------------------------------------------------------------------------

    def chat_params(self, request: ChatRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": request.model,
            "messages": chat_messages(request),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.tools:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": dict(t.parameters),
                    },
                }
                for t in request.tools
            ]
        if request.max_output_tokens is not None:
            params["max_completion_tokens"] = request.max_output_tokens
        reasons = request.model in self.reasoning_models
        if request.reasoning != "none" or reasons:
            params["reasoning_effort"] = request.reasoning
        if request.temperature is not None and not (reasons and request.reasoning != "none"):
            params["temperature"] = request.temperature
        if request.timeout_s is not None:
            params["timeout"] = request.timeout_s
        return params

    # -- errors ------------------------------------------------------------------------------

    def map_error(self, exc: Exception, *, started: bool) -> ProviderError:
        """The SDK's exception as ours; after output started, a failure is never retried."""
        import openai

        where = {"provider": self.name}
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            message = error_message(exc)
            if status in (401, 403):
                return AuthenticationError(
                    f"{self.name} rejected the API key ({status}: {message}); check "
                    f"{self.key_env} or {self.config_key} in config.toml",
                    envVar=self.key_env,
                    configKey=self.config_key,
                    status=status,
                    **where,
                )
            if status == 429:
                return RateLimited(
                    f"{self.name} is rate limiting requests (429: {message})",
                    retryAfter=retry_after(exc.response.headers),
                    status=status,
                    **where,
                )
            if status >= 500:
                error: ProviderError = ProviderUnavailable(
                    f"{self.name} is unavailable ({status}: {message})",
                    status=status,
                    retryAfter=retry_after(exc.response.headers),
                    **where,
                )
                return interrupted(error) if started else error
            if _is_context_overflow(exc):
                return TokenLimitExceeded(
                    f"{self.name} refused the request as too long: {message}", **where
                )
            return BadRequest(
                f"{self.name} rejected the request ({status}: {message})", status=status, **where
            )
        if isinstance(exc, openai.APITimeoutError):
            error = ProviderUnavailable(f"{self.name} timed out", timeout=True, **where)
        elif isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            error = ProviderUnavailable(
                f"{self.name} connection failed ({type(cause).__name__}: {cause})", **where
            )
        elif isinstance(exc, openai.APIError):
            error = ProviderUnavailable(f"{self.name} stream failed: {exc}", **where)
        else:
            error = BadRequest(
                f"{self.name}: unexpected {type(exc).__name__}: {exc}", internal=True, **where
            )
            return error
        return interrupted(error) if started else error


def error_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return str(getattr(exc, "message", exc))


def _is_context_overflow(exc: Any) -> bool:
    body = getattr(exc, "body", None)
    code = getattr(exc, "code", None)
    if code is None and isinstance(body, Mapping):
        inner = body.get("error", body)
        code = inner.get("code") if isinstance(inner, Mapping) else None
    return code == "context_length_exceeded"


# --------------------------------------------------------------------------- Chat Completions


def _b64(image: ImagePart) -> tuple[str, str]:
    return image.media_type, image.data_base64


def _image_url(media_type: str, data: str) -> str:
    return f"data:{media_type};base64,{data}"


def chat_messages(request: ChatRequest) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if request.system:
        out.append({"role": "system", "content": request.system})
    for message in request.messages:
        match message:
            case UserMessage(text=text, images=images):
                if images:
                    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
                    parts += [
                        {"type": "image_url", "image_url": {"url": _image_url(*_b64(i))}}
                        for i in images
                    ]
                    out.append({"role": "user", "content": parts})
                else:
                    out.append({"role": "user", "content": text})
            case AssistantMessage(text=text, tool_calls=calls):
                entry: dict[str, Any] = {"role": "assistant", "content": text or None}
                if calls:
                    entry["tool_calls"] = [
                        {
                            "id": c.call_id,
                            "type": "function",
                            "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                        }
                        for c in calls
                    ]
                out.append(entry)
            case ToolResults(results=results):
                out.extend(
                    {"role": "tool", "tool_call_id": r.call_id, "content": r.content}
                    for r in results
                )
    return out


def parse_arguments(call_id: str, name: str, raw: str) -> ToolCallEvent | MalformedToolCall:
    if not raw.strip():
        return ToolCallEvent(ToolCall(call_id, name, {}))
    try:
        value = json.loads(raw)
    except ValueError as exc:
        return MalformedToolCall(call_id, name, raw, f"invalid JSON: {exc}")
    if not isinstance(value, dict):
        return MalformedToolCall(
            call_id, name, raw, f"expected an object, got {type(value).__name__}"
        )
    return ToolCallEvent(ToolCall(call_id, name, value))


@dataclass
class _PendingCall:
    call_id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


def _extra(obj: Any, name: str) -> Any:
    value = getattr(obj, name, None)
    if value is None:
        extra = getattr(obj, "model_extra", None)
        if isinstance(extra, Mapping):
            value = extra.get(name)
    return value


class ChatState:
    """Chat Completions chunks in, events out (pure: feed it chunks, it returns events)."""

    terminal = "a finish_reason"

    def __init__(self) -> None:
        self.calls: dict[int, _PendingCall] = {}
        self.reason: FinishReason | None = None
        self.usage: Usage | None = None

    def feed(self, chunk: Any) -> Iterator[Event]:
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage_of_chat(usage)
        for choice in getattr(chunk, "choices", None) or ():
            if choice.index != 0:
                continue
            delta = choice.delta
            if delta is not None:
                thinking = _extra(delta, "reasoning_content") or _extra(delta, "reasoning")
                if isinstance(thinking, str) and thinking:
                    yield ThinkingDelta(thinking)
                if delta.content:
                    yield TextDelta(delta.content)
                for fragment in delta.tool_calls or ():
                    pending = self.calls.setdefault(fragment.index, _PendingCall())
                    function = fragment.function
                    if fragment.id:
                        pending.call_id = fragment.id
                    if function is not None and function.name:
                        pending.name = function.name
                        yield ToolCallOpened(pending.call_id, pending.name)
                    if function is not None and function.arguments:
                        pending.arguments.append(function.arguments)
            if choice.finish_reason:
                self.reason = _FINISH.get(choice.finish_reason, "stop")
                yield from self._flush_calls()

    def _flush_calls(self) -> Iterator[Event]:
        calls, self.calls = self.calls, {}
        for _, pending in sorted(calls.items()):
            yield parse_arguments(pending.call_id, pending.name, "".join(pending.arguments))

    def end(self) -> Iterator[Event]:
        yield from self._flush_calls()
        yield Finished(self.reason or "stop", self.usage)


def usage_of_chat(usage: Any) -> Usage:
    prompt = usage.prompt_tokens or 0
    details = getattr(usage, "prompt_tokens_details", None)
    cached = (getattr(details, "cached_tokens", None) or 0) if details is not None else 0
    out_details = getattr(usage, "completion_tokens_details", None)
    reasoning = (getattr(out_details, "reasoning_tokens", None) or 0) if out_details else 0
    return Usage(
        input_tokens=max(0, prompt - cached),
        output_tokens=usage.completion_tokens or 0,
        cache_read_tokens=cached,
        reasoning_tokens=reasoning,
    )


# --------------------------------------------------------------------------- Responses API


def responses_params(request: ChatRequest, reasons: bool = False) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    for message in request.messages:
        match message:
            case UserMessage(text=text, images=images):
                content: list[dict[str, Any]] = [{"type": "input_text", "text": text}]
                content += [
                    {"type": "input_image", "image_url": _image_url(i.media_type, i.data_base64)}
                    for i in images
                ]
                items.append({"role": "user", "content": content})
            case AssistantMessage(text=text, tool_calls=calls):
                if text:
                    items.append({"role": "assistant", "content": text})
                items.extend(
                    {
                        "type": "function_call",
                        "call_id": c.call_id,
                        "name": c.name,
                        "arguments": json.dumps(c.arguments),
                    }
                    for c in calls
                )
            case ToolResults(results=results):
                items.extend(
                    {"type": "function_call_output", "call_id": r.call_id, "output": r.content}
                    for r in results
                )
    params: dict[str, Any] = {
        "model": request.model,
        "input": items,
        "stream": True,
        "store": False,
    }
    if request.system:
        params["instructions"] = request.system
    if request.tools:
        params["tools"] = [
            {
                "type": "function",
                "name": t.name,
                "description": t.description,
                "parameters": dict(t.parameters),
                "strict": False,
            }
            for t in request.tools
        ]
    if request.max_output_tokens is not None:
        params["max_output_tokens"] = request.max_output_tokens
    if request.reasoning != "none":
        params["reasoning"] = {"effort": request.reasoning, "summary": "auto"}
    elif reasons:
        params["reasoning"] = {"effort": "none"}
    if request.temperature is not None and not (reasons and request.reasoning != "none"):
        params["temperature"] = request.temperature
    if request.timeout_s is not None:
        params["timeout"] = request.timeout_s
    return params


class ResponsesState:
    """Responses API stream events in, our events out."""

    terminal = "response.completed"

    def __init__(self) -> None:
        self.reason: FinishReason | None = None
        self.usage: Usage | None = None
        self.called = False

    def feed(self, item: Any) -> Iterator[Event]:
        kind = getattr(item, "type", "")
        if kind == "response.output_text.delta":
            if item.delta:
                yield TextDelta(item.delta)
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            if item.delta:
                yield ThinkingDelta(item.delta)
        elif kind == "response.output_item.added":
            if getattr(item.item, "type", "") == "function_call":
                yield ToolCallOpened(item.item.call_id, item.item.name)
        elif kind == "response.output_item.done":
            call = item.item
            if getattr(call, "type", "") == "function_call":
                self.called = True
                yield parse_arguments(call.call_id, call.name, call.arguments or "")
        elif kind in ("response.completed", "response.incomplete"):
            response = item.response
            if response.usage is not None:
                self.usage = usage_of_responses(response.usage)
            if kind == "response.incomplete":
                details = getattr(response, "incomplete_details", None)
                why = getattr(details, "reason", None)
                self.reason = "content_filter" if why == "content_filter" else "length"
            else:
                self.reason = "tool_use" if self.called else "stop"
        elif kind in ("response.failed", "error"):
            error = getattr(getattr(item, "response", None), "error", None) or item
            message = getattr(error, "message", None) or "the response failed"
            raise ProviderUnavailable(f"openai: {message}", provider="openai")

    def end(self) -> Iterator[Event]:
        yield Finished(self.reason or "stop", self.usage)


def usage_of_responses(usage: Any) -> Usage:
    details = getattr(usage, "input_tokens_details", None)
    cached = (getattr(details, "cached_tokens", None) or 0) if details is not None else 0
    out_details = getattr(usage, "output_tokens_details", None)
    reasoning = (getattr(out_details, "reasoning_tokens", None) or 0) if out_details else 0
    return Usage(
        input_tokens=max(0, (usage.input_tokens or 0) - cached),
        output_tokens=usage.output_tokens or 0,
        cache_read_tokens=cached,
        reasoning_tokens=reasoning,
    )
