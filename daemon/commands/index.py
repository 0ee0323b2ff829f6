"""``deputydev index [PATH]``: index a folder (incrementally) and print a summary line.

Progress goes to stderr: a bar on a terminal, nothing otherwise; the summary goes to
stdout.  The same database as the daemon's, so a folder indexed here is ready in the editor.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

NAME = "index"
HELP = "Index a folder for search (incrementally: only what changed since the last run)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", type=Path, default=None, help="folder (default: .)")
    parser.add_argument("--full", action="store_true", help="drop the index and build it again")
    parser.add_argument(
        "--wait-vectors",
        action="store_true",
        help="with an embedding backend configured, wait until every chunk has a vector",
    )


def run(args: argparse.Namespace) -> int:
    from daemon.cli import settings_or_exit

    root = (args.path or Path.cwd()).resolve()
    if not root.is_dir():
        print(f"deputydev: {root} is not a folder", file=sys.stderr)
        return 2
    loaded = settings_or_exit([root])
    return asyncio.run(_run(root, loaded.settings, full=args.full, wait=args.wait_vectors))


class Bar:
    """``indexing 312/734 files [#####.....]`` redrawn in place on a terminal."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        if not self.tty:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        width = 30
        filled = width * done // total if total else width
        sys.stderr.write(
            f"\r{self.label} {done}/{total} files [{'#' * filled}{'.' * (width - filled)}]"
        )
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


async def _run(root: Path, settings: object, *, full: bool, wait: bool) -> int:
    from daemon.config import Settings
    from daemon.index.service import database_path, open_index
    from indexer.errors import IndexerError

    assert isinstance(settings, Settings)
    index = await open_index(root, settings)
    bar = Bar(f"indexing {root.name}")
    try:
        if full:
            await index.clear()
        try:
            run = await index.update(progress=bar)
        except IndexerError as exc:
            bar.close()
            print(f"deputydev: indexing failed: {exc}", file=sys.stderr)
            return 1
        bar.close()
        status = await index.status()
        if wait and status["vectors_enabled"]:
            await index.embedded()
            status = await index.status()
        from daemon.words import plural

        vectors = (
            f", {plural(status['vectors'], 'vector')}"
            if status["vectors_enabled"]
            else f" (vectors off: {status['vectors_reason']})"
        )
        print(
            f"indexed {root}: {plural(run.files, 'file')} ({run.added} added, {run.updated}"
            f" updated, {run.removed} removed) in {run.seconds:.2f} s;"
            f" {plural(status['chunks'], 'chunk')}, {plural(status['symbols'], 'symbol')}{vectors}"
        )
        print(f"database: {database_path(root)}", file=sys.stderr)
        return 0
    finally:
        await index.close()
