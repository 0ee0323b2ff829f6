"""A small repository for the team-index tests, and helpers to drive daemons against a team
database: the same files written into each developer's own checkout."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tests.e2e.harness import DaemonClient
from tests.fakes.embeddings_server import EmbeddingsServer

UPDATED = "deputydev/index/updated"
# Not a secret by its text (redaction leaves it alone), but a secret file by its name.
ENV_FILE = "DATABASE_HOST=db.internal\nFEATURE_FLAGS=alpha,beta\n"
# A chunk that redaction changes: its hash must not leave the machine either.
SETTINGS_FILE = 'def settings():\n    api_token = "tok_live_abcdef123456"\n    return api_token\n'


def write_repo(root: Path, modules: int = 12) -> Path:
    """``modules`` Python files of three functions each, a secret file and a file holding a
    credential, committed to git (so the repository has a commit to publish)."""
    root.mkdir(parents=True, exist_ok=True)
    for m in range(modules):
        body = "\n\n".join(
            f"def {verb}_{noun}_{m}(value):\n"
            f'    """{verb.title()} the {noun} number {m} of an order."""\n'
            f"    return value * {m + 1} + {len(verb)}\n"
            for verb, noun in (("compute", "invoice"), ("render", "receipt"), ("refund", "payment"))
        )
        (root / f"billing_{m}.py").write_text(body + "\n")
    (root / ".env").write_text(ENV_FILE)
    (root / "settings.py").write_text(SETTINGS_FILE)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    return root


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def team_env(url: str, home: Path, embeddings: EmbeddingsServer, **extra: str) -> dict[str, str]:
    return {
        "DEPUTYDEV_HOME": str(home),
        "DEPUTYDEV_SYNC_URL": url,
        "DEPUTYDEV_SYNC__RETRY_INITIAL_S": "0.05",
        "DEPUTYDEV_SYNC__RETRY_MAX_S": "0.5",
        "DEPUTYDEV_INDEX__EMBEDDINGS__BACKEND": "compatible",
        "DEPUTYDEV_INDEX__EMBEDDINGS__BASE_URL": embeddings.openai_base_url,
        **extra,
    }


async def eventually(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 60) -> Any:
    """Poll ``check`` until it returns neither None nor False, failing after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


async def root_status(client: DaemonClient) -> dict[str, Any]:
    roots = (await client.request("deputydev/index/status"))["roots"]
    return dict(roots[0]) if roots else {"state": "not-indexed"}


async def embedded(client: DaemonClient) -> dict[str, Any] | None:
    """The root's status once indexed and every chunk has its vector, else None."""
    root = await root_status(client)
    assert root.get("embedState") != "error", root.get("embedError")
    if root["state"] == "idle" and root["chunks"] and root["vectors"] == root["chunks"]:
        return root
    return None


async def sync_status(client: DaemonClient) -> dict[str, Any]:
    result: dict[str, Any] = await client.request("deputydev/sync/status", {})
    return result


async def uploaded(client: DaemonClient) -> dict[str, Any] | None:
    """Sync status once the vector uploader is connected and has nothing left to send."""
    status = await sync_status(client)
    if status.get("vectorStore") and status.get("vectorsPending") == 0:
        return status
    return None
