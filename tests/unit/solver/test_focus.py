"""Focus items rendered for the model: every kind, read as the user sees it."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import ValidationError

from daemon.solver.focus import html_text, render_focus
from daemon.tools.base import CodeHit, ToolContext
from protocol.query import FocusItem


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "mod.py").write_text(
        "import os\n\n\nclass Parser:\n    def parse(self, text):\n        return text.split()\n"
    )
    (root / ".env").write_text("API_KEY=sk-secret\n")
    return root.resolve()


def focus(**fields: object) -> FocusItem:
    return FocusItem.model_validate(fields)


async def test_file_and_snippet_read_the_unsaved_buffer(root: Path) -> None:
    buffer = "import sys\nUNSAVED = 1\n"
    ctx = ToolContext(roots=[root], document_text=lambda p: buffer if p.name == "mod.py" else None)
    out = await render_focus([focus(path="pkg/mod.py")], ctx)
    assert "Focus pkg/mod.py:" in out and "UNSAVED = 1" in out and "class Parser" not in out
    out = await render_focus([focus(path="pkg/mod.py", startLine=2, endLine=2)], ctx)
    assert "Focus pkg/mod.py:2-2:" in out and "UNSAVED = 1" in out and "import sys" not in out
    out = await render_focus([focus(kind="snippet", text="x = compute()", path="a.py")], ctx)
    assert "Focus a.py:" in out and "x = compute()" in out


async def test_directory_symbol_and_refusals(root: Path) -> None:
    ctx = ToolContext(roots=[root])
    listing = await render_focus([focus(path="pkg")], ctx)
    assert "Focus pkg/:" in listing and "pkg/mod.py" in listing
    symbol = await render_focus([focus(symbol="Parser.parse", path="pkg/mod.py")], ctx)
    assert "pkg/mod.py:5-6 (Parser.parse)" in symbol and "return text.split()" in symbol
    assert "import os" not in symbol
    refused = await render_focus(
        [focus(path=".env"), focus(path="../outside.txt"), focus(symbol="nowhere")], ctx
    )
    assert "sk-secret" not in refused
    assert refused.count("(focus ") == 3 and "no definition of 'nowhere'" in refused


async def test_a_symbol_without_a_path_comes_from_the_index(root: Path) -> None:
    class Index:
        async def search(self, query: str, *, limit: int) -> Sequence[CodeHit]:
            return []

        async def symbols(self, name: str, *, limit: int) -> Sequence[CodeHit]:
            return [CodeHit("pkg/mod.py", 4, 6, "class Parser: ...", symbol=name)]

    out = await render_focus([focus(symbol="Parser")], ToolContext([root], index=Index()))
    assert "pkg/mod.py:4-6" in out and "class Parser: ..." in out


async def test_git_diff_shows_changes_and_untracked_files(root: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=T", "-c", "user.email=t@e", *args],
            cwd=root,
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    git("add", "pkg/mod.py")
    git("commit", "-qm", "first")
    (root / "pkg" / "mod.py").write_text("import os\nCHANGED = True\n")
    (root / "new.py").write_text("print(1)\n")
    out = await render_focus([focus(kind="gitDiff")], ToolContext(roots=[root]))
    assert "+CHANGED = True" in out and "-class Parser:" in out
    assert "Untracked files:" in out and "\nnew.py" in out and "sk-secret" not in out


class _Pages(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        pages = {
            "/doc": (
                "text/html; charset=utf-8",
                b"<html><head><title>t</title>"
                b"<script>var x=1;</script></head><body><h1>Retry policy</h1>"
                b"<p>Back off   exponentially.</p></body></html>",
            ),
            "/data.bin": ("application/octet-stream", b"\0\1\2"),
        }
        if self.path not in pages:
            self.send_response(404)
            self.end_headers()
            return
        kind, body = pages[self.path]
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_a_url_is_fetched_as_text(root: Path, site: str) -> None:
    ctx = ToolContext(roots=[root])
    out = await render_focus([focus(url=f"{site}/doc")], ctx)
    assert "Retry policy\nBack off exponentially." in out and "var x" not in out
    bad = await render_focus(
        [focus(url=f"{site}/missing"), focus(url=f"{site}/data.bin"), focus(url="file:///etc")],
        ctx,
    )
    assert "answered 404" in bad and "not text (application/octet-stream)" in bad
    assert "only http and https" in bad


def test_focus_items_are_validated_with_the_field_named() -> None:
    with pytest.raises(ValidationError, match="needs 'url'"):
        focus(kind="url")
    with pytest.raises(ValidationError, match="needs 'path'"):
        focus(kind="directory")
    with pytest.raises(ValidationError, match="needs 'kind', 'path'"):
        focus()
    assert html_text("<p>a</p><p>b  c</p>") == "a\nb c"
