"""The MCP client against real servers: mcp-server-time and mcp-server-git (PyPI, stdio),
and the SDK's own streamable HTTP transport serving tests.fakes.mcp_server, which also
crashes, stalls and fails on demand."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from daemon.mcp.client import ServerConnection
from daemon.mcp.manager import McpManager, McpTool, exposed_name
from daemon.mcp.settings import McpServerSettings, McpSettings
from daemon.tools.base import Tool, ToolContext, ToolError
from tests.fakes.mcp_server import README, http_server

REPO = Path(__file__).resolve().parents[3]


def stdio(module: str, *args: str, **fields: Any) -> McpServerSettings:
    return McpServerSettings(command=sys.executable, args=("-m", module, *args), **fields)


class Approvals:
    """The editor's side of deputydev/confirm: records each question, answers ``answer``."""

    def __init__(self, answer: bool = True) -> None:
        self.answer = answer
        self.asked: list[tuple[str, Mapping[str, Any]]] = []

    async def __call__(self, message: str, details: Mapping[str, Any]) -> bool:
        self.asked.append((message, details))
        return self.answer


def by_name(tools: list[Tool]) -> dict[str, Tool]:
    return {t.name: t for t in tools}


@pytest.fixture
def http_url(tmp_path: Path) -> Iterator[str]:
    with http_server(tmp_path / "mcp-http.log") as url:
        yield url


@pytest.fixture
async def manager(tmp_path: Path) -> AsyncIterator[McpManager]:
    made = McpManager(McpSettings(), cwd=tmp_path, log_dir=tmp_path / "logs")
    yield made
    await made.aclose()


def test_tool_names_are_safe_for_every_provider() -> None:
    assert exposed_name("time", "get_current_time") == "time__get_current_time"
    odd = exposed_name("srv", "read.file/v2")
    assert odd.startswith("srv__read_file_v2_") and len(odd) <= 64
    assert exposed_name("srv", "read.file/v2") != exposed_name("srv", "read_file_v2")
    long = exposed_name("srv", "x" * 100)
    assert len(long) == 64 and long != exposed_name("srv", "x" * 99)


async def test_mcp_server_time_tools_run_approved_and_auto_approved(
    manager: McpManager, tmp_path: Path
) -> None:
    await manager.update(
        McpSettings(servers={"time": stdio("mcp_server_time", auto_approve=("get_current_time",))})
    )
    tools = by_name(await manager.tools())
    assert {"time__get_current_time", "time__convert_time"} <= set(tools)
    current = tools["time__get_current_time"]
    assert "timezone" in current.parameters()["properties"]
    assert "MCP server time" in current.description

    approvals = Approvals()
    ctx = ToolContext(roots=[tmp_path], confirm=approvals)
    answer = json.loads(await current({"timezone": "Asia/Tokyo"}, ctx))
    assert answer["timezone"] == "Asia/Tokyo"
    assert approvals.asked == []  # auto_approve lists it

    converted = await tools["time__convert_time"](
        {"source_timezone": "Europe/London", "time": "12:00", "target_timezone": "Asia/Tokyo"},
        ctx,
    )
    assert "Asia/Tokyo" in converted
    message, details = approvals.asked[0]
    assert "convert_time" in message and "time" in message
    assert details["kind"] == "mcp" and details["server"] == "time"
    assert details["tool"] == "convert_time" and details["arguments"]["time"] == "12:00"

    approvals.answer = False
    with pytest.raises(ToolError, match="declined"):
        await tools["time__convert_time"](
            {"source_timezone": "UTC", "time": "01:00", "target_timezone": "UTC"}, ctx
        )
    with pytest.raises(ToolError, match="approval"):
        await tools["time__convert_time"]({}, ToolContext(roots=[tmp_path]))


