"""The watcher: edits arrive as a batch of paths, ignored files do not, a branch switch
arrives as one whole-root batch."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from indexer.watch import watch


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / ".gitignore").write_text("*.log\n")
    (root / "a.py").write_text("x = 1\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "init")
    return root


@pytest.fixture
async def batches(repo: Path) -> AsyncIterator[asyncio.Queue[Sequence[str] | None]]:
    queue: asyncio.Queue[Sequence[str] | None] = asyncio.Queue()
    ready, stop = asyncio.Event(), asyncio.Event()

    async def on_change(batch: Sequence[str] | None) -> None:
        await queue.put(batch)

    task = asyncio.create_task(watch(repo, on_change, debounce_ms=50, ready=ready, stop=stop))
    await asyncio.wait_for(ready.wait(), 10)
    yield queue
    stop.set()
    await asyncio.wait_for(task, 10)


async def test_an_edit_arrives_as_its_path_and_ignored_files_do_not(
    repo: Path, batches: asyncio.Queue[Sequence[str] | None]
) -> None:
    (repo / "debug.log").write_text("noise\n")
    (repo / "a.py").write_text("x = 2\n")
    batch = await asyncio.wait_for(batches.get(), 10)
    assert batch == ["a.py"]


async def test_a_branch_switch_is_one_whole_root_batch(
    repo: Path, batches: asyncio.Queue[Sequence[str] | None]
) -> None:
    await asyncio.to_thread(git, repo, "checkout", "-q", "-b", "feature")
    batch = await asyncio.wait_for(batches.get(), 10)
    assert batch is None


async def test_an_excluded_folder_inside_the_root_is_never_reported(repo: Path) -> None:
    data = repo / "data-home"
    data.mkdir()
    queue: asyncio.Queue[Sequence[str] | None] = asyncio.Queue()
    ready, stop = asyncio.Event(), asyncio.Event()

    async def on_change(batch: Sequence[str] | None) -> None:
        await queue.put(batch)

    task = asyncio.create_task(
        watch(repo, on_change, debounce_ms=50, ready=ready, stop=stop, exclude=[data])
    )
    await asyncio.wait_for(ready.wait(), 10)
    (data / "index.db-wal").write_text("written by the index itself\n")
    (repo / "a.py").write_text("x = 3\n")
    batch = await asyncio.wait_for(queue.get(), 10)
    assert batch == ["a.py"]
    stop.set()
    await asyncio.wait_for(task, 10)
