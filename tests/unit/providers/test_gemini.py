"""GeminiProvider against the fake server speaking ``streamGenerateContent?alt=sse``.

google-genai parses the real wire format; the tests assert on the events a caller sees and
on the request bodies the server recorded.
"""

from __future__ import annotations

import base64
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from providers.base import (
    AssistantMessage,
    ChatRequest,
    Event,
    Finished,
    ImagePart,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolCall,
    ToolCallEvent,
    ToolCallOpened,
    ToolResult,
    ToolResults,
    ToolSpec,
    Usage,
    UserMessage,
)
from providers.errors import (
    AuthenticationError,
    BadRequest,
    ProviderUnavailable,
    RateLimited,
    StreamInterrupted,
    TokenLimitExceeded,
)
from providers.gemini import GeminiProvider, gemini_schema
from providers.settings import ConnectionSettings
from tests.fakes.llm_server import Call, LLMServer, Reply, Text, Thinking
from tests.unit.providers.common import GREP, READ, asking, cancel_after_first_text, collect

KEY = "AIza-test-0123456789"
MODEL = "gemini-test-flash"


@pytest.fixture
async def provider(server: LLMServer) -> AsyncIterator[GeminiProvider]:
    made = GeminiProvider(ConnectionSettings(api_key=SecretStr(KEY), base_url=server.url))
    yield made
    await made.aclose()


ask = asking(MODEL)


def sent(server: LLMServer) -> list[Any]:
    return server.bodies("gemini")


def gemini_error(code: int, status: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status, **extra}}


