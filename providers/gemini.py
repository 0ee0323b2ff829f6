"""Google Gemini through ``google-genai``: a :class:`ChatRequest` becomes one
``streamGenerateContent`` call (Gemini API key, or Vertex AI), and each streamed
``GenerateContentResponse`` becomes our :data:`Event` values.

As in :mod:`providers.anthropic`, the SDK does the wire work and this module translates:

- :func:`request_contents` and :func:`request_config` build the request (function
  declarations from :class:`ToolSpec` with their JSON schemas reduced to the OpenAPI subset
  Gemini accepts by :func:`gemini_schema`, function responses, thought signatures);
- :class:`StreamTranslator` turns response chunks into events;
- :func:`map_error` turns the SDK's exceptions into :mod:`providers.errors`.

One attempt per call (the SDK's retries are off): retries and fallback belong to the router.

Reasoning levels become ``thinking_config.thinking_budget``, documented in
docs/CONFIGURATION.md: none -> 0 (thinking off; "pro" models, which cannot turn it off, keep
their default), low -> 1,024, medium -> 8,192, high -> 24,576, with ``include_thoughts`` so that
thought summaries stream as :class:`ThinkingDelta`.

Gemini's function calls may come without an id: we make one (``gcall_...``) and, since Gemini
never saw it, leave it out when the result goes back. Thought signatures (opaque bytes) travel
as ``ThinkingDelta.signature`` = ``"gemini:" + base64`` so that they are sent back on the
first function call (or the last text) of the turn, and never to another provider.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from providers.base import (
    AssistantMessage,
    ChatRequest,
    Event,
    Finished,
    FinishReason,
    Message,
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
    retry_delay,
)
from providers.keys import get_key
from providers.settings import ConnectionSettings

if TYPE_CHECKING:
    from google.genai import Client, types

CONFIG_KEY = "providers.gemini.api_key"
SIGNATURE_PREFIX = "gemini:"
GENERATED_ID_PREFIX = "gcall_"

THINKING_BUDGETS: Mapping[str, int] = {"low": 1024, "medium": 8192, "high": 24576}

_CONTENT_FILTER = {
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "MODEL_ARMOR",
}


class GeminiProvider:
    """Gemini through the Gemini API (key) or Vertex AI (``vertex = true``, project, location).

    >>> provider = GeminiProvider(ConnectionSettings(api_key="..."))
    >>> async for event in provider.stream(ChatRequest(model="gemini-2.5-flash", messages=...)):
    ...     ...

    The key comes from the settings, else ``GOOGLE_API_KEY`` or ``GEMINI_API_KEY`` (the SDK's
    own order); the base URL from the settings, else ``GOOGLE_GEMINI_BASE_URL`` (read by the
    SDK). The client is made on first use.
    """

    name = "gemini"
    # google-genai prefers GOOGLE_API_KEY when both are set; so do we.
    key_env_vars: tuple[str, ...] = ("GOOGLE_API_KEY", "GEMINI_API_KEY")

    def __init__(self, connection: ConnectionSettings) -> None:
        self._connection = connection
        self._client: Client | None = None

    def _get_client(self) -> Client:
        if self._client is None:
            from google import genai
            from google.genai import types

            c = self._connection
            http_options = types.HttpOptions(
                base_url=c.base_url,
                timeout=int(c.timeout_s * 1000),
                retry_options=types.HttpRetryOptions(attempts=1),
            )
            key = get_key(c.api_key, self.key_env_vars)
            if c.vertex:
                if not (key or (c.project and c.location)):
                    raise AuthenticationError(
                        "Vertex AI needs providers.gemini.project and providers.gemini.location "
                        f"(with Google Cloud credentials), or an express-mode key in {CONFIG_KEY}.",
                        provider=self.name,
                        configKey="providers.gemini.project",
                    )
                self._client = genai.Client(
                    vertexai=True,
                    api_key=key if not c.project else None,
                    project=c.project,
                    location=c.location,
                    http_options=http_options,
                )
            else:
                if not key:
                    raise AuthenticationError(
                        f"No Gemini API key: set GEMINI_API_KEY (or GOOGLE_API_KEY) or "
                        f"{CONFIG_KEY} in config.toml.",
                        provider=self.name,
                        envVar="GEMINI_API_KEY",
                        configKey=CONFIG_KEY,
                    )
                self._client = genai.Client(api_key=key, http_options=http_options)
        return self._client

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        from google.genai import types

        client = self._get_client()
        contents = [types.Content.model_validate(c) for c in request_contents(request.messages)]
        config = types.GenerateContentConfig.model_validate(request_config(request))
        if request.timeout_s is not None:
            config.http_options = types.HttpOptions(timeout=max(int(request.timeout_s * 1000), 1))
        translator = StreamTranslator()
        # The SDK's chunks are read by a task of their own, for one reason: closing the HTTP
        # response at once. google-genai nests async generators and only the innermost closes
        # the response (in its `finally`). A task blocked in that innermost read and then
        # cancelled runs it; closing the outer generator while suspended would not.
        queue: asyncio.Queue[Any] = asyncio.Queue()

        async def pump() -> None:
            try:
                chunks = await client.aio.models.generate_content_stream(
                    model=request.model, contents=contents, config=config
                )
                async for chunk in chunks:
                    queue.put_nowait(chunk)  # unbounded: the reader never waits on us
            except Exception as exc:
                queue.put_nowait(_Failed(exc))
            else:
                queue.put_nowait(_END)

        reader = asyncio.create_task(pump(), name=f"gemini-stream:{request.model}")
        try:
            while (item := await queue.get()) is not _END:
                if isinstance(item, _Failed):
                    mapped = map_error(item.error, output_started=translator.output_started)
                    if mapped is None:
                        raise item.error
                    raise mapped from item.error
                for event in translator.feed(item):
                    yield event
        finally:
            if not reader.done():
                reader.cancel()
                await asyncio.wait({reader})
        if not translator.finished:
            raise translator.interrupted("the stream ended without a finish reason")

    async def count_tokens(self, request: ChatRequest) -> int:
        """Input tokens of ``request`` by the countTokens endpoint.

        The Gemini API counts only contents, so there the system prompt and the tool
        declarations are counted as one more text content; Vertex counts them natively.
        """
        from google.genai import types

        client = self._get_client()
        raw = request_contents(request.messages)
        config: types.CountTokensConfig | None = None
        if self._connection.vertex:
            full = request_config(request)
            config = types.CountTokensConfig(
                system_instruction=full.get("system_instruction"), tools=full.get("tools")
            )
        else:
            extra = [request.system] if request.system else []
            if request.tools:
                extra.append(json.dumps(request_config(request)["tools"]))
            if extra:
                raw.append({"role": "user", "parts": [{"text": "\n".join(extra)}]})
        contents = [types.Content.model_validate(c) for c in raw]
        try:
            counted = await client.aio.models.count_tokens(
                model=request.model, contents=contents, config=config
            )
        except Exception as exc:
            mapped = map_error(exc, output_started=False)
            if mapped is None:
                raise
            raise mapped from exc
        return counted.total_tokens or 0

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aio.aclose()
            self._client.close()
            self._client = None


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


_END = object()


# --------------------------------------------------------------------------- the request


def request_config(request: ChatRequest) -> dict[str, Any]:
    """``GenerateContentConfig`` fields for ``request`` (snake_case, JSON-ready)."""
    config: dict[str, Any] = {}
    if request.system:
        config["system_instruction"] = request.system
    if request.tools:
        declarations = []
        for tool in request.tools:
            declaration: dict[str, Any] = {"name": tool.name, "description": tool.description}
            parameters = gemini_schema(tool.parameters)
            # Gemini refuses an OBJECT without properties: a tool without input declares none.
            if parameters.get("properties") or parameters.get("type") != "OBJECT":
                declaration["parameters"] = parameters
            declarations.append(declaration)
        config["tools"] = [{"function_declarations": declarations}]
        # Our loop runs the tools; the SDK must not try to call Python functions itself.
        config["automatic_function_calling"] = {"disable": True}
    if request.max_output_tokens is not None:
        config["max_output_tokens"] = request.max_output_tokens
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.reasoning != "none":
        config["thinking_config"] = {
            "include_thoughts": True,
            "thinking_budget": THINKING_BUDGETS[request.reasoning],
        }
    elif "-pro" not in request.model:
        config["thinking_config"] = {"thinking_budget": 0}
    return config


def request_contents(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """Our conversation as Gemini ``Content`` dicts, consecutive turns of one role merged."""
    out: list[dict[str, Any]] = []
    for message in messages:
        role, parts = _turn(message)
        if not parts:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["parts"].extend(parts)
        else:
            out.append({"role": role, "parts": parts})
    return out


def _turn(message: Message) -> tuple[str, list[dict[str, Any]]]:
    if isinstance(message, UserMessage):
        parts: list[dict[str, Any]] = [
            {"inline_data": {"mime_type": i.media_type, "data": base64.b64decode(i.data_base64)}}
            for i in message.images
        ]
        if message.text:
            parts.append({"text": message.text})
        return "user", parts
    if isinstance(message, ToolResults):
        responses = []
        for r in message.results:
            response: dict[str, Any] = {
                "name": r.name,
                "response": {"error": r.content} if r.is_error else {"output": r.content},
            }
            if not r.call_id.startswith(GENERATED_ID_PREFIX):
                response["id"] = r.call_id
            responses.append({"function_response": response})
        return "user", responses
    return "model", _model_parts(message)


def _model_parts(message: AssistantMessage) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if message.text:
        parts.append({"text": message.text})
    for call in message.tool_calls:
        function_call: dict[str, Any] = {"name": call.name, "args": dict(call.arguments)}
        if not call.call_id.startswith(GENERATED_ID_PREFIX):
            function_call["id"] = call.call_id
        parts.append({"function_call": function_call})
    signature = next(
        (
            s
            for b in message.thinking
            if (s := _decode_signature(b.signature)) is not None and b.redacted is None
        ),
        None,
    )
    if signature is not None and parts:
        # Gemini signs the first function call of a turn, or else its last part.
        calls = [p for p in parts if "function_call" in p]
        (calls[0] if calls else parts[-1])["thought_signature"] = signature
    return parts


def _decode_signature(signature: str | None) -> bytes | None:
    if not signature or not signature.startswith(SIGNATURE_PREFIX):
        return None  # another provider's, or none
    try:
        return base64.b64decode(signature[len(SIGNATURE_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return None


# JSON-schema keywords that Gemini's OpenAPI subset knows, with the SDK's field names.
_SCHEMA_KEYS = {
    "description": "description",
    "format": "format",
    "title": "title",
    "pattern": "pattern",
    "minimum": "minimum",
    "maximum": "maximum",
    "minLength": "min_length",
    "maxLength": "max_length",
    "minItems": "min_items",
    "maxItems": "max_items",
    "minProperties": "min_properties",
    "maxProperties": "max_properties",
    "default": "default",
    "example": "example",
}
_TYPES = {"string", "number", "integer", "boolean", "array", "object", "null"}


def gemini_schema(
    schema: Mapping[str, Any], _defs: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A JSON schema reduced to the subset Gemini's function declarations accept.

    ``$ref`` into ``$defs``/``definitions`` is inlined; ``"type": [T, "null"]`` and
    ``anyOf: [..., {"type": "null"}]`` become ``nullable``; ``oneOf`` becomes ``anyOf``; a
    single-entry ``allOf`` is merged; ``const`` becomes a one-value enum; enums are strings;
    keywords Gemini does not know (``additionalProperties``, ``$schema``, ...) are dropped.
    """
    defs = {**(_defs or {}), **schema.get("$defs", {}), **schema.get("definitions", {})}
    return _convert(schema, defs, depth=0)


