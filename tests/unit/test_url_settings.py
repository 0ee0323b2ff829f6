"""URL settings are checked when read: a bad one is a config issue naming its key, and the
message never repeats the URL (it may hold a password or a key)."""

from __future__ import annotations

import pytest

from daemon.config import load_settings

BAD = [
    ("DEPUTYDEV_SYNC_URL", "postgresql://bob:s3cret-pw@db:notaport/team", "sync.url", "port"),
    ("DEPUTYDEV_SYNC_URL", "postgresql://bob:s3cret-pw@db:70000/team", "sync.url", "port"),
    ("DEPUTYDEV_SYNC_URL", "postgresql://bob:s3cret-pw@[::1/team", "sync.url", "URL"),
    ("DEPUTYDEV_SYNC_URL", "mysql://bob:s3cret-pw@db/team", "sync.url", "postgresql://"),
    (
        "DEPUTYDEV_PROVIDERS__OPENAI__BASE_URL",
        "http://u:s3cret-pw@127.0.0.1:bad/v1",
        "providers.openai.base_url",
        "port",
    ),
    (
        "DEPUTYDEV_PROVIDERS__SERVERS",
        '{"lab": {"base_url": "127.0.0.1:8080"}}',
        "providers.servers.lab.base_url",
        "http://",
    ),
    (
        "DEPUTYDEV_INDEX__EMBEDDINGS__BASE_URL",
        "http://h:port/v1",
        "index.embeddings.base_url",
        "port",
    ),
]


@pytest.mark.parametrize(("variable", "value", "key", "says"), BAD)
def test_a_url_that_cannot_work_is_a_config_issue_naming_its_key(
    variable: str, value: str, key: str, says: str
) -> None:
    loaded = load_settings(env={variable: value})
    [issue] = loaded.issues
    assert issue.key == key
    assert says in issue.message
    assert "s3cret-pw" not in str(issue)


def test_good_urls_are_kept() -> None:
    loaded = load_settings(
        env={
            "DEPUTYDEV_SYNC_URL": "postgresql://bob@db.example.com:5432/team",
            "DEPUTYDEV_PROVIDERS__SERVERS": '{"lab": {"base_url": "https://[::1]:8443/v1"}}',
        }
    )
    assert loaded.issues == ()
    assert loaded.settings.providers.servers["lab"].base_url == "https://[::1]:8443/v1"
