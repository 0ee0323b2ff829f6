"""The daemon's lifetime over stdio, as an editor drives it."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from daemon import __version__
from protocol import errors as codes
from protocol.methods import METHOD_TYPES
from tests.e2e.harness import DaemonClient, spawn_daemon, start_daemon

PLUGIN = {"DEPUTYDEV_PLUGINS": "tests.e2e.plugin_for_tests"}


async def test_initialize_advertises_version_and_every_custom_method(client: DaemonClient) -> None:
    result = client.initialize_result  # type: ignore[attr-defined]
    assert result.server_info.name == "deputydev"
    assert result.server_info.version == __version__
    advertised = result.capabilities.experimental["deputydev"]["methods"]
    assert sorted(METHOD_TYPES) == advertised
    assert "deputydev/status" in advertised
    notifications = result.capabilities.experimental["deputydev"]["notifications"]
    assert notifications == ["deputydev/index/updated"]  # every one the server sends


async def test_status_reports_roots_and_version_and_shutdown_exits_zero(
    client: DaemonClient, workspace: Path
) -> None:
    status = await client.request("deputydev/status")
    assert status["version"] == __version__
    assert [r["path"] for r in status["roots"]] == [str(workspace)]
    assert status["uptimeS"] >= 0
    assert await client.stop_daemon() == 0


async def test_exit_without_shutdown_exits_one(workspace: Path, tmp_path: Path) -> None:
    client = await start_daemon(workspace, stderr_path=tmp_path / "d.stderr")
    client.exit(None)
    assert client.process is not None
    assert await asyncio.wait_for(client.process.wait(), 30) == 1
    await client.stop()


async def test_closing_stdin_stops_the_daemon(workspace: Path, tmp_path: Path) -> None:
    client = await start_daemon(workspace, stderr_path=tmp_path / "d.stderr")
    assert client.process is not None and client.process.stdin is not None
    client.process.stdin.close()
    code = await asyncio.wait_for(client.process.wait(), 30)
    assert code == 1  # input closed with no shutdown: an abnormal end, as LSP says
    await client.stop()


async def test_daemon_exits_when_the_editor_process_dies(workspace: Path, tmp_path: Path) -> None:
    editor = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import time; time.sleep(600)"
    )
    client = await start_daemon(workspace, stderr_path=tmp_path / "d.stderr", process_id=editor.pid)
    await client.request("deputydev/status")  # it is up and watching
    editor.kill()
    await editor.wait()
    assert client.process is not None
    await asyncio.wait_for(client.process.wait(), 30)
    assert "editor process" in client.stderr_text()
    await client.stop()


async def test_print_in_a_handler_does_not_corrupt_the_stream(
    workspace: Path, tmp_path: Path
) -> None:
    client = await start_daemon(workspace, stderr_path=tmp_path / "d.stderr", env=PLUGIN)
    try:
        assert await client.request("test/print") == {"answer": "still framed"}
        status = await client.request("deputydev/status")
        assert status["version"] == __version__
        stderr = client.stderr_text()
        assert "a stray print from a handler" in stderr
        assert "raw bytes on fd 1" in stderr
    finally:
        await client.stop_daemon()


async def test_unsaved_buffers_are_what_features_read(workspace: Path, tmp_path: Path) -> None:
    client = await start_daemon(workspace, stderr_path=tmp_path / "d.stderr", env=PLUGIN)
    path = workspace / "hello.py"
    uri = path.as_uri()
    try:
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=path.read_text()
                )
            )
        )
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[
                    types.TextDocumentContentChangeWholeDocument(text="def unsaved():\n    pass\n")
                ],
            )
        )
        result = await client.request("test/document", {"path": str(path)})
        assert result["text"] == "def unsaved():\n    pass\n"
        assert path.read_text().startswith("def greet")  # the disk is untouched
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        assert (await client.request("test/document", {"path": str(path)}))["text"] is None
    finally:
        await client.stop_daemon()


async def test_workspace_folders_can_change(client: DaemonClient, tmp_path: Path) -> None:
    other = tmp_path / "other-root"
    other.mkdir()
    client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(
                added=[types.WorkspaceFolder(uri=other.as_uri(), name="other")], removed=[]
            )
        )
    )
    status = await client.request("deputydev/status")
    assert str(other) in [r["path"] for r in status["roots"]]


async def test_broken_user_config_is_reported_with_file_and_line(
    workspace: Path, tmp_path: Path, hermetic_env: Path
) -> None:
    config = hermetic_env / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('log_level = "debug"\n[index\nmax_chunk_lines = 3\n')
    client = await start_daemon(workspace, stderr_path=tmp_path / "d.stderr")
    try:
        message = await client.wait_for(
            lambda: next((m for m in client.messages if "config.toml" in m.message), None),
            what="a showMessage about config.toml",
        )
        assert str(config) in message.message
        assert ":2" in message.message  # the line of the broken table header
        status = await client.request("deputydev/status")
        assert status["configErrors"]
    finally:
        assert await client.stop_daemon() == 0


async def test_bad_value_from_the_editor_is_named_and_defaults_are_kept(
    workspace: Path, tmp_path: Path
) -> None:
    client = await start_daemon(
        workspace,
        stderr_path=tmp_path / "d.stderr",
        initialization_options={"logLevel": "loud", "providers": {"openai": {"apiKey": "sk-x"}}},
    )
    try:
        await client.wait_for(
            lambda: any("logLevel" in m.message for m in client.messages), what="logLevel message"
        )
        texts = " ".join(m.message for m in client.messages)
        assert "'debug', 'info', 'warning' or 'error'" in texts
        assert "providers.openai.apiKey" in texts and "sk-x" not in texts
    finally:
        await client.stop_daemon()


async def test_a_request_before_initialize_is_answered_not_initialized(
    workspace: Path, tmp_path: Path
) -> None:
    client = await spawn_daemon(tmp_path / "d.stderr")
    try:
        with pytest.raises(JsonRpcException) as raised:
            await client.request("deputydev/status")
        assert raised.value.code == codes.SERVER_NOT_INITIALIZED
    finally:
        await client.kill()


async def test_tcp_mode_serves_on_loopback(tmp_path: Path) -> None:
    from tests.e2e.harness import daemon_env

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "daemon",
        "serve",
        "--tcp",
        "127.0.0.1:0",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=daemon_env(),
    )
    try:
        assert process.stderr is not None
        port = None
        while port is None:
            line = (await asyncio.wait_for(process.stderr.readline(), 30)).decode()
            assert line, "the daemon exited"
            if line.startswith("deputydev listening on"):
                assert re.fullmatch(r"deputydev listening on 127\.0\.0\.1:\d+\n", line), line
                port = int(line.rsplit(":", 1)[-1])
        client = DaemonClient()
        await client.start_tcp("127.0.0.1", port)
        # pygls's client never closes the connection it opened: this test does, before its
        # loop closes (a socket left to the garbage collector fails the run).
        writer = client.protocol.writer
        assert isinstance(writer, asyncio.StreamWriter)
        try:
            await client.initialize_async(
                types.InitializeParams(
                    process_id=None, root_uri=None, capabilities=types.ClientCapabilities()
                )
            )
            status = await client.request("deputydev/status")
            assert status["version"] == __version__
            await client.shutdown_async(None)
            client.exit(None)
            assert await asyncio.wait_for(process.wait(), 30) == 0
            await client.stop()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_failing_notification_is_shown_once_and_the_daemon_goes_on(
    workspace: Path, tmp_path: Path
) -> None:
    client = await start_daemon(workspace, stderr_path=tmp_path / "d.stderr", env=PLUGIN)
    try:
        client.protocol.notify("test/explode", {})
        client.protocol.notify("test/explode", {})
        await client.request("deputydev/status")
        shown = await client.wait_for(
            lambda: [m for m in client.messages if "boom" in m.message], what="error message"
        )
        assert len(shown) == 1  # rate-limited
        assert shown[0].type == types.MessageType.Error
    finally:
        assert await client.stop_daemon() == 0


async def test_cancel_request_answers_request_cancelled(workspace: Path, tmp_path: Path) -> None:
    client = await start_daemon(workspace, stderr_path=tmp_path / "d.stderr", env=PLUGIN)
    try:
        from pygls.exceptions import JsonRpcRequestCancelled

        future = client.protocol.send_request_async("test/forever", {}, msg_id="slow-1")
        await client.request("deputydev/status")  # the slow request is running by now
        client.protocol.notify("$/cancelRequest", types.CancelParams(id="slow-1"))
        with pytest.raises(JsonRpcRequestCancelled):
            await asyncio.wait_for(future, 30)
        assert (await client.request("deputydev/status"))["version"] == __version__
    finally:
        assert await client.stop_daemon() == 0


async def test_work_done_progress_begin_report_end(workspace: Path, tmp_path: Path) -> None:
    client = await start_daemon(workspace, stderr_path=tmp_path / "d.stderr", env=PLUGIN)
    try:
        assert await client.request("test/progress") == {"done": "yes"}
        (values,) = [v for v in client.progress_values.values() if v]
        assert [v["kind"] for v in values] == ["begin", "report", "report", "report", "end"]
        assert values[0]["title"] == "Testing progress"
        assert values[2]["message"] == "step 1"
    finally:
        await client.stop_daemon()


async def test_a_request_to_a_daemon_that_died_fails_at_once(
    workspace: Path, tmp_path: Path
) -> None:
    client = await start_daemon(workspace, stderr_path=tmp_path / "d.stderr")
    assert client.process is not None
    client.process.kill()
    with pytest.raises(RuntimeError, match="exited"):
        await client.request("deputydev/status", timeout=60)
    await client.stop()


async def test_shutdown_answers_in_time_when_a_service_will_not_close(
    workspace: Path, tmp_path: Path
) -> None:
    client = await start_daemon(workspace, stderr_path=tmp_path / "d.stderr", env=PLUGIN)
    try:
        assert await client.request("test/stuck_service", {}) == {"service": "stuck"}
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.wait_for(client.shutdown_async(None), 20)
        assert loop.time() - started < 15  # the 10 s budget, not the service's 20 s
        assert "Stuck did not close in time" in client.stderr_text()
    finally:
        await client.kill()
