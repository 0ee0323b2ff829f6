"""``deputydev search QUERY``: search a folder's index from the terminal.

The folder is indexed first (incrementally: a stat per file when nothing changed), so a
result is never stale.  ``--json`` prints one JSON array of results with the keys
``path``, ``start_line``, ``end_line``, ``symbol``, ``kind``, ``language``, ``score`` and
``snippet`` (the chunk's text).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

# What turns vectors on, for a search that needed them.
VECTORS_HINT = (
    'Turn them on with [index.embeddings] backend = "local" (pip install'
    " 'deputydev[local]') or \"compatible\" (an embeddings server) in config.toml;"
    " see docs/CONFIGURATION.md#index"
)

NAME = "search"
HELP = "Search a folder's code by words, by symbol name or by meaning."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", metavar="QUERY")
    parser.add_argument("--root", type=Path, default=None, help="folder (default: .)")
    parser.add_argument("--limit", "-n", type=int, default=10)
    parser.add_argument(
        "--mode",
        "-m",
        choices=("auto", "hybrid", "lexical", "semantic", "symbol"),
        default=None,
        help="default: index.default_mode (auto: hybrid when vectors exist, else lexical)",
    )
    parser.add_argument(
        "--path",
        "-p",
        action="append",
        default=[],
        help="path glob to search in, gitignore syntax; !GLOB leaves it out (repeatable)",
    )
    parser.add_argument(
        "--exclude",
        "-x",
        action="append",
        default=[],
        metavar="GLOB",
        help="path glob to leave out, e.g. 'tests/**' (repeatable)",
    )
    parser.add_argument(
        "--language", "-l", action="append", default=[], help="language to search (repeatable)"
    )
    parser.add_argument("--json", action="store_true", help="print results as a JSON array")
    parser.add_argument(
        "--team",
        action="store_true",
        help="search the repositories your team published ([sync] url), not this folder",
    )
    parser.add_argument(
        "--repository",
        "-r",
        action="append",
        default=[],
        help="with --team: only this published repository (repeatable)",
    )


def run(args: argparse.Namespace) -> int:
    from daemon.cli import settings_or_exit

    if args.team:
        if args.limit < 1:
            print("deputydev: --limit must be at least 1", file=sys.stderr)
            return 2
        return asyncio.run(_team(settings_or_exit().settings, args))
    root = (args.root or Path.cwd()).resolve()
    from daemon.cli import folder_problem

    if (problem := folder_problem(root)) is not None:
        print(f"deputydev: {problem}", file=sys.stderr)
        return 2
    if args.limit < 1:
        print("deputydev: --limit must be at least 1", file=sys.stderr)
        return 2
    loaded = settings_or_exit([root])
    return asyncio.run(_run(root, loaded.settings, args))


async def _team(settings: object, args: argparse.Namespace) -> int:
    from daemon.config import Settings
    from daemon.errors import SyncError
    from daemon.index.service import build_embedder
    from daemon.sync.team import TeamReader

    assert isinstance(settings, Settings)
    if not settings.sync.configured:
        print(
            "deputydev: team search needs team sync: set [sync] url in config.toml or"
            " DEPUTYDEV_SYNC_URL (docs/SYNC.md)",
            file=sys.stderr,
        )
        return 2
    reader = TeamReader(settings.sync)
    embedder = build_embedder(settings)
    try:
        found, mode = await reader.code_search(
            args.query, limit=args.limit, repositories=args.repository, embedder=embedder
        )
    except SyncError as exc:
        print(f"deputydev: {exc}", file=sys.stderr)
        return 1
    finally:
        await reader.close()
        if embedder is not None:
            await embedder.aclose()
    if args.json:
        fields = (
            *("repository", "commit", "path", "start_line", "end_line", "symbol", "kind"),
            *("language", "score", "author"),
        )
        print(json.dumps([{k: getattr(f, k) for k in fields} for f in found], indent=2))
        return 0
    if not found:
        print(f"no results ({mode} search of the team's published code)", file=sys.stderr)
        return 0
    for f in found:
        symbol = f"  {f.symbol}" if f.symbol else ""
        where = f"{f.repository}@{(f.commit or 'unknown')[:12]}"
        print(f"{where} {f.path}:{f.start_line}-{f.end_line}{symbol}  ({f.kind}, {f.score:.2f})")
        for line in f.text.splitlines()[:4]:
            print(f"    {line}")
    print(f"({mode} search of the team's published code)", file=sys.stderr)
    return 0


async def _run(root: Path, settings: object, args: argparse.Namespace) -> int:
    from daemon.commands.index import Bar
    from daemon.config import Settings
    from daemon.index.service import open_index
    from indexer.errors import BadQuery, IndexerError, VectorsUnavailable

    assert isinstance(settings, Settings)
    index = await open_index(root, settings)
    try:
        bar = Bar(f"indexing {root.name}")
        try:
            await index.update(progress=bar if not index.indexed else None)
        finally:
            bar.close()
        mode = args.mode or settings.index.default_mode
        try:
            found = await index.search(
                args.query,
                mode=mode,
                limit=args.limit,
                paths=[*args.path, *_excluded(args.exclude)],
                languages=args.language,
            )
        except VectorsUnavailable as exc:
            print(f"deputydev: {exc}. {VECTORS_HINT}", file=sys.stderr)
            return 1
        except BadQuery as exc:
            print(f"deputydev: {exc}", file=sys.stderr)
            return 2
        except IndexerError as exc:
            print(f"deputydev: {exc}", file=sys.stderr)
            return 1
        if mode == "hybrid" and found.mode == "lexical":
            if index.embedder is None or not index.driver.vectors:
                why = f"({index.vectors_reason}). {VECTORS_HINT}"
            else:
                why = "(no vectors stored yet: they are being computed; try again shortly)"
            print(f"deputydev: searched lexically: hybrid needs vectors {why}", file=sys.stderr)
    finally:
        await index.close()
    if args.json:
        keys = ("path", "start_line", "end_line", "symbol", "kind", "language", "score")
        rows = [{**{k: getattr(f, k) for k in keys}, "snippet": f.snippet} for f in found]
        print(json.dumps(rows, indent=2))
        return 0
    if not found:
        print("no results", file=sys.stderr)
        return 0
    for f in found:
        symbol = f"  {f.symbol}" if f.symbol else ""
        print(f"{f.path}:{f.start_line}-{f.end_line}{symbol}  ({f.kind}, {f.score:.2f})")
        for line in f.snippet.splitlines()[:4]:
            print(f"    {line}")
    return 0


def _excluded(globs: list[str]) -> list[str]:
    """``--exclude GLOB`` as negated globs: the path itself and, for a folder, all below it
    (in gitignore syntax ``!tests`` alone would not reach the files inside)."""
    out = []
    for glob in globs:
        bare = glob.strip().removeprefix("!").rstrip("/")
        if bare:
            out += [f"!{bare}", f"!{bare}/**"]
    return out
