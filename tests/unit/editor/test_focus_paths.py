"""Editors send absolute paths in focus items: inside a root they work, outside they do not."""

from __future__ import annotations

from pathlib import Path

from daemon.solver.focus import render_focus
from daemon.tools.base import ToolContext
from protocol.query import FocusItem


async def test_an_absolute_path_inside_a_root_reads_like_a_relative_one(tmp_path: Path) -> None:
    root = (tmp_path / "ws").resolve()
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "mod.py").write_text("one = 1\ntwo = 2\nthree = 3\n")
    (tmp_path / "outside.py").write_text("secret = 1\n")
    ctx = ToolContext(roots=[root])
    item = FocusItem(path=str(root / "pkg" / "mod.py"), start_line=2, end_line=3)
    out = await render_focus([item], ctx)
    assert "Focus pkg/mod.py:2-3:" in out and "two = 2" in out and "one = 1" not in out
    out = await render_focus([FocusItem(path=str(tmp_path / "outside.py"))], ctx)
    assert "secret" not in out and "is absolute" in out
