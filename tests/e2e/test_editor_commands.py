"""Code actions and ``workspace/executeCommand`` over stdio, as a client with no plugin sees them.

The model is the fake server on the wire; the client answers ``workspace/applyEdit``,
``window/showDocument`` and ``window/showMessageRequest`` like an editor would, and the
tests assert on what such an editor shows: the action titles, the progress lines, the
edit it applied, the document or message it was asked to show.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcRequestCancelled

from tests.e2e.harness import DaemonClient, _plain, start_daemon
from tests.e2e.test_query import PROVIDERS, Daemon, calls, text
from tests.fakes.llm_server import Call, LLMServer, Reply, Text

SOURCE = 'def greet(name):\n    return f"hello {name}"\n\n\ndef farewell(name):\n    return name\n'


@pytest.fixture
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


class Editor(Daemon):
    """The query tests' daemon, started with the capabilities of the editor under test."""

    async def start(  # type: ignore[override]
        self, *replies: Reply, capabilities: types.ClientCapabilities | None = None
    ) -> DaemonClient:
        self.llm.script(*replies)
        model, provider_env = PROVIDERS["openai"]
        self.client = await start_daemon(
            self.workspace,
            stderr_path=self.stderr,
            env={
                **{k: v.format(url=self.llm.url) for k, v in provider_env.items()},
                "DEPUTYDEV_PROVIDERS__DEFAULT_MODEL": model,
            },
            capabilities=capabilities,
        )
        return self.client


@pytest.fixture
async def daemon(workspace: Path, tmp_path: Path, llm: LLMServer) -> AsyncIterator[Editor]:
    (workspace / "hello.py").write_text(SOURCE)
    d = Editor(workspace, tmp_path, llm)
    yield d
    await d.close()


def selection(line: int, end_line: int, end_character: int = 0) -> dict[str, Any]:
    return {
        "start": {"line": line, "character": 0},
        "end": {"line": end_line, "character": end_character},
    }


async def code_actions(
    client: DaemonClient,
    uri: str,
    lsp_range: dict[str, Any],
    diagnostics: list[dict[str, Any]] | None = None,
    only: list[str] | None = None,
) -> list[dict[str, Any]]:
    context: dict[str, Any] = {"diagnostics": diagnostics or []}
    if only is not None:
        context["only"] = only
    return list(
        await typed(
            client,
            types.TEXT_DOCUMENT_CODE_ACTION,
            {"textDocument": {"uri": uri}, "range": lsp_range, "context": context},
            types.CodeActionParams,
        )
        or []
    )


async def execute(client: DaemonClient, command: dict[str, Any]) -> Any:
    return await typed(
        client,
        types.WORKSPACE_EXECUTE_COMMAND,
        {"command": command["command"], "arguments": command.get("arguments")},
        types.ExecuteCommandParams,
    )


async def typed(client: DaemonClient, method: str, params: dict[str, Any], cls: type[Any]) -> Any:
    """A standard request sent as its lsprotocol type; the answer as the JSON that came
    (cattrs would read a CodeAction in ``(Command | CodeAction)[]`` as a Command)."""
    protocol = client.protocol
    if not getattr(protocol, "untyped_results", False):
        typed_result = protocol.get_result_type
        protocol.get_result_type = lambda m: None if m in UNTYPED else typed_result(m)  # type: ignore[method-assign, assignment]
        protocol.untyped_results = True  # type: ignore[attr-defined]
    result = await asyncio.wait_for(
        protocol.send_request_async(method, protocol._converter.structure(params, cls)), 30
    )
    return _plain(result)


UNTYPED = (types.TEXT_DOCUMENT_CODE_ACTION, types.WORKSPACE_EXECUTE_COMMAND)


def work_done(client: DaemonClient, title_start: str) -> list[dict[str, Any]]:
    """The begin/report/end values of the work-done progress whose title starts so."""
    for values in client.progress_values.values():
        if (
            values
            and values[0].get("kind") == "begin"
            and values[0]["title"].startswith(title_start)
        ):
            return values
    return []


