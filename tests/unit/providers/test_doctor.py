"""deputydev doctor's provider checks: key sources, registry issues, local servers."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from daemon.config import load_settings
from daemon.doctor import check_model_servers, check_provider_keys
from tests.fakes.llm_server import LLMServer


def test_keys_report_their_source_and_never_the_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[providers.anthropic]\napi_key = "sk-ant-doctor-key"\n'
        '[providers.models.half]\nmodel_id = "x"\n'
    )
    monkeypatch.setenv("GOOGLE_API_KEY", "g-doctor-key-123")
    checks = {c.name: c for c in check_provider_keys(load_settings(user_file=config, env={}))}
    assert (checks["anthropic key"].status, checks["anthropic key"].detail) == ("ok", "from config")
    assert checks["gemini key"].detail == "from env:GOOGLE_API_KEY"
    assert checks["openai key"].status == "warn"
    assert "OPENAI_API_KEY" in checks["openai key"].fix
    assert checks["model half"].status == "fail"
    assert "sk-ant-doctor-key" not in repr(checks)


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
