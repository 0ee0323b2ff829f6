"""The router against the fake server: limits, retries, fallbacks, accounting, cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
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
from providers.errors import (
    AuthenticationError,
    ProviderUnavailable,
    RateLimited,
    StreamInterrupted,
    TokenLimitExceeded,
)
from providers.router import Router
from providers.settings import (
    ConnectionSettings,
    ModelSettings,
    ProvidersSettings,
    ServerSettings,
)
from tests.fakes.llm_server import LLMServer, Reply, Text


class Clock:
    """The router's sleep: records each delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def settings_for(server: LLMServer, **overrides: Any) -> ProvidersSettings:
    values: dict[str, Any] = {
        "default_model": "gpt-4.1",
        "openai": ConnectionSettings(api_key=SecretStr("sk-test-key"), base_url=server.url + "/v1"),
        "servers": {"fake": ServerSettings(base_url=server.url + "/v1")},
        "models": {"local": ModelSettings(server="fake", model_id="qwen-local")},
        "retry_base_s": 0.5,
        **overrides,
    }
    return ProvidersSettings(**values)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def records() -> list[CallRecord]:
    return []


@pytest.fixture
async def router(
    llm_server: LLMServer, clock: Clock, records: list[CallRecord]
) -> AsyncIterator[Router]:
    made = Router(settings_for(llm_server), sleep=clock, rng=lambda: 1.0, on_record=records.append)
    yield made
    await made.aclose()


def ask(text: str = "hi", **kw: Any) -> ChatRequest:
    return ChatRequest(model="", messages=(UserMessage(text),), **kw)


async def collect(stream: AsyncIterator[Event]) -> list[Event]:
    return [event async for event in stream]


async def test_a_call_ends_with_a_record_pricing_cached_tokens(
    router: Router, llm_server: LLMServer, records: list[CallRecord]
) -> None:
    llm_server.script(Reply([Text("ok")], usage={"input": 1000, "cache_read": 2000, "output": 500}))
    events = await collect(router.stream(ask()))

    assert events[:2] == [TextDelta("ok"), Finished("stop", Usage(1000, 500, 2000))]
    record = events[-1]
    assert isinstance(record, CallRecord)
    assert (record.model, record.model_id, record.status) == ("gpt-4.1", "gpt-4.1", "ok")
    # gpt-4.1: $2 input, $0.50 cached input, $8 output per million
    assert record.cost_usd == pytest.approx((1000 * 2 + 2000 * 0.5 + 500 * 8) / 1e6)
    assert record.ttft_ms is not None and record.ttft_ms <= record.total_ms
    assert records == [record]
    assert llm_server.requests[0].body["model"] == "gpt-4.1"


async def test_429_is_retried_after_exactly_the_retry_after_it_gave(
    router: Router, llm_server: LLMServer, clock: Clock
) -> None:
    llm_server.script(Reply(status=429, headers={"retry-after": "7"}), Reply([Text("done")]))
    events = await collect(router.stream(ask()))
    assert clock.delays == [7.0]
    assert events[0] == TextDelta("done")
    assert len(llm_server.requests) == 2


async def test_500_is_retried_with_exponential_backoff(
    router: Router, llm_server: LLMServer, clock: Clock
) -> None:
    llm_server.script(Reply(status=500), Reply(status=503), Reply([Text("third time")]))
    events = await collect(router.stream(ask()))
    assert clock.delays == [0.5, 1.0]  # base 0.5 s doubling; the test's dice give no jitter
    assert events[0] == TextDelta("third time")
    record = events[-1]
    assert isinstance(record, CallRecord) and record.extra["attempts"] == 3


async def test_jitter_spreads_the_backoff(llm_server: LLMServer, clock: Clock) -> None:
    router = Router(settings_for(llm_server), sleep=clock, rng=lambda: 0.0)
    llm_server.script(Reply(status=500), Reply([Text("ok")]))
    await collect(router.stream(ask()))
    await router.aclose()
    assert clock.delays == [0.25]


async def test_a_model_that_stays_throttled_falls_back_with_an_event(
    router: Router, llm_server: LLMServer, clock: Clock
) -> None:
    throttled = Reply(status=429, headers={"retry-after": "0"})
    llm_server.script(throttled, throttled, throttled, Reply([Text("local answer")]))

    events = await collect(router.stream(ask(), fallbacks=["local"]))

    fallback = next(e for e in events if isinstance(e, ModelFallback))
    assert (fallback.from_model, fallback.to_model) == ("gpt-4.1", "local")
    assert "429" in fallback.reason
    assert TextDelta("local answer") in events
    final = events[-1]
    assert isinstance(final, CallRecord) and final.model == "local" and final.status == "ok"
    failed = [e for e in events if isinstance(e, CallRecord) and e.status == "error"]
    assert [r.model for r in failed] == ["gpt-4.1"]
    assert [b["model"] for b in llm_server.bodies()] == ["gpt-4.1"] * 3 + ["qwen-local"]
    assert clock.delays == [0.0, 0.0]


