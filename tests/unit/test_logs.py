"""Secrets never reach a log record."""

from __future__ import annotations

import logging

import pytest

from daemon import logs, paths


def test_registered_and_key_shaped_secrets_are_redacted(
    tmp_path: object, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "plain-secret-value-123")
    logs.setup("info", stderr=False)
    log_file = paths.log_dir() / logs.LOG_FILE
    log = logging.getLogger("test.redaction")
    log.warning("calling with %s", "plain-secret-value-123")
    log.warning("an unknown key sk-abcdefghijklmnopqrstuvwxyz0123 leaked")
    log.warning("dsn postgresql://alice:hunter2@db.example/team")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = log_file.read_text()
    assert "plain-secret-value-123" not in text
    assert "sk-abcdefghijklmnopqrstuvwxyz0123" not in text
    assert "hunter2" not in text and "alice" not in text
    assert text.count(logs.REDACTED) == 3
    for handler in list(logging.getLogger().handlers):
        logging.getLogger().removeHandler(handler)
        handler.close()


@pytest.mark.parametrize(
    ("url", "shown", "hidden"),
    [
        ("postgresql://alice@127.0.0.1:5432/team", "postgresql://alice@127.0.0.1:5432/team", ""),
        (
            "postgresql://alice:hunter22@127.0.0.1/team",
            "postgresql://[REDACTED]@127.0.0.1/team",
            "hunter22",
        ),
    ],
)
def test_a_sync_url_is_logged_with_only_its_password_hidden(
    url: str, shown: str, hidden: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daemon.config import load_settings

    monkeypatch.setenv("DEPUTYDEV_SYNC_URL", url)
    settings = load_settings().settings.sync
    logs.setup("info", stderr=False)
    try:
        logging.getLogger("test.sync").info("team sync to %s", settings.display_url())
        logging.getLogger("test.sync").info("raw %s", url)
        for handler in logging.getLogger().handlers:
            handler.flush()
        text = (paths.log_dir() / logs.LOG_FILE).read_text()
    finally:
        for handler in list(logging.getLogger().handlers):
            logging.getLogger().removeHandler(handler)
            handler.close()
    assert f"team sync to {shown}" in text
    if hidden:
        assert hidden not in text
    else:
        assert logs.REDACTED not in text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
        ("token github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv", "github_pat_11ABC"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEsecretbody\n-----END RSA PRIVATE KEY-----", "MIIE"),
        ("password=hunter2-x", "hunter2-x"),
        ('{"db_password": "two words"}', "two words"),
        (repr('{"password": "two words"}'), "two words"),
        ("mysql://user:PW-9x@host/db", "PW-9x"),
        ("postgresql://u:p@ss@host:bad/db", "p@ss"),
    ],
)
def test_every_secret_shape_is_redacted_at_every_level(text: str, secret: str) -> None:
    assert secret not in logs.redact(text)
