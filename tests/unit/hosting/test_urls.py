"""Links recognised from the link alone, on the hosts the user configured, and no others."""

from __future__ import annotations

import pytest

from hosting.hosts import resolve_hosts
from hosting.remote import web_of
from hosting.settings import HostingSettings
from hosting.urls import recognise, split_repo

SETTINGS = HostingSettings.model_validate(
    {
        "hosts": {
            "work": {"kind": "github", "url": "https://github.acme.com"},
            "lab": {"kind": "gitlab", "url": "https://code.acme.com/gitlab"},
            "wiki": {"kind": "confluence", "url": "https://wiki.acme.com/confluence"},
        }
    }
)
ENV = {"JIRA_URL": "https://jira.acme.com"}


@pytest.mark.parametrize(
    ("url", "kind", "host", "what"),
    [
        ("https://github.com/o/r/pull/7", "pull", "github.com", "o/r#7"),
        ("https://github.com/o/r/pull/7/files#diff-1", "pull", "github.com", "o/r#7"),
        ("https://GitHub.com/o/r.js/issues/12?x=1", "issue", "github.com", "o/r.js#12"),
        ("https://github.acme.com/team/app/pull/3", "pull", "github.acme.com", "team/app#3"),
        ("https://gitlab.com/g/sub/p/-/merge_requests/5", "pull", "gitlab.com", "g/sub/p!5"),
        ("https://gitlab.com/g/p/-/issues/9", "issue", "gitlab.com", "g/p#9"),
        ("https://gitlab.com/g/p/-/work_items/9", "issue", "gitlab.com", "g/p#9"),
        (
            "https://code.acme.com/gitlab/g/p/-/merge_requests/1/diffs",
            "pull",
            "code.acme.com/gitlab",
            "g/p!1",
        ),
        (
            "https://bitbucket.org/ws/repo/pull-requests/4/overview",
            "pull",
            "bitbucket.org",
            "ws/repo#4",
        ),
        ("https://jira.acme.com/browse/PROJ-12", "jira", "jira.acme.com", "PROJ-12"),
        ("https://acme.atlassian.net/browse/ABC-1", "jira", "acme.atlassian.net", "ABC-1"),
        (
            "https://acme.atlassian.net/jira/software/projects/ABC/boards/1?selectedIssue=ABC-9",
            "jira",
            "acme.atlassian.net",
            "ABC-9",
        ),
        (
            "https://acme.atlassian.net/wiki/spaces/ENG/pages/123456/Deploy+guide",
            "page",
            "acme.atlassian.net/wiki",
            "page 123456",
        ),
        (
            "https://wiki.acme.com/confluence/pages/viewpage.action?pageId=98765",
            "page",
            "wiki.acme.com/confluence",
            "page 98765",
        ),
        (
            "https://wiki.acme.com/confluence/display/OPS/Run+book",
            "page",
            "wiki.acme.com/confluence",
            "page OPS/Run book",
        ),
    ],
)
def test_work_item_links_are_recognised(url: str, kind: str, host: str, what: str) -> None:
    ref = recognise(url, resolve_hosts(SETTINGS, ENV))
    assert ref is not None
    assert (ref.kind, ref.host.label) == (kind, host)
    assert ref.label == f"{what} on {host}"


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/o/r",  # a repository, not an item
        "https://github.com/o/r/pull/x",
        "https://github.com/o/../r/pull/1",  # no walking the API
        "https://github.com/o/r%2F..%2F..%2Fusers/pull/1",
        "https://github.evil.com/o/r/pull/7",  # not configured: a plain web page
        "https://evil.com/https://github.com/o/r/pull/7",
        "https://gitlab.evil.com/g/p/-/merge_requests/5",
        "https://example.com/browse/PROJ-1",  # Jira only where the user said
        "http://acme.atlassian.net/browse/ABC-1",  # Cloud is https only
        "ftp://github.com/o/r/pull/7",
        "https://user:pw@github.com/o/r/pull/7",
        "https://acme.atlassian.net.evil.com/browse/ABC-1",
        "https://acme.atlassian.net/wiki/x/",
        "https://acme.atlassian.net/wiki/x/A",  # page 0
        "https://acme.atlassian.net/wiki/x/QOIB%2F..",
    ],
)
def test_other_links_are_not_work_items(url: str) -> None:
    assert recognise(url, resolve_hosts(SETTINGS, ENV)) is None