async def test_a_retry_after_longer_than_the_cap_moves_on_without_waiting(
    llm_server: LLMServer, clock: Clock
) -> None:
    router = Router(settings_for(llm_server, retry_max_s=5), sleep=clock)
    llm_server.script(Reply(status=429, headers={"retry-after": "60"}))
    with pytest.raises(RateLimited) as caught:
        await collect(router.stream(ask(), fallbacks=[]))
    await router.aclose()
    assert caught.value.retry_after == 60.0
    assert clock.delays == []


async def test_auth_error_is_not_retried_nor_fallen_back_and_names_the_variable(
    router: Router, llm_server: LLMServer
) -> None:
    llm_server.script(Reply(status=401), Reply([Text("never")]))
    seen: list[Event] = []
    with pytest.raises(AuthenticationError) as caught:
        async for event in router.stream(ask(), fallbacks=["local"]):
            seen.append(event)
    assert "OPENAI_API_KEY" in str(caught.value)
    assert caught.value.data["model"] == "gpt-4.1"
    assert len(llm_server.requests) == 1
    assert not any(isinstance(e, ModelFallback) for e in seen)


async def test_over_the_limit_is_refused_before_sending_with_models_that_fit(
    llm_server: LLMServer,
) -> None:
    tiny = ModelSettings(provider="openai", model_id="gpt-4.1", context_window=1000)
    settings = settings_for(llm_server, models={"tiny": tiny})
    router = Router(settings)
    with pytest.raises(TokenLimitExceeded) as caught:
        await collect(router.stream(ask("word " * 2000, max_output_tokens=200), model="tiny"))
    await router.aclose()
    data = caught.value.data
    assert data["limit"] == 800
    assert data["count"] > 2000
    assert "gpt-4.1" in data["betterModels"] and "tiny" not in data["betterModels"]
    assert "tiny accepts 800" in str(caught.value)
    assert llm_server.requests == []


async def test_cut_mid_stream_is_not_retried_and_not_repeated(
    router: Router, llm_server: LLMServer, records: list[CallRecord]
) -> None:
    llm_server.script(
        Reply([Text("partial"), Text("rest")], cut_after=2), Reply([Text("partial again")])
    )
    seen: list[Event] = []
    with pytest.raises(StreamInterrupted):
        async for event in router.stream(ask(), fallbacks=["local"]):
            seen.append(event)
    texts = [e.text for e in seen if isinstance(e, TextDelta)]
    assert texts == ["partial"]
    assert len(llm_server.requests) == 1
    assert [r.status for r in records] == ["error"]


async def test_a_stall_times_out_and_is_retried(
    router: Router, llm_server: LLMServer, clock: Clock
) -> None:
    llm_server.script(Reply([Text("x")], stall_after=0), Reply([Text("second try")]))
    events = await collect(router.stream(ask(timeout_s=0.3)))
    assert events[0] == TextDelta("second try")
    assert len(clock.delays) == 1


async def test_down_everywhere_raises_the_last_failure(
    router: Router, llm_server: LLMServer
) -> None:
    llm_server.script(*[Reply(status=500)] * 6)
    with pytest.raises(ProviderUnavailable, match="500"):
        await collect(router.stream(ask(), fallbacks=["local"]))
    assert len(llm_server.requests) == 6


