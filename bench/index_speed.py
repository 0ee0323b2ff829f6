"""The workspace index on the retrieval corpus (the CPython standard library), end to end.

Prints, through the real store (``indexer.index.Index``, SQLite on disk):

- cold lexical index time (target < 8 s on 2 cores) and the peak resident memory of the
  indexing process and of its largest chunking worker (target < 300 MB);
- a second run with nothing changed (target < 1 s);
- one edited file searchable through the watcher, from the write to the search that
  finds it (target < 300 ms): median and worst of 5 edits;
- search latency p50/p95 over the public questions, lexical and hybrid (targets < 10 ms
  and < 40 ms).  Hybrid needs vectors: a hashing embedder (token hashes into 256
  dimensions, no model) fills them, so the figure is the cost of KNN plus fusion, not of
  a model embedding the query;
- symbol recall@10 and the median result range on public.jsonl, scored by the shared
  eval.py (targets >= 0.80 and < 60 lines).

    python bench/index_speed.py [--queries FILE] [--repeat 3]

The corpus is copied to a temporary folder first, since the edit phase writes to it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.retrieval import SHARED, corpus  # noqa: E402
from indexer.embedder import Purpose  # noqa: E402
from indexer.index import Index, IndexEvent  # noqa: E402
from indexer.settings import IndexSettings  # noqa: E402

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class HashingEmbedder:
    """Vectors with no model: each identifier part hashed into one of 256 dimensions."""

    key = "bench:hashing-256"
    dimensions = 256
    max_batch = 512

    async def embed(self, texts: Sequence[str], *, purpose: Purpose) -> list[list[float]]:
        out = []
        for text in texts:
            vector = [0.0] * self.dimensions
            for word in _WORD.findall(text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
                vector[int.from_bytes(digest, "little") % self.dimensions] += 1.0
            if not any(vector):
                vector[0] = 1.0
            out.append(vector)
        return out

    async def aclose(self) -> None:
        pass


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def cold(root: Path, db: Path) -> None:
    """Run in a child process, so its peak memory is the indexing's own."""
    index = await Index.open(root, db, IndexSettings())
    started = time.perf_counter()
    run = await index.update()
    seconds = time.perf_counter() - started
    status = await index.status()
    await index.close()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "files": run.files,
                "chunks": status["chunks"],
                "symbols": status["symbols"],
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            }
        )
    )


async def edits(index: Index, root: Path, rounds: int = 5) -> list[float]:
    from indexer.watch import watch

    ready, stop = asyncio.Event(), asyncio.Event()
    updated: asyncio.Queue[IndexEvent] = asyncio.Queue()
    index.subscribe(lambda event: updated.put_nowait(event) if event.kind == "updated" else None)

    async def changed(batch: Sequence[str] | None) -> None:
        await index.update(batch)

    watcher = asyncio.create_task(watch(root, changed, debounce_ms=50, ready=ready, stop=stop))
    await asyncio.wait_for(ready.wait(), 30)
    timings = []
    target = root / "colorsys.py"
    original = target.read_text()
    for n in range(rounds):
        name = f"bench_marker_function_{n}_{int(time.time())}"
        text = original + f"\n\ndef {name}(value):\n    return value\n"
        started = time.perf_counter()
        target.write_text(text)
        while True:
            await asyncio.wait_for(updated.get(), 30)
            hits = await index.search(name, mode="symbol", limit=1)
            if hits and hits[0].symbol == name:
                break
        timings.append((time.perf_counter() - started) * 1000)
    target.write_text(original)
    await asyncio.wait_for(updated.get(), 30)
    stop.set()
    await asyncio.wait_for(watcher, 10)
    return timings


async def latency(
    index: Index, queries: Sequence[dict[str, Any]], mode: str, repeat: int
) -> list[float]:
    timings = []
    for _ in range(repeat):
        for q in queries:
            started = time.perf_counter()
            await index.search(q["query"], mode=mode, limit=10)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


async def quality(
    index: Index, queries: Sequence[dict[str, Any]], results: Path, queries_file: Path
) -> str:
    spans: list[int] = []
    with results.open("w", encoding="utf-8") as out:
        for q in queries:
            hits = await index.search(q["query"], mode="lexical", limit=10)
            found = [
                {"path": h.path, "start_line": h.start_line, "end_line": h.end_line} for h in hits
            ]
            spans.extend(h.end_line - h.start_line + 1 for h in hits)
            out.write(json.dumps({"id": q["id"], "results": found}) + "\n")
    scored = (
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, str(SHARED / "eval.py"), str(queries_file), str(results)],
            check=True,
            capture_output=True,
            text=True,
        )
    ).stdout.strip()
    recall = scored.splitlines()[-1]
    return f"{recall}  median range {statistics.median(spans):.0f} lines"


async def main_async(args: argparse.Namespace) -> int:
    queries = [json.loads(line) for line in args.queries.read_text().splitlines() if line]
    with tempfile.TemporaryDirectory(prefix="deputydev-bench-") as tmp:
        root = Path(tmp) / "corpus"
        shutil.copytree(corpus(), root)
        db = Path(tmp) / "index.db"
        child = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, __file__, "--cold", str(root), str(db)],
            check=True,
            capture_output=True,
            text=True,
        )
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        print(
            f"cold lexical index: {figures['seconds']:.2f} s ({figures['files']} files,"
            f" {figures['chunks']} chunks, {figures['symbols']} symbols)  [target < 8 s]"
        )
        print(
            f"peak RSS while indexing: {figures['rss_mb']:.0f} MB (indexing process),"
            f" {figures['worker_rss_mb']:.0f} MB (largest chunking worker)  [target < 300 MB]"
        )

        index = await Index.open(root, db, IndexSettings())
        started = time.perf_counter()
        run = await index.update()
        print(
            f"second run, nothing changed: {(time.perf_counter() - started) * 1000:.0f} ms"
            f" ({run.unchanged} unchanged)  [target < 1 s]"
        )
        timings = await edits(index, root)
        print(
            f"edit searchable through the watcher: median {statistics.median(timings):.0f} ms,"
            f" worst {max(timings):.0f} ms of {len(timings)}  [target < 300 ms]"
        )
        lexical = await latency(index, queries, "lexical", args.repeat)
        print(
            f"search latency lexical: p50 {percentile(lexical, 0.5):.1f} ms,"
            f" p95 {percentile(lexical, 0.95):.1f} ms ({len(lexical)} searches)"
            "  [targets < 10 / < 40 ms]"
        )
        print(
            "quality (lexical, the offline default): "
            + await quality(index, queries, Path(tmp) / "RESULTS.jsonl", args.queries)
        )
        await index.close()

        hybrid_index = await Index.open(root, db, IndexSettings(), embedder=HashingEmbedder())
        if hybrid_index.driver.vectors:
            started = time.perf_counter()
            await hybrid_index.embedded()
            print(
                f"vectors for every chunk (hashing embedder): {time.perf_counter() - started:.1f} s"
            )
            hybrid = await latency(hybrid_index, queries, "hybrid", args.repeat)
            print(
                f"search latency hybrid: p50 {percentile(hybrid, 0.5):.1f} ms,"
                f" p95 {percentile(hybrid, 0.95):.1f} ms ({len(hybrid)} searches)"
                "  [targets < 10 / < 40 ms]"
            )
        else:
            print(f"search latency hybrid: not measured ({hybrid_index.vectors_reason})")
        await hybrid_index.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=Path, default=SHARED / "public.jsonl")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--cold", nargs=2, type=Path, metavar=("ROOT", "DB"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.cold:
        asyncio.run(cold(*args.cold))
        return 0
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
