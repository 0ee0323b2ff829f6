"""Hybrid retrieval quality with the local embedder: lexical, semantic and fused.

    python bench/hybrid.py [--queries FILE ...] [--cache DIR] [--sample N]

Chunks the corpus as ``bench/retrieval.py`` does, embeds every chunk once with the local
backend (``indexer.embeddings.LocalEmbedder``, all-MiniLM-L6-v2) and caches the vectors on
disk by chunk content hash (``--cache``, default /work/cache/embed/minilm): the whole corpus
takes about 10 minutes on 2 cores, so it is done once and every later run reuses it, only
embedding chunks whose text changed.  Then for each query set it prints symbol recall@10,
MRR@10 and the median range of the results for:

- ``lexical``: ``ranking.lexical_search`` (the offline default);
- ``semantic``: brute-force cosine over the chunk vectors (what sqlite-vec's KNN returns);
- ``hybrid``: both lists, ``search.FUSION_DEPTH`` deep, through ``indexer.fusion.fuse``;
- ``rrf``: the reciprocal-rank fusion baseline, for comparison.

and the embedding throughput: ``--sample`` chunks timed through the backend (model loaded
before timing), and the time until the whole corpus has vectors at that rate (plus the
measured time of the run that filled the cache, when it did).  The public set's scores go
through the shared ``eval.py`` as well, whose last line is ``symbol_recall@10=...``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.retrieval import CACHE, SHARED, Prototype, corpus, write_results  # noqa: E402
from indexer.chunking import chunk_file  # noqa: E402
from indexer.embeddings import LocalEmbedder  # noqa: E402
from indexer.fusion import fuse  # noqa: E402
from indexer.ranking import lexical_search  # noqa: E402
from indexer.search import FUSION_DEPTH  # noqa: E402
from indexer.settings import EmbeddingSettings  # noqa: E402

VECTORS = Path(os.environ.get("DEPUTYDEV_BENCH_VECTORS", "/work/cache/embed/minilm"))
SHARD = 2048
Ranked = list[tuple[int, float]]


def chunk_texts(root: Path) -> list[tuple[str, str]]:
    """(content hash, text) of every chunk, in the row order of ``Prototype``."""
    out = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        for chunk in chunk_file(rel, path.read_text(encoding="utf-8", errors="replace")).chunks:
            out.append((chunk.content_hash, chunk.text))
    return out


def load_cache(directory: Path) -> dict[str, np.ndarray]:
    vectors: dict[str, np.ndarray] = {}
    for shard in sorted(directory.glob("shard-*.npz")):
        data = np.load(shard)
        vectors.update(zip(data["hashes"].tolist(), data["vectors"], strict=True))
    return vectors


async def fill_cache(
    directory: Path, texts: Sequence[tuple[str, str]], embedder: LocalEmbedder
) -> dict[str, np.ndarray]:
    """Every chunk's vector, embedding (and saving, shard by shard) only what is missing."""
    directory.mkdir(parents=True, exist_ok=True)
    cached = load_cache(directory)
    todo = list({h: t for h, t in texts if h not in cached}.items())
    if not todo:
        return cached
    print(f"embedding {len(todo)} chunks into {directory} ...", file=sys.stderr)
    shard = len(list(directory.glob("shard-*.npz")))
    whole = not cached  # only a fill from empty times the whole corpus
    await embedder.embed(["warm up"], purpose="document")  # load the model untimed
    started = time.perf_counter()
    for i in range(0, len(todo), SHARD):
        part = todo[i : i + SHARD]
        vectors = np.array(
            await embedder.embed([t for _, t in part], purpose="document"), dtype=np.float32
        )
        np.savez(
            directory / f"shard-{shard:03d}.npz",
            hashes=np.array([h for h, _ in part]),
            vectors=vectors,
        )
        shard += 1
        cached.update(zip((h for h, _ in part), vectors, strict=True))
        done = i + len(part)
        rate = done / (time.perf_counter() - started)
        print(f"  {done}/{len(todo)} ({rate:.1f} chunks/s)", file=sys.stderr)
    seconds = time.perf_counter() - started
    if not whole:
        return cached
    (directory / "timing.json").write_text(
        json.dumps({"chunks": len(todo), "seconds": seconds, "chunks_per_s": len(todo) / seconds})
    )
    return cached


async def throughput(embedder: LocalEmbedder, texts: Sequence[str]) -> float:
    await embedder.embed(["warm up"], purpose="document")  # load the model untimed
    started = time.perf_counter()
    await embedder.embed(list(texts), purpose="document")
    return len(texts) / (time.perf_counter() - started)


def score(
    queries: Sequence[dict[str, Any]], results: Sequence[Sequence[dict[str, Any]]]
) -> tuple[float, float, float]:
    """symbol recall@10, MRR@10 and median range, as ``eval.py`` computes them."""
    hits, reciprocal, spans = 0, 0.0, []
    for query, found in zip(queries, results, strict=True):
        for rank, r in enumerate(found[:10], 1):
            if (
                r["path"] == query["path"]
                and r["start_line"] <= query["end_line"]
                and r["end_line"] >= query["start_line"]
            ):
                hits += 1
                reciprocal += 1 / rank
                break
        spans += [r["end_line"] - r["start_line"] + 1 for r in found[:10]]
    n = len(queries) or 1
    return hits / n, reciprocal / n, statistics.median(spans) if spans else 0.0


