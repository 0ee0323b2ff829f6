"""Semantic search through the daemon, with vectors from the fake embeddings server.

The daemon is configured (through its environment) for an OpenAI-compatible server at the
fake's URL; the fake counts what it embeds, so the test sees on the wire that a renamed
file costs no embedding.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import DaemonClient, start_daemon
from tests.fakes.embeddings_server import EmbeddingsServer

UPDATED = "deputydev/index/updated"
KEY = "sk-embeddings-e2e-123456"


@pytest.fixture
def server() -> Iterator[EmbeddingsServer]:
    with EmbeddingsServer(api_key=KEY) as running:
        yield running


@pytest.fixture
async def client(
    workspace: Path, tmp_path: Path, server: EmbeddingsServer
) -> AsyncIterator[DaemonClient]:
    (workspace / "billing.py").write_text(
        "def compute_invoice_total(lines):\n    return sum(line.amount for line in lines)\n"
    )
    env = {
        "DEPUTYDEV_INDEX__EMBEDDINGS__BACKEND": "compatible",
        "DEPUTYDEV_INDEX__EMBEDDINGS__BASE_URL": server.openai_base_url,
        "DEPUTYDEV_INDEX__EMBEDDINGS__API_KEY_ENV": "TEAM_EMBEDDINGS_KEY",
        "TEAM_EMBEDDINGS_KEY": KEY,
    }
    daemon = await start_daemon(workspace, stderr_path=tmp_path / "daemon.stderr", env=env)
    daemon.on_notification(UPDATED)
    try:
        yield daemon
    finally:
        await daemon.stop_daemon()


async def settled(client: DaemonClient, *, paths: set[str]) -> dict[str, Any]:
    """The root's status once exactly ``paths`` are indexed and every chunk has its vector."""
    while True:
        seen = len(client.notifications[UPDATED])
        root: dict[str, Any] = (await client.request("deputydev/index/status"))["roots"][0]
        if (
            root["state"] == "idle"
            and root["files"] == len(paths)
            and root["vectors"] == root["chunks"]
            and not root["vectorsPending"]
        ):
            return root
        assert root["embedState"] != "error", root["embedError"]

        def more(seen: int = seen) -> bool:
            return len(client.notifications[UPDATED]) > seen

        await client.wait_for(more, what=f"an index update (status: {root})")


async def test_semantic_search_uses_the_servers_vectors_and_a_rename_embeds_nothing(
    client: DaemonClient, workspace: Path, server: EmbeddingsServer
) -> None:
    root = await settled(client, paths={"hello.py", "billing.py"})
    assert root["vectorsEnabled"] is True
    assert root["embedder"] == "compatible:nomic-embed-text"
    embedded = server.text_count
    assert embedded == 2  # one chunk per file
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in server.requests)

    found = await client.request(
        "deputydev/search", {"query": "compute invoice total", "mode": "semantic", "limit": 2}
    )
    assert found["results"][0]["path"] == "billing.py"
    hybrid = await client.request("deputydev/search", {"query": "greet name", "limit": 2})
    assert hybrid["mode"] == "hybrid"
    assert hybrid["results"][0]["path"] == "hello.py"
    # The query cannot be embedded: the search runs lexical, and says so.
    server.fail(400, message="input rejected")
    lexical = await client.request("deputydev/search", {"query": "greet name", "limit": 2})
    assert lexical["mode"] == "lexical"
    assert lexical["results"][0]["path"] == "hello.py"

    requests_before = server.request_count
    (workspace / "billing.py").rename(workspace / "invoices.py")
    await client.wait_for(
        lambda: any("invoices.py" in n.get("paths", []) for n in client.notifications[UPDATED]),
        what="index/updated naming invoices.py",
    )
    await settled(client, paths={"hello.py", "invoices.py"})
    found = await client.request(
        "deputydev/search", {"query": "compute invoice total", "mode": "semantic", "limit": 1}
    )
    assert found["results"][0]["path"] == "invoices.py"
    # The renamed file's chunk kept its vector: the server saw nothing but the query.
    assert [r.body["input"] for r in server.requests[requests_before:]] in (
        [],
        [["compute invoice total"]],
    )
