"""deputydev/query over stdio, with the model scripted by tests.fakes.scripted_router."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcRequestCancelled

from protocol import errors as codes
from tests.e2e.harness import DaemonClient, start_daemon


class Daemon:
    """A daemon on ``workspace`` whose model follows ``script``, recording its requests."""

    def __init__(self, workspace: Path, tmp_path: Path) -> None:
        self.workspace = workspace
        self.script = tmp_path / "script.json"
        self.record = tmp_path / "requests.jsonl"
        self.stderr = tmp_path / "daemon.stderr"
        self.script.write_text("[]")
        self.client: DaemonClient | None = None

    async def start(self, steps: list[list[dict[str, Any]]]) -> DaemonClient:
        self.script.write_text(json.dumps(steps))
        self.client = await start_daemon(
            self.workspace,
            stderr_path=self.stderr,
            env={
                "DEPUTYDEV_PLUGINS": "tests.fakes.scripted_router",
                "DEPUTYDEV_TEST_SCRIPT": str(self.script),
                "DEPUTYDEV_TEST_RECORD": str(self.record),
            },
        )
        return self.client

    def requests(self) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines()]

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
async def daemon(workspace: Path, tmp_path: Path) -> Any:
    d = Daemon(workspace, tmp_path)
    yield d
    await d.close()


def call(call_id: str, name: str, **arguments: Any) -> dict[str, Any]:
    return {"call": [call_id, name, arguments]}


async def test_a_question_answered_with_tools_streams_every_step(daemon: Daemon) -> None:
    client = await daemon.start(
        [
            [{"text": "Let me look. "}, call("c1", "grep_search", pattern="def greet")],
            [call("c2", "read_file", path="hello.py")],
            [{"text": "greet returns a greeting."}],
        ]
    )
    result = await client.request(
        "deputydev/query", {"query": "what does greet do?", "partialResultToken": "q1"}
    )
    assert result["text"] == "greet returns a greeting."
    assert result["stopReason"] == "stop" and result["steps"] == 3
    assert [c["name"] for c in result["toolCalls"]] == ["grep_search", "read_file"]
    assert result["model"] == "scripted" and result["usage"]["inputTokens"] == 300
    assert result["costUsd"] == pytest.approx(0.003)

    _, second, third = daemon.requests()
    assert second["messages"][-1]["results"][0][2] == "hello.py:1: def greet(name):"
    assert 'return f"hello {name}"' in third["messages"][-1]["results"][0][2]
    kinds = [v["kind"] for v in client.progress_values["q1"]]
    assert kinds[:3] == ["session", "agent", "step"]
    assert kinds.count("step") == 3 and kinds.count("toolResult") == 2
    texts = [v["text"] for v in client.progress_values["q1"] if v["kind"] == "text"]
    assert texts == ["Let me look. ", "greet returns a greeting."]
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
    assert results[0]["summary"] == "hello.py:1: def greet(name):"


async def test_a_follow_up_carries_the_history(daemon: Daemon) -> None:
    client = await daemon.start([[{"text": "It is 4."}], [{"text": "Then 6."}]])
    first = await client.request("deputydev/query", {"query": "2+2?"})
    second = await client.request(
        "deputydev/query", {"query": "and 3+3?", "sessionId": first["sessionId"]}
    )
    assert second["sessionId"] == first["sessionId"]
    messages = daemon.requests()[1]["messages"]
    assert [(m["role"], m["text"]) for m in messages] == [
        ("user", "2+2?"),
        ("assistant", "It is 4."),
        ("user", "and 3+3?"),
    ]
    listed = await client.request("deputydev/sessions/list", {})
    assert [s["id"] for s in listed["sessions"]] == [first["sessionId"]]
    got = await client.request("deputydev/sessions/get", {"sessionId": first["sessionId"]})
    assert [t["status"] for t in got["turns"]] == ["complete", "complete"]


async def test_path_escapes_are_refused_to_the_model(daemon: Daemon) -> None:
    client = await daemon.start(
        [
            [
                call("c1", "read_file", path="../outside.txt"),
                call("c2", "read_file", path="/etc/passwd"),
            ],
            [{"text": "no"}],
        ]
    )
    (daemon.workspace.parent / "outside.txt").write_text("private")
    result = await client.request("deputydev/query", {"query": "read it"})
    assert [c["isError"] for c in result["toolCalls"]] == [True, True]
    results = daemon.requests()[1]["messages"][-1]["results"]
    assert "'..'" in results[0][2] and "absolute" in results[1][2]
    assert "private" not in json.dumps(daemon.requests())


async def test_write_mode_sends_the_edit_to_the_editor(daemon: Daemon) -> None:
    client = await daemon.start(
        [
            [
                call(
                    "c1",
                    "replace_in_file",
                    path="hello.py",
                    oldText="hello {name}",
                    newText="hi {name}",
                )
            ],
            [{"text": "done"}],
        ]
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


async def test_without_write_mode_no_edit_tool_is_offered(daemon: Daemon) -> None:
    client = await daemon.start([[{"text": "read-only"}]])
    await client.request("deputydev/query", {"query": "change it"})
    assert "replace_in_file" not in daemon.requests()[0]["tools"]


async def test_commands_run_only_when_the_user_approves(daemon: Daemon) -> None:
    client = await daemon.start(
        [
            [call("c1", "execute_command", command="touch declined.txt")],
            [call("c2", "execute_command", command="echo approved > approved.txt")],
            [{"text": "ok"}],
        ]
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


async def test_cancel_mid_stream_keeps_what_was_produced(daemon: Daemon) -> None:
    client = await daemon.start([[{"text": "half an answer"}, {"hang": True}]])
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

    got = await client.request("deputydev/sessions/get", {"sessionId": session_id})
    [turn] = got["turns"]
    assert turn["status"] == "cancelled"
    assert turn["messages"][-1]["content"]["text"] == "half an answer"


async def test_a_busy_session_is_refused(daemon: Daemon) -> None:
    client = await daemon.start([[{"text": "one"}], [{"text": "slow"}, {"hang": True}]])
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


async def test_a_provider_error_is_streamed_typed_and_the_turn_is_kept(daemon: Daemon) -> None:
    client = await daemon.start(
        [[{"text": "partial "}, {"fail": "RateLimited", "message": "slow down", "retryAfter": 7}]]
    )
    with pytest.raises(JsonRpcException) as raised:
        await client.request("deputydev/query", {"query": "q", "partialResultToken": "e"})
    assert raised.value.code == codes.RATE_LIMITED
    assert raised.value.data is not None and raised.value.data["retryAfter"] == 7
    [failed] = [v for v in client.progress_values["e"] if v["kind"] == "error"]
    assert failed == {
        "kind": "error",
        "code": codes.RATE_LIMITED,
        "message": "slow down",
        "data": {"retryAfter": 7, "kind": "RateLimited"},
    }
    session_id = client.progress_values["e"][0]["sessionId"]
    got = await client.request("deputydev/sessions/get", {"sessionId": session_id})
    [turn] = got["turns"]
    assert turn["status"] == "failed" and turn["error"] == "slow down"
    assert turn["messages"][-1]["content"]["text"] == "partial "


async def test_a_killed_daemon_leaves_the_turn_interrupted(daemon: Daemon) -> None:
    client = await daemon.start([[{"text": "started"}, {"hang": True}]])
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

    client = await daemon.start([])
    got = await client.request("deputydev/sessions/get", {"sessionId": session_id})
    [turn] = got["turns"]
    assert turn["status"] == "interrupted"
    assert turn["messages"][0]["content"]["text"] == "doomed"
