"""A model stream that ends early reaches the editor as an interrupted turn, never as an answer.

One daemon is pointed at the fake server for every wire format (OpenAI Chat Completions and
Responses, Anthropic, Gemini, an OpenAI-compatible server). For each, the fake sends a few
words and then ends the response cleanly, with no finish reason and no end-of-stream event.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException

from protocol import errors as codes
from tests.e2e.harness import DaemonClient, start_daemon
from tests.fakes.llm_server import LLMServer, Reply, Text

# model -> chunks of its wire format that carry "a few words" and no more
MODELS = {
    "gpt-4.1": 3,
    "gpt-codex": 4,
    "claude-sonnet": 5,
    "gemini-flash": 2,
    "local": 3,
}


@pytest.fixture
async def client(workspace: Path, tmp_path: Path) -> AsyncIterator[tuple[DaemonClient, LLMServer]]:
    with LLMServer() as llm:
        url = llm.url
        daemon = await start_daemon(
            workspace,
            stderr_path=tmp_path / "daemon.stderr",
            env={
                "OPENAI_BASE_URL": f"{url}/v1",
                "OPENAI_API_KEY": "sk-test",
                "ANTHROPIC_BASE_URL": url,
                "ANTHROPIC_API_KEY": "sk-ant-test",
                "GOOGLE_GEMINI_BASE_URL": url,
                "GEMINI_API_KEY": "g-test",
                "DEPUTYDEV_PROVIDERS__SERVERS": json.dumps({"fake": {"base_url": f"{url}/v1"}}),
                "DEPUTYDEV_PROVIDERS__MODELS": json.dumps({"local": {"server": "fake"}}),
            },
        )
        try:
            yield daemon, llm
        finally:
            await daemon.stop_daemon()


async def test_a_stream_ended_early_fails_the_turn_in_every_provider(
    client: tuple[DaemonClient, LLMServer],
) -> None:
    daemon, llm = client
    for model, chunks in MODELS.items():
        llm.script(Reply([Text("a few"), Text(" words"), Text(" and more")], end_after=chunks))
        token = f"q-{model}"
        with pytest.raises(JsonRpcException) as raised:
            await daemon.request(
                "deputydev/query", {"query": "q", "model": model, "partialResultToken": token}
            )
        assert raised.value.code == codes.STREAM_INTERRUPTED, model
        assert "stream ended" in raised.value.message, model
        values = daemon.progress_values[token]
        texts = "".join(v["text"] for v in values if v["kind"] == "text")
        assert texts == "a few words", model
        [error] = [v for v in values if v["kind"] == "error"]
        assert error["code"] == codes.STREAM_INTERRUPTED, model

        session = await daemon.request(
            "deputydev/sessions/get", {"sessionId": values[0]["sessionId"]}
        )
        [turn] = session["turns"]
        assert turn["status"] == "failed", model
        assert turn["messages"][-1]["content"]["text"] == "a few words", model
    assert llm.pending == 0
    assert len(llm.requests) == len(MODELS)  # none retried: the words had reached the user
