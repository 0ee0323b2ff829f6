"""Fill-in-the-middle calls against the fake server: each wire format, the chat fallback,
closing the stream early, cancellation and the call records."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from providers.base import CallRecord, Event, FimRequest, Finished, TextDelta, Usage
from providers.errors import AuthenticationError
from providers.fim import CHAT_SYSTEM, HOLE, ChatCleaner, Completer
from providers.router import Router
from providers.settings import (
    ConnectionSettings,
    ModelSettings,
    ProvidersSettings,
    ServerSettings,
)
from tests.fakes.llm_server import LLMServer, Reply, Text

PREFIX = "def add(a, b):\n    "
SUFFIX = "\n\nprint(add(1, 2))\n"


def settings_for(server: LLMServer) -> ProvidersSettings:
    url = server.url + "/v1"
    return ProvidersSettings(
        openai=ConnectionSettings(api_key=SecretStr("sk-test-key"), base_url=url),
        servers={
            "ollama": ServerSettings(base_url=url),
            "codestral": ServerSettings(base_url=url, api_key=SecretStr("cs-test-key-1")),
            "llamacpp": ServerSettings(base_url=url),
        },
        models={
            "starcoder": ModelSettings(
                provider="compatible", server="llamacpp", model_id="starcoder2", fim="starcoder"
            ),
        },
    )


class Calls:
    def __init__(self) -> None:
        self.records: list[CallRecord] = []

    def __call__(self, record: CallRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records() -> Calls:
    return Calls()


@pytest.fixture
async def completer(llm_server: LLMServer, records: Calls) -> AsyncIterator[Completer]:
    completer = Completer(Router(settings_for(llm_server)), on_record=records)
    yield completer
    await completer.aclose()


def fim(**overrides: Any) -> FimRequest:
    values: dict[str, Any] = {"model": "", "prefix": PREFIX, "suffix": SUFFIX, **overrides}
    return FimRequest(**values)


async def text_of(stream: AsyncIterator[Event]) -> str:
    return "".join([e.text async for e in stream if isinstance(e, TextDelta)])


async def test_suffix_style_sends_prompt_and_suffix_to_v1_completions(
    completer: Completer, llm_server: LLMServer, records: Calls
) -> None:
    llm_server.script(Reply([Text("return "), Text("a + b")], usage={"input": 30, "output": 4}))

    text = await text_of(
        completer.complete(fim(context="# Path: calc.py\n", stop=("\n\n",)), "local")
    )

    assert text == "return a + b"
    request = llm_server.requests[0]
    assert request.path == "/v1/completions"
    assert request.body["prompt"] == "# Path: calc.py\n" + PREFIX
    assert request.body["suffix"] == SUFFIX
    assert request.body["model"] == "qwen2.5-coder:7b"
    assert request.body["stream"] is True
    assert request.body["stop"] == ["\n\n"]
    assert request.body["max_tokens"] == 128
    [record] = records.records
    assert (record.model, record.status, record.usage) == ("local", "ok", Usage(30, 4))
    assert record.extra["fim"] == "suffix" and record.extra["estimated"] is False


async def test_mistral_style_calls_fim_completions_with_only_documented_fields(
    completer: Completer, llm_server: LLMServer, records: Calls
) -> None:
    llm_server.script(Reply([Text("return a"), Text(" + b")], usage={"input": 20, "output": 5}))

    text = await text_of(completer.complete(fim(), "codestral"))

    assert text == "return a + b"
    request = llm_server.requests[0]
    assert request.path == "/v1/fim/completions"
    assert request.headers["authorization"] == "Bearer cs-test-key-1"
    assert set(request.body) == {
        "model",
        "prompt",
        "suffix",
        "max_tokens",
        "stream",
        "temperature",
    }
    assert (request.body["prompt"], request.body["suffix"]) == (PREFIX, SUFFIX)
    assert request.body["model"] == "codestral-latest"
    [record] = records.records
    assert record.usage == Usage(20, 5)
    assert record.cost_usd == pytest.approx((20 * 0.30 + 5 * 0.90) / 1e6)


async def test_template_style_writes_the_models_fim_tokens_into_the_prompt(
    completer: Completer, llm_server: LLMServer
) -> None:
    llm_server.script(Reply([Text("return a + b")]))

    await text_of(completer.complete(fim(), "starcoder"))

    body = llm_server.requests[0].body
    assert body["prompt"] == f"<fim_prefix>{PREFIX}<fim_suffix>{SUFFIX}<fim_middle>"
    assert "suffix" not in body
    assert "<|endoftext|>" in body["stop"]


async def test_a_chat_model_fills_the_hole_and_its_fence_and_echo_are_dropped(
    completer: Completer, llm_server: LLMServer
) -> None:
    prefix = "def add(a, b):\n    return a"
    llm_server.script(Reply([Text("```python\n"), Text("return a + "), Text("b\n```\nDone.")]))

    text = await text_of(completer.complete(fim(prefix=prefix, context="# helper\n"), "gpt-4.1"))

    assert text == " + b\n"
    body = llm_server.requests[0].body
    assert llm_server.requests[0].path == "/v1/chat/completions"
    assert body["messages"][0] == {"role": "system", "content": CHAT_SYSTEM}
    user = body["messages"][1]["content"]
    assert f"{prefix}{HOLE}{SUFFIX}" in user
    assert user.index("# helper") < user.index(HOLE)
    assert body["temperature"] == 0.0


async def test_stopping_early_closes_the_stream_and_counts_the_call_as_done(
    completer: Completer, llm_server: LLMServer, records: Calls
) -> None:
    llm_server.script(Reply([Text("return a"), Text(" + b"), Text(" + c")], stall_after=2))

    stream = completer.complete(fim(), "local")
    async for event in stream:
        if isinstance(event, TextDelta):
            break
    await stream.aclose()  # type: ignore[attr-defined]

    assert await llm_server.wait_disconnects(1) == 1
    [record] = records.records
    assert record.status == "ok"
    assert record.extra["estimated"] is True
    assert record.usage.input_tokens == (len(PREFIX) + len(SUFFIX) + 3) // 4


async def test_cancelling_the_caller_closes_the_providers_stream(
    completer: Completer, llm_server: LLMServer, records: Calls
) -> None:
    llm_server.script(Reply([Text("return a"), Text(" + b")], stall_after=1))
    first = asyncio.Event()

    async def consume() -> None:
        async for event in completer.complete(fim(), "local"):
            if isinstance(event, TextDelta):
                first.set()

    task = asyncio.create_task(consume())
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await llm_server.wait_disconnects(1) == 1
    assert [r.status for r in records.records] == ["cancelled"]


async def test_a_refused_key_is_an_authentication_error_with_a_record(
    completer: Completer, llm_server: LLMServer, records: Calls
) -> None:
    llm_server.script(Reply(status=401))

    with pytest.raises(AuthenticationError):
        await text_of(completer.complete(fim(), "codestral"))

    assert [r.status for r in records.records] == ["error"]


async def test_finished_closes_every_stream(completer: Completer, llm_server: LLMServer) -> None:
    llm_server.script(Reply([Text("x")], finish="length"))

    events = [e async for e in completer.complete(fim(), "local")]

    assert isinstance(events[-1], Finished) and events[-1].reason == "length"


# --------------------------------------------------------------------------- ChatCleaner


def clean(chunks: list[str], line: str = "") -> str:
    cleaner = ChatCleaner(line)
    return "".join(cleaner.feed(c) for c in chunks) + cleaner.end()


@pytest.mark.parametrize(
    ("chunks", "line", "expected"),
    [
        (["return a + b"], "", "return a + b"),
        (["``", "`py\nx = 1\n", "``", "`\ntrailing"], "", "x = 1\n"),
        (["```\n", "x"], "", "x"),
        (["    total = ", "a + b"], "    total = ", "a + b"),
        (["tot", "al = a"], "    total = ", "a"),
        (["total"], "    total = ", "total"),  # not the whole echo: kept
        (["a `b` c"], "", "a `b` c"),
        (["\n    ", "return 1"], "def f():", "\n    return 1"),
        (["\n```py\n", "x\n```"], "", "x\n"),
        (["  ", "  return 1\n    x"], "    ", "return 1\n    x"),  # the indentation again
        (["return 1"], "    ", "return 1"),
        (["  y"], "    ", "  y"),  # less indentation than the line: the model's own
    ],
)
def test_chat_cleaner(chunks: list[str], line: str, expected: str) -> None:
    assert clean(chunks, line) == expected