async def test_mcp_server_git_reads_the_workspace_repository(
    manager: McpManager, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = await asyncio.create_subprocess_exec("git", "init", "-q", str(repo))
    assert await git.wait() == 0
    (repo / "new.txt").write_text("hello\n")
    await manager.update(
        McpSettings(servers={"git": stdio("mcp_server_git", auto_approve=("*",))}), cwd=repo
    )
    tools = by_name(await manager.tools())
    assert "git__git_status" in tools and "git__git_log" in tools
    status = await tools["git__git_status"]({"repo_path": str(repo)}, ToolContext(roots=[repo]))
    assert "new.txt" in status


async def test_streamable_http_server_tools_resources_and_prompts(
    manager: McpManager, http_url: str, tmp_path: Path
) -> None:
    await manager.update(
        McpSettings(
            servers={
                "notes": McpServerSettings(
                    url=http_url, headers={"X-Team": SecretStr("core")}, auto_approve=("echo",)
                )
            }
        )
    )
    tools = by_name(await manager.tools())
    ctx = ToolContext(roots=[tmp_path])
    assert await tools["notes__echo"]({"text": "over http"}, ctx) == "echo: over http"
    connection = manager.connection("notes")
    assert [r.uri for r in connection.resources] == ["notes://readme"]
    assert [(p.name, [a.name for a in p.arguments]) for p in connection.prompts] == [
        ("review", ["code"])
    ]
    assert await manager.read_resource("notes", "notes://readme") == README
    assert [(t.uri_template, t.description) for t in connection.resource_templates] == [
        ("notes://day/{day}", "The notes of one day")
    ]
    assert (
        await manager.read_resource("notes", "notes://day/monday")
        == "Notes of monday: nothing happened."
    )
    assert "[user]\nReview this: x = 1" in await manager.get_prompt(
        "notes", "review", {"code": "x = 1"}
    )
    with pytest.raises(ToolError, match="needs 'code' in 'arguments'"):
        await manager.get_prompt("notes", "review", {})
    with pytest.raises(ToolError, match=r"takes no 'lang' \(its arguments: code\)"):
        await manager.get_prompt("notes", "review", {"code": "x", "lang": "py"})
    with pytest.raises(ToolError, match=r"has no prompt 'summarise' \(its prompts: review\)"):
        await manager.get_prompt("notes", "summarise", {})
    with pytest.raises(ToolError, match="notes://nothing"):
        await manager.read_resource("notes", "notes://nothing")
    with pytest.raises(ToolError, match="no MCP server 'other'"):
        await manager.read_resource("other", "notes://readme")


async def test_a_server_that_will_not_start_is_left_out_with_the_reason(
    manager: McpManager, tmp_path: Path
) -> None:
    await manager.update(
        McpSettings(
            servers={
                "missing": McpServerSettings(command="no-such-mcp-server-here"),
                "exits": McpServerSettings(
                    command="/bin/sh", args=("-c", "echo 'config file is bad' >&2; exit 2")
                ),
                "down": McpServerSettings(url="http://127.0.0.1:9/mcp"),
                "unset": McpServerSettings(
                    command="${DEPUTYDEV_TEST_NOT_SET}",
                ),
                "time": stdio("mcp_server_time"),
            }
        )
    )
    tools = await manager.tools()
    assert {t.name.split("__")[0] for t in tools} == {"time"}
    states = {n: c.state for n, c in manager.connections.items()}
    assert states == {
        "missing": "failed",
        "exits": "failed",
        "down": "failed",
        "unset": "failed",
        "time": "running",
    }
    errors = {n: c.last_error or "" for n, c in manager.connections.items()}
    assert "'no-such-mcp-server-here' was not found" in errors["missing"]
    assert "config file is bad" in errors["exits"]  # the end of its stderr
    assert "cannot connect to http://127.0.0.1:9/mcp" in errors["down"]
    assert "DEPUTYDEV_TEST_NOT_SET is not set" in errors["unset"]

    # A failed server is not spawned again on every query: it waits out a back-off.
    missing = manager.connection("missing")
    assert missing.retry_in() > 0
    await manager.tools()
    assert missing.starts == 1

    # Its prompts and resources are tool errors naming the server, not crashes.
    with pytest.raises(ToolError, match="missing"):
        await manager.get_prompt("missing", "review", {})
    with pytest.raises(ToolError, match="no prompt 'review' \\(its prompts: none\\)"):
        await manager.get_prompt("time", "review", {})
    with pytest.raises(ToolError, match="no MCP server 'other'"):
        await manager.get_prompt("other", "review", {})


@pytest.mark.slow
async def test_a_crash_mid_call_is_a_tool_error_and_the_server_restarts_on_next_use(
    tmp_path: Path,
) -> None:
    connection = ServerConnection(
        "flaky",
        McpServerSettings(
            command=sys.executable,
            args=("-m", "tests.fakes.mcp_server"),
            cwd=str(REPO),
            auto_approve=("*",),
            timeout_s=2,
        ),
        log_dir=tmp_path,
    )
    ctx = ToolContext(roots=[tmp_path])
    try:
        await connection.ensure_started()
        tools = {t.name: McpTool(connection, t) for t in connection.tools}
        assert await tools["echo"]({"text": "a"}, ctx) == "echo: a"

        with pytest.raises(ToolError, match=r"stopped during the call.*about to crash"):
            await tools["crash"]({}, ctx)
        assert connection.state == "failed"

        with pytest.raises(ToolError, match="did not answer within 2 s"):
            await tools["slow"]({"seconds": 30}, ctx)  # restarted first, then too slow
        assert connection.starts == 2
        assert await tools["echo"]({"text": "b"}, ctx) == "echo: b"  # the session survives

        with pytest.raises(ToolError, match="Error executing tool fail"):
            await tools["fail"]({}, ctx)

        # Cancelling a call (the editor cancelled the turn) leaves the server usable.
        call = asyncio.ensure_future(tools["slow"]({"seconds": 30}, ctx))
        await asyncio.sleep(0)  # let the call be sent
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert await tools["echo"]({"text": "c"}, ctx) == "echo: c"
        assert connection.state in ("running",)
    finally:
        await connection.stop()
    assert connection.state == "stopped"


@pytest.mark.slow
async def test_changed_settings_stop_the_server_and_the_next_use_starts_it_anew(
    manager: McpManager,
) -> None:
    first = stdio("mcp_server_time")
    await manager.update(McpSettings(servers={"time": first}))
    await manager.tools()
    old = manager.connection("time")
    assert old.state == "running"

    await manager.update(McpSettings(servers={"time": first}))  # unchanged: kept running
    assert manager.connection("time") is old

    changed = stdio("mcp_server_time", "--local-timezone", "UTC")
    await manager.update(McpSettings(servers={"time": changed}))
    assert old.state in ("stopped",)
    assert manager.connection("time").state == "idle"

    off = changed.model_copy(update={"enabled": False})
    await manager.update(McpSettings(servers={"time": changed, "off": off}))
    assert [t.name for t in await manager.tools() if t.name.startswith("off")] == []
    assert manager.connection("off").state == "disabled"
    await manager.update(McpSettings())
    assert manager.connections == {}


def test_doctor_starts_each_server_and_says_what_it_found(tmp_path: Path) -> None:
    from daemon.config import load_settings
    from daemon.mcp.doctor import check

    user = tmp_path / "config.toml"
    user.write_text(
        f"[mcp.servers.time]\ncommand = {json.dumps(sys.executable)}\n"
        'args = ["-m", "mcp_server_time"]\n\n'
        '[mcp.servers.broken]\ncommand = "no-such-mcp-server-here"\n\n'
        '[mcp.servers.off]\ncommand = "x"\nenabled = false\n'
    )
    rows = {c.name: c for c in check(load_settings(user_file=user, env={}))}
    assert rows["mcp time"].status == "ok" and "2 tools" in rows["mcp time"].detail
    assert rows["mcp broken"].status == "fail"
    assert "'no-such-mcp-server-here' was not found" in rows["mcp broken"].detail
    assert "[mcp.servers.broken]" in rows["mcp broken"].fix
    assert rows["mcp off"].status == "ok" and "disabled" in rows["mcp off"].detail
