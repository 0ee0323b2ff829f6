"""Settings: sources in order, and bad values reported precisely without losing the rest."""

from __future__ import annotations

from pathlib import Path

from daemon.config import load_settings


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_with_no_sources(tmp_path: Path) -> None:
    loaded = load_settings(env={}, user_file=tmp_path / "missing.toml")
    assert loaded.settings.log_level == "info"
    assert loaded.settings.index.max_chunk_lines == 80
    assert loaded.issues == ()


def test_precedence_user_then_workspace_then_env_then_editor(tmp_path: Path) -> None:
    user = write(tmp_path / "user.toml", 'log_level = "error"\n[index]\nmax_chunk_lines = 10\n')
    root = tmp_path / "ws"
    write(
        root / ".deputydev" / "config.toml", "[index]\nmax_chunk_lines = 20\nmax_file_bytes = 5\n"
    )
    env = {"DEPUTYDEV_INDEX__MAX_FILE_BYTES": "7", "DEPUTYDEV_LOG_LEVEL": "warning"}

    loaded = load_settings(roots=[root], env=env, user_file=user)
    assert loaded.settings.index.max_chunk_lines == 20  # workspace beats user
    assert loaded.settings.index.max_file_bytes == 7  # environment beats workspace
    assert loaded.settings.log_level == "warning"

    loaded = load_settings(
        roots=[root],
        env=env,
        user_file=user,
        editor={"logLevel": "debug", "index": {"maxChunkLines": 30}},
    )
    assert loaded.settings.log_level == "debug"  # the editor wins
    assert loaded.settings.index.max_chunk_lines == 30
    assert loaded.issues == ()


def test_broken_toml_names_file_and_line_and_keeps_defaults(tmp_path: Path) -> None:
    user = write(tmp_path / "user.toml", 'log_level = "debug"\n\n[index\nmax_chunk_lines = 3\n')
    loaded = load_settings(env={}, user_file=user)
    assert loaded.settings.log_level == "info"
    (issue,) = loaded.issues
    assert issue.source == str(user)
    assert issue.line == 3
    assert "not valid TOML" in str(issue)


def test_bad_value_is_dropped_alone_with_its_line(tmp_path: Path) -> None:
    user = write(
        tmp_path / "user.toml",
        'log_level = "debug"\n[index]\nmax_file_bytes = 100\nmax_chunk_lines = "many"\n',
    )
    loaded = load_settings(env={}, user_file=user)
    assert loaded.settings.log_level == "debug"  # the good values stay
    assert loaded.settings.index.max_file_bytes == 100
    assert loaded.settings.index.max_chunk_lines == 80  # the bad one falls back
    (issue,) = loaded.issues
    assert issue.key == "index.max_chunk_lines"
    assert issue.line == 4
    assert "integer" in issue.message and "'many'" in issue.message


def test_unknown_key_is_reported(tmp_path: Path) -> None:
    user = write(tmp_path / "user.toml", "[index]\nmax_chunk_line = 3\n")
    loaded = load_settings(env={}, user_file=user)
    (issue,) = loaded.issues
    assert issue.key == "index.max_chunk_line"
    assert "unknown setting" in issue.message


def test_bad_environment_value_names_the_variable_key(tmp_path: Path) -> None:
    loaded = load_settings(env={"DEPUTYDEV_LOG_LEVEL": "loud"}, user_file=tmp_path / "none")
    (issue,) = loaded.issues
    assert issue.source == "environment" and issue.key == "log_level"
    assert loaded.settings.log_level == "info"


def test_editor_may_not_send_secrets(tmp_path: Path) -> None:
    loaded = load_settings(
        env={},
        user_file=tmp_path / "none",
        editor={"deputydev": {"providers": {"openai": {"apiKey": "sk-1"}}}},
    )
    issue = next(i for i in loaded.issues if i.key == "providers.openai.apiKey")
    assert issue.source == "editor" and "environment variable" in issue.message
    assert all("sk-1" not in str(i) for i in loaded.issues)


def test_editor_may_not_send_a_password_inside_a_url(tmp_path: Path) -> None:
    loaded = load_settings(
        env={},
        user_file=tmp_path / "none",
        editor={
            "sync": {"url": "postgresql://ana:hunter2@db.example/team"},
            "index": {"embeddings": {"baseUrl": "host=db password=hunter2"}},
        },
    )
    keys = {i.key for i in loaded.issues}
    assert {"sync.url", "index.embeddings.baseUrl"} <= keys
    assert all("hunter2" not in str(i) for i in loaded.issues)
    assert "hunter2" not in str(loaded.settings.sync)
    fine = load_settings(
        env={}, user_file=tmp_path / "none", editor={"sync": {"url": "postgresql://ana@db/team"}}
    )
    assert not [i for i in fine.issues if i.key == "sync.url"]
