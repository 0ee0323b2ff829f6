"""Fixtures for end-to-end tests: a workspace folder and an initialized daemon on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.harness import DaemonClient, start_daemon


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    root.mkdir()
    (root / "hello.py").write_text('def greet(name):\n    return f"hello {name}"\n')
    return root


@pytest.fixture
async def client(workspace: Path, tmp_path: Path) -> AsyncIterator[DaemonClient]:
    daemon = await start_daemon(workspace, stderr_path=tmp_path / "daemon.stderr")
    try:
        yield daemon
    finally:
        if daemon.process is not None and daemon.process.returncode is None:
            try:
                await daemon.stop_daemon()
            except Exception:
                await daemon.kill()
        else:
            await daemon.stop()
