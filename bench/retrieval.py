"""Retrieval quality on the CPython standard library: recall, MRR and range length.

Builds the corpus once (``/work/shared/retrieval/corpus.py``, cached under bench/.cache),
indexes it, runs the public queries through the search, writes RESULTS.jsonl and scores it
with the shared ``eval.py`` (whose last line is ``symbol_recall@10=...``).

    python bench/retrieval.py [--queries FILE] [--limit 10]

``bench/heldout.jsonl`` holds 20 more questions (same format; lines are those of Python
3.11.7's standard library), written apart from any tuning, to check that a ranking
change is not fitted to the public 40: ``--queries bench/heldout.jsonl``.

The index is an in-memory FTS5 table over ``chunk_file`` chunks with the columns and
weights of ``indexer.ranking.COLUMN_WEIGHTS``, ranked by ``ranking.lexical_search``: the
offline default, no embeddings.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer.chunking import chunk_file  # noqa: E402
from indexer.ranking import (  # noqa: E402
    COLUMN_WEIGHTS,
    FTS_TOKENIZE,
    Candidate,
    fts_row,
    lexical_search,
)

SHARED = Path(os.environ.get("DEPUTYDEV_RETRIEVAL", "/work/shared/retrieval"))
CACHE = ROOT / "bench" / ".cache"


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


class Prototype:
    """An in-memory FTS5 index of our chunks, searched the way search.py does."""

    def __init__(self, root: Path) -> None:
        self.db = sqlite3.connect(":memory:")
        columns = ", ".join(COLUMN_WEIGHTS)
        placeholders = ", ".join("?" for _ in COLUMN_WEIGHTS)
        self.db.execute(
            f"CREATE VIRTUAL TABLE chunks USING fts5({columns}, tokenize='{FTS_TOKENIZE}')"
        )
        self.weights = ", ".join(str(w) for w in COLUMN_WEIGHTS.values())
        self.rows: list[tuple[str, int, int, str, tuple[str, ...]]] = []
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            chunked = chunk_file(rel, path.read_text(encoding="utf-8", errors="replace"))
            for chunk in chunked.chunks:
                self.rows.append((rel, chunk.start_line, chunk.end_line, chunk.kind, chunk.symbols))
                row = fts_row(rel, chunk, chunked.summary)
                self.db.execute(
                    f"INSERT INTO chunks(rowid, {columns}) VALUES (?, {placeholders})",
                    (len(self.rows), *row.values()),
                )

    def match(self, expression: str, depth: int) -> list[Candidate]:
        found = self.db.execute(
            f"SELECT rowid, bm25(chunks, {self.weights}) AS rank FROM chunks "
            "WHERE chunks MATCH ? ORDER BY rank LIMIT ?",
            (expression, depth),
        ).fetchall()
        out = []
        for rowid, bm25 in found:
            path, start, end, kind, symbols = self.rows[rowid - 1]
            out.append(Candidate(rowid, path, start, end, kind, symbols, -bm25))
        return out

    def search(self, query: str, limit: int) -> list[dict[str, Any]]:
        return [
            {"path": c.path, "start_line": c.start_line, "end_line": c.end_line}
            for c in lexical_search(query, self.match, limit=limit)
        ]


def run(root: Path, queries: Sequence[dict[str, Any]], limit: int) -> list[Any]:
    started = time.perf_counter()
    prototype = Prototype(root)
    print(
        f"indexed {len(prototype.rows)} chunks in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return [prototype.search(q["query"], limit) for q in queries]


def write_results(path: Path, queries: Iterable[dict[str, Any]], results: Sequence[Any]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for query, found in zip(queries, results, strict=True):
            out.write(json.dumps({"id": query["id"], "results": found}) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=Path, default=SHARED / "public.jsonl")
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--results", type=Path, default=CACHE / "RESULTS.jsonl")
    args = parser.parse_args()
    root = corpus()
    queries = [json.loads(line) for line in args.queries.read_text().splitlines() if line]
    results = run(root, queries, args.limit)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    write_results(args.results, queries, results)
    spans = [r["end_line"] - r["start_line"] + 1 for found in results for r in found]
    if spans:
        print(f"median range: {statistics.median(spans):.0f} lines")
    scored = subprocess.run(
        [
            sys.executable,
            str(SHARED / "eval.py"),
            str(args.queries),
            str(args.results),
            "--by-kind",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    print(scored.stdout, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
