"""``deputydev/review`` over stdio: findings streamed, published as diagnostics that follow
the text, cleared when their lines change, and applied as quick fixes through
``workspace/applyEdit``. The daemon is real; the reviewers are the on-wire fake model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from protocol import errors as codes
from tests.e2e.harness import DaemonClient, start_daemon
from tests.fakes.llm_server import LLMServer
from tests.fakes.review_model import ReviewModel, finding
from tests.review_repo import UTIL_NOW, make_repo

FIXED = "    return a - b"


@pytest.fixture
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture
async def client(tmp_path: Path, llm: LLMServer) -> AsyncIterator[DaemonClient]:
    repo = make_repo(tmp_path / "repo")
    daemon = await start_daemon(
        repo,
        stderr_path=tmp_path / "daemon.stderr",
        env={
            "OPENAI_BASE_URL": llm.url + "/v1",
            "OPENAI_API_KEY": "sk-test",
            "DEPUTYDEV_PROVIDERS__DEFAULT_MODEL": "gpt-4.1",
            "DEPUTYDEV_INDEX__ENABLED": "false",
        },
    )
    daemon.on_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    daemon.on_request(
        types.WORKSPACE_APPLY_EDIT, lambda params: types.ApplyWorkspaceEditResult(applied=True)
    )
    try:
        yield daemon
    finally:
        await daemon.stop_daemon()


def published(client: DaemonClient, uri: str) -> list[Any]:
    return [
        p for p in client.notifications[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] if p.uri == uri
    ]


async def next_diagnostics(client: DaemonClient, uri: str, seen: int) -> list[Any]:
    found = await client.wait_for(
        lambda: published(client, uri)[seen:], what=f"diagnostics #{seen + 1} of {uri}"
    )
    return list(found[0].diagnostics)


def change(client: DaemonClient, uri: str, version: int, at: int, end: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version, uri),
            [
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(at, 0), types.Position(end, 0)), text=text
                )
            ],
        )
    )


async def test_findings_stream_become_diagnostics_follow_edits_and_apply_as_quick_fixes(
    client: DaemonClient, llm: LLMServer, tmp_path: Path
) -> None:
    llm.responder = ReviewModel(
        {
            "correctness": [
                finding(
                    "util.py",
                    6,
                    severity="error",
                    category="wrong-operands",
                    message="sub returns b - a",
                    suggestion=FIXED,
                )
            ],
            "maintainability": [
                finding("staged.py", 2, severity="info", category="naming", message="shout?")
            ],
        }
    )
    repo = tmp_path / "repo"
    util = (repo / "util.py").as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(util, "python", 1, UTIL_NOW))
    )
    result = await client.request(
        "deputydev/review", {"scope": "uncommitted", "partialResultToken": "rv"}, timeout=60
    )
    assert {f["path"] for f in result["findings"]} == {"util.py", "staged.py"}
    assert result["sessionId"] and result["modelCalls"] >= 6
    kinds = [v["kind"] for v in client.progress_values["rv"]]
    assert kinds[0] == "reviewStart" and kinds[-1] == "reviewDone"
    assert kinds.count("reviewer") == 5 and kinds.count("finding") == 2

    [diagnostic] = await next_diagnostics(client, util, 0)
    assert diagnostic.source == "deputydev" and diagnostic.code == "wrong-operands"
    assert diagnostic.severity == types.DiagnosticSeverity.Error
    assert diagnostic.range.start.line == 5 and "sub returns b - a" in diagnostic.message
    staged = published(client, (repo / "staged.py").as_uri())
    assert staged and staged[-1].diagnostics[0].code == "naming"

    # Two lines added above: the finding moves with its line.
    change(client, util, 2, 0, 0, "import math\n\n")
    [moved] = await next_diagnostics(client, util, 1)
    assert moved.range.start.line == 7

    actions = await client.request(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(util),
            range=types.Range(types.Position(7, 0), types.Position(7, 0)),
            context=types.CodeActionContext(diagnostics=[moved]),
        ),
    )
    # This client has no codeActionLiteralSupport: the quick fix comes as its command.
    fix = next(a for a in actions if "apply the suggestion (wrong-operands)" in a.title)
    assert fix.command == "deputydev.applyFinding"
    applied = await client.request(
        types.WORKSPACE_EXECUTE_COMMAND,
        types.ExecuteCommandParams(command=fix.command, arguments=fix.arguments),
    )
    assert applied == {"applied": True}
    [request] = client.server_requests[types.WORKSPACE_APPLY_EDIT]
    [edit] = request.edit.changes[util]
    assert edit.new_text == FIXED + "\n"
    assert (edit.range.start.line, edit.range.end.line) == (7, 8)

    # The editor applies it: the finding's line is gone, so is its diagnostic.
    change(client, util, 3, 7, 8, FIXED + "\n")
    assert await next_diagnostics(client, util, 2) == []


async def test_bad_reviews_are_errors_that_name_the_field_and_the_daemon_goes_on(
    client: DaemonClient, llm: LLMServer
) -> None:
    llm.responder = ReviewModel()
    with pytest.raises(JsonRpcException) as bad_base:
        await client.request("deputydev/review", {"scope": "branch", "base": "nope"})
    assert bad_base.value.code == codes.INVALID_PARAMS and "base 'nope'" in str(bad_base.value)
    with pytest.raises(JsonRpcException) as bad_agent:
        await client.request("deputydev/review", {"agents": ["nitpicker"]})
    assert "unknown reviewer" in str(bad_agent.value)
    with pytest.raises(JsonRpcException) as bad_scope:
        await client.request("deputydev/review", {"scope": "everything"})
    assert bad_scope.value.code == codes.INVALID_PARAMS
    status = await client.request("deputydev/status", {})
    assert status["version"]
    assert not llm.requests


async def test_the_review_command_runs_without_the_custom_request(
    client: DaemonClient, llm: LLMServer
) -> None:
    llm.responder = ReviewModel({"tests": [finding("staged.py", 1, category="untested")]})
    result = await client.request(
        types.WORKSPACE_EXECUTE_COMMAND,
        types.ExecuteCommandParams(
            command="deputydev.review", arguments=[{"scope": "staged", "agents": ["tests"]}]
        ),
        timeout=60,
    )
    assert [f["path"] for f in result["findings"]] == ["staged.py"]
    message = await client.wait_for(
        lambda: [m for m in client.messages if "DeputyDev review" in m.message],
        what="the review's message",
    )
    assert "1 finding" in message[0].message


async def test_a_follow_up_in_the_review_session_discusses_its_findings(
    client: DaemonClient, llm: LLMServer
) -> None:
    llm.responder = ReviewModel(
        {"correctness": [finding("util.py", 6, category="wrong-operands", message="b - a")]}
    )
    result = await client.request("deputydev/review", {"agents": ["correctness"]}, timeout=60)
    before = len(llm.requests)
    answer = await client.request(
        "deputydev/query",
        {"sessionId": result["sessionId"], "query": "Why is F1 a problem?"},
        timeout=60,
    )
    assert answer["sessionId"] == result["sessionId"]
    [body] = [r.body for r in llm.requests[before:]]
    sent = str(body["messages"])
    assert "Review of uncommitted changes" in sent and "wrong-operands" in sent
    assert "Why is F1 a problem?" in sent
    # the reviewers' own turns (their tool calls) are the record, not the conversation
    assert "report_finding" not in sent
    sessions = await client.request("deputydev/sessions/list", {})
    titles = [s["title"] for s in sessions["sessions"]]
    assert "Review: uncommitted changes" in titles


async def test_cancelling_the_review_commands_progress_stops_the_reviewers(
    client: DaemonClient, llm: LLMServer
) -> None:
    import asyncio

    llm.responder = ReviewModel(stall=True)
    running = asyncio.ensure_future(
        client.request(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(
                command="deputydev.review", arguments=[{"agents": ["tests", "security"]}]
            ),
            timeout=60,
        )
    )
    token = await client.wait_for(
        lambda: next(
            (
                t
                for t, values in client.progress_values.items()
                if values and values[0].get("title") == "DeputyDev: review"
            ),
            None,
        ),
        what="the review's progress",
    )
    await llm.wait_requests(1)  # the first reviewer (the others wait for its first answer)
    client.protocol.notify(
        types.WINDOW_WORK_DONE_PROGRESS_CANCEL, types.WorkDoneProgressCancelParams(token=token)
    )
    with pytest.raises(JsonRpcException) as cancelled:
        await running
    assert cancelled.value.code == codes.REQUEST_CANCELLED
    assert await llm.wait_disconnects(1) >= 1  # its stream was dropped
    assert client.progress_values[token][-1]["kind"] == "end"
    status = await client.request("deputydev/status", {})
    assert status["version"]
