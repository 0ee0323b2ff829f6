"""The model registry: shipped entries, user entries from config.toml, and cost."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import load_settings
from providers.base import Usage
from providers.errors import UnknownModel
from providers.registry import Registry
from providers.settings import ModelSettings, ProvidersSettings


def test_cost_prices_each_kind_of_token_per_million() -> None:
    spec = Registry.from_settings(ProvidersSettings()).resolve("claude-sonnet")
    usage = Usage(input_tokens=1_000_000, output_tokens=100_000, cache_read_tokens=2_000_000,
                  cache_write_tokens=400_000)  # fmt: skip
    # claude-sonnet-5-5: 2.00 input + 1.00 output + 0.40 cache reads + 1.00 cache writes
    assert spec.cost(usage) == pytest.approx(4.4)


def test_a_model_id_resolves_like_its_name() -> None:
    registry = Registry.from_settings(ProvidersSettings())
    assert registry.resolve("gpt-4.1-mini").name == "gpt-4.1-mini"
    assert registry.resolve("gemini-3.1-pro-preview").name == "gemini"


def test_unknown_model_lists_the_known_ones() -> None:
    registry = Registry.from_settings(ProvidersSettings())
    with pytest.raises(UnknownModel, match=r"providers\.models\.nope") as caught:
        registry.resolve("nope")
    assert "local" in caught.value.data["known"]


def test_user_entries_add_models_and_override_shipped_fields(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "[providers.models.local]\n"
        'model_id = "llama3.1:8b"\n'
        "context_window = 131072\n"
        "[providers.servers.vllm]\n"
        'base_url = "http://127.0.0.1:8000/v1"\n'
        "[providers.models.mine]\n"
        'provider = "compatible"\n'
        'server = "vllm"\n'
        'model_id = "Qwen/Qwen3-Coder"\n'
        "input_price = 0.5\n"
        "[providers.models.broken]\n"
        'model_id = "x"\n'
    )
    loaded = load_settings(user_file=config, env={})
    assert loaded.issues == ()
    registry = Registry.from_settings(loaded.settings.providers)

    local = registry.resolve("local")
    assert (local.model_id, local.context_window, local.server) == ("llama3.1:8b", 131072, "ollama")
    mine = registry.resolve("mine")
    assert (mine.provider, mine.server, mine.input_price) == ("compatible", "vllm", 0.5)
    assert registry.get("broken") is None
    assert [i.name for i in registry.issues] == ["broken"]
    assert "needs provider and model_id" in registry.issues[0].message


def test_a_compatible_model_naming_an_unknown_server_is_left_out() -> None:
    settings = ProvidersSettings(
        models={"m": ModelSettings(provider="compatible", model_id="x", server="nowhere")}
    )
    registry = Registry.from_settings(settings)
    assert registry.get("m") is None
    assert "providers.servers.nowhere" in registry.issues[0].message


def test_keys_in_config_files_are_hidden_from_logs(tmp_path: Path) -> None:
    from daemon.logs import redact

    config = tmp_path / "config.toml"
    config.write_text(
        '[providers.openai]\napi_key = "sk-from-config-file-123"\n'
        '[providers.servers.router]\nbase_url = "http://127.0.0.1:1/v1"\n'
        'api_key = "rk-server-key-456"\n'
    )
    loaded = load_settings(user_file=config, env={})
    assert loaded.issues == ()
    assert redact("key sk-from-config-file-123 and rk-server-key-456") == (
        "key [REDACTED] and [REDACTED]"
    )
    assert "sk-from-config-file-123" not in repr(loaded.settings)


def test_the_registry_says_which_models_fill_in_the_middle(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[providers.servers.llamacpp]\nbase_url = "http://127.0.0.1:8080/v1"\n'
        '[providers.models.qwen]\nprovider = "compatible"\nserver = "llamacpp"\n'
        'model_id = "qwen2.5-coder-7b"\nfim = "qwen"\n'
        '[providers.models.deepseek]\nfim = "chat"\n'
    )
    loaded = load_settings(user_file=config, env={})
    registry = Registry.from_settings(loaded.settings.providers)
    styles = {name: registry.resolve(name).fim for name in ("local", "codestral", "qwen")}
    assert styles == {"local": "suffix", "codestral": "mistral", "qwen": "qwen"}
    assert registry.resolve("deepseek").fim == "chat"  # the user turned it off
    assert registry.resolve("claude-haiku").fim == "chat"


def test_shipped_completion_servers_read_their_keys_from_their_own_variables() -> None:
    from providers.router import Router
    from providers.settings import ServerSettings, server_settings

    settings = ProvidersSettings()
    codestral = server_settings(settings, "codestral")
    assert (codestral.base_url, codestral.api_key_env) == (
        "https://codestral.mistral.ai/v1",
        "CODESTRAL_API_KEY",
    )
    assert server_settings(settings, "deepseek").base_url == "https://api.deepseek.com/beta"
    problem = Router(settings).key_problem(Registry.from_settings(settings).resolve("codestral"))
    assert problem is not None and "CODESTRAL_API_KEY" in problem
    # A section of the same name keeps what it sets and takes the rest from the shipped one.
    mine = ProvidersSettings(servers={"deepseek": ServerSettings(api_key_env="MY_DS_KEY")})
    ds = server_settings(mine, "deepseek")
    assert (ds.base_url, ds.api_key_env) == ("https://api.deepseek.com/beta", "MY_DS_KEY")