def answering(client: DaemonClient, show_documents: bool = True) -> None:
    client.on_request(
        types.WORKSPACE_APPLY_EDIT, lambda params: types.ApplyWorkspaceEditResult(applied=True)
    )
    client.on_request(
        types.WINDOW_SHOW_DOCUMENT, lambda params: types.ShowDocumentResult(success=True)
    )


CAPS = types.ClientCapabilities(
    workspace=types.WorkspaceClientCapabilities(apply_edit=True, workspace_folders=True),
    window=types.WindowClientCapabilities(
        work_done_progress=True,
        show_document=types.ShowDocumentClientCapabilities(support=True),
        show_message=types.ShowMessageRequestClientCapabilities(),
    ),
    text_document=types.TextDocumentClientCapabilities(
        code_action=types.CodeActionClientCapabilities(
            code_action_literal_support=types.ClientCodeActionLiteralOptions(
                code_action_kind=types.ClientCodeActionKindOptions(value_set=["", "quickfix"])
            )
        )
    ),
)


async def test_actions_are_listed_at_once_with_a_quick_fix_per_diagnostic(
    daemon: Editor,
) -> None:
    client = await daemon.start(capabilities=CAPS)
    uri = (daemon.workspace / "hello.py").as_uri()
    diagnostic = {
        "range": selection(1, 1, 10),
        "message": "Undefined name `nam`",
        "source": "ruff",
        "code": "F821",
    }
    found = await code_actions(client, uri, selection(0, 2), [diagnostic])
    assert [a["title"] for a in found] == [
        "DeputyDev: Explain",
        "DeputyDev: Fix",
        "DeputyDev: Add docstring",
        "DeputyDev: Write tests",
        "DeputyDev: Refactor...",
        'DeputyDev: Fix "Undefined name `nam`"',
    ]
    quick = found[-1]
    assert (
        quick["kind"] == "quickfix" and quick["diagnostics"][0]["message"] == diagnostic["message"]
    )
    assert quick["command"]["command"] == "deputydev.fix"
    assert quick["command"]["arguments"][0]["diagnostic"]["source"] == "ruff"
    fixes = await code_actions(client, uri, selection(0, 2), [diagnostic], only=["quickfix"])
    assert [a["kind"] for a in fixes] == ["quickfix", "quickfix"]
    assert daemon.requests() == []  # listing asked no model

    commands = client.initialize_result.capabilities.execute_command_provider.commands  # type: ignore[attr-defined]
    assert {"deputydev.ask", "deputydev.addDocstring", "deputydev.cancel"} <= set(commands)

    # A file outside every root can be explained, not edited: tools write only inside.
    elsewhere = (daemon.workspace.parent / "elsewhere.py").as_uri()
    outside = await code_actions(client, elsewhere, selection(0, 2), [diagnostic])
    assert [a["title"] for a in outside] == ["DeputyDev: Explain"]


async def test_a_client_that_cannot_apply_edits_gets_only_explain(daemon: Editor) -> None:
    caps = types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(apply_edit=False),
    )
    client = await daemon.start(capabilities=caps)
    uri = (daemon.workspace / "hello.py").as_uri()
    found = await code_actions(
        client, uri, selection(0, 2), [{"range": selection(1, 1), "message": "x"}]
    )
    # No codeActionLiteralSupport: plain commands, as LSP says.
    assert found == [
        {
            "title": "DeputyDev: Explain",
            "command": "deputydev.explain",
            "arguments": [{"uri": uri, "range": selection(0, 2)}],
        }
    ]
    commands = client.initialize_result.capabilities.execute_command_provider.commands  # type: ignore[attr-defined]
    assert "deputydev.explain" in commands and "deputydev.fix" not in commands


