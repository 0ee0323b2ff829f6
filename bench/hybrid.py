"""Hybrid retrieval quality with a local embedder: lexical, semantic and fused, by class.

    python bench/hybrid.py [--runtime onnx|torch] [--queries FILE ...] [--cache DIR] [--sample N]

Indexes the corpus through the real index (``indexer.index.Index``) with the local
embedder (``providers.embeddings.local_embedder``: ONNX Runtime int8 by default, torch with
``--runtime torch``), whose vectors are cached on disk by chunk content hash (``--cache``), so a
later run embeds only chunks whose text changed.  Then for each query set it prints
symbol recall@10 and MRR@10 per question class, and the median range of the results, for:

- ``lexical``: ``Index.search(mode="lexical")`` (the offline default);
- ``semantic``: ``mode="semantic"`` (KNN over the chunk vectors);
- ``hybrid``: ``mode="hybrid"``, both lists fused by ``indexer.fusion.fuse``;
- ``rrf``: reciprocal-rank fusion of the first two, ``search.FUSION_DEPTH`` deep, for
  comparison.

and the time to vectors: every distinct chunk of the corpus embedded through the backend,
model loaded first (``--sample N`` times N chunks instead and extrapolates), with the
model's size on disk.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

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
    official,
    table,
    write_results,
)
from daemon.index.embedders import IndexEmbedder  # noqa: E402
from indexer.embedder import Embedder, Purpose, document_text  # noqa: E402
from indexer.index import Index  # noqa: E402
from indexer.search import FUSION_DEPTH, SearchResult  # noqa: E402
from indexer.settings import EmbeddingSettings, IndexSettings  # noqa: E402
from providers.embeddings import local_embedder  # noqa: E402

VECTORS = Path(os.environ.get("DEPUTYDEV_BENCH_VECTORS", str(CACHE / "vectors")))


class CachedEmbedder:
    """Documents' vectors from an on-disk cache by text hash, the rest from ``inner``."""

    def __init__(self, inner: Embedder, directory: Path) -> None:
        self.inner = inner
        self.directory = directory / inner.key.replace(":", "-").replace("/", "-")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.vectors: dict[str, list[float]] = {}
        for shard in sorted(self.directory.glob("shard-*.npz")):
            data = np.load(shard)
            self.vectors.update(zip(data["hashes"].tolist(), data["vectors"].tolist(), strict=True))
        self.embedded = 0
        self.seconds = 0.0

    @property
    def key(self) -> str:
        return self.inner.key

    @property
    def dimensions(self) -> int | None:
        return self.inner.dimensions

    @property
    def max_batch(self) -> int:
        return 256

    async def embed(self, texts: Sequence[str], *, purpose: Purpose) -> list[list[float]]:
        if purpose == "query":
            return await self.inner.embed(texts, purpose=purpose)
        import hashlib

        hashes = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
        missing = list({h: t for h, t in zip(hashes, texts, strict=True) if h not in self.vectors})
        if missing:
            todo = [t for h, t in zip(hashes, texts, strict=True) if h in set(missing)]
            todo = list(dict.fromkeys(todo))
            started = time.perf_counter()
            fresh = await self.inner.embed(todo, purpose="document")
            self.seconds += time.perf_counter() - started
            self.embedded += len(todo)
            fresh_hashes = [hashlib.sha256(t.encode()).hexdigest() for t in todo]
            self.vectors.update(zip(fresh_hashes, fresh, strict=True))
            shard = len(list(self.directory.glob("shard-*.npz")))
            np.savez(
                self.directory / f"shard-{shard:04d}.npz",
                hashes=np.array(fresh_hashes),
                vectors=np.array(fresh, dtype=np.float32),
            )
        return [self.vectors[h] for h in hashes]

    async def aclose(self) -> None:
        await self.inner.aclose()


def rows(hits: Sequence[SearchResult]) -> Found:
    return [{"path": h.path, "start_line": h.start_line, "end_line": h.end_line} for h in hits]


def rrf(lexical: Sequence[SearchResult], semantic: Sequence[SearchResult], limit: int) -> Found:
    scores: dict[int, float] = {}
    by_id: dict[int, SearchResult] = {}
    for ranking in (lexical, semantic):
        for rank, hit in enumerate(ranking):
            scores[hit.chunk_id] = scores.get(hit.chunk_id, 0.0) + 1 / (61 + rank)
            by_id[hit.chunk_id] = hit
    ordered = sorted(scores, key=lambda cid: (-scores[cid], cid))[:limit]
    return rows([by_id[cid] for cid in ordered])


