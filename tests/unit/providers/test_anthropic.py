"""AnthropicProvider against the fake server speaking the Messages API's SSE stream.

The real SDK parses the real wire format; the tests assert on the events a caller sees and on
the request bodies the server recorded.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from providers.anthropic import AnthropicProvider
from providers.base import (
    AssistantMessage,
    ChatRequest,
    Event,
    Finished,
    ImagePart,
    MalformedToolCall,
    RedactedThinking,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolCall,
    ToolCallEvent,
    ToolCallOpened,
    ToolResult,
    ToolResults,
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
from providers.settings import ConnectionSettings
from tests.fakes.llm_server import Call, LLMServer, Redacted, Reply, Text, Thinking
from tests.unit.providers.common import GREP, READ, asking, cancel_after_first_text, collect

KEY = "sk-ant-test-0123456789"
MODEL = "claude-test-1"


@pytest.fixture
async def provider(server: LLMServer) -> AsyncIterator[AnthropicProvider]:
    made = AnthropicProvider(ConnectionSettings(api_key=SecretStr(KEY), base_url=server.url))
    yield made
    await made.aclose()


ask = asking(MODEL)


def sent(server: LLMServer) -> list[Any]:
    return server.bodies("anthropic")


def sent_key(headers: dict[str, str]) -> str | None:
    """The key as the SDK sent it (``x-api-key``, or a bearer token in newer versions)."""
    bearer = headers.get("authorization", "").removeprefix("Bearer ")
    return headers.get("x-api-key") or bearer or None


async def test_streams_text_and_usage(server: LLMServer, provider: AnthropicProvider) -> None:
    server.script(Reply([Text("Hel"), Text("lo")], usage={"input": 12, "output": 2}))

    events = await collect(provider, ask("hi", system="Be brief.", max_output_tokens=100))

    assert events == [
        TextDelta("Hel"),
        TextDelta("lo"),
        Finished("stop", Usage(input_tokens=12, output_tokens=2)),
    ]
    (request,) = server.requests
    assert request.path == "/v1/messages"
    assert sent_key(request.headers) == KEY
    assert request.body["model"] == MODEL
    assert request.body["stream"] is True
    assert request.body["max_tokens"] == 100
    assert request.body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": EPHEMERAL}]}
    ]
    assert "thinking" not in request.body


EPHEMERAL = {"type": "ephemeral"}


@pytest.mark.parametrize(
    ("finish", "reason"),
    [("max_tokens", "length"), ("refusal", "content_filter"), ("stop_sequence", "stop")],
)
async def test_stop_reasons_are_mapped(
    server: LLMServer, provider: AnthropicProvider, finish: str, reason: str
) -> None:
    server.script(Reply([Text("x")], finish=finish))
    events = await collect(provider, ask())
    assert isinstance(events[-1], Finished)
    assert events[-1].reason == reason


async def test_thinking_and_redacted_thinking_go_back_verbatim(
    server: LLMServer, provider: AnthropicProvider
) -> None:
    server.script(
        Reply(
            [Thinking("Let me see.", signature="sig-1"), Redacted("opaque=="), Text("42")],
            usage={"input": 20, "output": 90, "reasoning": 60},
        ),
        Reply([Text("ok")]),
    )
    first = ask("question", reasoning="medium")

    events = await collect(provider, first)

    assert events == [
        ThinkingDelta("Let me see."),
        ThinkingDelta("", signature="sig-1"),
        RedactedThinking("opaque=="),
        TextDelta("42"),
        Finished("stop", Usage(input_tokens=20, output_tokens=90, reasoning_tokens=60)),
    ]
    body = sent(server)[0]
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 8192}
    assert body["max_tokens"] > 8192
    assert "temperature" not in body

    reply = AssistantMessage(
        text="42",
        thinking=(
            ThinkingBlock("Let me see.", signature="sig-1"),
            ThinkingBlock(redacted="opaque=="),
        ),
    )
    follow = ChatRequest(
        model=MODEL,
        messages=(*first.messages, reply, UserMessage("and then?")),
        reasoning="medium",
    )
    await collect(provider, follow)

    assert sent(server)[1]["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "Let me see.", "signature": "sig-1"},
            {"type": "redacted_thinking", "data": "opaque=="},
            {"type": "text", "text": "42"},
        ],
    }


async def test_thinking_without_a_signature_is_not_sent(
    server: LLMServer, provider: AnthropicProvider
) -> None:
    """Another provider's reasoning carries no signature, and the API would refuse it."""
    server.script(Reply([Text("ok")]))
    history = (UserMessage("q"), AssistantMessage("a", thinking=(ThinkingBlock("mine"),)))
    await collect(provider, ChatRequest(model=MODEL, messages=(*history, UserMessage("more"))))
    assert sent(server)[0]["messages"][1]["content"] == [{"type": "text", "text": "a"}]


