"""Watch a root for changes and hand them over in batches (watchfiles, debounced).

Changes pass the same ignores as discovery (vendored folders, ``.gitignore``,
``.deputydevignore``); inside ``.git`` only ``HEAD`` and branch refs count.  A batch is the
relative paths that changed (new, modified or deleted: the index tells them apart by
stat), or None when the branch moved or more than ``max_batch`` files changed: then one
incremental run of the whole root handles it, a stat per file, as one batch.

    await watch(root, on_change, debounce_ms=50)   # runs until cancelled or stop is set

``ready`` is set once the operating system's watch is in place: changes before it may be
missed (the next incremental run catches them).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from indexer.discovery import Ignorer

__all__ = ["watch"]

log = logging.getLogger(__name__)

OnChange = Callable[[Sequence[str] | None], Awaitable[None]]


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _is_dir(path: Path) -> bool:
    return os.path.isdir(path) and not os.path.islink(path)


def _git_ref(rel: str) -> bool:
    return rel in (".git/HEAD", ".git/packed-refs") or rel.startswith(".git/refs/heads/")


async def watch(
    root: Path,
    on_change: OnChange,
    *,
    debounce_ms: int = 50,
    max_batch: int = 500,
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
    exclude: Sequence[Path] = (),
) -> None:
    from watchfiles import Change, awatch

    root = _real(root)
    ignorer = Ignorer(root, use_gitignore=True)
    prefix = str(root) + os.sep
    # Folders never reported, such as the index's own database when it lives inside the
    # root: its writes would otherwise start runs that write again.
    excluded = tuple(str(_real(p)) + os.sep for p in exclude)

    def relative(path: str) -> str | None:
        real = path if path.startswith(prefix) else os.path.realpath(path)
        if not real.startswith(prefix):
            return None
        return real[len(prefix) :].replace(os.sep, "/")

    def keep(change: Change, path: str) -> bool:
        if excluded and path.startswith(excluded):
            return False
        rel = relative(path)
        if rel is None:
            return False
        if rel.startswith(".git/"):
            return _git_ref(rel)
        return not ignorer.ignored(rel)

    async for changes in awatch(
        root,
        watch_filter=keep,
        debounce=debounce_ms,
        step=max(10, debounce_ms // 2),
        stop_event=stop,
        recursive=True,
        ignore_permission_denied=True,
        # An empty batch after each quiet second: the first one says the watch is set up.
        yield_on_timeout=True,
        rust_timeout=1000,
    ):
        if not changes:
            if ready is not None and not ready.is_set():
                log.info("watching %s", root)
                ready.set()
            continue
        rels = {rel for _, path in changes if (rel := relative(path)) is not None}
        moved = any(rel.startswith(".git/") for rel in rels)
        files = sorted(rel for rel in rels if not rel.startswith(".git/"))
        if any(rel.endswith((".gitignore", ".deputydevignore")) for rel in files):
            ignorer = Ignorer(root, use_gitignore=True)
            moved = True
        # A new folder: files written into it before the OS watched it would be missed,
        # so the whole root gets a (stat-only where nothing changed) run.
        if any(_is_dir(root / rel) for rel in files):
            moved = True
        batch: Sequence[str] | None = None if moved or len(files) > max_batch else files
        log.debug("changes in %s: %s", root, "whole root" if batch is None else batch)
        try:
            await on_change(batch)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("indexing changes in %s failed", root)
