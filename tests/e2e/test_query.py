"""deputydev/query over stdio, the model scripted by the fake provider server on the wire.

The daemon is a real subprocess whose providers' SDKs are pointed at ``tests.fakes.
llm_server`` by their base-URL variables; the fake records every request body, so a test
asserts both what the editor saw and what the model was sent.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcRequestCancelled

from protocol import errors as codes
from tests.e2e.harness import DaemonClient, start_daemon
from tests.fakes.llm_server import Call, LLMServer, Reply, Text

# Each provider's environment, as its SDK's users set it, and a model of ours it serves.
PROVIDERS: dict[str, tuple[str, dict[str, str]]] = {
    "openai": ("gpt-4.1", {"OPENAI_BASE_URL": "{url}/v1", "OPENAI_API_KEY": "sk-test"}),
    "anthropic": (
        "claude-sonnet",
        {"ANTHROPIC_BASE_URL": "{url}", "ANTHROPIC_API_KEY": "sk-ant-test"},
    ),
    "gemini": ("gemini-flash", {"GOOGLE_GEMINI_BASE_URL": "{url}", "GEMINI_API_KEY": "g-test"}),
}
CHAT_ROUTES = ("openai-chat", "openai-responses", "anthropic", "gemini")


class Daemon:
    """A daemon on ``workspace`` whose model is the fake server, scripted per test."""

    def __init__(self, workspace: Path, tmp_path: Path, llm: LLMServer) -> None:
        self.workspace = workspace
        self.stderr = tmp_path / "daemon.stderr"
        self.llm = llm
        self.provider = "openai"
        self.client: DaemonClient | None = None

    async def start(
        self, *replies: Reply, provider: str | None = None, env: dict[str, str] | None = None
    ) -> DaemonClient:
        self.provider = provider or self.provider
        self.llm.script(*replies)
        model, provider_env = PROVIDERS[self.provider]
        self.client = await start_daemon(
            self.workspace,
            stderr_path=self.stderr,
            env={
                **{k: v.format(url=self.llm.url) for k, v in provider_env.items()},
                "DEPUTYDEV_PROVIDERS__DEFAULT_MODEL": model,
                **(env or {}),
            },
        )
        return self.client

    def requests(self) -> list[Any]:
        """The chat request bodies the model received, in order."""
        return [b for key in CHAT_ROUTES for b in self.llm.bodies(key)]

    async def close(self) -> None:
        client = self.client
        if client is None or client.process is None:
            return
        if client.process.returncode is None:
            try:
                await client.stop_daemon()
            except Exception:
                await client.kill()
        else:
            await client.stop()


@pytest.fixture
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture
async def daemon(workspace: Path, tmp_path: Path, llm: LLMServer) -> Any:
    d = Daemon(workspace, tmp_path, llm)
    yield d
    await d.close()


def text(*parts: str, **usage: int) -> Reply:
    return Reply([Text(p) for p in parts], usage=usage or {"input": 100, "output": 20})


def calls(*steps: Text | Call) -> Reply:
    return Reply(list(steps), usage={"input": 100, "output": 20})


def tool_results(body: Any) -> list[str]:
    """The tool results a request carries in its last turn, whatever the provider's format."""
    last = body.get("messages") or body.get("contents")
    out: list[str] = []
    for message in last or []:
        if message.get("role") == "tool":  # OpenAI
            out.append(message["content"])
        for part in message.get("content") or message.get("parts") or []:
            if isinstance(part, dict) and part.get("type") == "tool_result":  # Anthropic
                content = part["content"]
                out.append(content if isinstance(content, str) else content[0]["text"])
            elif isinstance(part, dict) and "functionResponse" in part:  # Gemini
                response = part["functionResponse"]["response"]
                out.append(response.get("output", response.get("error", json.dumps(response))))
    return out


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
async def test_a_question_answered_with_tools_streams_every_step(
    daemon: Daemon, provider: str
) -> None:
    client = await daemon.start(
        calls(Text("Let me look. "), Call("c1", "code_search", {"query": "greeting for a name"})),
        calls(Call("c2", "read_file", {"path": "hello.py"})),
        text("greet returns a greeting."),
        provider=provider,
    )
    result = await client.request(
        "deputydev/query", {"query": "what does greet do?", "partialResultToken": "q1"}
    )
    assert result["text"] == "greet returns a greeting."
    assert result["stopReason"] == "stop" and result["steps"] == 3
    assert [c["name"] for c in result["toolCalls"]] == ["code_search", "read_file"]
    assert result["model"] == PROVIDERS[provider][0]
    assert result["usage"]["inputTokens"] == 300 and result["usage"]["outputTokens"] == 60
    assert result["costUsd"] > 0

    first, second, third = daemon.requests()
    assert "code_search" in json.dumps(first) and "what does greet do?" in json.dumps(first)
    [found] = tool_results(second)
    assert "hello.py:1-" in found and "def greet(name):" in found
    assert 'return f"hello {name}"' in tool_results(third)[-1]
    kinds = [v["kind"] for v in client.progress_values["q1"]]
    assert kinds[:3] == ["session", "agent", "step"]
    assert kinds.count("step") == 3 and kinds.count("toolResult") == 2
    texts = [v["text"] for v in client.progress_values["q1"] if v["kind"] == "text"]
    assert "".join(texts) == "Let me look. greet returns a greeting."
    blocks = [
        (v["kind"], v["step"], v.get("text"))
        for v in client.progress_values["q1"]
        if v["kind"] in ("textStart", "textEnd")
    ]
    assert blocks == [
        ("textStart", 1, None),
        ("textEnd", 1, "Let me look. "),
        ("textStart", 3, None),
        ("textEnd", 3, "greet returns a greeting."),
    ]
    results = [v for v in client.progress_values["q1"] if v["kind"] == "toolResult"]
    assert results[0]["status"] == "ok"
    assert results[0]["summary"].startswith("hello.py:1-")


