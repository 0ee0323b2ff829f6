"""GitHub through the fake on the wire: a pull request and an issue become Markdown."""

from __future__ import annotations

import pytest

from hosting.errors import BadResponse
from hosting.hosts import Host
from hosting.http import HostClient, graphql_url
from tests.fakes.hosting_data import (
    github_files,
    github_issue,
    github_pull,
    github_review_threads,
    seed_github_pull,
)
from tests.fakes.hosting_server import Answer, HostingServer
from tests.unit.hosting.conftest import MakeHosting, github_hosting

PR = "https://github.com/o/r/pull/7"


async def test_a_pull_request_becomes_markdown_with_diff_reviews_and_ci(
    github: HostingServer, make_hosting: MakeHosting
) -> None:
    seed_github_pull(github)
    text = await github_hosting(make_hosting, github).fetch(PR)
    assert text.startswith("# Pull request o/r#7: Retry uploads with back-off")
    for fact in (
        "- State: open",
        "- Author: @alice",
        "- Branches: alice:retry -> main",
        "- Size: 2 files, +12 -3",
        "- Labels: enhancement",
        "- Reviewers: @carol",
        "- Milestone: v1.2",
    ):
        assert fact in text
    # CI: failures first, with both check runs and the commit status.
    assert "Overall: 1 FAILED, 1 pending, 1 passed" in text
    assert text.index("FAILED: tests") < text.index("passed: lint")
    assert "Uploads now retry **three** times." in text
    assert "[CHANGES_REQUESTED]" in text
    # Review comments carry their file and line; the reply sits under its thread.
    assert "- `src/mod_1.py:4` @carol (2024-05-01 11:00):\n  Should this be configurable?" in text
    assert "  - reply `src/mod_1.py:4` @alice" in text
    assert "conversation comment 1" in text
    assert "### src/mod_0.py (added, +6 -0)" in text and "+v0_5 = 5" in text
    assert "each file's diff capped at 400 lines" in text
    # Every request carried the token; nothing else was asked for.
    assert {r.headers["authorization"] for r in github.requests} == {
        "Bearer ghp_testtoken1234567890"
    }
    assert all(r.headers["accept"] == "application/vnd.github+json" for r in github.requests)


async def test_a_long_file_diff_is_cut_and_says_so(
    github: HostingServer, make_hosting: MakeHosting
) -> None:
    seed_github_pull(github, files=github_files(count=1, lines=900))
    text = await github_hosting(make_hosting, github, max_diff_lines=50).fetch(PR)
    assert "[diff cut: first 50 of 901 lines shown]" in text
    assert "+v0_48 = 48" in text and "+v0_60 = 60" not in text


async def test_files_are_paged_and_a_budget_lists_what_was_not_shown(
    github: HostingServer, make_hosting: MakeHosting
) -> None:
    seed_github_pull(github, files=github_files(count=150, lines=40))
    text = await github_hosting(make_hosting, github, max_diff_files=120).fetch(PR, budget=20_000)
    pages = [r.query.get("page", ["1"])[0] for r in github.requests if r.path.endswith("/files")]
    assert pages == ["1", "2"]  # 100 per page, then stop at 120
    assert "Only the first 120 of 150 files were fetched." in text
    assert "Diff budget reached:" in text and "- src/mod_119.py (modified, +40 -0)" in text
    assert len(text) < 24_000


async def test_a_repeated_pull_request_costs_304s(
    github: HostingServer, make_hosting: MakeHosting
) -> None:
    seed_github_pull(github)
    github_review_threads(github, [(10, "alice")])
    first = await github_hosting(make_hosting, github).fetch(PR)
    sent = len(github.requests)
    gets = sum(r.method == "GET" for r in github.requests)
    # A new daemon (a new client) on the same data folder: the cache is on disk. The
    # threads' GraphQL answer is kept a while, so it is not asked again either.
    second = await github_hosting(make_hosting, github).fetch(PR)
    assert second == first and "[resolved by @alice]" in second
    assert len(github.requests) == sent + gets
    assert github.not_modified == gets
    assert all(r.headers.get("if-none-match") for r in github.requests[sent:])


async def test_resolved_review_threads_say_so_and_by_whom(
    github: HostingServer, make_hosting: MakeHosting
) -> None:
    seed_github_pull(github)
    # 101 threads: the resolution of the one that matters is on GraphQL's second page.
    github_review_threads(github, [(1000 + i, None) for i in range(100)] + [(10, "carol")])
    text = await github_hosting(make_hosting, github).fetch(PR)
    assert (
        "- `src/mod_1.py:4` @carol (2024-05-01 11:00) [resolved by @carol]:\n"
        "  Should this be configurable?" in text
    )
    assert "  - reply `src/mod_1.py:4` @alice (2024-05-01 11:30):" in text  # no mark
    posts = [r for r in github.requests if r.method == "POST"]
    assert [r.path for r in posts] == ["/graphql", "/graphql"]
    assert all(r.headers["authorization"] == "Bearer ghp_testtoken1234567890" for r in posts)
    assert posts[0].body["variables"] == {"owner": "o", "name": "r", "number": 7, "after": None}
    assert posts[1].body["variables"]["after"] == "100"