async def test_add_docstring_edits_through_apply_edit_with_progress_lines(daemon: Editor) -> None:
    client = await daemon.start(
        calls(
            Call(
                "c1",
                "replace_in_file",
                {
                    "path": "hello.py",
                    "oldText": "def greet(name):\n",
                    "newText": 'def greet(name):\n    """Greet someone by name."""\n',
                },
            )
        ),
        text("Added a docstring to greet."),
        capabilities=CAPS,
    )
    answering(client)
    uri = (daemon.workspace / "hello.py").as_uri()
    [action] = [
        a
        for a in await code_actions(client, uri, selection(0, 1, 24))
        if a["title"] == "DeputyDev: Add docstring"
    ]
    result = await execute(client, action["command"])

    assert result["text"] == "Added a docstring to greet." and result["agent"] == "code_writer"
    [edit] = client.server_requests[types.WORKSPACE_APPLY_EDIT]
    [(edited, [change])] = edit.edit.changes.items()
    assert edited == uri and '"""Greet someone by name."""' in change.new_text
    progress = work_done(client, "DeputyDev: Add docstring hello.py:1-2")
    assert progress[0]["kind"] == "begin" and progress[0]["cancellable"] is True
    reports = [v["message"] for v in progress if v["kind"] == "report"]
    assert "thinking" in reports and "editing hello.py" in reports
    assert "edited hello.py (+1 -0)" in reports
    assert progress[-1] == {"kind": "end", "message": "done: 1 file changed"}
    assert any(
        "DeputyDev changed hello.py (+1 -0)" in m.message and "undo" in m.message
        for m in client.messages
    )
    # The model was asked to write, about the selection, and was shown its lines.
    first = daemon.requests()[0]
    prompt = first["messages"][1]["content"]
    assert "docstring" in prompt and "hello.py:1-2" in prompt and "def greet(name):" in prompt
    assert "replace_in_file" in [t["function"]["name"] for t in first["tools"]]


async def test_explain_shows_the_transcript_document(daemon: Editor) -> None:
    client = await daemon.start(text("greet says hello."), capabilities=CAPS)
    answering(client)
    uri = (daemon.workspace / "hello.py").as_uri()
    # An empty range (a cursor on line 2) means the definition around it: greet, lines 1-2.
    result = await execute(
        client,
        {
            "command": "deputydev.explain",
            "arguments": [{"uri": uri, "range": selection(1, 1)}],
        },
    )
    [shown] = client.server_requests[types.WINDOW_SHOW_DOCUMENT]
    assert shown.take_focus is True and shown.uri.endswith(f"/transcripts/{result['sessionId']}.md")
    transcript = await asyncio.to_thread(Path(shown.uri.removeprefix("file://")).read_text)
    assert "greet says hello." in transcript
    prompt = daemon.requests()[0]["messages"][1]["content"]
    assert "hello.py:1-2" in prompt and "farewell" not in prompt
    assert "tools" in daemon.requests()[0]
    assert "replace_in_file" not in [t["function"]["name"] for t in daemon.requests()[0]["tools"]]


async def test_without_show_document_the_answer_comes_as_a_message(daemon: Editor) -> None:
    caps = types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(apply_edit=True),
        window=types.WindowClientCapabilities(work_done_progress=False),
    )
    client = await daemon.start(text("Line one.\n\nLine two."), capabilities=caps)
    result = await execute(
        client,
        {
            "command": "deputydev.ask",
            "arguments": [
                {"query": "what is here?", "uri": (daemon.workspace / "hello.py").as_uri()}
            ],
        },
    )
    assert result["text"] == "Line one.\n\nLine two."
    await client.wait_for(lambda: client.messages, what="a message")
    assert client.messages[-1].message == "DeputyDev: Line one.\nLine two."
    assert "window/showDocument" not in client.server_requests