async def test_tool_call_round_trip(server: LLMServer, provider: AnthropicProvider) -> None:
    server.script(
        Reply([Text("Reading."), Call("toolu_1", "read_file", {"path": "a.py"})]),
        Reply([Text("Done.")]),
    )
    first = ask("read a.py", tools=(READ,))

    events = await collect(provider, first)

    call = ToolCall("toolu_1", "read_file", {"path": "a.py"})
    assert events[:3] == [
        TextDelta("Reading."),
        ToolCallOpened("toolu_1", "read_file"),
        ToolCallEvent(call),
    ]
    assert isinstance(events[3], Finished)
    assert events[3].reason == "tool_use"
    assert sent(server)[0]["tools"] == [
        {
            "name": "read_file",
            "description": "Read a file",
            "input_schema": dict(READ.parameters),
            "cache_control": EPHEMERAL,
        }
    ]

    history = (
        *first.messages,
        AssistantMessage("Reading.", tool_calls=(call,)),
        ToolResults((ToolResult("toolu_1", "read_file", "print(1)\n"),)),
    )
    events = await collect(provider, ChatRequest(model=MODEL, messages=history, tools=(READ,)))

    assert events[0] == TextDelta("Done.")
    messages = sent(server)[1]["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Reading."},
            {"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": {"path": "a.py"}},
        ],
    }
    assert messages[2] == {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": "toolu_1",
                "content": "print(1)\n",
                "is_error": False,
                "cache_control": EPHEMERAL,
            }
        ],
    }


async def test_parallel_tool_calls_and_results_in_one_user_turn(
    server: LLMServer, provider: AnthropicProvider
) -> None:
    server.script(
        Reply([Call("toolu_a", "read_file", {"path": "a"}), Call("toolu_b", "grep", {"q": "x"})]),
        Reply([Text("ok")]),
    )
    first = ask("go", tools=(READ, GREP))

    events = await collect(provider, first)

    calls = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert calls == [
        ToolCall("toolu_a", "read_file", {"path": "a"}),
        ToolCall("toolu_b", "grep", {"q": "x"}),
    ]
    results = ToolResults(
        (
            ToolResult("toolu_a", "read_file", "A"),
            ToolResult("toolu_b", "grep", "no such pattern", is_error=True),
        )
    )
    history = (*first.messages, AssistantMessage(tool_calls=tuple(calls)), results)
    await collect(provider, ChatRequest(model=MODEL, messages=history, tools=(READ, GREP)))

    turn = sent(server)[1]["messages"][2]
    assert turn["role"] == "user"
    assert [
        (b["type"], b["tool_use_id"], b["content"], b["is_error"]) for b in turn["content"]
    ] == [
        ("tool_result", "toolu_a", "A", False),
        ("tool_result", "toolu_b", "no such pattern", True),
    ]


async def test_invalid_tool_arguments_become_a_malformed_call(
    server: LLMServer, provider: AnthropicProvider
) -> None:
    server.script(Reply([Call("toolu_9", "read_file", '{"path": "a.py"')]))

    events = await collect(provider, ask(tools=(READ,)))

    malformed = [e for e in events if isinstance(e, MalformedToolCall)]
    assert len(malformed) == 1
    assert (malformed[0].call_id, malformed[0].name) == ("toolu_9", "read_file")
    assert malformed[0].raw_arguments == '{"path": "a.py"'
    assert not any(isinstance(e, ToolCallEvent) for e in events)


