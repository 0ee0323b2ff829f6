"""``deputydev sessions list|show|export``: the history, read from the sessions database."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from daemon.sessions.store import SessionStore

NAME = "sessions"
HELP = "List, show or export saved sessions."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="Sessions, pinned first, then most recent.")
    listing.add_argument("--query", "-q", help="Only sessions whose title or questions match.")
    listing.add_argument("--limit", "-n", type=int, default=20)
    listing.add_argument(
        "--all", action="store_true", help="Every workspace's sessions (default: this folder's)."
    )
    listing.add_argument(
        "--team", action="store_true", help="The team's sessions on the sync server, with authors."
    )
    show = sub.add_parser("show", help="A session's turns as Markdown.")
    show.add_argument("session_id", metavar="ID")
    export = sub.add_parser("export", help="A session as Markdown or JSON.")
    export.add_argument("session_id", metavar="ID")
    export.add_argument("--format", choices=("md", "json"), default="md")
    export.add_argument("--output", "-o", help="Write to this file instead of stdout.")


def run(args: argparse.Namespace) -> int:
    code, text = asyncio.run(_run(args))
    if text is not None:
        if getattr(args, "output", None):
            with open(args.output, "w", encoding="utf-8") as out:
                out.write(text.rstrip("\n") + "\n")
        else:
            print(text.rstrip("\n"))
    return code


async def _run(args: argparse.Namespace) -> tuple[int, str | None]:
    """The exit code and the text to print (None when already reported)."""
    from daemon.errors import SessionNotFound
    from daemon.paths import data_dir
    from daemon.sessions import export
    from daemon.sessions.store import SessionStore

    if args.action == "list" and args.team:
        return await _team_list(args)
    path = data_dir() / "sessions.db"
    if not path.exists():
        if args.action == "list":
            return 0, "no sessions yet"
        print(f"deputydev: no session {args.session_id!r} (no sessions yet)", file=sys.stderr)
        return 1, None
    store = await SessionStore.open(path)
    try:
        if args.action == "list":
            return 0, await _listing(store, args)
        try:
            session = await store.get_session(args.session_id)
            turns = await store.get_turns(session.id)
        except SessionNotFound as exc:
            print(f"deputydev: {exc}", file=sys.stderr)
            return 1, None
        if args.action == "export" and args.format == "json":
            return 0, export.to_json(session, turns)
        return 0, export.to_markdown(session, turns)
    finally:
        await store.close()


def _near(workspace: str, here: Path) -> bool:
    """A session belongs to this folder when it was asked here, in a folder below, or in
    the project folder this one is part of."""
    if not workspace:
        return False
    path = Path(workspace)
    return path == here or here in path.parents or path in here.parents


async def _listing(store: SessionStore, args: argparse.Namespace) -> str:
    """A table: short id (any unique prefix is accepted back), last update, the latest
    turn's status, workspace and title; this folder's sessions unless ``--all``."""
    here = Path.cwd().resolve()
    found = await store.list_sessions(
        query=args.query, limit=1_000_000 if not args.all else args.limit
    )
    if not args.all:
        found = [s for s in found if _near(s.workspace, here)][: args.limit]
    if not found:
        if args.all:
            return "no sessions match" if args.query else "no sessions yet"
        return (
            f"no sessions {'match' if args.query else 'yet'} in {here}"
            " (deputydev sessions list --all shows every folder's)"
        )
    statuses = await store.last_statuses([s.id for s in found])
    home = str(Path.home())
    rows = [
        (
            ("*" if s.pinned else " ") + s.id[:8],
            s.updated_at[:16].replace("T", " "),
            statuses.get(s.id, "empty"),
            "~" + s.workspace[len(home) :] if s.workspace.startswith(home + "/") else s.workspace,
            s.title,
        )
        for s in found
    ]
    header = (" ID", "UPDATED", "STATUS", "WORKSPACE", "TITLE")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(r))
        for r in [header, *rows]
    ]
    return "\n".join(line.rstrip() for line in lines)


async def _team_list(args: argparse.Namespace) -> tuple[int, str | None]:
    from daemon.cli import settings_or_exit
    from daemon.errors import SyncError
    from daemon.sync.team import TeamReader

    settings = settings_or_exit().settings.sync
    if not settings.configured:
        print("deputydev: --team needs team sync: set [sync] url (docs/SYNC.md)", file=sys.stderr)
        return 2, None
    reader = TeamReader(settings)
    try:
        found = await reader.list_sessions(query=args.query, limit=args.limit, offset=0)
    except SyncError as exc:
        print(f"deputydev: {exc}", file=sys.stderr)
        return 1, None
    finally:
        await reader.close()
    lines = [
        f"{'*' if s['visibility'] == 'team' else ' '} {s['id']}"
        f"  {str(s['updated_at'])[:16].replace('T', ' ')}  {s['author']:<16} {s['title']}"
        for s in found
    ]
    return 0, "\n".join(lines) or "no team sessions visible to this role"
