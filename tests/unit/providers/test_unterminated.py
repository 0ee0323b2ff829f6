"""A stream that ends early, cleanly, is never a complete answer, whatever the provider.

The fake server sends a few words and then ends the response body properly, with no finish
reason, no ``[DONE]``, no ``message_stop`` or ``response.completed``: what a crashed backend
behind a proxy looks like. Every wire format goes through the router, as the solver calls it,
with the real SDK parsing the real bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from providers.base import CallRecord, ChatRequest, Event, Finished, TextDelta, UserMessage
from providers.errors import ProviderUnavailable, StreamInterrupted
from providers.router import Router
from providers.settings import (
    ConnectionSettings,
    ModelSettings,
    ProvidersSettings,
    ServerSettings,
)
from tests.fakes.llm_server import LLMServer, Reply, Text

# model -> (chunks that carry the two words, chunks that carry none of them)
CASES: dict[str, tuple[int, int]] = {
    "gpt-4.1": (3, 1),  # Chat Completions: role chunk, "a few", " words"
    "gpt-codex": (4, 1),  # Responses: created, item added, two deltas
    "claude-sonnet": (5, 2),  # Anthropic: message_start, ping, block start, two deltas
    "gemini-flash": (2, 0),  # Gemini: one chunk per word
    "local": (3, 1),  # an OpenAI-compatible server
}


class Clock:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def router(llm_server: LLMServer, clock: Clock) -> AsyncIterator[Router]:
    def connection(base: str) -> ConnectionSettings:
        return ConnectionSettings(api_key=SecretStr("test-key"), base_url=base)

    settings = ProvidersSettings(
        openai=connection(llm_server.url + "/v1"),
        anthropic=connection(llm_server.url),
        gemini=connection(llm_server.url),
        servers={"fake": ServerSettings(base_url=llm_server.url + "/v1")},
        models={"local": ModelSettings(server="fake")},
    )
    made = Router(settings, sleep=clock, rng=lambda: 1.0)
    yield made
    await made.aclose()


def ask() -> ChatRequest:
    return ChatRequest(model="", messages=(UserMessage("hi"),))


async def collect(stream: AsyncIterator[Event], into: list[Event]) -> list[Event]:
    async for event in stream:
        into.append(event)
    return into


def words(events: list[Any]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


@pytest.mark.parametrize("model", list(CASES))
async def test_a_stream_ended_after_a_few_words_is_interrupted_not_finished(
    router: Router, llm_server: LLMServer, model: str
) -> None:
    with_words, _ = CASES[model]
    llm_server.script(
        Reply([Text("a few"), Text(" words"), Text(" and the rest")], end_after=with_words),
        Reply([Text("never asked for")]),
    )
    seen: list[Event] = []
    with pytest.raises(StreamInterrupted) as caught:
        await collect(router.stream(ask(), model=model), seen)

    assert words(seen) == "a few words"
    assert not any(isinstance(e, Finished) for e in seen)
    records = [e for e in seen if isinstance(e, CallRecord)]
    assert [r.status for r in records] == ["error"]
    assert "stream ended" in str(caught.value)
    # Output had reached the user: a second call would repeat it.
    assert llm_server.pending == 1


@pytest.mark.parametrize("model", list(CASES))
async def test_a_stream_ended_before_any_output_is_retried(
    router: Router, llm_server: LLMServer, clock: Clock, model: str
) -> None:
    _, nothing = CASES[model]
    llm_server.script(
        Reply([Text("lost")], end_after=nothing), Reply([Text("second"), Text(" try")])
    )
    seen = await collect(router.stream(ask(), model=model), [])

    assert words(seen) == "second try"
    assert isinstance(seen[-2], Finished) and seen[-2].reason == "stop"
    assert len(clock.delays) == 1
    assert llm_server.pending == 0


async def test_an_unterminated_stream_that_keeps_ending_early_gives_up_unavailable(
    router: Router, llm_server: LLMServer
) -> None:
    llm_server.script(*[Reply([Text("lost")], end_after=1)] * 3)
    with pytest.raises(ProviderUnavailable, match="ended before a finish_reason") as caught:
        await collect(router.stream(ask(), model="gpt-4.1"), [])
    assert not isinstance(caught.value, StreamInterrupted)
    assert llm_server.pending == 0
