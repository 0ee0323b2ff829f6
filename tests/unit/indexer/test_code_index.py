"""The solver's view of the index: CodeIndexAdapter over a real IndexService."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from daemon.config import load_settings
from daemon.index.service import CodeIndexAdapter, IndexService
from daemon.server import Signal
from daemon.tools.base import ToolError


class Host:
    """The part of DeputyServer the service uses: settings, roots, signals."""

    def __init__(self, roots: list[Path]) -> None:
        self.settings = load_settings().settings
        self._roots = roots
        self.roots_changed = Signal("roots_changed")
        self.document_saved = Signal("document_saved")
        self.settings_changed = Signal("settings_changed")
        self.notified: list[tuple[str, Any]] = []

    def roots(self) -> list[Path]:
        return self._roots

    def open_documents(self) -> list[Path]:
        return []

    def notify(self, method: str, params: Any) -> None:
        self.notified.append((method, params))


async def test_code_and_symbol_search_return_hits_with_text(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "billing.py").write_text(
        "def invoice_total(lines):\n    return sum(line.amount for line in lines)\n"
    )
    service = IndexService(Host([root]))  # type: ignore[arg-type]
    try:
        adapter = CodeIndexAdapter(service)
        hits = await adapter.search("total of the invoice lines", limit=3)
        assert (hits[0].path, hits[0].start_line, hits[0].end_line) == ("billing.py", 1, 2)
        assert "sum(line.amount" in hits[0].text
        symbols = await adapter.symbols("invoice_total", limit=3)
        assert symbols[0].symbol == "invoice_total"
    finally:
        await service.aclose()


async def test_an_index_failure_is_a_tool_error_the_model_can_read(tmp_path: Path) -> None:
    service = IndexService(Host([]))  # type: ignore[arg-type]
    adapter = CodeIndexAdapter(service)
    with pytest.raises(ToolError, match="no workspace folder is open"):
        await adapter.search("anything", limit=3)


async def test_a_run_cancelled_while_it_waits_for_the_previous_one_indexes_nothing(
    tmp_path: Path,
) -> None:
    """A root removed while its run waits for the one before: the run stops with it,
    instead of reopening the root's index and indexing it again."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.py").write_text("def a():\n    return 1\n")
    service = IndexService(Host([root]))  # type: ignore[arg-type]
    never = asyncio.Event()
    previous = asyncio.ensure_future(never.wait())
    try:
        run = asyncio.ensure_future(service._run(root, None, previous))  # type: ignore[arg-type]
        await asyncio.sleep(0)  # one turn of the loop: the run now waits for the previous
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        assert previous.cancelled()
        assert service.indexes == {}
    finally:
        previous.cancel()
        await service.aclose()