async def test_cancelling_closes_the_connection_and_records_it(
    router: Router, llm_server: LLMServer, records: list[CallRecord]
) -> None:
    llm_server.script(Reply([Text("first"), Text("never")], stall_after=2))
    first = asyncio.Event()

    async def consume() -> None:
        async for event in router.stream(ask()):
            if isinstance(event, TextDelta):
                first.set()

    task = asyncio.create_task(consume())
    await first.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert await llm_server.wait_disconnects(1) == 1
    assert [r.status for r in records] == ["cancelled"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_models_say_which_are_usable_and_why_not(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(
        llm_server,
        servers={
            "fake": ServerSettings(base_url=llm_server.url + "/v1"),
            "ollama": ServerSettings(base_url=f"http://127.0.0.1:{closed_port()}/v1"),
        },
        models={
            "local": ModelSettings(server="fake", model_id="qwen-local"),
            "offline": ModelSettings(provider="compatible", server="ollama", model_id="m"),
        },
    )
    monkeypatch.setenv("GEMINI_API_KEY", "gm-test-key-123")
    statuses = {s.spec.name: s for s in await Router(settings).models()}

    assert statuses["gpt-4.1"].usable
    assert statuses["gemini"].usable
    assert not statuses["claude-sonnet"].usable
    assert "ANTHROPIC_API_KEY" in (statuses["claude-sonnet"].reason or "")
    assert statuses["local"].usable
    assert not statuses["offline"].usable
    assert "not reachable" in (statuses["offline"].reason or "")
    assert llm_server.requests[0].path == "/v1/models"


async def test_an_overloaded_claude_falls_back_to_gpt_across_providers(
    llm_server: LLMServer, clock: Clock
) -> None:
    settings = settings_for(
        llm_server,
        default_model="claude-sonnet",
        fallbacks=("gpt", "local"),
        anthropic=ConnectionSettings(api_key=SecretStr("sk-ant-test-key"), base_url=llm_server.url),
        max_retries=1,
    )
    overloaded = Reply(
        status=529,
        error={"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    )
    llm_server.script(overloaded, overloaded, Reply([Text("gpt here")]))
    router = Router(settings, sleep=clock, rng=lambda: 1.0)

    events = await collect(router.stream(ask(max_output_tokens=256)))
    await router.aclose()

    fallback = next(e for e in events if isinstance(e, ModelFallback))
    assert (fallback.from_model, fallback.to_model) == ("claude-sonnet", "gpt")
    assert TextDelta("gpt here") in events
    paths = [r.path for r in llm_server.requests]
    assert paths == ["/v1/messages", "/v1/messages", "/v1/chat/completions"]
    assert llm_server.requests[2].body["model"] == "gpt-6.1-sol"
    assert clock.delays == [0.5]


async def test_no_reasoning_is_said_explicitly_to_models_that_reason_by_default(
    router: Router, llm_server: LLMServer
) -> None:
    llm_server.script(Reply([Text("a")]), Reply([Text("b")]), Reply([Text("c")]))
    await collect(router.stream(ask(temperature=0.2), model="gpt"))
    await collect(router.stream(ask(temperature=0.2, reasoning="high"), model="gpt"))
    await collect(router.stream(ask(temperature=0.2, reasoning="high"), model="gpt-4.1"))
    plain, thinking, older = llm_server.bodies("openai-chat")
    assert (plain["reasoning_effort"], plain["temperature"]) == ("none", 0.2)
    # GPT-6 takes a temperature only without reasoning; gpt-4.1 does not reason at all
    assert thinking["reasoning_effort"] == "high" and "temperature" not in thinking
    assert "reasoning_effort" not in older and older["temperature"] == 0.2


def claude_router(server: LLMServer, context_window: int) -> Router:
    small = ModelSettings(provider="anthropic", model_id="claude-haiku-4-5",
                          context_window=context_window)  # fmt: skip
    settings = settings_for(
        server,
        default_model="small",
        anthropic=ConnectionSettings(api_key=SecretStr("sk-ant-test-key"), base_url=server.url),
        models={"small": small},
    )
    return Router(settings)


async def test_near_the_limit_the_providers_own_count_decides(llm_server: LLMServer) -> None:
    # About 1,000 estimated tokens against a 1,100 limit: close enough to ask the provider.
    request = ask("word " * 800)
    llm_server.token_count = 600
    llm_server.script(Reply([Text("fits")]))
    router = claude_router(llm_server, 1100)
    events = await collect(router.stream(request))
    assert TextDelta("fits") in events

    llm_server.token_count = 5000
    with pytest.raises(TokenLimitExceeded) as caught:
        await collect(router.stream(request))
    await router.aclose()
    assert (caught.value.data["count"], caught.value.data["limit"]) == (5000, 1100)
    paths = [r.path for r in llm_server.requests]
    assert paths == ["/v1/messages/count_tokens", "/v1/messages", "/v1/messages/count_tokens"]


async def test_far_below_the_limit_nothing_is_counted_remotely(llm_server: LLMServer) -> None:
    llm_server.script(Reply([Text("ok")]))
    router = claude_router(llm_server, 200_000)
    await collect(router.stream(ask("short")))
    await router.aclose()
    assert [r.path for r in llm_server.requests] == ["/v1/messages"]