class Bench:
    def __init__(self, prototype: Prototype, matrix: np.ndarray) -> None:
        self.prototype = prototype
        self.matrix = matrix  # row i is chunk key i + 1, normalised

    def lexical(self, query: str, depth: int) -> Ranked:
        found = lexical_search(query, self.prototype.match, limit=depth)
        return [(c.key, c.score) for c in found]

    def semantic(self, vector: np.ndarray, depth: int) -> Ranked:
        similarity = self.matrix @ vector
        top = np.argpartition(-similarity, depth)[:depth]
        top = top[np.argsort(-similarity[top])]
        return [(int(i) + 1, float(similarity[i])) for i in top]

    def rows(self, ranked: Ranked) -> list[dict[str, Any]]:
        out = []
        for key, _ in ranked:
            path, start, end, _kind, _symbols = self.prototype.rows[key - 1]
            out.append({"path": path, "start_line": start, "end_line": end})
        return out


def rrf(lexical: Ranked, semantic: Ranked, *, limit: int) -> Ranked:
    scores: dict[int, float] = {}
    for ranking in (lexical, semantic):
        for rank, (key, _) in enumerate(ranking):
            scores[key] = scores.get(key, 0.0) + 1 / (61 + rank)
    return sorted(scores.items(), key=lambda p: (-p[1], p[0]))[:limit]


def evaluate(
    bench: Bench,
    queries: Sequence[dict[str, Any]],
    vectors: np.ndarray,
    limit: int,
) -> dict[str, list[list[dict[str, Any]]]]:
    modes: dict[str, Callable[[Ranked, Ranked], Ranked]] = {
        "lexical": lambda lex, sem: lex[:limit],
        "semantic": lambda lex, sem: sem[:limit],
        "hybrid": lambda lex, sem: fuse(lex, sem, limit=limit),
        "rrf": lambda lex, sem: rrf(lex, sem, limit=limit),
    }
    out: dict[str, list[list[dict[str, Any]]]] = {mode: [] for mode in modes}
    for query, vector in zip(queries, vectors, strict=True):
        lex = bench.lexical(query["query"], FUSION_DEPTH)
        sem = bench.semantic(vector, FUSION_DEPTH)
        for mode, combine in modes.items():
            out[mode].append(bench.rows(combine(lex, sem)))
    return out


async def main_async(args: argparse.Namespace) -> int:
    root = corpus()
    started = time.perf_counter()
    prototype = Prototype(root)
    texts = chunk_texts(root)
    assert len(texts) == len(prototype.rows), "chunking differs between the two passes"
    print(f"{len(texts)} chunks in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    embedder = LocalEmbedder(EmbeddingSettings(backend="local"), low_priority=False)
    cache = await fill_cache(args.cache, texts, embedder)
    matrix = np.stack([cache[h] for h, _ in texts]).astype(np.float32)

    for path in args.queries:
        queries = [json.loads(line) for line in path.read_text().splitlines() if line]
        vectors = np.array(
            await embedder.embed([q["query"] for q in queries], purpose="query"), dtype=np.float32
        )
        results = evaluate(Bench(prototype, matrix), queries, vectors, args.limit)
        print(f"\n{path.name} ({len(queries)} queries)")
        print(f"{'mode':<10}{'recall@10':>11}{'MRR@10':>9}{'median range':>14}")
        for mode, found in results.items():
            recall, mrr, median = score(queries, found)
            print(f"{mode:<10}{recall:>11.3f}{mrr:>9.3f}{median:>14.0f}")
        out = CACHE / f"HYBRID-{path.stem}.jsonl"
        write_results(out, queries, results["hybrid"])
        official = subprocess.run(
            [sys.executable, str(SHARED / "eval.py"), str(path), str(out)],
            check=True,
            capture_output=True,
            text=True,
        )
        print(f"hybrid via eval.py: {official.stdout.strip().splitlines()[-1]}")

    unique = list(dict.fromkeys(t for _, t in texts))
    sample = unique[:: max(1, len(unique) // args.sample)][: args.sample]
    rate = await throughput(embedder, sample)
    await embedder.aclose()
    print(f"\nembedding throughput: {rate:.1f} chunks/s ({len(sample)} chunks, MiniLM, torch CPU)")
    print(
        f"time to vectors for the whole corpus ({len(unique)} distinct chunks): "
        f"{len(unique) / rate:.0f} s at that rate"
    )
    timing = args.cache / "timing.json"
    if timing.exists():
        filled = json.loads(timing.read_text())
        print(
            f"the run that filled the cache: {filled['chunks']} chunks in "
            f"{filled['seconds']:.0f} s ({filled['chunks_per_s']:.1f} chunks/s, "
            "sharing the cores with other work)"
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--queries",
        type=Path,
        nargs="+",
        default=[SHARED / "public.jsonl", ROOT / "bench" / "heldout.jsonl"],
    )
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--cache", type=Path, default=VECTORS)
    parser.add_argument("--sample", type=int, default=256, help="chunks timed for throughput")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