async def test_streams_text_and_usage(server: LLMServer, provider: GeminiProvider) -> None:
    server.script(Reply([Text("Hel"), Text("lo")], usage={"input": 12, "output": 2}))

    events = await collect(provider, ask("hi", system="Be brief.", max_output_tokens=100))

    assert events == [
        TextDelta("Hel"),
        TextDelta("lo"),
        Finished("stop", Usage(input_tokens=12, output_tokens=2)),
    ]
    (request,) = server.requests
    assert f"/models/{MODEL}:streamGenerateContent" in request.path
    assert "alt=sse" in request.path
    assert request.headers["x-goog-api-key"] == KEY
    assert request.body["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]
    assert request.body["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert request.body["generationConfig"]["maxOutputTokens"] == 100


@pytest.mark.parametrize(
    ("finish", "reason"),
    [("MAX_TOKENS", "length"), ("SAFETY", "content_filter"), ("RECITATION", "content_filter")],
)
async def test_finish_reasons_are_mapped(
    server: LLMServer, provider: GeminiProvider, finish: str, reason: str
) -> None:
    server.script(Reply([Text("x")], finish=finish))
    events = await collect(provider, ask())
    assert isinstance(events[-1], Finished)
    assert events[-1].reason == reason


async def test_thinking_streams_and_its_signature_goes_back(
    server: LLMServer, provider: GeminiProvider
) -> None:
    server.script(
        Reply(
            [Thinking("Let me see.", signature="sig-1"), Call("", "read_file", {"path": "a"})],
            usage={"input": 20, "output": 90, "reasoning": 60, "cache_read": 400},
        ),
        Reply([Text("ok")]),
    )
    first = ask("question", reasoning="medium", tools=(READ,))

    events = await collect(provider, first)

    signature = "gemini:" + base64.b64encode(b"sig-1").decode()
    assert events[:2] == [ThinkingDelta("Let me see."), ThinkingDelta("", signature=signature)]
    assert events[-1] == Finished(
        "tool_use",
        Usage(input_tokens=20, output_tokens=90, cache_read_tokens=400, reasoning_tokens=60),
    )
    config = sent(server)[0]["generationConfig"]["thinkingConfig"]
    assert config == {"include_thoughts": True, "thinking_budget": 8192} or config == {
        "includeThoughts": True,
        "thinkingBudget": 8192,
    }

    (call,) = [e.call for e in events if isinstance(e, ToolCallEvent)]
    history = (
        *first.messages,
        AssistantMessage(
            thinking=(ThinkingBlock("Let me see.", signature=signature),), tool_calls=(call,)
        ),
        ToolResults((ToolResult(call.call_id, "read_file", "A"),)),
    )
    await collect(provider, ChatRequest(model=MODEL, messages=history, tools=(READ,)))

    model_turn = sent(server)[1]["contents"][1]
    assert model_turn == {
        "role": "model",
        "parts": [
            {
                "functionCall": {"name": "read_file", "args": {"path": "a"}},
                "thoughtSignature": base64.b64encode(b"sig-1").decode(),
            }
        ],
    }


async def test_reasoning_none_turns_thinking_off(
    server: LLMServer, provider: GeminiProvider
) -> None:
    server.script(Reply([Text("x")]))
    await collect(provider, ask())
    config = sent(server)[0]["generationConfig"]["thinkingConfig"]
    assert config in ({"thinking_budget": 0}, {"thinkingBudget": 0})


async def test_another_providers_signature_is_not_sent(
    server: LLMServer, provider: GeminiProvider
) -> None:
    server.script(Reply([Text("ok")]))
    history = (
        UserMessage("q"),
        AssistantMessage("a", thinking=(ThinkingBlock("mine", signature="anthropic-sig"),)),
        UserMessage("more"),
    )
    await collect(provider, ChatRequest(model=MODEL, messages=history))
    assert sent(server)[0]["contents"][1] == {"role": "model", "parts": [{"text": "a"}]}


async def test_tool_call_round_trip(server: LLMServer, provider: GeminiProvider) -> None:
    server.script(
        Reply([Text("Reading."), Call("call-7", "read_file", {"path": "a.py"})]),
        Reply([Text("Done.")]),
    )
    first = ask("read a.py", tools=(READ,))

    events = await collect(provider, first)

    call = ToolCall("call-7", "read_file", {"path": "a.py"})
    assert events[:3] == [
        TextDelta("Reading."),
        ToolCallOpened("call-7", "read_file"),
        ToolCallEvent(call),
    ]
    assert isinstance(events[3], Finished)
    assert events[3].reason == "tool_use"
    (tools,) = sent(server)[0]["tools"]
    assert tools["functionDeclarations"] == [
        {
            "name": "read_file",
            "description": "Read a file",
            "parameters": {
                "type": "OBJECT",
                "properties": {"path": {"type": "STRING"}},
                "required": ["path"],
            },
        }
    ]

    history = (
        *first.messages,
        AssistantMessage("Reading.", tool_calls=(call,)),
        ToolResults((ToolResult("call-7", "read_file", "print(1)\n"),)),
    )
    events = await collect(provider, ChatRequest(model=MODEL, messages=history, tools=(READ,)))

    assert events[0] == TextDelta("Done.")
    contents = sent(server)[1]["contents"]
    assert contents[1] == {
        "role": "model",
        "parts": [
            {"text": "Reading."},
            {"functionCall": {"id": "call-7", "name": "read_file", "args": {"path": "a.py"}}},
        ],
    }
    assert contents[2] == {
        "role": "user",
        "parts": [
            {
                "functionResponse": {
                    "id": "call-7",
                    "name": "read_file",
                    "response": {"output": "print(1)\n"},
                }
            }
        ],
    }


async def test_parallel_calls_without_ids(server: LLMServer, provider: GeminiProvider) -> None:
    server.script(
        Reply([Call("", "read_file", {"path": "a"}), Call("", "grep", {"q": "x"})]),
        Reply([Text("ok")]),
    )
    first = ask("go", tools=(READ, GREP))

    events = await collect(provider, first)

    calls = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.name, dict(c.arguments)) for c in calls] == [
        ("read_file", {"path": "a"}),
        ("grep", {"q": "x"}),
    ]
    # Ids are made up when Gemini sends none, distinct, and announced before each call.
    assert len({c.call_id for c in calls}) == 2
    started = [e.call_id for e in events if isinstance(e, ToolCallOpened)]
    assert started == [c.call_id for c in calls]

    results = ToolResults(
        (
            ToolResult(calls[0].call_id, "read_file", "A"),
            ToolResult(calls[1].call_id, "grep", "bad pattern", is_error=True),
        )
    )
    history = (*first.messages, AssistantMessage(tool_calls=tuple(calls)), results)
    await collect(provider, ChatRequest(model=MODEL, messages=history, tools=(READ, GREP)))

    contents = sent(server)[1]["contents"]
    assert contents[1]["parts"] == [
        {"functionCall": {"name": "read_file", "args": {"path": "a"}}},
        {"functionCall": {"name": "grep", "args": {"q": "x"}}},
    ]
    # Made-up ids are not sent: Gemini never saw them.
    assert contents[2] == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "read_file", "response": {"output": "A"}}},
            {"functionResponse": {"name": "grep", "response": {"error": "bad pattern"}}},
        ],
    }