async def test_cache_breakpoints_and_cached_tokens(
    server: LLMServer, provider: AnthropicProvider
) -> None:
    server.script(
        Reply([Text("ok")], usage={"input": 5, "output": 3, "cache_read": 1800, "cache_write": 250})
    )
    call = ToolCall("toolu_1", "grep", {"q": "x"})
    history = (
        UserMessage("first"),
        AssistantMessage("answer"),
        UserMessage("second"),
        AssistantMessage(tool_calls=(call,)),
        ToolResults((ToolResult("toolu_1", "grep", "hits"),)),
    )
    request = ChatRequest(model=MODEL, messages=history, system="You code.", tools=(READ, GREP))

    events = await collect(provider, request)

    assert events[-1] == Finished(
        "stop",
        Usage(input_tokens=5, output_tokens=3, cache_read_tokens=1800, cache_write_tokens=250),
    )
    body = sent(server)[0]
    assert "cache_control" not in body["tools"][0]
    assert body["tools"][1]["cache_control"] == EPHEMERAL
    assert body["system"] == [{"type": "text", "text": "You code.", "cache_control": EPHEMERAL}]
    marked = [
        (i, block.get("text") or block.get("content"))
        for i, message in enumerate(body["messages"])
        for block in message["content"]
        if "cache_control" in block
    ]
    # The newest user turn and the one before it: four breakpoints, the API's maximum.
    assert marked == [(2, "second"), (4, "hits")]


async def test_no_breakpoints_when_caching_is_off(
    server: LLMServer, provider: AnthropicProvider
) -> None:
    server.script(Reply([Text("ok")]))
    await collect(provider, ask(system="s", tools=(READ,), prompt_caching=False))
    assert "cache_control" not in str(sent(server)[0])


async def test_rejected_key_names_the_variable_and_never_the_key(
    server: LLMServer, provider: AnthropicProvider
) -> None:
    error = {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid x-api-key"},
    }
    server.script(Reply(status=401, error=error))

    with pytest.raises(AuthenticationError) as caught:
        await collect(provider, ask())

    message = str(caught.value)
    assert "ANTHROPIC_API_KEY" in message
    assert "providers.anthropic.api_key" in message
    assert KEY not in message
    assert KEY not in str(caught.value.data)


async def test_missing_key_fails_before_any_request(server: LLMServer) -> None:
    provider = AnthropicProvider(ConnectionSettings(base_url=server.url))
    with pytest.raises(AuthenticationError, match="ANTHROPIC_API_KEY"):
        await collect(provider, ask())
    assert server.requests == []


