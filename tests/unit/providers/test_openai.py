"""OpenAIProvider against the fake server: the real SDK on the real wire format."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from providers.base import (
    AssistantMessage,
    ChatRequest,
    Event,
    Finished,
    MalformedToolCall,
    TextDelta,
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
from providers.openai import OpenAIProvider
from providers.settings import ConnectionSettings
from tests.fakes.llm_server import Call, LLMServer, Reply, Text, Thinking
from tests.unit.providers.common import READ, cancel_after_first_text


@pytest.fixture
async def openai(llm_server: LLMServer) -> AsyncIterator[OpenAIProvider]:
    provider = OpenAIProvider(
        ConnectionSettings(api_key=SecretStr("sk-test-key"), base_url=llm_server.url + "/v1"),
        responses_models=frozenset({"gpt-5.1-codex"}),
    )
    yield provider
    await provider.aclose()


def request(*messages: object, model: str = "gpt-4.1", **kw: object) -> ChatRequest:
    msgs = messages or (UserMessage("hi"),)
    return ChatRequest(model=model, messages=msgs, **kw)  # type: ignore[arg-type]


async def collect(stream: AsyncIterator[Event]) -> list[Event]:
    return [event async for event in stream]


async def test_streams_text_deltas_then_finished_with_usage(
    openai: OpenAIProvider, llm_server: LLMServer
) -> None:
    llm_server.script(Reply([Text("Hel"), Text("lo")], usage={"input": 12, "output": 2}))

    events = await collect(openai.stream(request(system="be brief")))

    assert events == [TextDelta("Hel"), TextDelta("lo"), Finished("stop", Usage(12, 2))]
    body = llm_server.requests[0].body
    assert llm_server.requests[0].path == "/v1/chat/completions"
    assert llm_server.requests[0].headers["authorization"] == "Bearer sk-test-key"
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


async def test_tool_call_round_trip_sends_results_in_openai_format(
    openai: OpenAIProvider, llm_server: LLMServer
) -> None:
    llm_server.script(
        Reply([Text("Reading."), Call("call_1", "read_file", {"path": "a.py"})]),
        Reply([Text("It defines greet.")]),
    )
    first = await collect(openai.stream(request(tools=(READ,))))
    assert first == [
        TextDelta("Reading."),
        ToolCallOpened("call_1", "read_file"),
        ToolCallEvent(ToolCall("call_1", "read_file", {"path": "a.py"})),
        Finished("tool_use", Usage()),
    ]
    call = ToolCall("call_1", "read_file", {"path": "a.py"})
    second = await collect(
        openai.stream(
            request(
                UserMessage("what is in a.py?"),
                AssistantMessage(text="Reading.", tool_calls=(call,)),
                ToolResults((ToolResult("call_1", "read_file", "def greet(): ..."),)),
                tools=(READ,),
            )
        )
    )
    assert second[0] == TextDelta("It defines greet.")

    tools_sent = llm_server.requests[0].body["tools"]
    assert tools_sent == [
        {
            "type": "function",
            "function": {
                "name": "read_file",
                "description": "Read a file",
                "parameters": dict(READ.parameters),
            },
        }
    ]
    messages = llm_server.requests[1].body["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": "Reading.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "read_file", "arguments": '{"path": "a.py"}'},
            }
        ],
    }
    assert messages[2] == {"role": "tool", "tool_call_id": "call_1", "content": "def greet(): ..."}


async def test_parallel_tool_calls_arrive_whole_and_in_order(
    openai: OpenAIProvider, llm_server: LLMServer
) -> None:
    llm_server.script(
        Reply(
            [
                Call("call_a", "read_file", {"path": "a.py"}),
                Call("call_b", "read_file", {"path": "b.py"}),
            ]
        )
    )
    events = await collect(openai.stream(request(tools=(READ,))))
    calls = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert calls == [
        ToolCall("call_a", "read_file", {"path": "a.py"}),
        ToolCall("call_b", "read_file", {"path": "b.py"}),
    ]
    assert events[-1] == Finished("tool_use", Usage())


async def test_invalid_json_arguments_become_a_malformed_tool_call(
    openai: OpenAIProvider, llm_server: LLMServer
) -> None:
    llm_server.script(Reply([Call("call_1", "read_file", '{"path": "a.py"')]))
    events = await collect(openai.stream(request(tools=(READ,))))
    malformed = [e for e in events if isinstance(e, MalformedToolCall)]
    assert len(malformed) == 1
    assert malformed[0].call_id == "call_1"
    assert malformed[0].raw_arguments == '{"path": "a.py"'
    assert "invalid JSON" in malformed[0].error
    assert not any(isinstance(e, ToolCallEvent) for e in events)


async def test_cached_and_reasoning_tokens_are_read_back(
    openai: OpenAIProvider, llm_server: LLMServer
) -> None:
    llm_server.script(
        Reply(
            [Thinking("let me think"), Text("ok")],
            usage={"input": 100, "cache_read": 900, "output": 50, "reasoning": 30},
        )
    )
    events = await collect(openai.stream(request(reasoning="high")))
    assert events[-1] == Finished("stop", Usage(100, 50, 900, 0, 30))
    assert llm_server.requests[0].body["reasoning_effort"] == "high"


async def test_responses_api_streams_text_and_tool_calls(
    openai: OpenAIProvider, llm_server: LLMServer
) -> None:
    llm_server.script(
        Reply(
            [Text("Looking."), Call("call_9", "read_file", {"path": "x"})],
            usage={"input": 10, "cache_read": 5, "output": 7},
        )
    )
    call = ToolCall("call_0", "read_file", {"path": "w"})
    events = await collect(
        openai.stream(
            request(
                UserMessage("go"),
                AssistantMessage(tool_calls=(call,)),
                ToolResults((ToolResult("call_0", "read_file", "data"),)),
                model="gpt-5.1-codex",
                tools=(READ,),
                system="sys",
            )
        )
    )
    assert events == [
        TextDelta("Looking."),
        ToolCallOpened("call_9", "read_file"),
        ToolCallEvent(ToolCall("call_9", "read_file", {"path": "x"})),
        Finished("tool_use", Usage(10, 7, 5)),
    ]
    sent = llm_server.requests[0]
    assert sent.path == "/v1/responses"
    assert sent.body["instructions"] == "sys"
    assert sent.body["input"][1:] == [
        {
            "type": "function_call",
            "call_id": "call_0",
            "name": "read_file",
            "arguments": '{"path": "w"}',
        },
        {"type": "function_call_output", "call_id": "call_0", "output": "data"},
    ]


async def test_rejected_key_names_the_environment_variable(
    openai: OpenAIProvider, llm_server: LLMServer
) -> None:
    llm_server.script(Reply(status=401))
    with pytest.raises(AuthenticationError) as caught:
        await collect(openai.stream(request()))
    assert "OPENAI_API_KEY" in str(caught.value)
    assert caught.value.data["envVar"] == "OPENAI_API_KEY"
    assert "sk-test-key" not in str(caught.value)


async def test_missing_key_is_refused_before_sending_to_openai() -> None:
    provider = OpenAIProvider(ConnectionSettings(base_url="https://api.openai.com/v1"))
    with pytest.raises(AuthenticationError, match="set OPENAI_API_KEY"):
        await collect(provider.stream(request()))


async def test_a_server_of_ones_own_needs_no_key(llm_server: LLMServer) -> None:
    llm_server.script(Reply([Text("hi")]))
    provider = OpenAIProvider(ConnectionSettings(base_url=llm_server.url + "/v1"))
    try:
        assert [e for e in await collect(provider.stream(request())) if isinstance(e, TextDelta)]
    finally:
        await provider.aclose()
    assert llm_server.requests[0].headers["authorization"] == "Bearer no-key"


async def test_cut_mid_stream_is_an_interruption_not_a_retryable_failure(
    openai: OpenAIProvider, llm_server: LLMServer
) -> None:
    llm_server.script(Reply([Text("one"), Text("two"), Text("three")], cut_after=2))
    seen: list[Event] = []
    with pytest.raises(StreamInterrupted):
        async for event in openai.stream(request()):
            seen.append(event)
    assert seen == [TextDelta("one")]


async def test_stall_past_the_timeout_is_unavailable(
    openai: OpenAIProvider, llm_server: LLMServer
) -> None:
    llm_server.script(Reply([Text("never")], stall_after=0))
    with pytest.raises(ProviderUnavailable, match="timed out") as caught:
        await collect(openai.stream(request(timeout_s=0.3)))
    assert not isinstance(caught.value, StreamInterrupted)


async def test_cancelling_the_consumer_closes_the_connection(
    openai: OpenAIProvider, llm_server: LLMServer
) -> None:
    llm_server.script(Reply([Text("first"), Text("never sent")], stall_after=2))
    await cancel_after_first_text(openai.stream(request()))
    assert await llm_server.wait_disconnects(1) == 1


def openai_error(message: str, kind: str, code: str | None = None) -> dict[str, object]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


@pytest.mark.parametrize(
    ("headers", "wait"), [({"retry-after": "7"}, 7.0), ({"retry-after-ms": "1500"}, 1.5)]
)
async def test_throttled_carries_retry_after(
    openai: OpenAIProvider, llm_server: LLMServer, headers: dict[str, str], wait: float
) -> None:
    error = openai_error("Rate limit reached for gpt-4.1", "requests", "rate_limit_exceeded")
    llm_server.script(Reply(status=429, headers=headers, error=error))
    with pytest.raises(RateLimited) as caught:
        await collect(openai.stream(request()))
    assert caught.value.retry_after == wait
    assert caught.value.retryable
    assert "Rate limit reached" in str(caught.value)
    assert len(llm_server.requests) == 1  # one attempt: retries are the router's


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_server_error_before_output_is_unavailable_and_retryable(
    openai: OpenAIProvider, llm_server: LLMServer, status: int
) -> None:
    llm_server.script(Reply(status=status, error=openai_error("upstream down", "server_error")))
    with pytest.raises(ProviderUnavailable) as caught:
        await collect(openai.stream(request()))
    assert not isinstance(caught.value, StreamInterrupted)
    assert caught.value.retryable
    assert caught.value.data["status"] == status
    assert len(llm_server.requests) == 1


async def test_a_context_overflow_is_a_token_limit(
    openai: OpenAIProvider, llm_server: LLMServer
) -> None:
    message = (
        "This model's maximum context length is 128000 tokens. However, your messages "
        "resulted in 130512 tokens. Please reduce the length of the messages."
    )
    error = openai_error(message, "invalid_request_error", "context_length_exceeded")
    llm_server.script(Reply(status=400, error=error))
    with pytest.raises(TokenLimitExceeded, match="130512 tokens") as caught:
        await collect(openai.stream(request()))
    assert not caught.value.retryable


async def test_other_bad_requests_are_not_retried(
    openai: OpenAIProvider, llm_server: LLMServer
) -> None:
    error = openai_error("Invalid schema for function 'grep'", "invalid_request_error")
    llm_server.script(Reply(status=400, error=error))
    with pytest.raises(BadRequest, match="Invalid schema for function 'grep'") as caught:
        await collect(openai.stream(request()))
    assert not caught.value.retryable
    assert caught.value.data["status"] == 400