def test_a_configured_context_path_wins_over_the_bare_host() -> None:
    hosts = resolve_hosts(
        HostingSettings.model_validate(
            {
                "hosts": {
                    "a": {"kind": "gitlab", "url": "https://code.acme.com"},
                    "b": {"kind": "gitlab", "url": "https://code.acme.com/sub"},
                }
            }
        ),
        {},
    )
    ref = recognise("https://code.acme.com/sub/g/p/-/issues/1", hosts)
    assert ref is not None and ref.host.name == "b" and ref.repo == "g/p"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("o/r", ("o", "r")),
        ("https://github.com/o/r.git", ("o", "r")),
        ("g/sub/p", ("g/sub", "p")),
        ("o", None),
        ("o/../r", None),
        ("o/r; rm -rf", None),
    ],
)
def test_repository_names_are_checked(text: str, expected: tuple[str, str] | None) -> None:
    assert split_repo(text) == expected


@pytest.mark.parametrize(
    ("url", "label"),
    [
        ("https://gitlab.com/g/sub/p/merge_requests/5", "g/sub/p!5 on gitlab.com"),
        ("https://gitlab.com/g/p/issues/41#note_9", "g/p#41 on gitlab.com"),
        (
            "https://acme.atlassian.net/jira/software/c/projects/PROJ/issues/PROJ-7",
            "PROJ-7 on acme.atlassian.net",
        ),
        (
            "https://acme.atlassian.net/jira/servicedesk/projects/HELP/queues/custom/1/HELP-33",
            "HELP-33 on acme.atlassian.net",
        ),
        (
            "https://acme.atlassian.net/wiki/spaces/ENG/pages/edit-v2/123456",
            "page 123456 on acme.atlassian.net/wiki",
        ),
        # Share links: the page id in Confluence's tiny-link base64.
        ("https://acme.atlassian.net/wiki/x/QOIB", "page 123456 on acme.atlassian.net/wiki"),
        ("https://acme.atlassian.net/wiki/x/2oEBfw", "page 2130805210 on acme.atlassian.net/wiki"),
        ("https://wiki.acme.com/confluence/x/AAAAg", "page 2147483648 on wiki.acme.com/confluence"),
    ],
)
def test_older_and_in_app_links_are_recognised_too(url: str, label: str) -> None:
    ref = recognise(url, resolve_hosts(SETTINGS, ENV))
    assert ref is not None and ref.label == label


@pytest.mark.parametrize(
    ("remote", "web"),
    [
        ("git@github.com:o/r.git", ("https://github.com", "o/r")),
        ("ssh://git@ssh.github.com:443/o/r.git", ("https://github.com", "o/r")),
        ("ssh://git@altssh.bitbucket.org:443/ws/repo.git", ("https://bitbucket.org", "ws/repo")),
        (
            "ssh://git@gitlab.example.com:2222/g/sub/p.git",
            ("https://gitlab.example.com", "g/sub/p"),
        ),
        ("https://github.com/o/r.git/", ("https://github.com", "o/r")),
        ("git@gitlab.com:g/p.git/", ("https://gitlab.com", "g/p")),
        ("https://x-access-token:ghp_x@github.com/o/r", ("https://github.com", "o/r")),
        ("file:///srv/git/r.git", None),
    ],
)
def test_clone_urls_name_their_repository_on_the_web(
    remote: str, web: tuple[str, str] | None
) -> None:
    assert web_of(remote) == web