def test_nested_json_schema_becomes_geminis_subset() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "edits": {
                "type": "array",
                "minItems": 1,
                "items": {"$ref": "#/$defs/Edit"},
            },
            "mode": {"enum": ["fast", "safe"], "description": "How."},
            "limit": {"type": ["integer", "null"], "minimum": 1},
            "level": {"type": "integer", "enum": [1, 2]},
            "kind": {"const": "patch"},
            "target": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        "required": ["edits", "missing"],
        "$defs": {
            "Edit": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "path": {"type": "string", "format": "uri"},
                    "range": {
                        "type": "object",
                        "properties": {"start": {"type": "integer"}, "end": {"type": "integer"}},
                    },
                    "tags": {"type": "array"},
                },
                "required": ["path"],
            }
        },
    }

    assert gemini_schema(schema) == {
        "type": "OBJECT",
        "properties": {
            "edits": {
                "type": "ARRAY",
                "min_items": 1,
                "items": {
                    "type": "OBJECT",
                    "properties": {
                        "path": {"type": "STRING", "format": "uri"},
                        "range": {
                            "type": "OBJECT",
                            "properties": {
                                "start": {"type": "INTEGER"},
                                "end": {"type": "INTEGER"},
                            },
                        },
                        "tags": {"type": "ARRAY", "items": {"type": "STRING"}},
                    },
                    "required": ["path"],
                },
            },
            "mode": {"type": "STRING", "enum": ["fast", "safe"], "description": "How."},
            "limit": {"type": "INTEGER", "minimum": 1, "nullable": True},
            "level": {"type": "INTEGER", "description": "One of: 1, 2."},
            "kind": {"type": "STRING", "enum": ["patch"]},
            "target": {"type": "STRING", "nullable": True},
        },
        "required": ["edits"],
    }


async def test_nested_schema_is_accepted_on_the_wire(
    server: LLMServer, provider: GeminiProvider
) -> None:
    nested = ToolSpec(
        "edit",
        "Edit files",
        {
            "type": "object",
            "properties": {
                "edits": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"path": {"type": "string"}, "line": {"type": "integer"}},
                    },
                }
            },
        },
    )
    server.script(Reply([Call("", "edit", {"edits": [{"path": "a", "line": 3}]})]))

    events = await collect(provider, ask(tools=(nested,)))

    (call,) = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert call.arguments == {"edits": [{"path": "a", "line": 3}]}
    (declaration,) = sent(server)[0]["tools"][0]["functionDeclarations"]
    items = declaration["parameters"]["properties"]["edits"]["items"]
    assert items["properties"]["line"] == {"type": "INTEGER"}
    assert "additionalProperties" not in str(declaration)


async def test_cached_tokens_are_read_back(server: LLMServer, provider: GeminiProvider) -> None:
    server.script(Reply([Text("ok")], usage={"input": 5, "output": 3, "cache_read": 1800}))
    events = await collect(provider, ask())
    assert events[-1] == Finished(
        "stop", Usage(input_tokens=5, output_tokens=3, cache_read_tokens=1800)
    )


async def test_rejected_key_names_the_variable_and_never_the_key(
    server: LLMServer, provider: GeminiProvider
) -> None:
    server.script(
        Reply(status=403, error=gemini_error(403, "PERMISSION_DENIED", "API key not valid."))
    )

    with pytest.raises(AuthenticationError) as caught:
        await collect(provider, ask())

    message = str(caught.value)
    assert "GEMINI_API_KEY" in message
    assert "providers.gemini.api_key" in message
    assert KEY not in message
    assert KEY not in str(caught.value.data)


