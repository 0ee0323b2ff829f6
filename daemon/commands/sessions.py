"""``deputydev sessions list|show|export``: the history, read from the sessions database."""

from __future__ import annotations

import argparse
import asyncio
import sys

NAME = "sessions"
HELP = "List, show or export saved sessions."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="Sessions, pinned first, then most recent.")
    listing.add_argument("--query", "-q", help="Only sessions whose title or questions match.")
    listing.add_argument("--limit", "-n", type=int, default=20)
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
            sessions = await store.list_sessions(query=args.query, limit=args.limit)
            lines = [
                f"{'*' if s.pinned else ' '} {s.id}  {s.updated_at[:16].replace('T', ' ')}"
                f"  {s.title}"
                for s in sessions
            ]
            if not lines:
                lines = ["no sessions match" if args.query else "no sessions yet"]
            return 0, "\n".join(lines)
        try:
            session = await store.get_session(args.session_id)
            turns = await store.get_turns(args.session_id)
        except SessionNotFound:
            print(f"deputydev: no session {args.session_id!r}", file=sys.stderr)
            return 1, None
        if args.action == "export" and args.format == "json":
            return 0, export.to_json(session, turns)
        return 0, export.to_markdown(session, turns)
    finally:
        await store.close()


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
