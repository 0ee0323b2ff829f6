"""MCP servers through the agent: the real daemon over stdio, the model scripted on the wire
(tests.fakes.llm_server) to call the servers' tools, and real MCP servers behind them:
mcp-server-time and mcp-server-git (stdio) and the SDK's streamable HTTP transport."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.e2e.test_query import Daemon, calls, text, tool_results
from tests.fakes.llm_server import Call, LLMServer
from tests.fakes.mcp_server import README, http_server

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture
async def daemon(workspace: Path, tmp_path: Path, llm: LLMServer) -> AsyncIterator[Daemon]:
    made = Daemon(workspace, tmp_path, llm)
    yield made
    await made.close()


@pytest.fixture
def notes_url(tmp_path: Path) -> Iterator[str]:
    with http_server(tmp_path / "mcp-http.log") as url:
        yield url


def write_config(home: Path, body: str) -> None:
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "config.toml").write_text(body)


def servers_config(notes_url: str) -> str:
    py = json.dumps(sys.executable)
    return f"""
[mcp.servers.time]
command = {py}
args = ["-m", "mcp_server_time", "--local-timezone", "Europe/Paris"]

[mcp.servers.git]
command = {py}
args = ["-m", "mcp_server_git"]
auto_approve = ["git_status", "git_log"]

[mcp.servers.notes]
url = "{notes_url}"
headers = {{ X-Team = "core" }}
auto_approve = ["*"]

[mcp.servers.flaky]
command = {py}
args = ["-m", "tests.fakes.mcp_server"]
cwd = {json.dumps(str(REPO))}
auto_approve = ["*"]

[mcp.servers.broken]
command = "no-such-mcp-server"
"""


@pytest.mark.slow
async def test_each_real_server_answers_the_model_through_the_agent(
    daemon: Daemon, notes_url: str, hermetic_env: Path
) -> None:
    git = await asyncio.create_subprocess_exec("git", "init", "-q", str(daemon.workspace))
    assert await git.wait() == 0
    write_config(hermetic_env, servers_config(notes_url))
    client = await daemon.start(
        calls(
            Call("c1", "time__get_current_time", {"timezone": "Asia/Tokyo"}),
            Call("c2", "git__git_status", {"repo_path": str(daemon.workspace)}),
        ),
        calls(
            Call("c3", "notes__echo", {"text": "over http"}),
            Call("c4", "flaky__crash", {}),
        ),
        text("It is evening in Tokyo; hello.py is untracked."),
    )
    client.on_request("deputydev/confirm", lambda params: {"approved": True})

    result = await client.request(
        "deputydev/query",
        {
            "query": "what time is it in Tokyo, and what is in git?",
            "partialResultToken": "q",
            "focusItems": [
                {"kind": "mcp", "server": "notes", "uri": "notes://readme"},
                {"server": "notes", "uri": "notes://day/friday"},  # a template, filled in
                {"server": "notes", "prompt": "review", "arguments": {"code": "x = 1"}},
            ],
        },
        timeout=90,
    )
    assert result["text"] == "It is evening in Tokyo; hello.py is untracked."
    outcome = {c["name"]: c for c in result["toolCalls"]}
    assert json.loads(outcome["time__get_current_time"]["result"])["timezone"] == "Asia/Tokyo"
    assert "hello.py" in outcome["git__git_status"]["result"]
    assert outcome["notes__echo"]["result"] == "echo: over http"
    crash = outcome["flaky__crash"]
    assert crash["isError"] and "stopped during the call" in crash["result"]

    # Only the time server's tool asked; git_status and notes are auto-approved.
    [asked] = client.server_requests["deputydev/confirm"]
    assert asked["details"] == {
        "kind": "mcp",
        "server": "time",
        "tool": "get_current_time",
        "arguments": {"timezone": "Asia/Tokyo"},
    }

    first, second, third = daemon.requests()
    offered = {t["function"]["name"] for t in first["tools"]}
    assert {"time__convert_time", "git__git_log", "notes__echo", "flaky__slow"} <= offered
    assert not any(name.startswith("broken__") for name in offered)
    assert README in first["messages"][-1]["content"]  # the resource, as a focus item
    assert "Notes of friday: nothing happened." in first["messages"][-1]["content"]
    assert "[user]\nReview this: x = 1" in first["messages"][-1]["content"]  # the prompt
    results = tool_results(second)
    assert "Asia/Tokyo" in results[0] and "hello.py" in results[1]
    assert tool_results(third)[-2] == "echo: over http"
    assert "stopped during the call" in tool_results(third)[-1]

    listed = await client.request("deputydev/mcp/list", {"start": False})
    servers = {s["name"]: s for s in listed["servers"]}
    assert servers["time"]["state"] == "running" and servers["time"]["transport"] == "stdio"
    assert servers["notes"]["transport"] == "http" and servers["notes"]["target"] == notes_url
    assert servers["broken"]["state"] == "failed"
    assert servers["notes"]["resourceTemplates"] == [
        {
            "uriTemplate": "notes://day/{day}",
            "name": "day",
            "description": "The notes of one day",
            "mimeType": "text/plain",
        }
    ]
    assert "no-such-mcp-server" in servers["broken"]["lastError"]
    assert servers["flaky"]["state"] == "failed"  # it crashed; restarts on next use
    git_tools = {t["tool"]: t for t in servers["git"]["tools"]}
    assert git_tools["git_status"]["autoApproved"] and not git_tools["git_commit"]["autoApproved"]

    status = await client.request("deputydev/status", {})
    prompts = {s["name"]: s["prompts"] for s in status["mcp"]}
    assert prompts["notes"] == [
        {
            "name": "review",
            "description": "Review a piece of code.",
            "arguments": [{"name": "code", "description": "", "required": True}],
        }
    ]
    shown = [m.message for m in client.messages]
    assert any("MCP server broken is left out" in m for m in shown)

    # The crashed server is started again when it is next listed.
    relisted = await client.request("deputydev/mcp/list", {})
    assert {s["name"]: s["state"] for s in relisted["servers"]}["flaky"] == "running"

    # The stdio servers are the daemon's children, and they stop with it.
    assert client.process is not None
    servers_running = children(client.process.pid)
    assert len(servers_running) == 3  # time, git, flaky
    assert await client.stop_daemon() == 0
    assert alive(servers_running) == []


def alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if os.path.exists(f"/proc/{pid}")]


def children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


async def test_a_workspace_cannot_declare_a_server(daemon: Daemon, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    (daemon.workspace / ".deputydev").mkdir()
    (daemon.workspace / ".deputydev" / "config.toml").write_text(
        f'[mcp.servers.evil]\ncommand = "touch"\nargs = ["{marker}"]\n'
    )
    client = await daemon.start(text("nothing to run"))
    result = await client.request("deputydev/query", {"query": "hello"})
    assert result["text"] == "nothing to run"
    listed = await client.request("deputydev/mcp/list", {})
    assert listed["servers"] == []
    assert not marker.exists()
    status = await client.request("deputydev/status", {})
    assert any("mcp: refused" in e for e in status["workspaceRefused"])
