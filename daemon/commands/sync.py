"""``deputydev sync status|push|migrate|setup-sql``: team sync from a terminal.

``status`` says whether sync is configured, how many local changes wait in the outbox, what
the daemon last saw (its ``sync-state.json``), and connects once to report the server.
``push`` sends the outbox now (a daemon pushes as it goes; ``ask`` pushes before it exits).
``migrate`` applies the server schema (for the team admin, or any role allowed to create it).
``setup-sql`` prints the SQL a team admin runs to create the team role, members and grants.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from daemon.words import plural

NAME = "sync"
HELP = "Team sync to PostgreSQL: status, push now, server schema migration, admin setup SQL."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    status = sub.add_parser("status", help="Configured, connected, pending rows, last errors.")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    migrate = sub.add_parser("migrate", help="Bring the server schema to this version.")
    migrate.add_argument(
        "--url", help="an admin's libpq URL (default: [sync] url / DEPUTYDEV_SYNC_URL)"
    )
    push = sub.add_parser(
        "push", help="Send what waits in the outbox to the team server now, then stop."
    )
    push.add_argument(
        "--timeout", type=float, default=60.0, metavar="S", help="give up after S seconds (60)"
    )
    setup = sub.add_parser("setup-sql", help="Print the SQL that sets up a team (for an admin).")
    setup.add_argument("--database", required=True, help="the team's database")
    setup.add_argument("--team", required=True, help="the team's group role")
    setup.add_argument(
        "--member", action="append", default=[], metavar="ROLE", help="a developer (repeat)"
    )


def run(args: argparse.Namespace) -> int:
    if args.action == "setup-sql":
        from daemon.sync.setup import setup_sql

        print(setup_sql(database=args.database, team=args.team, members=args.member))
        return 0
    if args.action == "push":
        return asyncio.run(_push(args))
    return asyncio.run(_status(args) if args.action == "status" else _migrate(args))


async def _push(args: argparse.Namespace) -> int:
    from daemon.cli import settings_or_exit
    from daemon.errors import SyncError
    from daemon.paths import data_dir
    from daemon.sessions.store import SessionStore

    settings = settings_or_exit().settings.sync
    if not settings.configured:
        print(
            "deputydev: team sync is not configured: set [sync] url or DEPUTYDEV_SYNC_URL"
            " (docs/SYNC.md)",
            file=sys.stderr,
        )
        return 2
    path = data_dir() / "sessions.db"
    if not path.exists():
        print("nothing to push (no sessions yet)")
        return 0
    from daemon.sync.pusher import push_now

    store = await SessionStore.open(path)
    try:
        if not await store.outbox_pending():
            print("nothing to push: the outbox is empty")
            return 0
        try:
            sent = await push_now(store, settings, args.timeout)
        except SyncError as exc:
            print(f"deputydev: sync push failed: {exc}", file=sys.stderr)
            return 1
        except TimeoutError:
            left = await store.outbox_pending()
            print(
                f"deputydev: sync push gave up after {args.timeout:g} s;"
                f" {plural(left, 'row')} still wait in the outbox",
                file=sys.stderr,
            )
            return 1
        print(f"pushed {plural(sent, 'row')} to {settings.display_url()}")
        return 0
    finally:
        await store.close()


async def _migrate(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from daemon.cli import settings_or_exit
    from daemon.errors import SyncError
    from daemon.sync import schema
    from daemon.sync.client import connect
    from daemon.sync.settings import SyncSettings

    settings = settings_or_exit().settings.sync
    if args.url:
        try:
            settings = SyncSettings.model_validate({**settings.model_dump(), "url": args.url})
        except ValidationError as exc:
            print(f"deputydev: --url: {exc.errors()[0]['msg']}", file=sys.stderr)
            return 2
    if not settings.configured:
        print("deputydev: no server: pass --url or set [sync] url", file=sys.stderr)
        return 2
    try:
        conn = await connect(settings)
        try:
            applied = await schema.migrate(conn)
            converted = await schema.convert_vectors(conn)
        finally:
            await conn.close()
    except SyncError as exc:
        print(f"deputydev: {exc}", file=sys.stderr)
        return 1
    if applied:
        print(f"applied {', '.join(map(str, applied))}: the schema is at version {applied[-1]}")
    elif converted is None:
        print(f"nothing to do: the schema is at version {schema.latest()}")
    if converted is not None:
        print(f"pgvector is in: {plural(converted, 'vector')} converted, team search is hybrid")
    return 0


async def _status(args: argparse.Namespace) -> int:
    import json

    from daemon.cli import settings_or_exit
    from daemon.paths import data_dir
    from daemon.sync.probe import probe
    from daemon.sync.state import STATE_FILE, load_saved

    settings = settings_or_exit().settings.sync
    out: dict[str, object] = {"configured": settings.configured}
    if settings.configured:
        out["server"] = settings.display_url()
        out["team"] = settings.team
        out["pending"] = await _pending()
        found = await probe(settings)
        out["connected"] = found.connected
        out["role"] = found.role
        out["error"] = found.error
        out["schemaVersion"] = found.schema_version
        out["ownSessions"] = found.own_sessions
        out["sharedWithMe"] = found.team_sessions
        saved = load_saved(data_dir() / STATE_FILE) or {}
        out["lastSuccess"] = saved.get("last_success")
        out["lastError"] = saved.get("last_error")
        out["lastErrorAt"] = saved.get("last_error_at")
        out["pausedReason"] = saved.get("paused_reason")
    if args.json:
        print(json.dumps(out, indent=2))
    elif not settings.configured:
        print("team sync: not configured (set [sync] url or DEPUTYDEV_SYNC_URL; docs/SYNC.md)")
    else:
        labels = {
            "server": "server",
            "role": "role",
            "team": "team",
            "connected": "connected",
            "error": "error now",
            "schemaVersion": "schema version",
            "pending": "pending rows",
            "ownSessions": "my sessions on server",
            "sharedWithMe": "sessions shared with me",
            "lastSuccess": "daemon's last success",
            "lastError": "daemon's last error",
            "pausedReason": "paused",
        }
        for key, label in labels.items():
            if out.get(key) is not None:
                print(f"{label + ':':26} {out[key]}")
    return 0 if not settings.configured or out.get("connected") else 1


async def _pending() -> int:
    from daemon.paths import data_dir
    from daemon.sessions.store import SessionStore

    path = data_dir() / "sessions.db"
    if not path.exists():
        return 0
    store = await SessionStore.open(path)
    try:
        return await store.outbox_pending()
    finally:
        await store.close()