async def test_unresolved_threads_and_a_failing_graphql_leave_the_threads_as_rest_gives_them(
    github: HostingServer, make_hosting: MakeHosting
) -> None:
    seed_github_pull(github)
    github_review_threads(github, [(10, None)])
    text = await github_hosting(make_hosting, github).fetch(PR)
    assert "resolved" not in text and "Should this be configurable?" in text

    github.route(
        "POST", "/graphql", lambda request: Answer(200, {"errors": [{"message": "timeout"}]})
    )
    again = await github_hosting(make_hosting, github, cache=False).fetch(PR)
    assert "Should this be configurable?" in again and "resolved" not in again


async def test_without_a_token_no_graphql_is_asked(make_hosting: MakeHosting) -> None:
    with HostingServer("github") as public:
        seed_github_pull(public)
        github_review_threads(public, [(10, "carol")])
        text = await make_hosting({}, github={"api_url": public.url}).fetch(PR)
        assert "Should this be configurable?" in text and "resolved" not in text
        assert all(r.method == "GET" for r in public.requests)


def test_graphql_lives_beside_the_rest_api_and_may_receive_the_token() -> None:
    dotcom = Host("github", "github", "https://github.com", "https://api.github.com")
    assert graphql_url(dotcom) == "https://api.github.com/graphql"
    ghe = Host("github", "github", "https://git.acme.com", "https://git.acme.com/api/v3")
    assert graphql_url(ghe) == "https://git.acme.com/api/graphql"
    client = HostClient(ghe)
    assert client.url("https://git.acme.com/api/graphql") == "https://git.acme.com/api/graphql"
    with pytest.raises(BadResponse, match="outside its API"):
        client.url("https://git.acme.com/api/other")


async def test_an_issue_link_to_a_pull_request_renders_the_pull(
    github: HostingServer, make_hosting: MakeHosting
) -> None:
    seed_github_pull(github)
    github.json("/repos/o/r/issues/7", github_issue(number=7, pull_request={"url": "x"}))
    text = await github_hosting(make_hosting, github).fetch("https://github.com/o/r/issues/7")
    assert text.startswith("# Pull request o/r#7")


async def test_an_issue_keeps_the_newest_comments(
    github: HostingServer, make_hosting: MakeHosting
) -> None:
    github.json("/repos/o/r/issues/3", github_issue(comments=250))
    github.json(
        "/repos/o/r/issues/3/comments",
        [
            {"user": {"login": "u"}, "body": f"note {i}", "created_at": "2024-04-02T00:00:00Z"}
            for i in range(250)
        ],
    )
    text = await github_hosting(make_hosting, github, max_comments=120).fetch(
        "https://github.com/o/r/issues/3"
    )
    assert text.startswith("# Issue o/r#3: Uploads fail on flaky networks")
    assert "- State: closed (completed)" in text and "## Diff" not in text
    assert "(130 earlier comments not shown)" in text
    assert "note 249" in text and "note 129" not in text
    pages = [r.query["page"][0] for r in github.requests if r.path.endswith("/comments")]
    assert pages == ["2", "3"]  # straight to the last pages, not all of them


async def test_search_is_scoped_to_the_workspace_repository(
    github: HostingServer, make_hosting: MakeHosting, tmp_path: object
) -> None:
    from pathlib import Path

    root = Path(str(tmp_path)) / "ws"
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "config").write_text(
        '[core]\n\tfsmonitor = touch /tmp/pwned\n[remote "origin"]\n'
        "\turl = git@github.com:o/r.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n"
    )
    github.json(
        "/search/issues",
        {
            "total_count": 41,
            "incomplete_results": False,
            "items": [
                github_issue(),
                github_pull(
                    number=8,
                    pull_request={"merged_at": None},
                    repository_url="https://api.github.com/repos/o/r",
                ),
            ],
        },
    )
    text = await github_hosting(make_hosting, github).search(
        "github", "timeout", limit=2, roots=[root]
    )
    assert github.requests[-1].query["q"] == ["timeout repo:o/r"]
    assert text.startswith("2 of 41 results for 'timeout' on github.com (in o/r;")
    assert "- o/r#3 (issue, closed): Uploads fail on flaky networks [bug] by @erin" in text
    assert "- o/r#8 (pull request, open)" in text

    github.json("/repos/o/r/pulls", [github_pull(number=n) for n in (1, 2)])
    text = await github_hosting(make_hosting, github).pull_requests(None, roots=[root])
    assert text.startswith("2 results for open pull requests of o/r on github.com")
    assert github.requests[-1].query["state"] == ["open"]