async def evaluate(
    index: Index, queries: Sequence[dict[str, Any]], limit: int
) -> dict[str, list[Found]]:
    out: dict[str, list[Found]] = {"lexical": [], "semantic": [], "hybrid": [], "rrf": []}
    for q in queries:
        lexical = await index.search(q["query"], mode="lexical", limit=FUSION_DEPTH)
        semantic = await index.search(q["query"], mode="semantic", limit=FUSION_DEPTH)
        hybrid = await index.search(q["query"], mode="hybrid", limit=limit)
        out["lexical"].append(rows(lexical[:limit]))
        out["semantic"].append(rows(semantic[:limit]))
        out["hybrid"].append(rows(hybrid))
        out["rrf"].append(rrf(lexical, semantic, limit))
    return out


async def throughput(embedder: Embedder, texts: Sequence[str]) -> tuple[float, float]:
    """Chunks per second of wall time, and per second of this process's CPU time divided
    by the cores (what the rate would be with the cores to itself: the machine is shared)."""
    await embedder.embed(["warm up"], purpose="document")  # load the model untimed
    started, cpu = time.perf_counter(), time.process_time()
    await embedder.embed(list(texts), purpose="document")
    wall, used = time.perf_counter() - started, time.process_time() - cpu
    return len(texts) / wall, len(texts) / max(used / (os.cpu_count() or 1), wall / 100)


async def main_async(args: argparse.Namespace) -> int:
    root = corpus()
    settings = EmbeddingSettings(backend="local", runtime=args.runtime)
    models = CACHE / "models"
    inner = IndexEmbedder(local_embedder(settings, cache_dir=models, low_priority=False))
    embedder = CachedEmbedder(inner, args.cache)
    with tempfile.TemporaryDirectory(prefix="deputydev-hybrid-") as tmp:
        index = await Index.open(root, Path(tmp) / "index.db", IndexSettings(), embedder)
        try:
            await index.update()
            started = time.perf_counter()
            await index.embedded()
            status = await index.status()
            print(
                f"{status['chunks']} chunks, {status['vectors']} vectors "
                f"({embedder.embedded} embedded now in {embedder.seconds:.0f} s, "
                f"stored in {time.perf_counter() - started:.0f} s)",
                file=sys.stderr,
            )
            for path in args.queries:
                queries = load_queries(path)
                results = await evaluate(index, queries, args.limit)
                print(f"\n{path.name}: {len(queries)} questions, {embedder.key}")
                print(table({mode: by_class(queries, found) for mode, found in results.items()}))
                print(
                    "median range: "
                    + ", ".join(f"{m} {median_span(f):.0f}" for m, f in results.items())
                )
                out = CACHE / f"HYBRID-{path.stem}.jsonl"
                write_results(out, queries, results["hybrid"])
                print(f"hybrid via eval.py: {official(path, out)}")
        finally:
            await index.close()

    texts = [
        document_text(path.relative_to(root).as_posix(), chunk.text)
        for path in sorted(root.rglob("*.py"))
        for chunk in _chunks(root, path)
    ]
    unique = list(dict.fromkeys(texts))
    sample = unique
    if args.sample:
        sample = unique[:: max(1, len(unique) // args.sample)][: args.sample]
    again = local_embedder(settings, cache_dir=models, low_priority=False)
    rate, alone = await throughput(again, sample)
    await again.aclose()
    size = sum(p.stat().st_size for p in models.glob("*.onnx")) if args.runtime != "torch" else 0
    print(
        f"\nembedding throughput: {rate:.1f} chunks/s ({len(sample)} chunks, {again.key}"
        + (f", model {size / 1e6:.0f} MB on disk)" if size else ")")
    )
    print(
        f"time to vectors for the whole corpus ({len(unique)} distinct chunks): "
        f"{len(unique) / rate:.0f} s" + (" at that rate" if len(sample) < len(unique) else "")
    )
    print(
        f"from CPU time, with the {os.cpu_count()} cores to itself: {alone:.1f} chunks/s, "
        f"{len(unique) / alone:.0f} s"
    )
    return 0


def _chunks(root: Path, path: Path) -> Any:
    from indexer.chunking import chunk_file

    rel = path.relative_to(root).as_posix()
    return chunk_file(rel, path.read_text(encoding="utf-8", errors="replace")).chunks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--queries", type=Path, nargs="+", default=[SHARED / "public.jsonl", HELDOUT]
    )
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--cache", type=Path, default=VECTORS)
    parser.add_argument("--runtime", choices=("auto", "onnx", "torch"), default="auto")
    parser.add_argument("--sample", type=int, default=0, help="chunks timed (0: all)")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
