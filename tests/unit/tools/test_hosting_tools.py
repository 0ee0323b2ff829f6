"""fetch_work_item, search_issues, list_pull_requests and URL focus items, against a fake
GitHub on the wire: results for the model, and every failure a tool error it can read."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from daemon.solver.focus import render_focus
from daemon.tools.base import ToolContext, ToolError
from daemon.tools.hosting import FetchWorkItem, ListPullRequests, SearchIssues
from daemon.tools.registry import make_tools
from hosting.service import Hosting
from hosting.settings import HostingSettings
from protocol.query import FocusItem
from tests.fakes.hosting_data import github_files, github_pull, seed_github_pull
from tests.fakes.hosting_server import HostingServer

TOKEN = "ghp_testtoken1234567890"
PR = "https://github.com/o/r/pull/7"


@pytest.fixture
def github() -> Iterator[HostingServer]:
    with HostingServer("github", auth=f"Bearer {TOKEN}") as server:
        yield server


@pytest.fixture
async def ctx(tmp_path: Path, github: HostingServer) -> AsyncIterator[ToolContext]:
    root = tmp_path / "ws"
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "config").write_text('[remote "origin"]\n\turl = https://github.com/o/r\n')
    hosting = Hosting(
        HostingSettings.model_validate({"github": {"api_url": github.url}}),
        cache_dir=tmp_path / "cache",
        env={"GITHUB_TOKEN": TOKEN},
    )
    yield ToolContext(roots=[root], hosting=hosting)
    await hosting.aclose()


def test_the_tools_are_offered_read_only() -> None:
    tools = {t.name: t for t in make_tools()}
    for name in ("fetch_work_item", "search_issues", "list_pull_requests"):
        assert tools[name].read_only and not tools[name].writes


async def test_fetch_work_item_reads_a_pull_request(
    ctx: ToolContext, github: HostingServer
) -> None:
    seed_github_pull(github)
    text = await FetchWorkItem()({"url": PR}, ctx)
    assert text.startswith("# Pull request o/r#7: Retry uploads with back-off")
    assert "`src/mod_1.py:4` @carol" in text


async def test_a_secret_file_in_a_diff_is_withheld(ctx: ToolContext, github: HostingServer) -> None:
    files = github_files(count=1)
    files.append({**files[0], "filename": "config/.env", "patch": "@@ -0,0 +1 @@\n+KEY=hunter2"})
    seed_github_pull(github, files=files)
    text = await FetchWorkItem()({"url": PR}, ctx)
    assert "### config/.env (added, +6 -0)\n\n(diff withheld" in text
    assert "hunter2" not in text


async def test_host_failures_are_tool_errors_the_model_can_read(
    ctx: ToolContext, github: HostingServer
) -> None:
    with pytest.raises(ToolError, match=r"pull request o/r#7 was not found on github\.com"):
        await FetchWorkItem()({"url": PR}, ctx)
    with pytest.raises(ToolError, match="is not a link to a pull request"):
        await FetchWorkItem()({"url": "https://example.com/o/r/pull/7"}, ctx)
    with pytest.raises(ToolError, match="unknown provider 'bugzilla'"):
        await SearchIssues()({"provider": "bugzilla", "query": "x"}, ctx)
    with pytest.raises(ToolError, match="invalid arguments for list_pull_requests: state"):
        await ListPullRequests()({"state": "weird"}, ctx)


async def test_without_hosting_the_tools_say_so(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="source hosting is turned off"):
        await FetchWorkItem()({"url": PR}, ToolContext(roots=[tmp_path]))


async def test_list_pull_requests_defaults_to_the_workspace_remote(
    ctx: ToolContext, github: HostingServer
) -> None:
    github.json("/repos/o/r/pulls", [github_pull(number=n, draft=n == 2) for n in (1, 2)])
    text = await ListPullRequests()({}, ctx)
    assert text.splitlines()[0] == "2 results for open pull requests of o/r on github.com:"
    assert "- o/r#2 (pull request, open (draft)): Retry uploads with back-off" in text
    other = await ListPullRequests()({"repo": "https://github.com/o/r", "state": "all"}, ctx)
    assert "o/r#1" in other and github.requests[-1].query["state"] == ["all"]


async def test_a_work_item_link_in_focus_becomes_markdown_not_a_web_page(
    ctx: ToolContext, github: HostingServer
) -> None:
    seed_github_pull(github)
    block = await render_focus([FocusItem(url=PR)], ctx)
    assert block.startswith("\n\nFocus pull request o/r#7 on github.com:\n\n# Pull request o/r#7")
    assert "```diff" in block  # the diff's own fences, not a fence around everything
    failing = await render_focus([FocusItem(url="https://github.com/o/r/pull/8")], ctx)
    assert failing.strip().startswith(
        "(focus https://github.com/o/r/pull/8: pull request o/r#8 was not found on github.com"
    )


async def test_a_fenced_focus_body_holding_backticks_keeps_its_fence(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "README.md").write_text("Use:\n```sh\nmake\n```\n")
    block = await render_focus([FocusItem(path="README.md")], ToolContext(roots=[root]))
    assert "````\nUse:\n```sh\nmake\n```\n````" in block
