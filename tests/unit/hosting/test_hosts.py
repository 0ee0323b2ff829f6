"""Which credentials go to which host: each variable only to the address it pairs with."""

from __future__ import annotations

from hosting.hosts import resolve_hosts
from hosting.settings import HostingSettings


def hosts(env: dict[str, str], **settings: object) -> dict[str, tuple[str, str | None, str]]:
    resolved = resolve_hosts(HostingSettings.model_validate(settings), env)
    return {
        h.name: (h.api, h.credentials.source if h.credentials else None, h.hint)
        for h in resolved.hosts
    }


def test_github_token_goes_to_github_com_only() -> None:
    found = hosts(
        {"GITHUB_TOKEN": "ghp_aaaaaaaa", "GH_ENTERPRISE_TOKEN": "ent-token"},
        hosts={"work": {"kind": "github", "url": "https://github.acme.com"}},
    )
    assert found["github"][:2] == ("https://api.github.com", "GITHUB_TOKEN")
    # A [hosting.hosts.NAME] entry gets only the token it names itself.
    assert found["work"][:2] == ("https://github.acme.com/api/v3", None)
    assert "[hosting.hosts.work] token" in found["work"][2]


def test_an_enterprise_github_url_takes_the_enterprise_variable() -> None:
    found = hosts(
        {"GITHUB_TOKEN": "ghp_aaaaaaaa", "GH_ENTERPRISE_TOKEN": "ent-token"},
        github={"url": "https://github.acme.com"},
    )
    assert found["github"][:2] == ("https://github.acme.com/api/v3", "GH_ENTERPRISE_TOKEN")


def test_gh_token_is_the_fallback_and_config_wins() -> None:
    assert hosts({"GH_TOKEN": "gho_bbbbbbbb"})["github"][1] == "GH_TOKEN"
    found = hosts({"GH_TOKEN": "gho_bbbbbbbb"}, github={"token": "ghp_fromconfig"})
    assert found["github"][1] == "[hosting.github] token"


def test_gitlab_token_follows_gitlab_url() -> None:
    found = hosts({"GITLAB_TOKEN": "glpat-xxxxxxxx", "GITLAB_URL": "https://code.acme.com"})
    assert found["gitlab"][:2] == ("https://code.acme.com/api/v4", "GITLAB_TOKEN")


def test_atlassian_variables_choose_basic_or_bearer() -> None:
    resolved = resolve_hosts(
        HostingSettings(),
        {
            "JIRA_URL": "https://acme.atlassian.net",
            "JIRA_EMAIL": "me@acme.com",
            "JIRA_API_TOKEN": "jira-token",
            "CONFLUENCE_URL": "https://wiki.acme.com",
            "CONFLUENCE_PAT": "pat-token",
            "BITBUCKET_USERNAME": "me",
            "BITBUCKET_APP_PASSWORD": "app-pass",
        },
    )
    by_name = {h.name: h for h in resolved.hosts}
    jira = by_name["jira"].credentials
    assert jira is not None and (jira.scheme, jira.username) == ("basic", "me@acme.com")
    wiki = by_name["confluence"].credentials
    assert wiki is not None and (wiki.scheme, wiki.source) == ("bearer", "CONFLUENCE_PAT")
    bitbucket = by_name["bitbucket"].credentials
    assert bitbucket is not None and bitbucket.username == "me"
    assert "jira-token" not in repr(by_name["jira"])  # no token in any repr


def test_confluence_cloud_shares_jira_cloud_credentials_on_the_same_site() -> None:
    resolved = resolve_hosts(
        HostingSettings(),
        {"JIRA_URL": "https://acme.atlassian.net", "JIRA_EMAIL": "a@b", "JIRA_API_TOKEN": "t0k3n!"},
    )
    wiki = [h for h in resolved.hosts if h.kind == "confluence"]
    assert [w.web for w in wiki] == ["https://acme.atlassian.net/wiki"]
    assert wiki[0].credentials is not None and wiki[0].credentials.source == "JIRA_API_TOKEN"


def test_bad_entries_are_problems_not_crashes() -> None:
    resolved = resolve_hosts(
        HostingSettings.model_validate(
            {
                "hosts": {
                    "x": {"kind": "gitlab"},
                    "y": {"url": "https://a"},
                    "z": {"kind": "jira", "url": "file:///etc"},
                }
            }
        ),
        {"JIRA_URL": "not a url"},
    )
    keys = sorted(p.key for p in resolved.problems)
    assert keys == [
        "JIRA_URL",
        "hosting.hosts.x.url",
        "hosting.hosts.y.kind",
        "hosting.hosts.z.url",
    ]
