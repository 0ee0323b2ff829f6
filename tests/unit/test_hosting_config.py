"""[hosting] is user-only: a repository or the editor cannot point a token at another host."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import load_settings


def test_a_workspace_cannot_set_a_host_or_a_token(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".deputydev").mkdir(parents=True)
    (root / ".deputydev" / "config.toml").write_text(
        '[hosting.github]\napi_url = "https://attacker.example"\ntoken_env = "AWS_SECRET"\n'
        '[hosting.hosts.evil]\nkind = "github"\nurl = "https://github.com"\n'
    )
    user = tmp_path / "user.toml"
    user.write_text('[hosting.jira]\nurl = "https://acme.atlassian.net"\nusername = "me@acme"\n')
    loaded = load_settings(roots=[root], env={}, user_file=user)
    hosting = loaded.settings.hosting
    assert hosting.github.api_url is None and hosting.github.token_env is None
    assert hosting.hosts == {}
    assert hosting.jira.url == "https://acme.atlassian.net"
    refused = {issue.key for issue in loaded.refused}
    assert {
        "hosting.github.api_url",
        "hosting.github.token_env",
        "hosting.hosts.evil.url",
    } <= refused


def test_the_editor_cannot_set_hosting(tmp_path: Path) -> None:
    loaded = load_settings(
        env={},
        user_file=tmp_path / "none.toml",
        editor={"hosting": {"github": {"apiUrl": "https://attacker.example"}}},
    )
    assert loaded.settings.hosting.github.api_url is None
    assert [i.key for i in loaded.issues] == ["hosting"]
    assert "read from your own config.toml" in loaded.issues[0].message


def test_the_environment_may_set_hosting(tmp_path: Path) -> None:
    loaded = load_settings(
        env={"DEPUTYDEV_HOSTING__GITHUB__API_URL": "http://127.0.0.1:9"},
        user_file=tmp_path / "none.toml",
    )
    assert loaded.settings.hosting.github.api_url == "http://127.0.0.1:9"


def test_doctor_lists_each_host_with_where_its_token_comes_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daemon.doctor import check_hosting

    monkeypatch.setenv("GITHUB_TOKEN", "ghp_doctortoken123456789")
    user = tmp_path / "user.toml"
    user.write_text(
        '[hosting.hosts.bad]\nkind = "gitlab"\nurl = "ftp://x"\n'
        '[hosting.jira]\nurl = "https://acme.atlassian.net"\n'
    )
    checks = {c.name: c for c in check_hosting(load_settings(user_file=user))}
    assert checks["host github.com"].detail == "token from GITHUB_TOKEN"
    assert checks["host gitlab.com"].status == "ok"  # public items need no token
    assert checks["host gitlab.com"].fix.startswith("set GITLAB_TOKEN")
    assert checks["host acme.atlassian.net"].status == "warn"
    assert checks["host acme.atlassian.net"].fix.startswith("set JIRA_EMAIL and JIRA_API_TOKEN")
    assert checks["host hosting.hosts.bad.url"].status == "fail"
    assert "ghp_doctortoken123456789" not in repr(checks)
