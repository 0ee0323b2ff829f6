"""``workspace/symbol`` answers from the index: fuzzy names, containers, every language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lsprotocol import types

from tests.e2e.harness import DaemonClient, start_daemon


async def symbols(client: DaemonClient, query: str) -> list[Any]:
    result = await client.protocol.send_request_async(
        types.WORKSPACE_SYMBOL, types.WorkspaceSymbolParams(query=query)
    )
    return list(result or [])


async def test_symbols_are_found_by_partial_name_with_container_and_position(
    tmp_path: Path,
) -> None:
    root = tmp_path / "workspace"
    (root / "app").mkdir(parents=True)
    (root / "app" / "billing.py").write_text(
        "import math\n\n\nclass Invoice:\n    def compute_total(self, items):\n"
        "        return sum(items)\n\n\ndef send_reminder(invoice):\n    pass\n"
    )
    (root / "web").mkdir()
    (root / "web" / "cart.ts").write_text(
        "export function computeShipping(weight: number): number {\n  return weight * 2;\n}\n"
    )
    client = await start_daemon(root, stderr_path=tmp_path / "daemon.stderr")
    try:
        caps = client.initialize_result.capabilities  # type: ignore[attr-defined]
        assert caps.workspace_symbol_provider

        found = await symbols(client, "comptot")
        top = found[0]
        assert (top.name, top.container_name) == ("compute_total", "Invoice")
        assert top.kind == types.SymbolKind.Method
        assert top.location.uri == (root / "app" / "billing.py").as_uri()
        # The range starts on the name itself (line 5, after "    def "), 0-based.
        assert (top.location.range.start.line, top.location.range.start.character) == (4, 8)
        assert top.location.range.end.line == 5

        shipping = await symbols(client, "shipping")
        assert [(s.name, s.kind) for s in shipping][:1] == [
            ("computeShipping", types.SymbolKind.Function)
        ]
        assert shipping[0].location.uri.endswith("/web/cart.ts")
        assert shipping[0].container_name is None

        classes = await symbols(client, "Invoice")
        assert classes[0].name == "Invoice" and classes[0].kind == types.SymbolKind.Class

        assert await symbols(client, "") == []
        assert await symbols(client, "zzqqxx") == []
    finally:
        await client.stop_daemon()


async def test_at_most_a_hundred_symbols_come_back(tmp_path: Path) -> None:
    root = tmp_path / "workspace"
    root.mkdir()
    body = "".join(f"def handler_{i}(x):\n    return x\n\n\n" for i in range(150))
    (root / "many.py").write_text(body)
    client = await start_daemon(root, stderr_path=tmp_path / "daemon.stderr")
    try:
        found = await symbols(client, "handler")
        assert len(found) == 100
        assert all(s.name.startswith("handler_") for s in found)
    finally:
        await client.stop_daemon()
