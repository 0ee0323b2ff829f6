"""Posting a review on Bitbucket (GitHub and GitLab run end to end in tests/e2e), and the
refusals: an issue link is not a pull request."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from hosting.errors import NotRecognised
from hosting.review import InlineComment
from tests.fakes.hosting_server import Answer, HostingServer, Request
from tests.unit.hosting.conftest import MakeHosting


async def test_bitbucket_inline_comments_and_summary_are_edited_on_a_rerun(
    make_hosting: MakeHosting,
) -> None:
    comments: list[dict[str, Any]] = []
    ids = itertools.count(1)
    base = "/2.0/repositories/ws/repo/pullrequests/9"

    def create(request: Request) -> Answer:
        comments.append({"id": next(ids), **(request.body or {})})
        return Answer(201, comments[-1])

    def edit(request: Request) -> Answer:
        wanted = int(request.path.rsplit("/", 1)[1])
        for c in comments:
            if c["id"] == wanted:
                c["content"] = (request.body or {})["content"]
                return Answer(200, c)
        return Answer(404, None)

    with HostingServer("bitbucket") as server:
        server.json(
            base,
            {"id": 9, "links": {"html": {"href": "https://bitbucket.org/ws/repo/pull-requests/9"}}},
        )
        server.route("GET", f"{base}/comments", lambda r: Answer(200, comments))
        server.route("POST", f"{base}/comments", create)
        server.route("PUT", f"{base}/comments/*", edit)
        hosting = make_hosting({}, bitbucket={"api_url": server.url + "/2.0"})
        url = "https://bitbucket.org/ws/repo/pull-requests/9"
        inline = [InlineComment("k1", "app.py", 3, 4, "a bug")]
        first = await hosting.post_review(url, inline, "summary one")
        assert (first.created, first.updated) == (2, 0)
        assert first.url == "https://bitbucket.org/ws/repo/pull-requests/9"
        assert comments[0]["inline"] == {"path": "app.py", "to": 4}
        second = await hosting.post_review(url, inline, "summary two")
        assert (second.created, second.updated) == (0, 2)
        assert len(comments) == 2 and "summary two" in comments[1]["content"]["raw"]


async def test_only_pull_requests_take_a_review(make_hosting: MakeHosting) -> None:
    hosting = make_hosting({})
    with pytest.raises(NotRecognised, match="not a link to a pull request"):
        await hosting.post_review("https://github.com/o/r/issues/3", [], "x")


async def test_a_comment_the_host_will_not_place_goes_into_the_summary(
    make_hosting: MakeHosting,
) -> None:
    from tests.fakes.review_hosts import GitHubPull, GitLabMergeRequest

    with HostingServer("github") as github, HostingServer("gitlab") as gitlab:
        pull = GitHubPull(github, refuse=frozenset({7}))
        mr = GitLabMergeRequest(gitlab)
        hosting = make_hosting(
            {},
            github={"api_url": github.url},
            gitlab={"api_url": gitlab.url + "/api/v4"},
        )
        comments = [
            InlineComment("a", "app.py", 9, 9, "injection"),
            InlineComment("b", "app.py", 7, 7, "blank line?", old_line=7),
            InlineComment("c", "app.py", 8, 8, "name it better", old_line=8),
        ]
        posted = await hosting.post_review("https://github.com/o/r/pull/7", comments, "sum")
        assert posted.created == 3  # two inline comments and the summary
        assert sorted(c["line"] for c in pull.review_comments) == [8, 9]
        summary = next(c for c in pull.issue_comments if "deputydev" in c["body"])
        assert "Not placed on the diff" in summary["body"] and "blank line?" in summary["body"]

        # GitLab places an unchanged line by both numbers; a line past the diff is refused.
        comments[1] = InlineComment("b", "app.py", 2, 2, "far away")
        await hosting.post_review("https://gitlab.com/g/p/-/merge_requests/1", comments, "sum")
        placed = sorted(d["notes"][0]["position"]["new_line"] for d in mr.discussions)
        assert placed == [8, 9]
        [note] = [n for n in mr.notes if "deputydev-review:summary" in str(n["body"])]
        assert "far away" in note["body"]
