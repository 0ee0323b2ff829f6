"""The ``[index.embeddings]`` section: defaults, file values and precise errors."""

from __future__ import annotations

from pathlib import Path

from daemon.config import load_settings


def test_embeddings_are_local_when_installed_by_default(tmp_path: Path) -> None:
    loaded = load_settings(env={}, user_file=tmp_path / "missing.toml")
    assert loaded.settings.index.embeddings.backend == "auto"
    assert loaded.issues == ()


def test_embeddings_section_is_read_from_the_user_file(tmp_path: Path) -> None:
    user = tmp_path / "config.toml"
    user.write_text(
        "[index.embeddings]\n"
        'backend = "compatible"\n'
        'model = "nomic-embed-text"\n'
        'base_url = "http://127.0.0.1:11434/v1"\n'
        "batch_size = 16\n"
    )
    loaded = load_settings(env={}, user_file=user)
    embeddings = loaded.settings.index.embeddings
    assert (embeddings.backend, embeddings.model, embeddings.batch_size) == (
        "compatible",
        "nomic-embed-text",
        16,
    )
    assert embeddings.base_url == "http://127.0.0.1:11434/v1"
    assert loaded.issues == ()


def test_unknown_backend_is_reported_with_its_key(tmp_path: Path) -> None:
    user = tmp_path / "config.toml"
    user.write_text('[index.embeddings]\nbackend = "magic"\n')
    loaded = load_settings(env={}, user_file=user)
    assert loaded.settings.index.embeddings.backend == "auto"
    (issue,) = loaded.issues
    assert issue.key == "index.embeddings.backend"
