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
