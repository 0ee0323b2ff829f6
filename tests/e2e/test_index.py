"""The workspace index over stdio: background indexing with progress, search, status,
live updates from the watcher and from saves, and the lexical fallback without vectors."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from tests.e2e.harness import DaemonClient, daemon_env, start_daemon

UPDATED = "deputydev/index/updated"


def _ended(client: DaemonClient) -> list[list[Any]]:
    return [
        values
        for values in client.progress_values.values()
        if values and values[0].get("kind") == "begin" and values[-1].get("kind") == "end"
    ]


async def _indexed(client: DaemonClient) -> None:
    await client.wait_for(lambda: _ended(client), what="indexing progress to end")


async def test_first_index_reports_progress_and_search_finds_the_function(
    client: DaemonClient, workspace: Path
) -> None:
    await _indexed(client)
    values = _ended(client)[0]
    assert values[0]["title"] == f"Indexing {workspace.name}"
    assert "1 file," in values[-1]["message"] or "1/1" in values[-1]["message"]

    found = await client.request("deputydev/search", {"query": "greet someone by name"})
    assert found["mode"] == "lexical"
    hit = found["results"][0]
    assert (hit["path"], hit["startLine"], hit["endLine"]) == ("hello.py", 1, 2)
    assert (hit["symbol"], hit["kind"], hit["language"]) == ("greet", "function", "python")
    assert hit["root"] == str(workspace)
    assert "def greet" in hit["snippet"]

    symbol = await client.request("deputydev/search", {"query": "greet", "mode": "symbol"})
    assert symbol["results"][0]["symbol"] == "greet"

    status = await client.request("deputydev/index/status")
    root = status["roots"][0]
    assert (root["state"], root["files"], root["chunks"]) == ("idle", 1, 1)
    assert root["vectorsEnabled"] is False and root["vectorsReason"]
    overall = await client.request("deputydev/status")
    assert overall["index"]["roots"][0]["files"] == 1
    assert overall["roots"][0]["indexState"] == "ready"
    assert overall["roots"][0]["path"] == str(workspace)


async def test_bad_search_params_are_named_and_the_daemon_keeps_serving(
    client: DaemonClient, tmp_path: Path
) -> None:
    await _indexed(client)
    with pytest.raises(Exception, match="mode"):
        await client.request("deputydev/search", {"query": "x", "mode": "fuzzy"})
    with pytest.raises(Exception, match="not a workspace root"):
        await client.request("deputydev/search", {"query": "x", "root": str(tmp_path)})
    with pytest.raises(Exception, match="semantic search is off"):
        await client.request("deputydev/search", {"query": "x", "mode": "semantic"})
    ok = await client.request("deputydev/search", {"query": "greet"})
    assert ok["results"]


async def test_an_edit_is_searchable_once_the_watcher_has_indexed_it(
    client: DaemonClient, workspace: Path
) -> None:
    await _indexed(client)
    client.on_notification(UPDATED)
    # The watcher starts after the first run: wait until it is in place (announced, or
    # already in the status if the announcement came before we listened).
    status = await client.request("deputydev/index/status")
    if not status["roots"][0]["watching"]:
        await client.wait_for(
            lambda: any(n["kind"] == "watching" for n in client.notifications[UPDATED]),
            what="the watcher to be in place",
        )
    target = workspace / "pkg" / "billing.py"
    target.parent.mkdir()
    target.write_text("def compute_invoice_total(lines):\n    return sum(lines)\n")

    def seen() -> bool:
        return any("pkg/billing.py" in n.get("paths", []) for n in client.notifications[UPDATED])

    await client.wait_for(seen, what="index/updated naming pkg/billing.py")
    found = await client.request(
        "deputydev/search", {"query": "invoice total", "mode": "lexical", "limit": 3}
    )
    assert found["results"][0]["path"] == "pkg/billing.py"

    target.unlink()
    await client.wait_for(
        lambda: any(n.get("removed") for n in client.notifications[UPDATED]),
        what="index/updated with the file removed",
    )
    gone = await client.request("deputydev/search", {"query": "compute_invoice_total"})
    assert all(r["path"] != "pkg/billing.py" for r in gone["results"])


async def test_a_saved_buffer_is_reindexed(workspace: Path, tmp_path: Path) -> None:
    env = {"DEPUTYDEV_INDEX__WATCH": "false"}
    client = await start_daemon(workspace, stderr_path=tmp_path / "d.stderr", env=env)
    try:
        await _indexed(client)
        client.on_notification(UPDATED)
        path = workspace / "hello.py"
        path.write_text("def farewell(name):\n    return f'bye {name}'\n")
        client.text_document_did_save(
            types.DidSaveTextDocumentParams(
                text_document=types.TextDocumentIdentifier(uri=path.as_uri())
            )
        )
        await client.wait_for(
            lambda: any(n["kind"] == "updated" for n in client.notifications[UPDATED]),
            what="index/updated",
        )
        found = await client.request("deputydev/search", {"query": "farewell", "mode": "symbol"})
        assert found["results"][0]["symbol"] == "farewell"
    finally:
        await client.stop_daemon()


async def test_without_a_vector_extension_search_is_lexical_and_doctor_says_why(
    workspace: Path, tmp_path: Path
) -> None:
    env = {"DEPUTYDEV_INDEX__VECTORS": "false"}
    client = await start_daemon(workspace, stderr_path=tmp_path / "d.stderr", env=env)
    try:
        await _indexed(client)
        found = await client.request("deputydev/search", {"query": "greet", "mode": "hybrid"})
        assert found["results"][0]["symbol"] == "greet"
        status = await client.request("deputydev/index/status")
        assert "index.vectors = false" in status["roots"][0]["vectorsReason"]
    finally:
        await client.stop_daemon()

    doctor = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "daemon",
        "doctor",
        "--json",
        "--root",
        str(workspace),
        stdout=asyncio.subprocess.PIPE,
        env=daemon_env(env),
    )
    out, _ = await doctor.communicate()
    checks = {c["name"]: c for c in json.loads(out)}
    assert checks["index vectors"]["status"] == "warn"
    assert "index.vectors = false" in checks["index vectors"]["detail"]


async def test_pause_holds_indexing_and_resume_lets_it_finish(
    client: DaemonClient, workspace: Path
) -> None:
    await _indexed(client)
    assert await client.request("deputydev/index/pause") == {"paused": True}
    (workspace / "later.py").write_text("def written_while_paused():\n    return 1\n")
    rebuild = asyncio.ensure_future(client.request("deputydev/index/rebuild", {}))
    status = await client.request("deputydev/index/status")
    assert status["roots"][0]["state"] in ("paused", "idle")
    assert not rebuild.done()
    assert await client.request("deputydev/index/resume") == {"paused": False}
    done = await rebuild
    assert done["roots"][0]["files"] == 2
    found = await client.request(
        "deputydev/search", {"query": "written_while_paused", "mode": "symbol"}
    )
    assert found["results"][0]["path"] == "later.py"


async def test_several_roots_are_indexed_apart_and_searched_together(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / "ship.py").write_text("def ship_order(order):\n    return order\n")
    (two / "ship.go").write_text("package ship\n\nfunc ShipParcel(p int) int {\n\treturn p\n}\n")
    client = await start_daemon([one, two], stderr_path=tmp_path / "d.stderr")
    try:
        await client.wait_for(lambda: len(_ended(client)) == 2, what="both roots indexed")
        found = await client.request("deputydev/search", {"query": "ship", "limit": 5})
        assert {(r["root"], r["path"]) for r in found["results"]} == {
            (str(one), "ship.py"),
            (str(two), "ship.go"),
        }
        only = await client.request(
            "deputydev/search", {"query": "ship", "root": two.as_uri(), "languages": ["go"]}
        )
        assert [r["symbol"] for r in only["results"]] == ["ShipParcel"]
        status = await client.request("deputydev/index/status")
        assert sorted(r["root"] for r in status["roots"]) == sorted([str(one), str(two)])
    finally:
        await client.stop_daemon()
