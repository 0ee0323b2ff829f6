"""An OpenAI-compatible server (Ollama, vLLM, llama.cpp, ...) by base URL, with no key."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from providers.base import ChatRequest, Event, Finished, TextDelta, ThinkingDelta, UserMessage
from providers.compatible import CompatibleProvider
from providers.errors import AuthenticationError, BadRequest
from providers.settings import ServerSettings
from tests.fakes.llm_server import LLMServer, Reply, Text, Thinking


async def collect(stream: AsyncIterator[Event]) -> list[Event]:
    return [event async for event in stream]


def ask(**kw: object) -> ChatRequest:
    return ChatRequest(model="qwen2.5-coder:7b", messages=(UserMessage("hi"),), **kw)  # type: ignore[arg-type]


async def test_a_local_server_needs_no_key_and_streams_reasoning(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/never-used")
    provider = CompatibleProvider("ollama", ServerSettings(base_url=llm_server.url + "/v1"))
    llm_server.script(Reply([Thinking("hmm"), Text("hello")], usage={"input": 3, "output": 2}))

    events = await collect(provider.stream(ask(max_output_tokens=64)))
    await provider.aclose()

    assert events[:2] == [ThinkingDelta("hmm"), TextDelta("hello")]
    assert isinstance(events[-1], Finished) and events[-1].usage is not None
    body = llm_server.requests[0].body
    assert body["max_tokens"] == 64 and "max_completion_tokens" not in body
    assert llm_server.requests[0].headers["authorization"] == "Bearer no-key"


async def test_a_server_that_needs_a_key_names_its_variable(llm_server: LLMServer) -> None:
    server = ServerSettings(base_url=llm_server.url + "/v1", api_key_env="OPENROUTER_API_KEY")
    provider = CompatibleProvider("openrouter", server)
    with pytest.raises(AuthenticationError, match="set OPENROUTER_API_KEY"):
        await collect(provider.stream(ask()))
    assert llm_server.requests == []


async def test_a_key_from_its_variable_is_sent(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "or-test-key")
    server = ServerSettings(base_url=llm_server.url + "/v1", api_key_env="OPENROUTER_API_KEY")
    provider = CompatibleProvider("openrouter", server)
    llm_server.script(Reply([Text("x")]))
    await collect(provider.stream(ask()))
    await provider.aclose()
    assert llm_server.requests[0].headers["authorization"] == "Bearer or-test-key"


async def test_a_server_without_base_url_says_where_to_set_it() -> None:
    provider = CompatibleProvider("vllm", ServerSettings())
    with pytest.raises(BadRequest, match=r"providers\.servers\.vllm"):
        await collect(provider.stream(ask()))
