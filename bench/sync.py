"""Team sync: outbox throughput to PostgreSQL, and write-to-server lag under editor load.

1. Throughput: 10,000 messages across 200 sessions are written to a local sessions store
   (one turn per session), then the pusher drains the whole outbox to a fresh database.
   Prints outbox rows/s and messages/s.
2. Lag, in process: with the pusher running, a writer adds a message every 10 ms while an
   "editor" keeps listing sessions and opening one (as the history panel does); a watcher
   polls the server every 2 ms for each written message. Prints the lag from the local
   commit to the row being visible on the server (median, p95, max; target: median under
   1 s), and the editor requests' latency meanwhile.
3. Lag through the real daemon: ``deputydev serve`` in a subprocess renames sessions on
   ``deputydev/sessions/rename`` (every 20 ms) while the client keeps sending
   ``deputydev/sessions/list`` and ``deputydev/status``; the lag runs from the rename's
   response to the new title on the server.

    python -m bench.sync [--sessions 200] [--messages 10000] [--lag-writes 500]
                         [--admin postgresql://postgres@127.0.0.1:5432/test]

Needs a PostgreSQL it may create a database on (dropped at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from daemon.sessions.store import SessionStore
from daemon.sync import schema
from daemon.sync.pusher import Pusher
from daemon.sync.settings import SyncSettings
from daemon.sync.state import SyncState


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def fill(store: SessionStore, sessions: int, messages: int) -> list[str]:
    per = messages // sessions
    turns = []
    for n in range(sessions):
        session = await store.create_session(workspace="/bench", title=f"session {n}")
        turn = await store.start_turn(session.id, query=f"question {n}")
        for m in range(per):
            await store.add_message(
                turn.id,
                role="user" if m % 2 == 0 else "assistant",
                content={"text": f"message {m} of session {n} " + "lorem ipsum " * 30},
            )
        await store.finish_turn(turn.id, status="complete")
        turns.append(turn.id)
    return turns


async def throughput(store: SessionStore, settings: SyncSettings, a: argparse.Namespace) -> None:
    started = time.perf_counter()
    turns = await fill(store, a.sessions, a.messages)
    fill_s = time.perf_counter() - started
    rows = await store.outbox_pending()
    print(
        f"local fill: {a.messages} messages in {a.sessions} sessions, {rows} outbox rows,"
        f" {fill_s:.1f} s"
    )
    pusher = Pusher(store, settings, SyncState(configured=True))
    started = time.perf_counter()
    task = asyncio.create_task(pusher.run())
    while await store.outbox_pending():  # noqa: ASYNC110 - the bench polls what it measures
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    print(
        f"push: {rows} rows in {elapsed:.2f} s = {rows / elapsed:,.0f} rows/s"
        f" ({a.messages / elapsed:,.0f} messages/s,"
        f" batch size {settings.batch_size})"
    )
    a.turns = turns


async def lag(store: SessionStore, settings: SyncSettings, url: str, a: argparse.Namespace) -> None:
    pusher = Pusher(store, settings, SyncState(configured=True))
    task = asyncio.create_task(pusher.run())
    written: dict[uuid.UUID, float] = {}
    lags: list[float] = []
    editor: list[float] = []
    done = asyncio.Event()

    async def editor_requests() -> None:
        sessions = [s.id for s in await store.list_sessions(limit=a.sessions)]
        while not done.is_set():
            t = time.perf_counter()
            await store.list_sessions(limit=50)
            await store.get_turns(random.choice(sessions))
            editor.append(time.perf_counter() - t)
            await asyncio.sleep(0.005)

    async def watcher() -> None:
        conn = await asyncpg.connect(url)
        try:
            while not done.is_set() or written:
                if written:
                    found = await conn.fetch(
                        "SELECT id FROM deputydev.messages WHERE id = ANY($1::uuid[])",
                        list(written),
                    )
                    now = time.perf_counter()
                    for row in found:
                        lags.append(now - written.pop(row["id"]))
                await asyncio.sleep(0.002)
        finally:
            await conn.close()

    tasks = [asyncio.create_task(editor_requests()), asyncio.create_task(watcher())]
    for n in range(a.lag_writes):
        message = await store.add_message(
            random.choice(a.turns), role="assistant", content={"text": f"live {n}"}
        )
        written[uuid.UUID(message.id)] = time.perf_counter()
        await asyncio.sleep(0.01)
    done.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    ms = [x * 1000 for x in lags]
    ed = [x * 1000 for x in editor]
    print(
        f"lag write->server over {len(ms)} writes at 100/s:"
        f" median {statistics.median(ms):.1f} ms, p95 {pct(ms, 95):.1f} ms,"
        f" max {max(ms):.1f} ms (target: median < 1000 ms)"
    )
    print(
        f"editor requests meanwhile ({len(ed)}): median {statistics.median(ed):.1f} ms,"
        f" p95 {pct(ed, 95):.1f} ms"
    )


async def daemon_lag(url: str, a: argparse.Namespace) -> None:
    from tests.e2e.harness import start_daemon

    with tempfile.TemporaryDirectory() as tmp:
        home, workspace = Path(tmp) / "home", Path(tmp) / "workspace"
        workspace.mkdir(parents=True)
        store = await SessionStore.open(home / "data" / "sessions.db")
        ids = [(await store.create_session(workspace="/b", title=f"s{n}")).id for n in range(20)]
        await store.close()
        env = {"DEPUTYDEV_HOME": str(home), "DEPUTYDEV_SYNC_URL": url}
        client = await start_daemon(workspace, stderr_path=Path(tmp) / "daemon.stderr", env=env)
        conn = await asyncpg.connect(url)
        expected: dict[uuid.UUID, tuple[str, float]] = {}
        lags: list[float] = []
        editor: list[float] = []
        done = asyncio.Event()

        async def requests() -> None:
            while not done.is_set():
                t = time.perf_counter()
                await client.request("deputydev/sessions/list", {})
                await client.request("deputydev/status", {})
                editor.append(time.perf_counter() - t)

        async def watcher() -> None:
            while not done.is_set() or expected:
                rows = await conn.fetch("SELECT id, title FROM deputydev.sessions")
                now = time.perf_counter()
                for row in rows:
                    want = expected.get(row["id"])
                    if want is not None and want[0] == row["title"]:
                        lags.append(now - want[1])
                        del expected[row["id"]]
                await asyncio.sleep(0.002)

        try:
            while (await client.request("deputydev/sync/status", {})).get("pending") != 0:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            tasks = [asyncio.create_task(requests()), asyncio.create_task(watcher())]
            for n in range(a.lag_writes // 2):
                session_id = ids[n % len(ids)]
                title = f"title {n}"
                await client.request(
                    "deputydev/sessions/rename", {"sessionId": session_id, "title": title}
                )
                expected[uuid.UUID(session_id)] = (title, time.perf_counter())
                await asyncio.sleep(0.02)
            done.set()
            await asyncio.wait_for(asyncio.gather(*tasks), 60)
        finally:
            await conn.close()
            await client.stop_daemon()
    ms = [x * 1000 for x in lags]
    ed = [x * 1000 for x in editor]
    print(
        f"daemon: lag rename->server over {len(ms)} renames at 50/s:"
        f" median {statistics.median(ms):.1f} ms, p95 {pct(ms, 95):.1f} ms,"
        f" max {max(ms):.1f} ms; list+status round trips meanwhile ({len(ed)}):"
        f" median {statistics.median(ed):.1f} ms, p95 {pct(ed, 95):.1f} ms"
    )


async def main(a: argparse.Namespace) -> None:
    database = "dd_bench_" + uuid.uuid4().hex[:8]
    admin = await asyncpg.connect(a.admin)
    await admin.execute(f'CREATE DATABASE "{database}"')
    url = a.admin.rsplit("/", 1)[0] + "/" + database
    try:
        conn = await asyncpg.connect(url)
        await schema.migrate(conn)
        await conn.close()
        settings = SyncSettings.model_validate({"url": url, "batch_size": a.batch_size})
        with tempfile.TemporaryDirectory() as tmp:
            store = await SessionStore.open(Path(tmp) / "sessions.db")
            try:
                await throughput(store, settings, a)
                await lag(store, settings, url, a)
            finally:
                await store.close()
        await daemon_lag(url, a)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--lag-writes", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--admin", default="postgresql://postgres@127.0.0.1:5432/test")
    asyncio.run(main(parser.parse_args()))
