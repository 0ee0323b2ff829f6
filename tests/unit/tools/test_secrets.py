"""The one secret policy: path shapes (gitignore-style, last match wins), content shapes,
and patches withheld from git output."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.solver.settings import DEFAULT_SECRET_PATTERNS, ToolSettings
from daemon.tools.secrets import SecretPolicy, content_is_secret, filter_diff, path_matches

POLICY = SecretPolicy(DEFAULT_SECRET_PATTERNS)


@pytest.mark.parametrize(
    "rel",
    [
        ".env",
        "app/.env",
        "config/.env.production",
        "deploy/prod.env",
        ".envrc",
        "id_rsa",
        "home/.ssh/id_ed25519",
        "keys/id_deploy",
        "id_rsa.old",
        "server.pem",
        "tls/server.key",
        "cert.p12",
        "store.pfx",
        "vault.kdbx",
        ".git-credentials",
        ".npmrc",
        ".pypirc",
        ".netrc",
        ".pgpass",
        ".aws/credentials",
        "home/.aws/credentials",
        ".docker/config.json",
        "credentials.json",
        "config/secrets.yaml",
        "gcp-service-account.json",
        "terraform.tfstate",
    ],
)
def test_secret_paths(rel: str) -> None:
    assert POLICY.path(rel)


@pytest.mark.parametrize(
    "rel",
    [
        "id_rsa.pub",
        ".ssh/id_ed25519.pub",
        "src/id_utils.py",
        "secrets.py",
        "src/env.py",
        "environment.yml",
        ".env_example.md",
        "docker/config.py",
        "README.md",
    ],
)
def test_ordinary_paths(rel: str) -> None:
    assert not POLICY.path(rel)


def test_patterns_are_ordered_and_negatable() -> None:
    assert path_matches(("*.txt", "!keep.txt"), "a/drop.txt")
    assert not path_matches(("*.txt", "!keep.txt"), "a/keep.txt")
    assert path_matches(("!keep.txt", "*.txt"), "keep.txt")


def test_allowing_secret_files_turns_the_policy_off() -> None:
    policy = SecretPolicy.of(ToolSettings(allow_secret_files=True))
    assert not policy.path(".env") and not policy.content("-----BEGIN RSA PRIVATE KEY-----")


def test_content_shapes() -> None:
    assert content_is_secret(b"x\n-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n")
    assert content_is_secret('{"type": "service_account", "private_key": "k"}')
    assert not content_is_secret('{"type": "service_account"}')
    assert not content_is_secret("-----BEGIN PUBLIC KEY-----")


def test_a_file_is_secret_by_content_and_a_fifo_is_not_opened(tmp_path: Path) -> None:
    import os

    notes = tmp_path / "notes.txt"
    notes.write_text("-----BEGIN EC PRIVATE KEY-----\nMII\n-----END EC PRIVATE KEY-----\n")
    assert POLICY.file(notes, "notes.txt")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert not POLICY.file(fifo, "pipe")


def test_a_secret_files_patch_is_withheld_from_a_log() -> None:
    log = "\n".join(
        [
            "abc1234 2024-01-01 bob: add config",
            "diff --git a/.env b/.env",
            "new file mode 100644",
            "index 0000000..1111111",
            "--- /dev/null",
            "+++ b/.env",
            "@@ -0,0 +1 @@",
            "+DB_PASSWORD=hunter2",
            "diff --git a/app.py b/app.py",
            "--- a/app.py",
            "+++ b/app.py",
            "@@ -1 +1 @@",
            "-x = 1",
            "+x = 2",
            "",
            "def5678 2024-01-02 bob: a key under an innocent name",
            "diff --git a/notes.txt b/notes.txt",
            "@@ -0,0 +1,3 @@",
            "+-----BEGIN RSA PRIVATE KEY-----",
            "+MIIEhunter3",
            "+-----END RSA PRIVATE KEY-----",
        ]
    )
    out = filter_diff(log, POLICY)
    assert "hunter2" not in out and "hunter3" not in out
    assert "[the change to .env is withheld: it is a secrets file]" in out
    assert "+x = 2" in out and "def5678 2024-01-02 bob" in out
    assert "[the change to notes.txt is withheld" in out
    on_disk = filter_diff(log, POLICY, secret_file=lambda name: name == "app.py")
    assert "+x = 2" not in on_disk
