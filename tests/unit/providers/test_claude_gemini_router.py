"""Anthropic and Gemini behind the real Router, against the fake server: a fallback from
one to the other, and their cached tokens priced in the call records."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from providers.base import (
    CallRecord,
    ChatRequest,
    Event,
    Finished,
    ModelFallback,
    TextDelta,
    Usage,
    UserMessage,
)
from providers.router import Router
from providers.settings import ConnectionSettings, ModelSettings, ProvidersSettings
from tests.fakes.llm_server import LLMServer, Reply, Text


def router_for(server: LLMServer, records: list[CallRecord], **overrides: Any) -> Router:
    connection = ConnectionSettings(api_key=SecretStr("test-key-0123456789"), base_url=server.url)
    settings = ProvidersSettings(
        **{
            "default_model": "claude-sonnet",
            "fallbacks": ("gemini-flash",),
            "max_retries": 0,
            "anthropic": connection,
            "gemini": connection,
            # The shipped id is one the SDK warns about as deprecated (an error under pytest).
            "models": {"claude-sonnet": ModelSettings(model_id="claude-sonnet-test")},
            **overrides,
        }
    )
    return Router(settings, on_record=records.append)


def ask(text: str = "hi") -> ChatRequest:
    return ChatRequest(model="", messages=(UserMessage(text),))


async def test_overloaded_claude_falls_back_to_gemini(llm_server: LLMServer) -> None:
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    llm_server.script(
        Reply(status=529, error=overloaded),
        Reply([Text("from gemini")], usage={"input": 100, "output": 10, "cache_read": 1000}),
    )
    records: list[CallRecord] = []
    router = router_for(llm_server, records)
    try:
        events: list[Event] = [e async for e in router.stream(ask())]
    finally:
        await router.aclose()

    fallback = next(e for e in events if isinstance(e, ModelFallback))
    assert (fallback.from_model, fallback.to_model) == ("claude-sonnet", "gemini-flash")
    assert TextDelta("from gemini") in events
    usage = Usage(input_tokens=100, output_tokens=10, cache_read_tokens=1000)
    assert Finished("stop", usage) in events
    paths = [r.path for r in llm_server.requests]
    assert paths[0] == "/v1/messages"
    assert "/models/gemini-3.5-flash:streamGenerateContent" in paths[1]
    assert [(r.provider, r.status) for r in records] == [("anthropic", "error"), ("gemini", "ok")]
    gemini = router.resolve("gemini-flash")
    assert records[1].cost_usd == gemini.cost(usage) > 0


async def test_claude_cache_writes_and_reads_are_priced(llm_server: LLMServer) -> None:
    usage = {"input": 50, "output": 20, "cache_read": 4000, "cache_write": 600}
    llm_server.script(Reply([Text("ok")], usage=usage))
    records: list[CallRecord] = []
    router = router_for(llm_server, records)
    try:
        events = [e async for e in router.stream(ask())]
    finally:
        await router.aclose()

    expected = Usage(
        input_tokens=50, output_tokens=20, cache_read_tokens=4000, cache_write_tokens=600
    )
    assert Finished("stop", expected) in events
    (record,) = records
    spec = router.resolve("claude-sonnet")
    assert record.usage == expected
    assert record.cost_usd == spec.cost(expected)
    # 50 * 2 + 20 * 10 + 4000 * 0.2 + 600 * 2.5 dollars per million tokens
    assert round(record.cost_usd, 8) == round((100 + 200 + 800 + 1500) / 1e6, 8)
