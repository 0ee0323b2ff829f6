from __future__ import annotations

from pathlib import Path

from daemon.config import load_settings


def test_url_from_the_environment_hides_its_password(tmp_path: Path) -> None:
    loaded = load_settings(
        env={
            "DEPUTYDEV_SYNC_URL": "postgresql://alice:pw-123456@db.example:6543/team?sslmode=require"
        },
        user_file=tmp_path / "none.toml",
    )
    sync = loaded.settings.sync
    assert sync.configured and loaded.issues == ()
    assert sync.display_url() == "postgresql://alice:***@db.example:6543/team?sslmode=require"
    assert "pw-123456" not in repr(loaded.settings)
    assert sync.password() == "pw-123456"


def test_not_configured_by_default(tmp_path: Path) -> None:
    assert not load_settings(env={}, user_file=tmp_path / "none.toml").settings.sync.configured


def test_bad_values_name_their_key(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[sync]\nurl = "mysql://x@y/z"\ndefault_sharing = "world"\n'
        '[sync.redaction]\npatterns = ["("]\n'
    )
    loaded = load_settings(env={}, user_file=config)
    messages = {issue.key: issue.message for issue in loaded.issues}
    assert "postgresql://" in messages["sync.url"]
    assert "sync.default_sharing" in messages
    assert "not a valid regular expression" in messages["sync.redaction.patterns"]
    assert not loaded.settings.sync.configured