async def test_sdk_environment_variables_keep_working(
    server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    server.script(Reply([Text("env")]))
    provider = AnthropicProvider(ConnectionSettings())
    try:
        assert (await collect(provider, ask()))[0] == TextDelta("env")
    finally:
        await provider.aclose()
    assert sent_key(server.requests[0].headers) == KEY


async def test_throttled_carries_retry_after(
    server: LLMServer, provider: AnthropicProvider
) -> None:
    error = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
    server.script(Reply(status=429, headers={"retry-after": "7"}, error=error))

    with pytest.raises(RateLimited) as caught:
        await collect(provider, ask())

    assert caught.value.retry_after == 7.0
    assert len(server.requests) == 1  # one attempt: retries are the router's


@pytest.mark.parametrize("status", [529, 500])
async def test_overloaded_or_down_is_unavailable(
    server: LLMServer, provider: AnthropicProvider, status: int
) -> None:
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    server.script(Reply(status=status, error=error))

    with pytest.raises(ProviderUnavailable) as caught:
        await collect(provider, ask())

    assert not isinstance(caught.value, StreamInterrupted)
    assert len(server.requests) == 1


async def test_prompt_too_long_is_a_token_limit(
    server: LLMServer, provider: AnthropicProvider
) -> None:
    message = "prompt is too long: 212345 tokens > 200000 maximum"
    error = {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
    server.script(Reply(status=400, error=error))

    with pytest.raises(TokenLimitExceeded) as caught:
        await collect(provider, ask())

    assert caught.value.data["count"] == 212345
    assert caught.value.data["limit"] == 200000


async def test_other_bad_requests(server: LLMServer, provider: AnthropicProvider) -> None:
    error = {"type": "error", "error": {"type": "invalid_request_error", "message": "bad tool"}}
    server.script(Reply(status=400, error=error))
    with pytest.raises(BadRequest, match="bad tool"):
        await collect(provider, ask())


async def test_cut_after_output_is_an_interrupted_stream(
    server: LLMServer, provider: AnthropicProvider
) -> None:
    # message_start, ping, content_block_start, the first delta; then the connection drops.
    server.script(Reply([Text("partial"), Text(" never")], cut_after=4))
    seen: list[Event] = []

    with pytest.raises(StreamInterrupted):
        async for event in provider.stream(ask()):
            seen.append(event)

    assert seen == [TextDelta("partial")]
    assert len(server.requests) == 1


async def test_error_event_mid_stream(server: LLMServer, provider: AnthropicProvider) -> None:
    overloaded = {"type": "overloaded_error", "message": "Overloaded"}
    server.script(Reply([Text("so far")], error=overloaded), Reply([], error=overloaded))

    with pytest.raises(StreamInterrupted, match="Overloaded"):
        await collect(provider, ask())
    # Before any output the same event is an ordinary outage, which the router may retry.
    with pytest.raises(ProviderUnavailable) as caught:
        await collect(provider, ask())
    assert not isinstance(caught.value, StreamInterrupted)


async def test_a_stalled_stream_times_out(server: LLMServer, provider: AnthropicProvider) -> None:
    server.script(Reply([Text("never")], stall_after=2))
    with pytest.raises(ProviderUnavailable, match="timed out"):
        await collect(provider, ask(timeout_s=0.3))


async def test_cancellation_closes_the_connection(
    server: LLMServer, provider: AnthropicProvider
) -> None:
    server.script(Reply([Text("first"), Text("second")], stall_after=4))
    await cancel_after_first_text(provider.stream(ask()))
    assert await server.wait_disconnects(1) == 1


async def test_count_tokens_uses_the_endpoint(
    server: LLMServer, provider: AnthropicProvider
) -> None:
    server.token_count = 321
    request = ask("count me", system="sys", tools=(READ,), max_output_tokens=50)

    assert await provider.count_tokens(request) == 321

    (recorded,) = server.requests
    assert recorded.path == "/v1/messages/count_tokens"
    assert recorded.body["model"] == MODEL
    assert recorded.body["messages"][0]["content"][0]["text"] == "count me"
    assert recorded.body["tools"][0]["name"] == "read_file"
    assert "max_tokens" not in recorded.body


async def test_count_tokens_maps_errors(server: LLMServer) -> None:
    provider = AnthropicProvider(ConnectionSettings(base_url=server.url))
    with pytest.raises(AuthenticationError):
        await provider.count_tokens(ask())


async def test_stopping_early_closes_the_connection(
    server: LLMServer, provider: AnthropicProvider
) -> None:
    server.script(Reply([Text("first"), Text("second")], stall_after=4))
    events = provider.stream(ask())
    assert await anext(events) == TextDelta("first")
    await events.aclose()  # type: ignore[attr-defined]

    assert await server.wait_disconnects(1) == 1


async def test_adaptive_thinking_where_a_fixed_budget_is_deprecated(
    server: LLMServer, provider: AnthropicProvider
) -> None:
    server.script(Reply([Text("ok")]))
    request = ChatRequest(
        model="claude-opus-4-6", messages=(UserMessage("q"),), reasoning="high", temperature=0.2
    )

    await collect(provider, request)
    server.token_count = 9
    assert await provider.count_tokens(request) == 9

    for body in server.bodies():
        assert body["thinking"] == {"type": "adaptive"}
        assert body["output_config"] == {"effort": "high"}
        assert "temperature" not in body


async def test_images_go_before_the_text(server: LLMServer, provider: AnthropicProvider) -> None:
    server.script(Reply([Text("a cat")]))
    image = ImagePart("image/png", "iVBORw0KGgo=")
    request = ChatRequest(model=MODEL, messages=(UserMessage("what is it?", images=(image,)),))

    await collect(provider, request)

    (message,) = sent(server)[0]["messages"]
    assert message["content"][0] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
    }
    assert message["content"][1]["text"] == "what is it?"


async def test_a_server_that_is_down_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the call: nothing listens there
    provider = AnthropicProvider(
        ConnectionSettings(api_key=SecretStr(KEY), base_url=f"http://127.0.0.1:{port}")
    )
    try:
        with pytest.raises(ProviderUnavailable) as caught:
            await collect(provider, ask())
    finally:
        await provider.aclose()
    assert not isinstance(caught.value, StreamInterrupted)
