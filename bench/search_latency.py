"""``deputydev/search`` on the stdlib corpus through the real daemon over stdio: latency,
quality per class, and how long a new workspace waits for its vectors.

The daemon (``python -m daemon serve``, a fresh ``DEPUTYDEV_HOME``) opens the retrieval
corpus (``../shared/retrieval``, 734 files) as its workspace.  Then, for each mode asked
(``--modes``, default lexical, and hybrid when the ``local`` extra is installed):

- lexical: the daemon's own embeddings are off; once the first index run is done, every
  public and held-out question is sent ``--repeat`` times as ``deputydev/search``;
- hybrid: the default embedding backend, ``auto`` (with the ``local`` extra: ONNX Runtime
  int8 MiniLM); the int8 model is copied from ``bench/.cache/models`` when
  ``bench/hybrid.py`` made it already (else the daemon makes it, and that is counted);
  from the daemon's spawn to the moment ``deputydev/index/status`` shows every chunk with
  its vector is printed as the time to vectors a new user sees; then the questions as
  above.

Each line prints p50/p95 of the round trip (request written to response read, so JSON-RPC
and pydantic included), then symbol recall@10 / MRR@10 per class of the answers as the
editor receives them.

    python bench/search_latency.py [--modes lexical hybrid] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.retrieval import (  # noqa: E402
    CACHE,
    HELDOUT,
    SHARED,
    Found,
    by_class,
    corpus,
    load_queries,
    median_span,
    table,
)
from tests.e2e.harness import DaemonClient, start_daemon  # noqa: E402

# How often the status is asked while waiting for the index or its vectors.
POLL_S = 0.5


def pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def root_status(client: DaemonClient) -> dict[str, Any]:
    result = await client.request("deputydev/index/status", {}, timeout=120)
    roots: list[dict[str, Any]] = result["roots"]
    return roots[0]


async def wait_indexed(client: DaemonClient, *, vectors: bool, limit_s: float) -> dict[str, Any]:
    """The root's status once its first run is done (and, with ``vectors``, every chunk
    has its vector); polled, since this is a benchmark of elapsed time, not a test."""
    deadline = time.perf_counter() + limit_s
    while True:
        status = await root_status(client)
        done = status["state"] == "idle" and status["chunks"] > 0
        if vectors:
            if status.get("embedError"):
                raise SystemExit(f"embedding failed: {status['embedError']}")
            done = done and status["vectorsPending"] == 0 and status["vectors"] > 0
        if done:
            return status
        if time.perf_counter() > deadline:
            raise SystemExit(f"not ready after {limit_s:.0f} s: {status}")
        await asyncio.sleep(POLL_S)


async def ask_all(
    client: DaemonClient, queries: Sequence[dict[str, Any]], mode: str, repeat: int
) -> tuple[list[float], list[Found], str]:
    times: list[float] = []
    found: list[Found] = []
    ran = ""
    for round_ in range(repeat):
        for q in queries:
            started = time.perf_counter()
            result = await client.request(
                "deputydev/search", {"query": q["query"], "mode": mode, "limit": 10}
            )
            times.append((time.perf_counter() - started) * 1000)
            ran = result["mode"]
            if round_ == 0:
                found.append(
                    [
                        {"path": h["path"], "start_line": h["startLine"], "end_line": h["endLine"]}
                        for h in result["results"]
                    ]
                )
    return times, found, ran


async def run_mode(mode: str, args: argparse.Namespace, sets: dict[str, list[Any]]) -> None:
    source = corpus()
    with tempfile.TemporaryDirectory(prefix="deputydev-search-") as tmp:
        home = Path(tmp) / "home"
        env = {"DEPUTYDEV_INDEX__EMBEDDINGS__BACKEND": "none"}
        if mode == "hybrid":
            env = {"DEPUTYDEV_INDEX__EMBEDDINGS__BACKEND": "auto"}  # the default
            made = sorted((CACHE / "models").glob("*.onnx"))
            if made:
                (home / "data" / "models").mkdir(parents=True)
                for model in made:
                    shutil.copy(model, home / "data" / "models" / model.name)
        os.environ["DEPUTYDEV_HOME"] = str(home)
        started = time.perf_counter()
        client = await start_daemon(source, stderr_path=Path(tmp) / "daemon.stderr", env=env)
        try:
            status = await wait_indexed(client, vectors=mode == "hybrid", limit_s=args.wait)
            ready = time.perf_counter() - started
            what = "indexed, every chunk with its vector" if mode == "hybrid" else "indexed"
            print(
                f"\n{mode}: {what} {ready:.1f} s after the daemon was spawned "
                f"({status['chunks']} chunks, {status['vectors']} vectors"
                + (", model made by the daemon" if mode == "hybrid" and not made else "")
                + ")"
            )
            every: list[float] = []
            for name, queries in sets.items():
                times, found, ran = await ask_all(client, queries, mode, args.repeat)
                every += times
                print(
                    f"{name}: {len(queries)} questions x {args.repeat}, mode {ran}: "
                    f"p50 {statistics.median(times):.1f} ms, p95 {pct(times, 95):.1f} ms, "
                    f"median range {median_span(found):.0f} lines"
                )
                print(table({ran: by_class(queries, found)}))
            print(
                f"{mode}, all searches: p50 {statistics.median(every):.1f} ms, "
                f"p95 {pct(every, 95):.1f} ms ({len(every)} searches)"
            )
        finally:
            await client.stop_daemon()


async def run(args: argparse.Namespace) -> None:
    logging.getLogger("pygls").setLevel(logging.ERROR)  # index/updated goes unheard
    sets = {path.name: load_queries(path) for path in args.queries}
    for mode in args.modes:
        await run_mode(mode, args, sets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    local = importlib.util.find_spec("onnxruntime") is not None
    parser.add_argument(
        "--modes",
        nargs="+",
        choices=("lexical", "hybrid"),
        default=["lexical", "hybrid"] if local else ["lexical"],
    )
    parser.add_argument(
        "--queries", type=Path, nargs="+", default=[SHARED / "public.jsonl", HELDOUT]
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--wait", type=float, default=900, help="seconds to wait for vectors")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
