"""deputydev/models and the providers in deputydev/status, over stdio, never showing a key."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from daemon import paths
from tests.e2e.harness import DaemonClient, start_daemon
from tests.fakes.llm_server import LLMServer

KEY = "sk-e2e-secret-key-0123456789"


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture
async def daemon(
    workspace: Path, tmp_path: Path, llm_server: LLMServer
) -> AsyncIterator[DaemonClient]:
    config = paths.user_config_file()
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        "[providers]\n"
        'default_model = "gpt"\n'
        'fallbacks = ["local"]\n'
        "[providers.servers.ollama]\n"
        f'base_url = "{llm_server.url}/v1"\n'
        "[providers.models.mine]\n"
        'model_id = "no-provider-given"\n'
    )
    client = await start_daemon(
        workspace, stderr_path=tmp_path / "daemon.stderr", env={"OPENAI_API_KEY": KEY}
    )
    try:
        yield client
    finally:
        await client.stop_daemon()


async def test_models_lists_the_registry_with_usability_and_no_key(
    daemon: DaemonClient, llm_server: LLMServer
) -> None:
    result = await daemon.request("deputydev/models", {})

    models = {m["name"]: m for m in result["models"]}
    assert models["gpt"]["usable"] is True
    assert models["gpt"]["modelId"] == "gpt-6.1-sol"
    assert models["gpt"]["prices"] == {
        "input": 2.0,
        "output": 10.0,
        "cacheRead": 0.1,
        "cacheWrite": 0.0,
    }
    assert models["claude-sonnet"]["usable"] is False
    assert "ANTHROPIC_API_KEY" in models["claude-sonnet"]["reason"]
    assert models["local"]["usable"] is True  # the fake server answers GET /v1/models
    assert models["local"]["server"] == "ollama"
    # Which models fill in the middle natively, and how; the rest through a chat prompt.
    fim = {name: models[name]["capabilities"]["fim"] for name in ("local", "codestral", "deepseek")}
    assert fim == {"local": "suffix", "codestral": "mistral", "deepseek": "suffix"}
    assert models["gpt"]["capabilities"]["fim"] == "chat"
    assert models["claude-sonnet"]["capabilities"]["fim"] == "chat"
    assert "mine" not in models
    assert any("providers.models.mine" in i for i in result["issues"])
    assert (result["defaultModel"], result["fallbacks"]) == ("gpt", ["local"])
    assert KEY not in json.dumps(result)
    assert [r.path for r in llm_server.requests] == ["/v1/models"]


async def test_status_names_where_each_key_comes_from(daemon: DaemonClient) -> None:
    status = await daemon.request("deputydev/status", {})
    providers = {p["name"]: p for p in status["providers"]}
    assert providers["openai"] == {
        "name": "openai",
        "configured": True,
        "source": "env:OPENAI_API_KEY",
    }
    assert providers["anthropic"]["configured"] is False
    assert providers["ollama"]["configured"] is True
    assert KEY not in json.dumps(status)
