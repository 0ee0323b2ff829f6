"""``deputydev ask`` as a new user meets it: a real subprocess, what lands on stdout and
stderr, and the exit code. The model, when there is one, is the on-wire fake behind
``OPENAI_BASE_URL`` with no key, as a local OpenAI-compatible server would be."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import daemon_env
from tests.fakes.llm_server import LLMServer, Reply, Text


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # nothing listens there once the socket is closed


def deputydev(
    workspace: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # The local model's server is a port where nothing listens: no Ollama on this machine
    # or any other can answer for it.
    servers = {"ollama": {"base_url": f"http://127.0.0.1:{closed_port()}/v1"}}
    extra = {"DEPUTYDEV_PROVIDERS__SERVERS": json.dumps(servers), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "daemon", *args],
        cwd=workspace,
        env=daemon_env(extra),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def sessions(workspace: Path) -> list[str]:
    listed = deputydev(workspace, "sessions", "list", "--all").stdout.splitlines()
    return [line for line in listed[1:] if line.strip()]


def test_ask_with_no_usable_model_says_so_and_how_to_fix_it_on_stderr(workspace: Path) -> None:
    result = deputydev(workspace, "ask", "what does greet do?")

    assert result.returncode == 2
    assert result.stdout == ""
    assert "no model is usable here" in result.stderr
    for hint in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "deputydev doctor"):
        assert hint in result.stderr
    assert "Traceback" not in result.stderr
    assert sessions(workspace) == []  # nothing was asked: no empty session left behind


def test_an_empty_question_is_refused(workspace: Path) -> None:
    result = deputydev(workspace, "ask", "   ")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "the question is empty" in result.stderr


def test_openai_base_url_alone_needs_no_key_and_stdout_holds_only_the_answer(
    workspace: Path,
) -> None:
    with LLMServer() as llm:
        llm.script(Reply([Text("It greets "), Text("by name.")]))
        result = deputydev(
            workspace,
            "ask",
            "what does greet do?",
            "--agent",
            "explainer",
            env={"OPENAI_BASE_URL": f"{llm.url}/v1"},
        )
        [sent] = llm.requests
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "It greets by name."
    assert sent.headers["authorization"] == "Bearer no-key"
    assert "session " in result.stderr  # the closing line, out of the answer's way


def test_a_failed_ask_exits_1_on_stderr_and_is_saved_as_a_failed_turn(workspace: Path) -> None:
    with LLMServer() as llm:
        llm.script(*[Reply(status=500, error={"message": "the model crashed"})] * 3)
        result = deputydev(
            workspace,
            "ask",
            "what does greet do?",
            "--agent",
            "explainer",
            env={
                "OPENAI_BASE_URL": f"{llm.url}/v1",
                "DEPUTYDEV_PROVIDERS__MAX_RETRIES": "0",
            },
        )
    assert result.returncode == 1
    assert result.stdout.strip() == ""
    assert "deputydev: " in result.stderr and "the failed turn is saved" in result.stderr
    [line] = sessions(workspace)
    session_id = line.split()[0]
    shown = deputydev(workspace, "sessions", "show", session_id)
    assert shown.returncode == 0, shown.stderr
    assert "(failed)" in shown.stdout


@pytest.mark.parametrize("query", ["", "\n"])
def test_a_blank_question_never_reaches_a_model(workspace: Path, query: str) -> None:
    with LLMServer() as llm:
        result = deputydev(workspace, "ask", query, env={"OPENAI_BASE_URL": f"{llm.url}/v1"})
        assert llm.requests == []
    assert result.returncode == 2