def _convert(schema: Mapping[str, Any], defs: Mapping[str, Any], depth: int) -> dict[str, Any]:
    if depth > 32:
        return {"type": "OBJECT"}  # a recursive schema: stop unrolling it
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = defs.get(ref.rsplit("/", 1)[-1])
        merged = {**(target or {}), **{k: v for k, v in schema.items() if k != "$ref"}}
        return _convert(merged, defs, depth + 1)
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1:
        merged = {**all_of[0], **{k: v for k, v in schema.items() if k != "allOf"}}
        return _convert(merged, defs, depth + 1)

    out: dict[str, Any] = {
        field: schema[key] for key, field in _SCHEMA_KEYS.items() if key in schema
    }
    nullable = False
    kind = schema.get("type")
    if isinstance(kind, list):
        nullable = "null" in kind
        kinds = [k for k in kind if k != "null" and k in _TYPES]
        kind = kinds[0] if len(kinds) == 1 else None
        if len(kinds) > 1:
            out["any_of"] = [{"type": k.upper()} for k in kinds]
    options = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(options, list):
        rest = [o for o in options if not (isinstance(o, Mapping) and o.get("type") == "null")]
        nullable = nullable or len(rest) < len(options)
        if len(rest) == 1:
            inner = _convert(rest[0], defs, depth + 1)
            out = {**inner, **out}
        elif rest:
            out["any_of"] = [_convert(o, defs, depth + 1) for o in rest]
    if "const" in schema:
        out["enum"] = [str(schema["const"])]
        kind = kind or "string"
    elif isinstance(schema.get("enum"), list):
        values = [v for v in schema["enum"] if v is not None]
        nullable = nullable or len(values) < len(schema["enum"])
        out["enum"] = [str(v) for v in values]
        if kind not in (None, "string"):
            # Gemini's enums are strings only: say so in the description instead.
            out.pop("enum")
            note = "One of: " + ", ".join(json.dumps(v) for v in values) + "."
            out["description"] = f"{out.get('description', '')} {note}".strip()
        else:
            kind = "string"
    if isinstance(kind, str) and kind in _TYPES and kind != "null":
        out["type"] = kind.upper()
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        out["type"] = "OBJECT"
        out["properties"] = {
            name: _convert(sub, defs, depth + 1)
            for name, sub in properties.items()
            if isinstance(sub, Mapping)
        }
        required = [r for r in schema.get("required", []) if r in out["properties"]]
        if required:
            out["required"] = required
    items = schema.get("items")
    if isinstance(items, Mapping):
        out["type"] = "ARRAY"
        out["items"] = _convert(items, defs, depth + 1)
    elif out.get("type") == "ARRAY":
        out["items"] = {"type": "STRING"}  # Gemini wants items on every array
    if nullable:
        out["nullable"] = True
    return out


