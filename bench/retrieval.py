"""Retrieval quality on the CPython standard library: recall, MRR and range length, by class.

Builds the corpus once (``/work/shared/retrieval/corpus.py``, cached under bench/.cache),
indexes it through the real index (``indexer.index.Index``, SQLite in a temporary folder,
lexical only: the offline default, no model), runs every question through
``Index.search(mode="lexical")`` and prints, for each query set, symbol recall@10 and
MRR@10 per question class (identifier, descriptive, concept, crosscutting) and overall,
with the median length of the returned ranges.  The public set is also scored by the
shared ``eval.py``, whose last line is ``symbol_recall@10=...``.

    python bench/retrieval.py [--queries FILE ...] [--limit 10]

``bench/heldout.jsonl`` holds questions of our own (same format and classes; lines are
those of Python 3.11.7's standard library), written from reading the corpus before any
ranking was tuned, and never used to tune one: a ranking change that helps the public 40
but not these is fitted to them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer.index import Index  # noqa: E402
from indexer.settings import IndexSettings  # noqa: E402

SHARED = Path(os.environ.get("DEPUTYDEV_RETRIEVAL", "/work/shared/retrieval"))
CACHE = ROOT / "bench" / ".cache"
HELDOUT = ROOT / "bench" / "heldout.jsonl"
CLASSES = ("identifier", "descriptive", "concept", "crosscutting")

Found = list[dict[str, Any]]


def corpus() -> Path:
    dest = CACHE / "corpus"
    if not (dest / "os.py").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, str(SHARED / "corpus.py"), str(dest)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return dest


def load_queries(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def first_hit(query: dict[str, Any], found: Sequence[dict[str, Any]], k: int = 10) -> int | None:
    """1-based rank of the first result overlapping the answer, as ``eval.py`` counts it."""
    for rank, r in enumerate(found[:k], 1):
        if (
            r["path"] == query["path"]
            and r["start_line"] <= query["end_line"]
            and r["end_line"] >= query["start_line"]
        ):
            return rank
    return None


@dataclass(frozen=True, slots=True)
class Scores:
    n: int
    recall: float  # symbol recall@10
    mrr: float  # MRR@10

    @classmethod
    def of(cls, queries: Sequence[dict[str, Any]], results: Sequence[Found]) -> Scores:
        ranks = [first_hit(q, found) for q, found in zip(queries, results, strict=True)]
        n = len(ranks)
        hits = [r for r in ranks if r is not None]
        return cls(n, len(hits) / (n or 1), sum(1 / r for r in hits) / (n or 1))


def by_class(queries: Sequence[dict[str, Any]], results: Sequence[Found]) -> dict[str, Scores]:
    """Scores per question class, then ``all``."""
    out = {}
    for kind in [*CLASSES, *sorted({q.get("kind", "?") for q in queries} - set(CLASSES))]:
        picked = [(q, r) for q, r in zip(queries, results, strict=True) if q.get("kind") == kind]
        if picked:
            out[kind] = Scores.of([q for q, _ in picked], [r for _, r in picked])
    out["all"] = Scores.of(queries, results)
    return out


def median_span(results: Iterable[Found]) -> float:
    spans = [r["end_line"] - r["start_line"] + 1 for found in results for r in found[:10]]
    return statistics.median(spans) if spans else 0.0


def table(rows: dict[str, dict[str, Scores]]) -> str:
    """One line per mode, recall@10/MRR@10 per class: ``rows[mode][class]``."""
    kinds = list(next(iter(rows.values())))
    head = f"{'':<10}" + "".join(
        f"{k[:12] + f' ({s.n})':>18}" for k, s in next(iter(rows.values())).items()
    )
    lines = [head, f"{'':<10}" + "".join(f"{'R@10 / MRR':>18}" for _ in kinds)]
    for mode, scores in rows.items():
        lines.append(
            f"{mode:<10}"
            + "".join(f"{f'{scores[k].recall:.3f} / {scores[k].mrr:.3f}':>18}" for k in kinds)
        )
    return "\n".join(lines)


def write_results(path: Path, queries: Iterable[dict[str, Any]], results: Sequence[Found]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for query, found in zip(queries, results, strict=True):
            out.write(json.dumps({"id": query["id"], "results": found}) + "\n")


def official(queries: Path, results: Path) -> str:
    """The shared eval.py's verdict (its last line) on a results file."""
    scored = subprocess.run(
        [sys.executable, str(SHARED / "eval.py"), str(queries), str(results)],
        check=True,
        capture_output=True,
        text=True,
    )
    return scored.stdout.strip().splitlines()[-1]


async def search_all(index: Index, queries: Sequence[dict[str, Any]], limit: int) -> list[Found]:
    out = []
    for q in queries:
        hits = await index.search(q["query"], mode="lexical", limit=limit)
        out.append(
            [{"path": h.path, "start_line": h.start_line, "end_line": h.end_line} for h in hits]
        )
    return out


async def main_async(args: argparse.Namespace) -> int:
    root = corpus()
    with tempfile.TemporaryDirectory(prefix="deputydev-retrieval-") as tmp:
        started = time.perf_counter()
        index = await Index.open(root, Path(tmp) / "index.db", IndexSettings())
        run = await index.update()
        print(
            f"indexed {run.files} files ({run.chunks} chunks) in "
            f"{time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        try:
            for path in args.queries:
                queries = load_queries(path)
                results = await search_all(index, queries, args.limit)
                out = CACHE / f"RESULTS-{path.stem}.jsonl"
                write_results(out, queries, results)
                print(f"\n{path.name}: {len(queries)} questions, lexical")
                print(table({"lexical": by_class(queries, results)}))
                print(f"median range: {median_span(results):.0f} lines")
                print(f"eval.py: {official(path, out)}")
        finally:
            await index.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--queries", type=Path, nargs="+", default=[SHARED / "public.jsonl", HELDOUT]
    )
    parser.add_argument("--limit", type=int, default=10)
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