async def test_a_follow_up_carries_the_history(daemon: Daemon) -> None:
    client = await daemon.start(
        calls(Call("c1", "read_file", {"path": "hello.py"})), text("It is 4."), text("Then 6.")
    )
    first = await client.request("deputydev/query", {"query": "2+2?"})
    second = await client.request(
        "deputydev/query", {"query": "and 3+3?", "sessionId": first["sessionId"]}
    )
    assert second["sessionId"] == first["sessionId"]
    messages = daemon.requests()[2]["messages"]
    assert [m["role"] for m in messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
    ]
    assert messages[1]["content"] == "2+2?" and messages[-1]["content"] == "and 3+3?"
    assert messages[2]["tool_calls"][0]["function"]["name"] == "read_file"
    assert "def greet" in messages[3]["content"] and messages[4]["content"] == "It is 4."
    listed = await client.request("deputydev/sessions/list", {})
    assert [s["id"] for s in listed["sessions"]] == [first["sessionId"]]
    got = await client.request("deputydev/sessions/get", {"sessionId": first["sessionId"]})
    assert [t["status"] for t in got["turns"]] == ["complete", "complete"]


async def test_path_escapes_are_refused_to_the_model(daemon: Daemon) -> None:
    (daemon.workspace.parent / "secret.txt").write_text("outside\n")
    client = await daemon.start(
        calls(
            Call("c1", "read_file", {"path": "../secret.txt"}),
            Call("c2", "read_file", {"path": str(daemon.workspace.parent / "secret.txt")}),
        ),
        text("I cannot."),
    )
    result = await client.request("deputydev/query", {"query": "read the secret"})
    assert all(c["isError"] for c in result["toolCalls"])
    sent = tool_results(daemon.requests()[1])
    assert len(sent) == 2 and not any("outside" in r for r in sent)
    assert "contains '..'" in sent[0] and "is absolute" in sent[1]


async def test_write_mode_sends_the_edit_to_the_editor(daemon: Daemon) -> None:
    client = await daemon.start(
        calls(
            Call(
                "c1",
                "replace_in_file",
                {"path": "hello.py", "oldText": "hello {name}", "newText": "hi {name}"},
            )
        ),
        text("done"),
    )
    client.on_request(
        types.WORKSPACE_APPLY_EDIT, lambda params: types.ApplyWorkspaceEditResult(applied=True)
    )
    result = await client.request(
        "deputydev/query", {"query": "say hi", "writeMode": True, "partialResultToken": "w"}
    )
    [edit] = client.server_requests[types.WORKSPACE_APPLY_EDIT]
    [(uri, [text_edit])] = edit.edit.changes.items()
    assert uri.endswith("/hello.py") and "hi {name}" in text_edit.new_text
    assert result["toolCalls"][0]["result"] == (
        "edit to hello.py applied by the editor (+1 -1 lines)"
    )
    edits = [v for v in client.progress_values["w"] if v["kind"] == "fileEdit"]
    assert [(e["path"], e["status"], e["added"], e["removed"]) for e in edits] == [
        ("hello.py", "proposed", 1, 1),
        ("hello.py", "applied", 1, 1),
    ]
    assert "hello {name}" in (daemon.workspace / "hello.py").read_text()  # the editor writes
    assert tool_results(daemon.requests()[1]) == [result["toolCalls"][0]["result"]]


