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
