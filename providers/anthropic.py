"""Anthropic Messages API: a :class:`ChatRequest` becomes one streaming ``/v1/messages`` call
through the official SDK, and its raw stream events become our :data:`Event` values.

The SDK does the wire work; this module only translates, in pure functions that the tests
drive through a fake server speaking the same SSE format:

- :func:`request_params` builds the request body (tools, system prompt, messages with tool
  results and thinking blocks sent back verbatim, ``cache_control`` breakpoints, thinking);
- :class:`StreamTranslator` turns ``message_start`` ... ``message_stop`` into events;
- :func:`map_error` turns the SDK's exceptions into :mod:`providers.errors`.

One attempt per call (``max_retries=0``): retries and fallback belong to the router.

Reasoning levels become a thinking budget (``budget_tokens``), documented in
docs/CONFIGURATION.md: none -> thinking off, low -> 2,048, medium -> 8,192, high -> 24,576.
The API wants ``max_tokens`` above the budget, so when thinking is on ``max_tokens`` becomes
at least budget + 4,096. Models on which the fixed budget is deprecated get adaptive thinking
with the level as ``output_config.effort`` instead.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from providers.base import (
    ChatRequest,
    Event,
    Finished,
    FinishReason,
    MalformedToolCall,
    Message,
    RedactedThinking,
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
    StreamInterrupted,
    TokenLimitExceeded,
    retry_after,
)
from providers.keys import get_key
from providers.settings import ConnectionSettings

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

KEY_ENV_VAR = "ANTHROPIC_API_KEY"
BASE_URL_ENV_VAR = "ANTHROPIC_BASE_URL"
CONFIG_KEY = "providers.anthropic.api_key"

THINKING_BUDGETS: Mapping[str, int] = {"low": 2048, "medium": 8192, "high": 24576}
DEFAULT_MAX_TOKENS = 8192
# Room left for the answer itself when a thinking budget raises max_tokens.
ANSWER_ROOM = 4096
# Models on which thinking {"type": "enabled", "budget_tokens": N} is deprecated (or, from
# Sonnet 5 on, refused with a 400).
ADAPTIVE_THINKING_MODELS = (
    "claude-opus-4-6",
    "claude-mythos",
    "claude-sonnet-5",
    "claude-opus-5",
    "claude-fable",
)
# The API accepts at most four cache_control breakpoints per request.
MAX_BREAKPOINTS = 4
_EPHEMERAL: Mapping[str, str] = {"type": "ephemeral"}
# Gemini's thought signatures carry this prefix (providers.gemini.SIGNATURE_PREFIX).
FOREIGN_SIGNATURE = "gemini:"

_USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
)

STOP_REASONS: Mapping[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_use",
    "refusal": "content_filter",
}


class AnthropicProvider:
    """Claude through the Messages API.

    >>> provider = AnthropicProvider(ConnectionSettings(api_key="sk-ant-..."))
    >>> async for event in provider.stream(ChatRequest(model="claude-sonnet-4-6", messages=...)):
    ...     ...

    The key comes from the settings, else ``ANTHROPIC_API_KEY``; the base URL from the
    settings, else ``ANTHROPIC_BASE_URL`` (read by the SDK). The SDK client is made on first
    use, so that building a provider costs nothing and imports nothing.
    """

    name = "anthropic"
    key_env_vars: tuple[str, ...] = (KEY_ENV_VAR,)

    def __init__(self, connection: ConnectionSettings) -> None:
        self._connection = connection
        self._client: AsyncAnthropic | None = None

    def _get_client(self) -> AsyncAnthropic:
        if self._client is None:
            self._client = self._new_client()
        return self._client

    def _new_client(self) -> AsyncAnthropic:
        """The SDK client; Bedrock and Vertex AI (``providers.cloud``) make their own."""
        import httpx2
        from anthropic import AsyncAnthropic

        key = get_key(self._connection.api_key, self.key_env_vars)
        if not key:
            raise AuthenticationError(
                f"No Anthropic API key: set {KEY_ENV_VAR} or {CONFIG_KEY} in config.toml.",
                provider=self.name,
                envVar=KEY_ENV_VAR,
                configKey=CONFIG_KEY,
            )
        return AsyncAnthropic(
            api_key=key,
            base_url=self._connection.base_url,
            max_retries=0,
            timeout=httpx2.Timeout(
                self._connection.timeout_s, connect=self._connection.connect_timeout_s
            ),
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        import anthropic
        import httpx2

        client = self._get_client()
        params = request_params(request)
        if "temperature" in params and not sdk_takes("temperature"):
            # Newer SDKs (2.14) no longer take a temperature: the model samples as it does.
            del params["temperature"]
        options: dict[str, Any] = {}
        if request.timeout_s is not None:
            options["timeout"] = request.timeout_s
        translator = StreamTranslator()
        try:
            raw = await client.messages.create(**params, **options, stream=True)
            # `async with`: a cancelled consumer closes the HTTP response at once.
            async with raw:
                async for chunk in raw:
                    for event in translator.feed(chunk):
                        yield event
        except (anthropic.APIError, httpx2.HTTPError) as exc:
            raise map_error(exc, output_started=translator.output_started) from exc
        if not translator.finished:
            raise translator.interrupted("the stream ended before message_stop")

    async def count_tokens(self, request: ChatRequest) -> int:
        """Input tokens of ``request`` as the count_tokens endpoint reckons them."""
        import anthropic
        import httpx2

        client = self._get_client()
        params = request_params(request)
        for key in ("max_tokens", "temperature"):
            params.pop(key, None)
        try:
            counted = await client.messages.count_tokens(**params)
        except (anthropic.APIError, httpx2.HTTPError) as exc:
            raise map_error(exc, output_started=False) from exc
        return counted.input_tokens

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


# --------------------------------------------------------------------------- the request


@functools.cache
def sdk_takes(name: str) -> bool:
    """Whether the installed SDK's ``messages.create`` has the keyword argument ``name``."""
    import inspect

    from anthropic.resources.messages import AsyncMessages

    return name in inspect.signature(AsyncMessages.create).parameters