async def test_missing_key_fails_before_any_request(server: LLMServer) -> None:
    provider = GeminiProvider(ConnectionSettings(base_url=server.url))
    with pytest.raises(AuthenticationError, match="GEMINI_API_KEY"):
        await collect(provider, ask())
    assert server.requests == []


async def test_sdk_environment_variables_keep_working(
    server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.url)
    server.script(Reply([Text("env")]))
    provider = GeminiProvider(ConnectionSettings())
    try:
        assert (await collect(provider, ask()))[0] == TextDelta("env")
    finally:
        await provider.aclose()
    assert server.requests[0].headers["x-goog-api-key"] == KEY


@pytest.mark.parametrize(
    ("headers", "extra", "expected"),
    [
        ({"retry-after": "7"}, {}, 7.0),
        (
            {},
            {
                "details": [
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"}
                ]
            },
            12.0,
        ),
    ],
)
async def test_throttled_carries_retry_after(
    server: LLMServer,
    provider: GeminiProvider,
    headers: dict[str, str],
    extra: dict[str, Any],
    expected: float,
) -> None:
    error = gemini_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", **extra)
    server.script(Reply(status=429, headers=headers, error=error))

    with pytest.raises(RateLimited) as caught:
        await collect(provider, ask())

    assert caught.value.retry_after == expected
    assert len(server.requests) == 1  # one attempt: retries are the router's


@pytest.mark.parametrize(("status", "kind"), [(503, "UNAVAILABLE"), (500, "INTERNAL")])
async def test_overloaded_or_down_is_unavailable(
    server: LLMServer, provider: GeminiProvider, status: int, kind: str
) -> None:
    server.script(
        Reply(status=status, error=gemini_error(status, kind, "The model is overloaded."))
    )

    with pytest.raises(ProviderUnavailable) as caught:
        await collect(provider, ask())

    assert not isinstance(caught.value, StreamInterrupted)
    assert len(server.requests) == 1


async def test_too_many_input_tokens_is_a_token_limit(
    server: LLMServer, provider: GeminiProvider
) -> None:
    message = (
        "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."
    )
    server.script(Reply(status=400, error=gemini_error(400, "INVALID_ARGUMENT", message)))

    with pytest.raises(TokenLimitExceeded) as caught:
        await collect(provider, ask())

    assert caught.value.data["count"] == 1200000
    assert caught.value.data["limit"] == 1048576


async def test_other_bad_requests(server: LLMServer, provider: GeminiProvider) -> None:
    error = gemini_error(400, "INVALID_ARGUMENT", "Invalid function declaration.")
    server.script(Reply(status=400, error=error))
    with pytest.raises(BadRequest, match="Invalid function declaration"):
        await collect(provider, ask())


async def test_cut_after_output_is_an_interrupted_stream(
    server: LLMServer, provider: GeminiProvider
) -> None:
    server.script(Reply([Text("partial"), Text(" never")], cut_after=1))
    seen: list[Event] = []

    with pytest.raises(StreamInterrupted):
        async for event in provider.stream(ask()):
            seen.append(event)

    assert seen == [TextDelta("partial")]
    assert len(server.requests) == 1


async def test_error_chunk_mid_stream(server: LLMServer, provider: GeminiProvider) -> None:
    overloaded = {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}
    server.script(Reply([Text("so far")], error=overloaded), Reply([], error=overloaded))

    with pytest.raises(StreamInterrupted, match="overloaded"):
        await collect(provider, ask())
    with pytest.raises(ProviderUnavailable) as caught:
        await collect(provider, ask())
    assert not isinstance(caught.value, StreamInterrupted)


async def test_a_stalled_stream_times_out(server: LLMServer) -> None:
    provider = GeminiProvider(
        ConnectionSettings(api_key=SecretStr(KEY), base_url=server.url, timeout_s=0.3)
    )
    server.script(Reply([Text("never")], stall_after=0))
    try:
        with pytest.raises(ProviderUnavailable, match="timed out"):
            await collect(provider, ask())
    finally:
        await provider.aclose()


