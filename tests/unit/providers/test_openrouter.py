"""OpenRouter through the fake server on the wire: its headers and key, streamed replies,
and its model catalogue (limits and prices) feeding the registry, cached on disk."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from providers.base import CallRecord, ChatRequest, TextDelta, ToolCallEvent, UserMessage
from providers.errors import AuthenticationError
from providers.router import Router
from providers.settings import ModelSettings, OpenRouterSettings, ProvidersSettings
from tests.fakes.llm_server import Call, LLMServer, Reply, Text

CATALOGUE: dict[str, Any] = {
    "data": [
        {
            "id": "qwen/qwen3-coder",
            "name": "Qwen: Qwen3 Coder",
            "context_length": 262144,
            "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
            "pricing": {"prompt": "0.0000002", "completion": "0.0000008"},
            "top_provider": {"context_length": 262144, "max_completion_tokens": 65536},
            "supported_parameters": ["tools", "temperature", "max_tokens"],
        },
        {
            "id": "anthropic/claude-sonnet-4.5",
            "context_length": 1000000,
            "architecture": {"input_modalities": ["text", "image"], "output_modalities": ["text"]},
            "pricing": {
                "prompt": "0.000003",
                "completion": "0.000015",
                "input_cache_read": "0.0000003",
                "input_cache_write": "0.00000375",
            },
            "top_provider": {"max_completion_tokens": 64000},
            "supported_parameters": ["tools", "reasoning"],
        },
        {
            "id": "openai/gpt-image",
            "architecture": {"input_modalities": ["text"], "output_modalities": ["image"]},
            "pricing": {},
        },
    ]
}


def settings_for(server: LLMServer, **overrides: Any) -> ProvidersSettings:
    return ProvidersSettings(
        openrouter=OpenRouterSettings(
            api_key=SecretStr("sk-or-test"), base_url=server.url + "/api/v1", **overrides
        ),
        max_retries=0,
    )


async def collect(router: Router, request: ChatRequest, model: str) -> list[Any]:
    return [event async for event in router.stream(request, model=model)]


async def test_a_stream_through_openrouter_sends_its_headers_and_prices_from_the_catalogue(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "openrouter-models.json"
    with LLMServer() as server:
        server.models = CATALOGUE
        router = Router(settings_for(server), catalogue_path=cache)
        server.script(
            Reply(
                [Text("Looking. "), Call("c1", "read_file", {"path": "a.py"})],
                usage={"input": 1000, "output": 100},
            )
        )
        request = ChatRequest(model="", messages=(UserMessage("read a.py"),), max_output_tokens=500)
        try:
            events = await collect(router, request, "openrouter/qwen/qwen3-coder")
        finally:
            await router.aclose()

        catalogue_get, chat = server.requests
        assert catalogue_get.path == "/api/v1/models"
        assert chat.path == "/api/v1/chat/completions"
        assert chat.headers["authorization"] == "Bearer sk-or-test"
        assert chat.headers["http-referer"] == "https://deputydev.ai"
        assert chat.headers["x-title"] == "DeputyDev"
        assert chat.body["model"] == "qwen/qwen3-coder"
        assert chat.body["max_tokens"] == 500
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Looking. "
    [call] = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert call.name == "read_file" and call.arguments == {"path": "a.py"}
    [record] = [e for e in events if isinstance(e, CallRecord)]
    assert record.provider == "openrouter" and record.model == "openrouter/qwen/qwen3-coder"
    assert record.cost_usd == pytest.approx(1000 * 0.2e-6 + 100 * 0.8e-6)
    saved = json.loads(cache.read_text())
    assert [m["id"] for m in saved["data"]][:2] == [
        "qwen/qwen3-coder",
        "anthropic/claude-sonnet-4.5",
    ]


async def test_the_catalogue_feeds_the_registry_and_is_cached(tmp_path: Path) -> None:
    cache = tmp_path / "openrouter-models.json"
    with LLMServer() as server:
        server.models = CATALOGUE
        router = Router(settings_for(server), catalogue_path=cache)
        statuses = {s.spec.name: s for s in await router.models()}
        sonnet = statuses["openrouter/anthropic/claude-sonnet-4.5"].spec
        assert statuses["openrouter/anthropic/claude-sonnet-4.5"].usable
        assert (sonnet.context_window, sonnet.max_output_tokens) == (1_000_000, 64_000)
        assert (sonnet.input_price, sonnet.output_price) == pytest.approx((3.0, 15.0))
        assert (sonnet.cache_read_price, sonnet.cache_write_price) == pytest.approx((0.3, 3.75))
        assert sonnet.images and sonnet.reasoning and sonnet.tools and sonnet.prompt_caching
        qwen = statuses["openrouter/qwen/qwen3-coder"].spec
        assert not qwen.images and qwen.reasoning == () and qwen.max_output_tokens == 65536
        assert "openrouter/openai/gpt-image" not in statuses  # no text out: not a chat model
        assert statuses["claude-sonnet"].spec.provider == "anthropic"  # shipped ones remain

        # A fresh cache is used as it is: no second GET.
        again = Router(settings_for(server), catalogue_path=cache)
        assert again.resolve("openrouter/qwen/qwen3-coder").context_window == 262144
        await again.models()
        assert [r.path for r in server.requests].count("/api/v1/models") == 1

        # Stale, and the server is down: the cached catalogue still serves.
        stale = Router(settings_for(server, catalogue_ttl_s=0), catalogue_path=cache)
        server.models = {"error": "down"}
        await stale.models()
        assert stale.catalogue is not None and "could not be fetched" in (
            stale.catalogue.error or ""
        )
        assert stale.resolve("openrouter/qwen/qwen3-coder").input_price == pytest.approx(0.2)


async def test_a_user_entry_names_an_openrouter_model_and_unknown_ids_pass_through(
    tmp_path: Path,
) -> None:
    with LLMServer() as server:
        server.models = CATALOGUE
        settings = settings_for(server).model_copy(
            update={
                "models": {
                    "coder": ModelSettings(provider="openrouter", model_id="qwen/qwen3-coder")
                },
                "default_model": "coder",
            }
        )
        router = Router(settings, catalogue_path=tmp_path / "c.json")
        await router.refresh_catalogue()
        coder = router.resolve(None)
        assert (coder.name, coder.model_id, coder.context_window) == (
            "coder",
            "qwen/qwen3-coder",
            262144,
        )
        unlisted = router.resolve("openrouter/some-lab/new-model")
        assert unlisted.model_id == "some-lab/new-model" and unlisted.provider == "openrouter"


async def test_without_a_key_openrouter_says_which_variable_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    router = Router(ProvidersSettings())
    assert router.catalogue is None  # not configured: no catalogue, nothing fetched
    spec = router.resolve("openrouter/qwen/qwen3-coder")
    assert "OPENROUTER_API_KEY" in (router.key_problem(spec) or "")
    with pytest.raises(AuthenticationError, match="OPENROUTER_API_KEY"):
        await collect(router, ChatRequest(model="", messages=(UserMessage("hi"),)), spec.name)
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-env")
    assert Router(ProvidersSettings()).catalogue is not None


async def test_an_image_reaches_openrouter_as_a_data_url_within_its_limits(
    tmp_path: Path,
) -> None:
    from providers.images import sniff
    from tests.unit.providers.test_images import part, picture

    big = picture("PNG", (3000, 1000))
    with LLMServer() as server:
        server.models = CATALOGUE
        router = Router(settings_for(server), catalogue_path=tmp_path / "models.json")
        server.script(Reply([Text("a gradient")], usage={"input": 10, "output": 2}))
        request = ChatRequest(
            model="", messages=(UserMessage("what is it?", (part(big, "image/png"),)),)
        )
        try:
            events = await collect(router, request, "openrouter/anthropic/claude-sonnet-4.5")
        finally:
            await router.aclose()
        chat = server.requests[-1]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "a gradient"
    text, image = chat.body["messages"][-1]["content"]
    assert text == {"type": "text", "text": "what is it?"}
    head, data = image["image_url"]["url"].split(",", 1)
    assert head == "data:image/png;base64"
    info = sniff(base64.b64decode(data))
    assert info.media_type == "image/png" and (info.width, info.height) == (2048, 683)
