"""The providers that test_unterminated leaves out: OpenRouter, Anthropic on AWS Bedrock and on
Vertex AI, and fill-in-the-middle completions. Each is sent a few words by the fake server,
whose response then ends properly with no end-of-stream event: an interrupted stream, never
a finished one."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from providers.base import (
    CallRecord,
    ChatRequest,
    Event,
    FimRequest,
    Finished,
    TextDelta,
    UserMessage,
)
from providers.errors import StreamInterrupted
from providers.fim import Completer
from providers.router import Router
from providers.settings import (
    BedrockSettings,
    ConnectionSettings,
    ModelSettings,
    OpenRouterSettings,
    ProvidersSettings,
    ServerSettings,
    VertexSettings,
)
from tests.fakes.llm_server import LLMServer, Reply, Text
from tests.unit.providers.test_cloud import adc_file

REQUEST = ChatRequest(model="", messages=(UserMessage("hi"),))


def three_words(with_words: int) -> Reply:
    return Reply([Text("a few"), Text(" words"), Text(" and the rest")], end_after=with_words)


async def collect(stream: AsyncIterator[Event], into: list[Event]) -> None:
    async for event in stream:
        into.append(event)


def words(events: list[Any]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def interrupted(router: Router, model: str) -> list[Event]:
    seen: list[Event] = []
    try:
        with pytest.raises(StreamInterrupted, match="stream ended"):
            await collect(router.stream(REQUEST, model=model), seen)
    finally:
        await router.aclose()
    assert not any(isinstance(e, Finished) for e in seen)
    assert [r.status for r in seen if isinstance(r, CallRecord)] == ["error"]
    return seen


async def test_openrouter(llm_server: LLMServer) -> None:
    llm_server.script(three_words(3))
    settings = ProvidersSettings(
        openrouter=OpenRouterSettings(
            api_key=SecretStr("sk-or-test"), base_url=llm_server.url + "/api/v1"
        )
    )
    seen = await interrupted(Router(settings), "openrouter/anthropic/claude-sonnet-4.5")
    assert words(seen) == "a few words"


async def test_bedrock(llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLETEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    llm_server.script(three_words(5))
    settings = ProvidersSettings(bedrock=BedrockSettings(base_url=llm_server.url))
    seen = await interrupted(Router(settings), "bedrock-claude-sonnet")
    assert words(seen) == "a few words"


async def test_vertex(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc_file(tmp_path, llm_server)))
    llm_server.script(three_words(5))
    settings = ProvidersSettings(
        vertex=VertexSettings(project="acme-ml", region="europe-west1", base_url=llm_server.url)
    )
    seen = await interrupted(Router(settings), "vertex-claude-sonnet")
    assert words(seen) == "a few words"


@pytest.mark.parametrize(
    ("model", "with_words"),
    [("codestral", 3), ("starcoder", 2), ("gpt-4.1-mini", 3)],
    ids=["mistral-fim", "v1-completions", "chat-prompt"],
)
async def test_fill_in_the_middle(llm_server: LLMServer, model: str, with_words: int) -> None:
    url = llm_server.url + "/v1"
    settings = ProvidersSettings(
        openai=ConnectionSettings(api_key=SecretStr("sk-test"), base_url=url),
        servers={
            "codestral": ServerSettings(base_url=url, api_key=SecretStr("cs-test-key-1")),
            "llamacpp": ServerSettings(base_url=url),
        },
        models={
            "starcoder": ModelSettings(
                provider="compatible", server="llamacpp", model_id="starcoder2", fim="starcoder"
            ),
        },
    )
    records: list[CallRecord] = []
    completer = Completer(Router(settings), on_record=records.append)
    llm_server.script(three_words(with_words))
    seen: list[Event] = []
    try:
        with pytest.raises(StreamInterrupted, match="stream ended"):
            request = FimRequest(model="", prefix="x = ", suffix="\n")
            await collect(completer.complete(request, model), seen)
    finally:
        await completer.aclose()
    assert words(seen) == "a few words"
    assert not any(isinstance(e, Finished) for e in seen)
    assert [r.status for r in records] == ["error"], json.dumps([r.status for r in records])