async def test_a_request_timeout_wins(server: LLMServer, provider: GeminiProvider) -> None:
    server.script(Reply([Text("never")], stall_after=0))
    with pytest.raises(ProviderUnavailable, match="timed out"):
        await collect(provider, ask(timeout_s=0.3))


async def test_cancellation_closes_the_connection(
    server: LLMServer, provider: GeminiProvider
) -> None:
    server.script(Reply([Text("first"), Text("second")], stall_after=1))
    await cancel_after_first_text(provider.stream(ask()))
    assert await server.wait_disconnects(1) == 1


async def test_stopping_early_closes_the_connection(
    server: LLMServer, provider: GeminiProvider
) -> None:
    server.script(Reply([Text("first"), Text("second")], stall_after=1))
    events = provider.stream(ask())
    assert await anext(events) == TextDelta("first")
    await events.aclose()  # type: ignore[attr-defined]

    assert await server.wait_disconnects(1) == 1


async def test_count_tokens_uses_the_endpoint(server: LLMServer, provider: GeminiProvider) -> None:
    server.token_count = 321
    request = ask("count me", system="sys", tools=(READ,))

    assert await provider.count_tokens(request) == 321

    (recorded,) = server.requests
    assert f"/models/{MODEL}:countTokens" in recorded.path
    texts = [p["text"] for c in recorded.body["contents"] for p in c["parts"]]
    assert texts[0] == "count me"
    assert "sys" in texts[1] and "read_file" in texts[1]


async def test_count_tokens_maps_errors(server: LLMServer, provider: GeminiProvider) -> None:
    server.token_count = None
    provider_without_key = GeminiProvider(ConnectionSettings(base_url=server.url))
    with pytest.raises(AuthenticationError):
        await provider_without_key.count_tokens(ask())


async def test_vertex_needs_a_project_or_a_key(server: LLMServer) -> None:
    provider = GeminiProvider(ConnectionSettings(vertex=True, base_url=server.url))
    with pytest.raises(AuthenticationError, match=r"providers\.gemini\.project"):
        await collect(provider, ask())
    assert server.requests == []


async def test_vertex_express_mode_streams_with_a_key(server: LLMServer) -> None:
    server.script(Reply([Text("from vertex")]))
    provider = GeminiProvider(
        ConnectionSettings(vertex=True, api_key=SecretStr(KEY), base_url=server.url)
    )
    try:
        events = await collect(provider, ask())
    finally:
        await provider.aclose()
    assert events[0] == TextDelta("from vertex")
    (request,) = server.requests
    assert f"publishers/google/models/{MODEL}:streamGenerateContent" in request.path


async def test_vertex_without_credentials_is_an_auth_error(
    server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No Application Default Credentials in the hermetic HOME, and no metadata-server probe.
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    provider = GeminiProvider(
        ConnectionSettings(vertex=True, project="p", location="us-central1", base_url=server.url)
    )
    try:
        with pytest.raises(AuthenticationError, match="credentials"):
            await collect(provider, ask())
    finally:
        await provider.aclose()
    assert server.requests == []


async def test_images_are_inline_data(server: LLMServer, provider: GeminiProvider) -> None:
    server.script(Reply([Text("a cat")]))
    image = ImagePart("image/png", "iVBORw0KGgo=")
    request = ChatRequest(model=MODEL, messages=(UserMessage("what is it?", images=(image,)),))

    await collect(provider, request)

    (content,) = sent(server)[0]["contents"]
    image_part, text_part = content["parts"]
    inline = image_part["inlineData"]
    assert inline["data"] == "iVBORw0KGgo="
    # The SDK keeps the inner field's snake_case; Gemini's JSON parser reads both spellings.
    assert inline.get("mimeType", inline.get("mime_type")) == "image/png"
    assert text_part == {"text": "what is it?"}


async def test_a_server_that_is_down_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the call: nothing listens there
    provider = GeminiProvider(
        ConnectionSettings(api_key=SecretStr(KEY), base_url=f"http://127.0.0.1:{port}")
    )
    try:
        with pytest.raises(ProviderUnavailable) as caught:
            await collect(provider, ask())
    finally:
        await provider.aclose()
    assert not isinstance(caught.value, StreamInterrupted)
