"""Failures the user can act on: which variable, which scopes, which item, until when."""

from __future__ import annotations

import socket
import time

import pytest

from hosting.errors import (
    AuthError,
    BadRequest,
    BadResponse,
    HostUnavailable,
    NotFound,
    RateLimited,
)
from tests.fakes.hosting_data import seed_github_pull
from tests.fakes.hosting_server import HostingServer
from tests.unit.hosting.conftest import MakeHosting, github_hosting

PR = "https://github.com/o/r/pull/7"


async def test_a_refused_token_names_the_variable_and_the_scopes(
    github: HostingServer, make_hosting: MakeHosting
) -> None:
    seed_github_pull(github)
    hosting = make_hosting({"GITHUB_TOKEN": "ghp_wrongtoken000000"}, github={"api_url": github.url})
    with pytest.raises(AuthError) as caught:
        await hosting.fetch(PR)
    message = str(caught.value)
    assert "github.com refused the credentials from GITHUB_TOKEN (Bad credentials)" in message
    assert "GITHUB_TOKEN (or GH_TOKEN)" in message and "'repo' scope" in message
    assert "ghp_wrongtoken000000" not in message
    assert caught.value.data == {"host": "github.com", "status": 401}


async def test_no_token_says_which_variable_to_set(
    github: HostingServer, make_hosting: MakeHosting
) -> None:
    hosting = make_hosting({}, github={"api_url": github.url})
    with pytest.raises(
        AuthError,
        match=r"github.com needs credentials to read pull request "
        r"o/r#7 \(Bad credentials\): set GITHUB_TOKEN \(or GH_TOKEN\)",
    ):
        await hosting.fetch(PR)
    assert "authorization" not in github.requests[0].headers


async def test_forbidden_with_a_token_is_about_scopes(
    github: HostingServer, make_hosting: MakeHosting
) -> None:
    github.fail("/repos/o/r/pulls/7", 403, "Resource not accessible by personal access token")
    with pytest.raises(AuthError) as caught:
        await github_hosting(make_hosting, github).fetch(PR)
    assert "denied access to pull request o/r#7 (Resource not accessible" in str(caught.value)
    assert "fine-grained token with read access to Pull requests" in str(caught.value)


async def test_not_found_names_the_item_and_the_host(
    github: HostingServer, make_hosting: MakeHosting
) -> None:
    with pytest.raises(NotFound) as caught:
        await github_hosting(make_hosting, github).fetch("https://github.com/o/r/issues/404")
    assert str(caught.value) == (
        "issue o/r#404 was not found on github.com (or the token cannot see it)"
    )
    anonymous = make_hosting({}, github={"api_url": github.url})
    github.fail("/repos/o/r/issues/404", 404, "Not Found")
    with pytest.raises(NotFound, match=r"if it is private, set GITHUB_TOKEN"):
        await anonymous.fetch("https://github.com/o/r/issues/404")


async def test_a_short_rate_limit_is_waited_out(
    github: HostingServer, make_hosting: MakeHosting
) -> None:
    seed_github_pull(github)
    github.fail("/repos/o/r/pulls/7", 429, "slow down", headers={"Retry-After": "0.2"})
    started = time.monotonic()
    text = await github_hosting(make_hosting, github).fetch(PR)
    assert text.startswith("# Pull request o/r#7")
    assert time.monotonic() - started >= 0.2
    statuses = [r.status for r in github.requests if r.path == "/repos/o/r/pulls/7"]
    assert statuses == [429, 200]


async def test_a_spent_github_quota_reports_when_it_resets(
    github: HostingServer, make_hosting: MakeHosting
) -> None:
    reset = int(time.time()) + 1800
    github.fail(
        "/repos/o/r/pulls/7",
        403,
        "API rate limit exceeded for 203.0.113.1.",
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )
    hosting = make_hosting({}, github={"api_url": github.url})
    with pytest.raises(RateLimited) as caught:
        await hosting.fetch(PR)
    message = str(caught.value)
    assert "github.com is rate limiting requests (API rate limit exceeded" in message
    assert "try again in 30 min (at " in message
    assert "a token raises the limit: set GITHUB_TOKEN" in message
    assert 1700 < (caught.value.retry_after or 0) <= 1800


async def test_a_host_that_is_down_is_an_error_not_a_hang(make_hosting: MakeHosting) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hosting = make_hosting({}, github={"api_url": f"http://127.0.0.1:{port}"})
    with pytest.raises(HostUnavailable, match=r"github\.com cannot be reached"):
        await hosting.fetch(PR)


async def test_a_server_error_is_unavailable(
    github: HostingServer, make_hosting: MakeHosting
) -> None:
    github.fail("/repos/o/r/pulls/7", 502, "Server Error")
    with pytest.raises(HostUnavailable, match=r"github\.com failed with 502"):
        await github_hosting(make_hosting, github).fetch(PR)


async def test_credentials_never_follow_a_link_off_the_api(
    github: HostingServer, make_hosting: MakeHosting
) -> None:
    with HostingServer("github") as elsewhere:
        elsewhere.json("/steal", {"ok": True})
        github.redirect("/repos/o/r/pulls/7", f"{elsewhere.url}/steal")
        with pytest.raises(BadResponse, match="outside its API"):
            await github_hosting(make_hosting, github).fetch(PR)
        assert elsewhere.requests == []


async def test_a_rejected_query_says_what_the_host_said(make_hosting: MakeHosting) -> None:
    with HostingServer("jira", auth="Bearer pat-1234567") as jira:
        jira.fail("/rest/api/2/search", 400, "Error in the JQL Query: 'status' is unknown")
        hosting = make_hosting(
            {"JIRA_URL": "https://jira.acme.com", "JIRA_PAT": "pat-1234567"},
            jira={"api_url": jira.url},
        )
        with pytest.raises(BadRequest, match="Error in the JQL Query"):
            await hosting.search("jira", "status = ")


async def test_a_host_echoing_the_token_does_not_put_it_in_the_message(
    github: HostingServer, make_hosting: MakeHosting
) -> None:
    github.fail("/repos/o/r/pulls/7", 400, "bad header: Bearer ghp_testtoken1234567890")
    with pytest.raises(BadRequest) as caught:
        await github_hosting(make_hosting, github).fetch(PR)
    assert "ghp_testtoken1234567890" not in str(caught.value)
    assert "bad header: Bearer [REDACTED]" in str(caught.value)


async def test_an_answer_of_the_wrong_shape_names_the_host_and_the_item(
    github: HostingServer, make_hosting: MakeHosting
) -> None:
    seed_github_pull(github)
    github.json("/repos/o/r/pulls/7", ["not", "a", "pull"])  # e.g. api_url at the wrong API
    with pytest.raises(BadResponse) as caught:
        await github_hosting(make_hosting, github).fetch(PR)
    assert str(caught.value).startswith(
        "github.com answered for pull request o/r#7 on github.com in a shape that could not "
        "be read (AttributeError:"
    )
