"""``workspace/symbol`` latency on the stdlib corpus, through the real daemon over stdio.

The daemon indexes a copy of the retrieval corpus (``../shared/retrieval``, 734 files);
then the editor's symbol picker is played: for symbol names drawn from the corpus (seeded),
a prefix (``parse_he`` for ``parse_headers``), a fuzzy abbreviation (the first letters of
its word parts and its last part: ``phdrs``-style) and the exact name, each sent as
``workspace/symbol`` and timed from request to response. Prints p50/p95 per kind and
overall, and how often the name drawn was among the (at most 100) symbols returned.

    python -m bench.workspace_symbol [--names 100] [--seed 13]
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import logging
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lsprotocol import types  # noqa: E402

from bench.retrieval import SHARED, corpus  # noqa: E402
from tests.e2e.harness import start_daemon  # noqa: E402


def names(root: Path, count: int, seed: int) -> list[str]:
    sys.path.insert(0, str(SHARED))
    from corpus import iter_symbols  # type: ignore[import-not-found]

    found: set[str] = set()
    for path in sorted(root.rglob("*.py")):
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue
        for qualname, _ in iter_symbols(tree):
            name = qualname.rsplit(".", 1)[-1]
            if len(name) >= 6 and not name.startswith("__"):
                found.add(name)
    return random.Random(seed).sample(sorted(found), count)


def prefix(name: str) -> str:
    return name[: max(3, len(name) * 3 // 5)]


def fuzzy(name: str) -> str:
    parts = [p for p in re.split(r"_|(?<=[a-z])(?=[A-Z])", name) if p]
    if len(parts) == 1:
        return name[0] + name[2:5]
    return "".join(p[0] for p in parts[:-1]) + parts[-1][:4]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(args: argparse.Namespace) -> None:
    logging.getLogger("pygls").setLevel(logging.ERROR)  # index/updated goes unheard
    source = corpus()
    drawn = names(source, args.names, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DEPUTYDEV_HOME"] = str(Path(tmp) / "home")
        started = time.perf_counter()
        client = await start_daemon(source, stderr_path=Path(tmp) / "daemon.stderr")
        try:

            async def ask(query: str) -> tuple[float, list[str]]:
                t0 = time.perf_counter()
                result = await client.protocol.send_request_async(
                    types.WORKSPACE_SYMBOL, types.WorkspaceSymbolParams(query=query)
                )
                return (time.perf_counter() - t0) * 1000, [s.name for s in result or []]

            await ask("warmup")  # waits for the first index run
            print(f"indexed and first answer: {time.perf_counter() - started:.1f} s")
            times: dict[str, list[float]] = {"prefix": [], "fuzzy": [], "exact": []}
            hits: dict[str, int] = dict.fromkeys(times, 0)
            counts: list[int] = []
            for name in drawn:
                for kind, query in (
                    ("prefix", prefix(name)),
                    ("fuzzy", fuzzy(name)),
                    ("exact", name),
                ):
                    ms, found = await ask(query)
                    times[kind].append(ms)
                    hits[kind] += name in found
                    counts.append(len(found))
        finally:
            await client.stop_daemon()
    every = [t for values in times.values() for t in values]
    print(f"workspace/symbol on the stdlib corpus, {len(drawn)} names x 3 queries")
    for kind, values in times.items():
        print(
            f"  {kind:<7} p50 {statistics.median(values):6.1f} ms  p95 {pct(values, 95):6.1f} ms"
            f"  name found {hits[kind]}/{len(drawn)}"
        )
    print(
        f"  all     p50 {statistics.median(every):6.1f} ms  p95 {pct(every, 95):6.1f} ms"
        f"  (mean {statistics.mean(counts):.0f} symbols per answer)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=100)
    parser.add_argument("--seed", type=int, default=13)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
