"""Never frozen: tools run off the event loop, within a budget, and stop when cancelled.

The daemon is a real subprocess over stdio; the model is the on-wire fake, scripted to call
the tools. Each test asserts what the editor sees: ``deputydev/status`` answered while a
pathological grep runs, a cancel that frees the session, a FIFO refused by name, and the
editor's malformed ``deputydev/confirm`` / ``deputydev/askUser`` replies taken as no answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled

from tests.e2e.test_query import Daemon, calls, text, tool_results
from tests.fakes.llm_server import Call, LLMServer
from tests.unit.tools.test_search_shell_git import processes_with

BOMB = "a" * 28 + "!\n"  # (a+)+$ takes Python's re about a minute on this line
PYTHON_GREP = {"DEPUTYDEV_SOLVER__TOOLS__GREP_ENGINE": "python"}


@pytest.fixture
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture
async def daemon(workspace: Path, tmp_path: Path, llm: LLMServer) -> Any:
    d = Daemon(workspace, tmp_path, llm)
    yield d
    await d.close()


def _events(client: Any, token: str, kind: str) -> list[Any]:
    return [v for v in client.progress_values[token] if v["kind"] == kind]


async def test_status_answers_and_cancel_works_while_a_regex_bomb_runs(daemon: Daemon) -> None:
    (daemon.workspace / "bomb.txt").write_text(BOMB)
    client = await daemon.start(
        calls(Call("c1", "grep_search", {"pattern": "(a+)+$", "path": "bomb.txt"})),
        text("free again"),
        env={**PYTHON_GREP, "DEPUTYDEV_SOLVER__TOOLS__TIMEOUT_S": "600"},
    )
    pending = client.protocol.send_request_async(
        "deputydev/query", {"query": "find it", "partialResultToken": "g"}, msg_id="bomb-1"
    )
    await client.wait_for(lambda: _events(client, "g", "toolCall"), what="the grep call")
    marker = str(daemon.workspace / "bomb.txt").encode()
    for _ in range(1000):  # a bounded wait for the worker process to be started
        if processes_with(marker):
            break
        await asyncio.sleep(0.01)
    assert processes_with(marker), "the grep worker never started"

    loop = asyncio.get_running_loop()
    for _ in range(5):
        asked = loop.time()
        status = await client.request("deputydev/status", {}, timeout=10)
        assert loop.time() - asked < 2.0  # it was 46 s when the regex ran in the daemon
        assert status["pid"] == client.process.pid  # type: ignore[union-attr]
    assert processes_with(marker) and not _events(client, "g", "toolResult")  # still running

    cancelled = loop.time()
    client.protocol.notify("$/cancelRequest", types.CancelParams(id="bomb-1"))
    with pytest.raises(JsonRpcRequestCancelled):
        await asyncio.wait_for(pending, 30)
    assert loop.time() - cancelled < 2.0
    assert not processes_with(marker)  # the worker was killed, not left to run

    session_id = client.progress_values["g"][0]["sessionId"]
    again = await client.request("deputydev/query", {"query": "again", "sessionId": session_id})
    assert again["text"] == "free again"  # the session was freed at once


async def test_a_regex_bomb_is_linear_with_ripgrep(daemon: Daemon) -> None:
    (daemon.workspace / "bomb.txt").write_text(BOMB + "aaaa\n")
    client = await daemon.start(
        calls(Call("c1", "grep_search", {"pattern": "(a+)+$"})), text("found it")
    )
    result = await client.request("deputydev/query", {"query": "find it"})
    assert result["text"] == "found it"
    [call] = result["toolCalls"]
    assert not call["isError"] and call["result"] == "bomb.txt:2: aaaa"


async def test_a_grep_out_of_time_is_stopped_and_the_model_told(daemon: Daemon) -> None:
    (daemon.workspace / "bomb.txt").write_text(BOMB)
    client = await daemon.start(
        calls(Call("c1", "grep_search", {"pattern": "(a+)+$"})),
        text("I will narrow it"),
        env={**PYTHON_GREP, "DEPUTYDEV_SOLVER__TOOLS__TIMEOUT_S": "1"},
    )
    result = await client.request("deputydev/query", {"query": "find it"})
    assert result["text"] == "I will narrow it" and result["stopReason"] == "stop"
    [call] = result["toolCalls"]
    assert call["isError"] and "did not finish within 1 s" in call["result"]
    assert "backtracking" in tool_results(daemon.requests()[1])[0]
    assert not processes_with(str(daemon.workspace).encode())


async def test_a_fifo_is_refused_by_every_tool_that_opens_it(daemon: Daemon) -> None:
    import os

    os.mkfifo(daemon.workspace / "pipe")
    client = await daemon.start(
        calls(
            Call("c1", "read_file", {"path": "pipe"}),
            Call("c2", "grep_search", {"pattern": "x", "path": "pipe"}),
        ),
        calls(Call("c3", "grep_search", {"pattern": "greet"})),
        text("it is a pipe"),
    )
    result = await client.request("deputydev/query", {"query": "read the pipe"}, timeout=30)
    assert result["text"] == "it is a pipe"
    read, grep, whole = result["toolCalls"]
    assert read["isError"] and "pipe is a FIFO (named pipe)" in read["result"]
    assert grep["isError"] and "pipe is a FIFO (named pipe)" in grep["result"]
    assert whole["result"].startswith("hello.py:1: def greet")  # the folder search skips it
    status = await client.request("deputydev/status", {}, timeout=10)
    assert status["pid"] == client.process.pid  # type: ignore[union-attr]


def _replies(answers: list[Any]) -> Callable[[Any], Any]:
    """Answer the server's requests in order; an exception becomes an error response."""
    queue = iter(answers)

    def answer(params: Any) -> Any:
        reply = next(queue)
        if isinstance(reply, Exception):
            raise reply
        return reply

    return answer


