"""deputydev doctor's provider checks: key sources, registry issues, local servers."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from daemon.config import load_settings
from daemon.doctor import check_model_servers, check_models
from tests.fakes.llm_server import LLMServer


def test_a_working_model_is_one_verdict_and_unset_keys_are_no_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[providers.anthropic]\napi_key = "sk-ant-doctor-key"\n'
        '[providers.models.half]\nmodel_id = "x"\n'
    )
    monkeypatch.setenv("GOOGLE_API_KEY", "g-doctor-key-123")
    checks = {c.name: c for c in check_models(load_settings(user_file=config, env={}))}
    model = checks["default model"]
    assert model.status == "ok" and model.detail.startswith("claude-sonnet (anthropic ")
    assert "can be called (key config)" in model.detail
    keys = checks["provider keys"]
    assert keys.status == "ok"
    assert "anthropic (config)" in keys.detail and "gemini (env:GOOGLE_API_KEY)" in keys.detail
    assert "not set (not needed): openai" in keys.detail
    assert not [c for c in checks.values() if c.status == "warn"]
    assert checks["model half"].status == "fail"
    assert "sk-ant-doctor-key" not in repr(checks)


def test_no_usable_model_is_one_failure_saying_what_to_set(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    config = tmp_path / "config.toml"
    config.write_text(f'[providers.servers.ollama]\nbase_url = "http://127.0.0.1:{dead}/v1"\n')
    loaded = load_settings(user_file=config, env={})
    checks = check_models(loaded) + check_model_servers(loaded)
    [model] = [c for c in checks if c.name == "default model"]
    assert model.status == "fail" and "no model is usable here" in model.detail
    assert "OPENAI_BASE_URL" in model.fix and "ANTHROPIC_API_KEY" in model.fix
    assert [c.name for c in checks] == ["default model"]  # no key rows, no Ollama row again


def test_local_servers_are_probed(tmp_path: Path, llm_server: LLMServer) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    config = tmp_path / "config.toml"
    config.write_text(
        f'[providers.servers.ollama]\nbase_url = "{llm_server.url}/v1"\n'
        f'[providers.servers.gone]\nbase_url = "http://127.0.0.1:{dead}/v1"\n'
        '[providers.models.far]\nprovider = "compatible"\nserver = "gone"\nmodel_id = "m"\n'
    )
    checks = {c.name: c for c in check_model_servers(load_settings(user_file=config, env={}))}
    assert checks["server ollama"].status == "ok"
    assert checks["server ollama"].detail == "answers (models: local)"  # not the cloud models
    assert checks["server gone"].status == "warn"
    assert "not reachable" in checks["server gone"].detail
    assert checks["server gone"].detail.endswith("(models: far)")