async def test_without_write_mode_no_edit_tool_is_offered(daemon: Daemon) -> None:
    client = await daemon.start(text("read-only"))
    await client.request("deputydev/query", {"query": "change it"})
    offered = [t["function"]["name"] for t in daemon.requests()[0]["tools"]]
    assert "read_file" in offered and "replace_in_file" not in offered


async def test_commands_run_only_when_the_user_approves(daemon: Daemon) -> None:
    client = await daemon.start(
        calls(Call("c1", "execute_command", {"command": "touch declined.txt"})),
        calls(Call("c2", "execute_command", {"command": "echo approved > approved.txt"})),
        text("ok"),
    )
    answers = iter([False, True])
    client.on_request("deputydev/confirm", lambda params: {"approved": next(answers)})
    result = await client.request("deputydev/query", {"query": "run things"})
    first, second = result["toolCalls"]
    assert first["isError"] and "declined" in first["result"]
    assert not second["isError"] and second["result"].startswith("exit code 0")
    asked = client.server_requests["deputydev/confirm"]
    assert asked[0]["details"]["command"] == "touch declined.txt"
    assert not (daemon.workspace / "declined.txt").exists()
    assert (daemon.workspace / "approved.txt").read_text() == "approved\n"
    assert "declined" in tool_results(daemon.requests()[1])[0]


async def test_cancel_mid_stream_closes_the_stream_and_keeps_what_was_produced(
    daemon: Daemon,
) -> None:
    # role chunk, then the text; then the server hangs until the client goes away
    client = await daemon.start(Reply([Text("half an answer")], stall_after=2))
    future = client.protocol.send_request_async(
        "deputydev/query", {"query": "long one", "partialResultToken": "c"}, msg_id="long-1"
    )
    await client.wait_for(
        lambda: any(v["kind"] == "text" for v in client.progress_values["c"]), what="text"
    )
    session_id = client.progress_values["c"][0]["sessionId"]
    loop = asyncio.get_running_loop()
    cancelled_at = loop.time()
    client.protocol.notify("$/cancelRequest", types.CancelParams(id="long-1"))
    with pytest.raises(JsonRpcRequestCancelled):
        await asyncio.wait_for(future, 30)
    assert loop.time() - cancelled_at < 0.2
    assert await daemon.llm.wait_disconnects(1) >= 1  # the HTTP stream was closed

    got = await client.request("deputydev/sessions/get", {"sessionId": session_id})
    [turn] = got["turns"]
    assert turn["status"] == "cancelled"
    assert turn["messages"][-1]["content"]["text"] == "half an answer"


async def test_a_busy_session_is_refused(daemon: Daemon) -> None:
    client = await daemon.start(text("one"), Reply([Text("slow")], stall_after=2))
    first = await client.request("deputydev/query", {"query": "q1"})
    session_id = first["sessionId"]
    pending = client.protocol.send_request_async(
        "deputydev/query",
        {"query": "q2", "sessionId": session_id, "partialResultToken": "b"},
        msg_id="busy-1",
    )
    await client.wait_for(lambda: client.progress_values["b"], what="the second turn")
    with pytest.raises(JsonRpcException) as raised:
        await client.request("deputydev/query", {"query": "q3", "sessionId": session_id})
    assert raised.value.code == codes.SESSION_BUSY
    assert raised.value.data is not None and raised.value.data["sessionId"] == session_id
    client.protocol.notify("$/cancelRequest", types.CancelParams(id="busy-1"))
    with pytest.raises(JsonRpcRequestCancelled):
        await asyncio.wait_for(pending, 30)
    assert client.progress_values["b"][-1]["data"] == {"kind": "Cancelled"}


