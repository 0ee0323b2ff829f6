"""Suite-wide fixtures: every test runs hermetic, with its own DEPUTYDEV_HOME and HOME.

No test sees the developer's config, keys or data: provider keys and base URLs are
removed from the environment, and e2e daemons get the same clean environment, with
embeddings off unless a test asks for them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[1])
# Provider variables that would let a test reach a real service or read a real key.
_SCRUBBED = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_GEMINI_BASE_URL",
    "GOOGLE_VERTEX_BASE_URL",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "CODESTRAL_API_KEY",
    "DEEPSEEK_API_KEY",
    # source hosts, trackers and wikis (hosting/)
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
    "GITLAB_TOKEN",
    "GITLAB_URL",
    "GITLAB_HOST",
    "OPENROUTER_API_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_BEARER_TOKEN_BEDROCK",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "ANTHROPIC_BEDROCK_BASE_URL",
    "ANTHROPIC_VERTEX_BASE_URL",
    "ANTHROPIC_VERTEX_PROJECT_ID",
    "CLOUD_ML_REGION",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "CLOUDSDK_CONFIG",
)
_SCRUBBED_PREFIXES = ("BITBUCKET_", "JIRA_", "CONFLUENCE_")
# Credential chains that would otherwise ask a cloud's metadata server for a machine identity.
_NO_METADATA_SERVERS = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "NO_GCE_CHECK": "True",
    "GCE_METADATA_HOST": "127.0.0.1:9",
    "GCE_METADATA_IP": "127.0.0.1:9",
}


@pytest.fixture(autouse=True)
def hermetic_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "deputydev-home"
    home.mkdir()
    monkeypatch.setenv("DEPUTYDEV_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))
    for name in list(os.environ):
        if (
            name in _SCRUBBED
            or name.startswith(_SCRUBBED_PREFIXES)
            or (name.startswith("DEPUTYDEV_") and name != "DEPUTYDEV_HOME")
        ):
            monkeypatch.delenv(name, raising=False)
    for name, value in _NO_METADATA_SERVERS.items():
        monkeypatch.setenv(name, value)
    # With the `local` extra installed (make test installs it) the default embedding
    # backend, "auto", embeds every workspace a daemon opens; tests that want vectors ask
    # for a backend themselves.
    monkeypatch.setenv("DEPUTYDEV_INDEX__EMBEDDINGS__BACKEND", "none")
    # Daemons and CLIs the tests spawn (from any cwd) import this checkout's packages, even
    # one added since the virtual environment's editable install was made.
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")]))
    )
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    yield home


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """End-to-end tests run last, so a broken unit shows first (as pygls's suite does)."""
    for item in items:
        if "/e2e/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


@pytest.fixture(scope="session")
def pgvector_server() -> Iterator[str]:
    """The admin URL of a PostgreSQL with pgvector (tests/pgvector.py), started once per
    session on first use. Unavailable, the test is skipped, or fails under CI."""
    from tests.pgvector import PgvectorServer, PgvectorUnavailable
    from tests.postgres import skip_or_fail

    server = PgvectorServer()
    try:
        server.start()
    except PgvectorUnavailable as exc:
        server.stop()
        skip_or_fail(f"no PostgreSQL with pgvector: {exc}")
    try:
        yield server.admin_url
    finally:
        server.stop()