def request_params(request: ChatRequest) -> dict[str, Any]:
    """The ``messages.create`` keyword arguments for ``request`` (without ``stream``)."""
    params: dict[str, Any] = {"model": request.model}
    budget_left = MAX_BREAKPOINTS if request.prompt_caching else 0

    if request.tools:
        tools: list[dict[str, Any]] = [
            {"name": t.name, "description": t.description, "input_schema": dict(t.parameters)}
            for t in request.tools
        ]
        if budget_left:
            tools[-1]["cache_control"] = dict(_EPHEMERAL)
            budget_left -= 1
        params["tools"] = tools

    if request.system:
        system: dict[str, Any] = {"type": "text", "text": request.system}
        if budget_left:
            system["cache_control"] = dict(_EPHEMERAL)
            budget_left -= 1
        params["system"] = [system]

    messages = conversation(request.messages)
    # The growing conversation: a breakpoint on the newest user turn writes the cache for the
    # next call; one on the user turn before reads what the previous call wrote.
    marks = min(budget_left, 2)
    for message in reversed(messages):
        if marks == 0:
            break
        if message["role"] == "user" and _mark_cacheable(message):
            marks -= 1
    params["messages"] = messages

    max_tokens = request.max_output_tokens or DEFAULT_MAX_TOKENS
    if request.reasoning != "none":
        if request.model.startswith(ADAPTIVE_THINKING_MODELS):
            params["thinking"] = {"type": "adaptive"}
            params["output_config"] = {"effort": request.reasoning}
        else:
            budget = THINKING_BUDGETS[request.reasoning]
            params["thinking"] = {"type": "enabled", "budget_tokens": budget}
            max_tokens = max(max_tokens, budget + ANSWER_ROOM)
    elif request.temperature is not None:
        # With thinking on, the API accepts no temperature but the default.
        params["temperature"] = request.temperature
    params["max_tokens"] = max_tokens
    return params