async def test_a_throttled_model_is_a_typed_error_with_retry_after(daemon: Daemon) -> None:
    client = await daemon.start(
        Reply(status=429, headers={"Retry-After": "7"}, error={"error": {"message": "slow"}}),
        env={"DEPUTYDEV_PROVIDERS__MAX_RETRIES": "0"},
    )
    with pytest.raises(JsonRpcException) as raised:
        await client.request("deputydev/query", {"query": "q", "partialResultToken": "e"})
    assert raised.value.code == codes.RATE_LIMITED
    assert raised.value.data is not None and raised.value.data["retryAfter"] == 7
    [failed] = [v for v in client.progress_values["e"] if v["kind"] == "error"]
    assert failed["code"] == codes.RATE_LIMITED and failed["data"]["retryAfter"] == 7
    assert failed["data"]["kind"] == "RateLimited"
    assert "sk-test" not in json.dumps(client.progress_values["e"])


async def test_a_stream_cut_mid_answer_fails_the_turn_and_keeps_the_text(daemon: Daemon) -> None:
    client = await daemon.start(Reply([Text("partial ")], cut_after=2))
    with pytest.raises(JsonRpcException) as raised:
        await client.request("deputydev/query", {"query": "q", "partialResultToken": "x"})
    assert raised.value.code == codes.STREAM_INTERRUPTED
    assert len(daemon.requests()) == 1  # never retried once output had reached the user
    session_id = client.progress_values["x"][0]["sessionId"]
    got = await client.request("deputydev/sessions/get", {"sessionId": session_id})
    [turn] = got["turns"]
    assert turn["status"] == "failed" and turn["error"]
    assert turn["messages"][-1]["content"]["text"] == "partial "


async def test_the_fallback_model_answers_when_the_first_is_down(daemon: Daemon) -> None:
    client = await daemon.start(
        Reply(status=503, error={"error": {"message": "down"}}),
        text("from the fallback"),
        env={
            "DEPUTYDEV_PROVIDERS__MAX_RETRIES": "0",
            "DEPUTYDEV_PROVIDERS__FALLBACKS": '["gpt-4.1-mini"]',
        },
    )
    result = await client.request("deputydev/query", {"query": "q", "partialResultToken": "f"})
    assert result["text"] == "from the fallback" and result["model"] == "gpt-4.1-mini"
    [switch] = [v for v in client.progress_values["f"] if v["kind"] == "modelFallback"]
    assert switch["fromModel"] == "gpt-4.1" and switch["toModel"] == "gpt-4.1-mini"
    assert [b["model"] for b in daemon.requests()] == ["gpt-4.1", "gpt-4.1-mini"]


async def test_a_model_added_in_the_editor_serves_the_next_query(daemon: Daemon) -> None:
    client = await daemon.start(text("from the default"), text("from my model"))
    first = await client.request("deputydev/query", {"query": "q1"})
    assert first["model"] == "gpt-4.1"
    client.protocol.notify(
        types.WORKSPACE_DID_CHANGE_CONFIGURATION,
        types.DidChangeConfigurationParams(
            settings={
                "providers": {"models": {"mine": {"provider": "openai", "modelId": "my-fine-tune"}}}
            }
        ),
    )
    listed = await client.request("deputydev/models", {})
    [mine] = [m for m in listed["models"] if m["name"] == "mine"]
    assert mine["provider"] == "openai" and mine["usable"]
    second = await client.request("deputydev/query", {"query": "q2", "model": "mine"})
    assert second["model"] == "mine" and second["text"] == "from my model"
    assert [b["model"] for b in daemon.requests()] == ["gpt-4.1", "my-fine-tune"]


async def test_a_killed_daemon_leaves_the_turn_interrupted(daemon: Daemon) -> None:
    client = await daemon.start(Reply([Text("started")], stall_after=2))
    client.protocol.send_request_async(
        "deputydev/query", {"query": "doomed", "partialResultToken": "k"}
    )
    await client.wait_for(
        lambda: any(v["kind"] == "text" for v in client.progress_values["k"]), what="text"
    )
    session_id = client.progress_values["k"][0]["sessionId"]
    assert client.process is not None
    client.process.send_signal(signal.SIGKILL)
    await client.process.wait()
    await client.stop()

    client = await daemon.start()
    got = await client.request("deputydev/sessions/get", {"sessionId": session_id})
    [turn] = got["turns"]
    assert turn["status"] == "interrupted"
    assert turn["messages"][0]["content"]["text"] == "doomed"