# --------------------------------------------------------------------------- the stream


class StreamTranslator:
    """``GenerateContentResponse`` chunks in, our events out; one instance per call."""

    def __init__(self) -> None:
        self.output_started = False
        self.finished = False
        self._called = False
        self._usage = Usage()

    def feed(self, chunk: types.GenerateContentResponse) -> Iterator[Event]:
        if chunk.usage_metadata is not None:
            self._usage = _usage(chunk.usage_metadata)  # cumulative: the latest wins
        candidates = chunk.candidates or []
        if not candidates:
            feedback = chunk.prompt_feedback
            if feedback is not None and feedback.block_reason is not None:
                self.finished = True
                yield Finished("content_filter", self._usage)
            return
        candidate = candidates[0]
        parts = (candidate.content.parts if candidate.content else None) or []
        for part in parts:
            yield from self._part(part)
        if candidate.finish_reason is not None:
            self.finished = True
            yield Finished(self._reason(str(candidate.finish_reason.value)), self._usage)

    def interrupted(self, why: str) -> ProviderUnavailable:
        cls = StreamInterrupted if self.output_started else ProviderUnavailable
        return cls(f"Gemini: {why}.", provider="gemini")

    def _part(self, part: types.Part) -> Iterator[Event]:
        if part.thought and part.text:
            self.output_started = True
            yield ThinkingDelta(part.text)
        if part.thought_signature:
            encoded = base64.b64encode(part.thought_signature).decode("ascii")
            yield ThinkingDelta("", signature=SIGNATURE_PREFIX + encoded)
        if part.text and not part.thought:
            self.output_started = True
            yield TextDelta(part.text)
        call = part.function_call
        if call is not None and call.name:
            self.output_started = True
            self._called = True
            call_id = call.id or f"{GENERATED_ID_PREFIX}{uuid.uuid4().hex[:16]}"
            yield ToolCallOpened(call_id, call.name)
            yield ToolCallEvent(ToolCall(call_id, call.name, dict(call.args or {})))

    def _reason(self, finish: str) -> FinishReason:
        if finish == "MAX_TOKENS":
            return "length"
        if finish in _CONTENT_FILTER:
            return "content_filter"
        return "tool_use" if self._called else "stop"