def conversation(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """Our messages in the Messages API's shape, consecutive turns of one role merged.

    Tool results of one assistant turn go back together in one user turn (parallel calls),
    ahead of any text the user adds after them, as the API requires.
    """
    out: list[dict[str, Any]] = []
    for message in messages:
        role, content = _turn(message)
        if not content:
            continue  # the API refuses an empty turn
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(content)
        else:
            out.append({"role": role, "content": content})
    return out


def _turn(message: Message) -> tuple[str, list[dict[str, Any]]]:
    if isinstance(message, UserMessage):
        user: list[dict[str, Any]] = [
            {
                "type": "image",
                "source": {"type": "base64", "media_type": i.media_type, "data": i.data_base64},
            }
            for i in message.images
        ]
        if message.text:
            user.append({"type": "text", "text": message.text})
        return "user", user
    if isinstance(message, ToolResults):
        return "user", [
            {
                "type": "tool_result",
                "tool_use_id": r.call_id,
                "content": r.content,
                "is_error": r.is_error,
            }
            for r in message.results
        ]
    assistant: list[dict[str, Any]] = []
    for block in message.thinking:
        if block.redacted is not None:
            assistant.append({"type": "redacted_thinking", "data": block.redacted})
        elif block.signature and not block.signature.startswith(FOREIGN_SIGNATURE):
            # Without Anthropic's own signature (another provider's reasoning) the API would
            # refuse the block, so such thinking is not sent back.
            assistant.append(
                {"type": "thinking", "thinking": block.text, "signature": block.signature}
            )
    if message.text:
        assistant.append({"type": "text", "text": message.text})
    assistant.extend(
        {"type": "tool_use", "id": c.call_id, "name": c.name, "input": dict(c.arguments)}
        for c in message.tool_calls
    )
    return "assistant", assistant


def _mark_cacheable(message: dict[str, Any]) -> bool:
    """Put a breakpoint on the last block of ``message`` that can carry one."""
    for block in reversed(message["content"]):
        if block["type"] not in ("thinking", "redacted_thinking"):
            block["cache_control"] = dict(_EPHEMERAL)
            return True
    return False


# --------------------------------------------------------------------------- the stream


class StreamTranslator:
    """The SDK's raw stream events in, our events out; one instance per call.

    Events are read by attribute (``type``, ``index``, ``delta`` ...), as the SDK's objects
    and the documented JSON both spell them, without converting each one to a dict.
    """

    def __init__(self) -> None:
        self.output_started = False
        self.finished = False
        self._usage: dict[str, int] = {}
        self._stop_reason: str | None = None
        # index -> (id, name, JSON fragments) of the tool_use blocks being streamed
        self._tools: dict[int, tuple[str, str, list[str]]] = {}
        self._initial_input: dict[int, str] = {}

    def feed(self, chunk: Any) -> Iterator[Event]:
        kind = chunk.type
        if kind == "content_block_delta":
            yield from self._block_delta(chunk.index, chunk.delta)
        elif kind == "content_block_start":
            yield from self._block_start(chunk.index, chunk.content_block)
        elif kind == "content_block_stop":
            yield from self._block_stop(chunk.index)
        elif kind == "message_start":
            self._merge_usage(chunk.message.usage)
        elif kind == "message_delta":
            self._stop_reason = chunk.delta.stop_reason or self._stop_reason
            self._merge_usage(chunk.usage)
        elif kind == "message_stop":
            self.finished = True
            reason = STOP_REASONS.get(self._stop_reason or "end_turn", "stop")
            yield Finished(reason, self.usage())

    def usage(self) -> Usage:
        u = self._usage
        return Usage(
            input_tokens=u.get("input_tokens", 0),
            output_tokens=u.get("output_tokens", 0),
            cache_read_tokens=u.get("cache_read_input_tokens", 0),
            cache_write_tokens=u.get("cache_creation_input_tokens", 0),
            reasoning_tokens=u.get("thinking_tokens", 0),
        )

    def interrupted(self, why: str) -> ProviderUnavailable:
        cls = StreamInterrupted if self.output_started else ProviderUnavailable
        return cls(f"Anthropic: {why}.", provider="anthropic")

    def _merge_usage(self, usage: Any) -> None:
        # message_delta's counts are cumulative: the latest non-null value wins.
        if usage is None:
            return
        for key in _USAGE_FIELDS:
            value = getattr(usage, key, None)
            if isinstance(value, int):
                self._usage[key] = value
        thinking = getattr(getattr(usage, "output_tokens_details", None), "thinking_tokens", None)
        if isinstance(thinking, int):
            self._usage["thinking_tokens"] = thinking

    def _block_start(self, index: int, block: Any) -> Iterator[Event]:
        kind = block.type
        if kind == "text" and block.text:
            self.output_started = True
            yield TextDelta(block.text)
        elif kind == "thinking" and block.thinking:
            self.output_started = True
            yield ThinkingDelta(block.thinking)
        elif kind == "redacted_thinking":
            self.output_started = True
            yield RedactedThinking(block.data)
        elif kind == "tool_use":
            self.output_started = True
            self._tools[index] = (block.id, block.name, [])
            if block.input:
                self._initial_input[index] = json.dumps(block.input)
            yield ToolCallOpened(block.id, block.name)

    def _block_delta(self, index: int, delta: Any) -> Iterator[Event]:
        kind = delta.type
        if kind == "text_delta":
            self.output_started = True
            yield TextDelta(delta.text)
        elif kind == "thinking_delta":
            self.output_started = True
            yield ThinkingDelta(delta.thinking)
        elif kind == "signature_delta":
            yield ThinkingDelta("", signature=delta.signature)
        elif kind == "input_json_delta" and index in self._tools:
            self._tools[index][2].append(delta.partial_json or "")

    def _block_stop(self, index: int) -> Iterator[Event]:
        if index not in self._tools:
            return
        call_id, name, fragments = self._tools.pop(index)
        # The input arrives as JSON fragments; a start block may carry a complete one instead.
        initial = self._initial_input.pop(index, "")
        raw = "".join(fragments) or initial
        try:
            arguments = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError as exc:
            yield MalformedToolCall(call_id, name, raw, f"invalid JSON: {exc}")
            return
        if not isinstance(arguments, dict):
            yield MalformedToolCall(call_id, name, raw, "the arguments are not a JSON object")
            return
        yield ToolCallEvent(ToolCall(call_id, name, arguments))


# --------------------------------------------------------------------------- errors

_TOO_LONG = re.compile(r"prompt is too long:\s*(\d+)\s*tokens?\s*>\s*(\d+)", re.IGNORECASE)


def map_error(exc: Exception, *, output_started: bool) -> ProviderError:
    """The :mod:`providers.errors` exception for an SDK or transport failure."""
    import anthropic

    if isinstance(exc, anthropic.APIStatusError):
        body = exc.body if isinstance(exc.body, Mapping) else {}
        error = body.get("error") if isinstance(body.get("error"), Mapping) else body
        kind = str(error.get("type") or "") if isinstance(error, Mapping) else ""
        detail = (
            str(error.get("message") or "") if isinstance(error, Mapping) else ""
        ) or exc.message
        status = exc.status_code
        # An `error` event inside a 200 stream carries the real kind only in its body.
        if output_started:
            return StreamInterrupted(
                f"Anthropic's stream broke after output had started: {detail}",
                provider="anthropic",
                errorType=kind or None,
            )
        if status in (401, 403) or kind in ("authentication_error", "permission_error"):
            return AuthenticationError(
                f"Anthropic refused the API key ({status} {kind or 'error'}): check "
                f"{KEY_ENV_VAR} or {CONFIG_KEY} in config.toml.",
                provider="anthropic",
                status=status,
                envVar=KEY_ENV_VAR,
                configKey=CONFIG_KEY,
            )
        if status == 429 or kind == "rate_limit_error":
            return RateLimited(
                f"Anthropic is throttling requests: {detail}",
                provider="anthropic",
                status=429,
                retryAfter=retry_after(exc.response.headers),
            )
        if status >= 500 or status in (408, 409) or kind in ("overloaded_error", "api_error"):
            return ProviderUnavailable(
                f"Anthropic is unavailable ({status} {kind or 'error'}): {detail}",
                provider="anthropic",
                status=status,
                errorType=kind or None,
            )
        if match := _TOO_LONG.search(detail):
            return TokenLimitExceeded(
                f"The request is too long for the model: {detail}",
                provider="anthropic",
                count=int(match.group(1)),
                limit=int(match.group(2)),
            )
        return BadRequest(
            f"Anthropic rejected the request ({status} {kind or 'error'}): {detail}",
            provider="anthropic",
            status=status,
        )
    if isinstance(exc, anthropic.APIConnectionError | anthropic.APIResponseValidationError):
        what = "timed out" if isinstance(exc, anthropic.APITimeoutError) else "failed"
        cls = StreamInterrupted if output_started else ProviderUnavailable
        return cls(f"The connection to Anthropic {what}: {exc}", provider="anthropic")
    # A transport error while reading the stream (the SDK does not wrap those).
    import httpx2

    what = "timed out" if isinstance(exc, httpx2.TimeoutException) else "broke"
    cls = StreamInterrupted if output_started else ProviderUnavailable
    return cls(
        f"The connection to Anthropic {what}: {type(exc).__name__}: {exc}", provider="anthropic"
    )