async def test_refactor_asks_how_and_a_failure_names_the_fix(daemon: Editor) -> None:
    client = await daemon.start(
        Reply(status=401, error={"error": {"message": "bad key", "type": "invalid_api_key"}}),
        capabilities=CAPS,
    )
    answering(client)
    client.on_request(
        types.WINDOW_SHOW_MESSAGE_REQUEST,
        lambda params: types.MessageActionItem(title=params.actions[0].title),
    )
    uri = (daemon.workspace / "hello.py").as_uri()
    with pytest.raises(JsonRpcException) as failed:
        await execute(
            client,
            {
                "command": "deputydev.refactor",
                "arguments": [{"uri": uri, "range": selection(0, 2)}],
            },
        )
    asked = client.server_requests[types.WINDOW_SHOW_MESSAGE_REQUEST][0]
    assert "refactored" in asked.message and asked.actions[0].title == "Simplify it"
    assert "Simplify it" in daemon.requests()[0]["messages"][1]["content"]
    assert failed.value.code == -32051
    await client.wait_for(
        lambda: any(m.type == types.MessageType.Error for m in client.messages), what="an error"
    )
    [error] = [m for m in client.messages if m.type == types.MessageType.Error]
    assert "Refactor hello.py:1-2 failed" in error.message and "OPENAI_API_KEY" in error.message
    assert work_done(client, "DeputyDev: Refactor")[-1]["kind"] == "end"


async def test_cancel_command_stops_a_slow_stream(daemon: Editor) -> None:
    client = await daemon.start(
        Reply([Text("thinking out loud")], stall_after=2), capabilities=CAPS
    )
    answering(client)
    uri = (daemon.workspace / "hello.py").as_uri()
    running = asyncio.ensure_future(
        execute(
            client,
            {"command": "deputydev.explain", "arguments": [{"uri": uri, "range": selection(0, 2)}]},
        )
    )
    await client.wait_for(
        lambda: (
            "writing the answer"
            in [v.get("message") for v in work_done(client, "DeputyDev: Explain")]
        ),
        what="the answer to start",
    )
    cancelled = await execute(client, {"command": "deputydev.cancel"})
    assert cancelled == {"cancelled": 1}
    with pytest.raises(JsonRpcRequestCancelled):
        await asyncio.wait_for(running, 30)
    assert await daemon.llm.wait_disconnects(1) >= 1
    assert work_done(client, "DeputyDev: Explain")[-1] == {"kind": "end", "message": "cancelled"}
    again = await execute(client, {"command": "deputydev.cancel", "arguments": []})
    assert again == {"cancelled": 0}


async def test_bad_arguments_name_the_field_and_reindex_needs_none(daemon: Editor) -> None:
    client = await daemon.start(capabilities=CAPS)
    with pytest.raises(JsonRpcException) as no_uri:
        await execute(
            client, {"command": "deputydev.fix", "arguments": [{"range": selection(0, 1)}]}
        )
    assert no_uri.value.code == -32602 and "uri" in str(no_uri.value)
    with pytest.raises(JsonRpcException) as no_query:
        await execute(client, {"command": "deputydev.ask"})
    assert no_query.value.code == -32602 and "query" in str(no_query.value)
    spellings: list[Any] = [None, [], [{}], [None]]
    for arguments in spellings:
        result = await execute(client, {"command": "deputydev.reindex", "arguments": arguments})
        assert result["roots"][0]["files"] == 1
    await client.wait_for(lambda: client.messages, what="the re-index message")
    assert "1 file," in client.messages[-1].message


async def test_cancel_request_on_a_command_stops_its_turn(daemon: Editor) -> None:
    client = await daemon.start(Reply([Text("slow")], stall_after=2), capabilities=CAPS)
    answering(client)
    uri = (daemon.workspace / "hello.py").as_uri()
    params = client.protocol._converter.structure(
        {
            "command": "deputydev.explain",
            "arguments": [{"uri": uri, "range": selection(0, 2)}],
        },
        types.ExecuteCommandParams,
    )
    running = client.protocol.send_request_async(
        types.WORKSPACE_EXECUTE_COMMAND, params, msg_id="explain-1"
    )
    await client.wait_for(
        lambda: (
            "writing the answer"
            in [v.get("message") for v in work_done(client, "DeputyDev: Explain")]
        ),
        what="the answer to start",
    )
    client.protocol.notify("$/cancelRequest", types.CancelParams(id="explain-1"))
    with pytest.raises(JsonRpcRequestCancelled):
        await asyncio.wait_for(running, 30)
    assert await daemon.llm.wait_disconnects(1) >= 1  # the turn stopped, not just the answer
