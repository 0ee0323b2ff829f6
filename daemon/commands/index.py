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

from daemon.words import plural

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
    parser.add_argument(
        "--publish",
        action="store_true",
        help="then publish the index to the team's database for team search ([sync] url, team)",
    )
    parser.add_argument("--name", help="with --publish: the repository's name (default: origin's)")
    parser.add_argument(
        "--readers", metavar="ROLE", help="with --publish: only members of this role may read it"
    )
    parser.add_argument(
        "--allow-dirty",
        action="store_true",
        help="with --publish: publish uncommitted changes too (refused by default)",
    )


def run(args: argparse.Namespace) -> int:
    from daemon.cli import folder_problem, settings_or_exit

    root = (args.path or Path.cwd()).resolve()
    if (problem := folder_problem(root)) is not None:
        print(f"deputydev: {problem}", file=sys.stderr)
        return 2
    loaded = settings_or_exit([root])
    if args.publish and not loaded.settings.sync.configured:
        print(
            "deputydev: --publish needs team sync: set [sync] url and team in config.toml"
            " (docs/SYNC.md)",
            file=sys.stderr,
        )
        return 2
    if args.publish and not loaded.settings.sync.team:
        print(
            "deputydev: --publish needs the team: set [sync] team (docs/SYNC.md)", file=sys.stderr
        )
        return 2
    return asyncio.run(
        _run(
            root, loaded.settings, full=args.full, wait=args.wait_vectors or args.publish, args=args
        )
    )


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


async def _run(
    root: Path, settings: object, *, full: bool, wait: bool, args: argparse.Namespace
) -> int:
    from daemon.config import Settings
    from daemon.index.service import database_path, open_index
    from daemon.sync.state import SyncState
    from daemon.sync.vectors import TeamCache
    from indexer.errors import IndexerError

    assert isinstance(settings, Settings)
    state = SyncState()
    cache = TeamCache(lambda: settings, lambda: state)
    caching = settings.sync.caches_embeddings_of(root)
    index = await open_index(root, settings, cache.share(root) if caching else None)
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
        if run.unreadable:
            shown = ", ".join(run.unreadable[:10])
            more = f", and {len(run.unreadable) - 10} more" if len(run.unreadable) > 10 else ""
            print(f"skipped {len(run.unreadable)} unreadable (permission denied): {shown}{more}")
        print(f"database: {database_path(root)}", file=sys.stderr)
        if caching and status["vectors_enabled"]:
            await _share(cache, index)
        if getattr(args, "publish", False):
            return await _publish(root, settings, index, args, vectors=status["vectors_enabled"])
        return 0
    finally:
        await index.close()
        await cache.close()


async def _share(cache: object, index: object) -> None:
    """What this run embedded, to the team's embedding cache now (else it stays queued)."""
    from daemon.errors import SyncError
    from daemon.sync.vectors import TeamCache, upload_all
    from indexer.index import Index

    assert isinstance(cache, TeamCache) and isinstance(index, Index)
    try:
        sent = await upload_all(cache, index)
    except SyncError as exc:
        print(f"deputydev: vectors kept for the team cache later: {exc}", file=sys.stderr)
        return
    fetched = cache.state().vectors_fetched
    print(
        f"team embedding cache: {plural(fetched, 'vector')} reused, {sent} added", file=sys.stderr
    )


async def _publish(
    root: Path, settings: object, index: object, args: argparse.Namespace, *, vectors: bool
) -> int:
    from daemon.config import Settings
    from daemon.errors import SyncError
    from daemon.sync.client import connect
    from daemon.sync.publish import publish
    from daemon.sync.redact import Redactor
    from daemon.sync.repo import repo_info
    from daemon.sync.vectors import PGVECTOR_FIX
    from indexer.embedder import vector_key
    from indexer.index import Index

    assert isinstance(settings, Settings) and isinstance(index, Index)
    info = await repo_info(root)
    if info.dirty and not args.allow_dirty:
        print(
            f"deputydev: {root} has uncommitted changes: commit them (or pass --allow-dirty)"
            " before publishing",
            file=sys.stderr,
        )
        return 1
    name = args.name or info.name
    team = settings.sync.team
    assert team is not None
    redaction = settings.sync.redaction
    try:
        conn = await connect(settings.sync)
        try:
            summary = await publish(
                conn,
                index,
                name=name,
                team=team,
                commit=info.commit,
                embedder=(
                    vector_key(index.embedder) if vectors and index.embedder is not None else None
                ),
                redactor=Redactor(redaction.patterns, enabled=redaction.enabled),
                secret_patterns=settings.solver.tools.secret_patterns,
                readers=args.readers,
            )
        finally:
            await conn.close()
    except SyncError as exc:
        print(f"deputydev: publishing failed: {exc}", file=sys.stderr)
        return 1
    at = f" at {summary.commit[:12]}" if summary.commit else ""
    print(
        f"published {summary.repository} to team {summary.team}{at}:"
        f" {plural(summary.sent, 'file')} sent, {summary.removed} removed, {summary.unchanged}"
        f" unchanged; {plural(summary.chunks, 'chunk')} ({summary.vectors} with vectors) in"
        f" {summary.seconds:.2f} s"
    )
    if summary.vector_store != "pgvector":
        print(f"deputydev: note: {PGVECTOR_FIX}", file=sys.stderr)
    return 0
