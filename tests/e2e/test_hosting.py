"""Work items through the real daemon over stdio: the fake model asks for a pull request,
the fake GitHub serves it on the wire with the token checked, and the Markdown reaches the
model; a URL focus item and a host failure go the same way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_query import Daemon, calls, text, tool_results
from tests.fakes.hosting_data import seed_github_pull
from tests.fakes.hosting_server import HostingServer
from tests.fakes.llm_server import Call, LLMServer

TOKEN = "ghp_e2etoken0123456789abcdef"
PR = "https://github.com/o/r/pull/7"


@pytest.fixture
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture
def github() -> Iterator[HostingServer]:
    with HostingServer("github", auth=f"Bearer {TOKEN}") as server:
        yield server


@pytest.fixture
async def daemon(workspace: Path, tmp_path: Path, llm: LLMServer) -> Any:
    d = Daemon(workspace, tmp_path, llm)
    yield d
    await d.close()


def hosting_env(github: HostingServer) -> dict[str, str]:
    return {"GITHUB_TOKEN": TOKEN, "DEPUTYDEV_HOSTING__GITHUB__API_URL": github.url}


async def test_the_model_fetches_a_pull_request_and_reads_it(
    daemon: Daemon, github: HostingServer
) -> None:
    seed_github_pull(github)
    client = await daemon.start(
        calls(Call("c1", "fetch_work_item", {"url": PR})),
        text("The tests check failed; carol asked for a setting."),
        env=hosting_env(github),
    )
    result = await client.request(
        "deputydev/query", {"query": f"what is left to do on {PR}?", "partialResultToken": "q"}
    )
    assert result["text"] == "The tests check failed; carol asked for a setting."
    [call] = result["toolCalls"]
    assert call["name"] == "fetch_work_item" and call["isError"] is False
    [seen] = tool_results(daemon.requests()[1])
    assert seen.startswith("# Pull request o/r#7: Retry uploads with back-off")
    assert "FAILED: tests" in seen and "`src/mod_1.py:4` @carol" in seen
    assert "+v1_5 = 5" in seen
    # The token went to the fake GitHub only, never to the editor or the model.
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in github.requests)
    assert TOKEN not in json.dumps(client.progress_values["q"])
    assert TOKEN not in json.dumps(daemon.requests())
    assert TOKEN not in client.stderr_text()


async def test_a_pull_request_link_in_focus_reaches_the_model_as_markdown(
    daemon: Daemon, github: HostingServer
) -> None:
    seed_github_pull(github)
    client = await daemon.start(text("Reviewed."), env=hosting_env(github))
    await client.request("deputydev/query", {"query": "review this", "focusItems": [{"url": PR}]})
    [request] = daemon.requests()
    user = request["messages"][-1]["content"]
    assert user.startswith("review this\n\nFocus pull request o/r#7 on github.com:\n\n# Pull")
    assert "### src/mod_0.py (added, +6 -0)" in user


async def test_a_host_failure_is_a_tool_error_and_the_turn_goes_on(
    daemon: Daemon, github: HostingServer
) -> None:
    github.fail("/repos/o/r/pulls/7", 401, "Bad credentials")
    client = await daemon.start(
        calls(Call("c1", "fetch_work_item", {"url": PR})),
        text("I could not read it: set GITHUB_TOKEN."),
        env={**hosting_env(github), "GITHUB_TOKEN": "ghp_expired00000000000000"},
    )
    result = await client.request("deputydev/query", {"query": f"summarise {PR}"})
    assert result["stopReason"] == "stop" and result["toolCalls"][0]["isError"] is True
    [seen] = tool_results(daemon.requests()[1])
    assert "github.com refused the credentials from GITHUB_TOKEN (Bad credentials)" in seen
    assert "ghp_expired00000000000000" not in seen
