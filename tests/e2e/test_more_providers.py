"""OpenRouter and AWS Bedrock through the real daemon: each query streamed from the fake
server in the provider's own wire format, and OpenRouter's catalogue in deputydev/models."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.harness import start_daemon
from tests.fakes.llm_server import LLMServer, Reply, Text
from tests.unit.providers.test_openrouter import CATALOGUE


async def test_openrouter_and_bedrock_answer_through_the_daemon(
    workspace: Path, tmp_path: Path, hermetic_env: Path
) -> None:
    with LLMServer() as llm:
        llm.models = CATALOGUE
        (hermetic_env / "config").mkdir()
        (hermetic_env / "config" / "config.toml").write_text(
            f"[providers.openrouter]\nbase_url = {json.dumps(llm.url + '/api/v1')}\n\n"
            f'[providers.bedrock]\nbase_url = {json.dumps(llm.url)}\nregion = "us-west-2"\n'
        )
        client = await start_daemon(
            workspace,
            stderr_path=tmp_path / "daemon.stderr",
            env={
                "OPENROUTER_API_KEY": "sk-or-e2e",
                "AWS_ACCESS_KEY_ID": "AKIDE2ETEST",
                "AWS_SECRET_ACCESS_KEY": "e2e-secret",
            },
        )
        try:
            listed = await client.request("deputydev/models", {})
            models = {m["name"]: m for m in listed["models"]}
            qwen = models["openrouter/qwen/qwen3-coder"]
            assert qwen["provider"] == "openrouter" and qwen["usable"]
            assert qwen["contextWindow"] == 262144
            assert qwen["prices"]["input"] == 0.2 and qwen["prices"]["output"] == 0.8
            assert models["bedrock-claude-sonnet"]["usable"]

            llm.script(
                Reply([Text("From OpenRouter.")], usage={"input": 10, "output": 3}),
                Reply([Text("From Bedrock.")], usage={"input": 10, "output": 3}),
            )
            first = await client.request(
                "deputydev/query", {"query": "hi", "model": "openrouter/qwen/qwen3-coder"}
            )
            second = await client.request(
                "deputydev/query", {"query": "hi", "model": "bedrock-claude-sonnet"}
            )
            assert (first["text"], first["model"]) == (
                "From OpenRouter.",
                "openrouter/qwen/qwen3-coder",
            )
            assert first["costUsd"] > 0
            assert (second["text"], second["model"]) == ("From Bedrock.", "bedrock-claude-sonnet")
            paths = [r.path for r in llm.requests]
            assert "/api/v1/chat/completions" in paths
            assert any(p.endswith("/invoke-with-response-stream") for p in paths)
            signed = next(r for r in llm.requests if r.path.startswith("/model/"))
            assert "Credential=AKIDE2ETEST/" in signed.headers["authorization"]
            assert "sk-or-e2e" not in client.stderr_text()
        finally:
            await client.stop_daemon()