BAD_CONFIRMS: list[Any] = [
    None,
    {},
    "yes",
    {"approved": "true"},
    {"approved": 1},
    RuntimeError("the editor broke"),
]


async def test_a_malformed_confirm_counts_as_not_approved(daemon: Daemon) -> None:
    script = []
    for n in range(len(BAD_CONFIRMS)):
        script += [
            calls(Call(f"c{n}", "execute_command", {"command": f"touch marker{n}"})),
            text(f"went on {n}"),
        ]
    client = await daemon.start(*script)
    client.on_request("deputydev/confirm", _replies(BAD_CONFIRMS))
    loop = asyncio.get_running_loop()
    for n, reply in enumerate(BAD_CONFIRMS):
        started = loop.time()
        result = await client.request("deputydev/query", {"query": f"run {n}"}, timeout=20)
        assert loop.time() - started < 10
        assert result["text"] == f"went on {n}", reply
        [call] = result["toolCalls"]
        assert call["isError"] and "nothing was done" in call["result"], reply
        assert not (daemon.workspace / f"marker{n}").exists(), reply
    told = [tool_results(body)[0] for body in daemon.requests()[1::2]]
    assert all("deputydev/confirm" in t for t in told)
    assert "approved: Input should be a valid boolean" in told[3]
    log = daemon.stderr.read_text()
    for shown in ("None", "{}", "'yes'", "{'approved': 'true'}", "{'approved': 1}"):
        assert f"malformed reply to deputydev/confirm: {shown}" in log
    assert "the editor answered deputydev/confirm with an error" in log


BAD_ANSWERS: list[Any] = [None, {}, "yes", {"answer": 5}, RuntimeError("no dialog")]


async def test_a_malformed_ask_user_reply_counts_as_no_answer(daemon: Daemon) -> None:
    script = []
    for n in range(len(BAD_ANSWERS)):
        script += [
            calls(Call(f"a{n}", "ask_user", {"question": f"which {n}?", "options": ["x"]})),
            text(f"decided {n}"),
        ]
    client = await daemon.start(*script)
    client.on_request("deputydev/askUser", _replies(BAD_ANSWERS))
    for n, reply in enumerate(BAD_ANSWERS):
        result = await client.request("deputydev/query", {"query": f"ask {n}"}, timeout=20)
        assert result["text"] == f"decided {n}", reply
        [call] = result["toolCalls"]
        assert call["isError"] and "deputydev/askUser" in call["result"], reply
    log = daemon.stderr.read_text()
    assert "malformed reply to deputydev/askUser: {'answer': 5}" in log
    assert "the editor answered deputydev/askUser with an error" in log