def _usage(meta: types.GenerateContentResponseUsageMetadata) -> Usage:
    # promptTokenCount includes the cached tokens; our input_tokens does not. Thoughts are
    # counted apart from candidates by Gemini and together as output by us.
    cached = meta.cached_content_token_count or 0
    thoughts = meta.thoughts_token_count or 0
    return Usage(
        input_tokens=max((meta.prompt_token_count or 0) - cached, 0),
        output_tokens=(meta.candidates_token_count or 0) + thoughts,
        cache_read_tokens=cached,
        reasoning_tokens=thoughts,
    )


# --------------------------------------------------------------------------- errors

_TOO_LONG = re.compile(
    r"input token count \(?(\d+)\)? exceeds the maximum number of tokens allowed \(?(\d+)\)?",
    re.IGNORECASE,
)


def map_error(exc: Exception, *, output_started: bool) -> ProviderError | None:
    """The :mod:`providers.errors` exception for an SDK or transport failure, or ``None`` for
    an exception that is not a provider failure (a bug of ours: let it surface)."""
    import httpx
    import httpx2
    from google.genai import errors

    if isinstance(exc, errors.APIError):
        status, kind = exc.code, str(exc.status or "")
        detail = exc.message or str(exc)
        if output_started:
            return StreamInterrupted(
                f"Gemini's stream broke after output had started: {detail}",
                provider="gemini",
                status=status,
            )
        if (
            status in (401, 403)
            or kind in ("UNAUTHENTICATED", "PERMISSION_DENIED")
            or (status == 400 and "API key" in detail)
        ):
            return AuthenticationError(
                f"Gemini refused the API key ({status} {kind or 'error'}): check GEMINI_API_KEY "
                f"(or GOOGLE_API_KEY) or {CONFIG_KEY} in config.toml.",
                provider="gemini",
                status=status,
                envVar="GEMINI_API_KEY",
                configKey=CONFIG_KEY,
            )
        if status == 429 or kind == "RESOURCE_EXHAUSTED":
            return RateLimited(
                f"Gemini is throttling requests: {detail}",
                provider="gemini",
                status=429,
                retryAfter=retry_after(_headers(exc)) or retry_delay(exc.details),
            )
        if status >= 500 or status == 408 or kind in ("UNAVAILABLE", "INTERNAL"):
            return ProviderUnavailable(
                f"Gemini is unavailable ({status} {kind or 'error'}): {detail}",
                provider="gemini",
                status=status,
            )
        if match := _TOO_LONG.search(detail):
            return TokenLimitExceeded(
                f"The request is too long for the model: {detail}",
                provider="gemini",
                count=int(match.group(1)),
                limit=int(match.group(2)),
            )
        return BadRequest(
            f"Gemini rejected the request ({status} {kind or 'error'}): {detail}",
            provider="gemini",
            status=status,
        )
    if isinstance(exc, httpx.HTTPError | httpx2.HTTPError):
        timeout = isinstance(exc, httpx.TimeoutException | httpx2.TimeoutException)
        what = "timed out" if timeout else "broke"
        cls = StreamInterrupted if output_started else ProviderUnavailable
        return cls(
            f"The connection to Gemini {what}: {type(exc).__name__}: {exc}", provider="gemini"
        )
    try:
        from google.auth import exceptions as auth_exceptions
    except ImportError:  # pragma: no cover - google-auth comes with google-genai
        return None
    if isinstance(exc, auth_exceptions.DefaultCredentialsError | auth_exceptions.RefreshError):
        return AuthenticationError(
            f"Vertex AI has no usable Google Cloud credentials: {exc}", provider="gemini"
        )
    return None


def _headers(exc: Any) -> Mapping[str, str] | None:
    return getattr(getattr(exc, "response", None), "headers", None)
