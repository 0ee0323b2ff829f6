"""Chunking speed and shape on the retrieval corpus (the CPython standard library).

Prints lines per second of ``chunk_file`` (parse, symbols, chunks, hashes: everything
the index does per file before SQL), the share spent in tree-sitter's parser, and the
distribution of chunk lengths.

    python bench/chunking.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.retrieval import corpus  # noqa: E402
from indexer.chunking import _parser_and_query, chunk_file  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = [
        (path.relative_to(corpus()).as_posix(), path.read_text(encoding="utf-8", errors="replace"))
        for path in sorted(corpus().rglob("*.py"))
    ]
    lines = sum(text.count("\n") + 1 for _, text in files)
    chunk_file("warm.py", "def f():\n    pass\n")

    totals, parses = [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        chunked = [chunk_file(path, text) for path, text in files]
        totals.append(time.perf_counter() - started)
        python_parser, _ = _parser_and_query("python")
        started = time.perf_counter()
        for _, text in files:
            python_parser.parse(text.encode("utf-8", "surrogatepass"))
        parses.append(time.perf_counter() - started)

    total, parse = min(totals), min(parses)
    lengths = sorted(c.end_line - c.start_line + 1 for f in chunked for c in f.chunks)
    symbols = sum(len(f.symbols) for f in chunked)
    print(f"files {len(files)}  lines {lines}  chunks {len(lengths)}  symbols {symbols}")
    print(
        f"chunk_file: {total:.2f} s ({lines / total / 1000:.0f}k lines/s), "
        f"of which tree-sitter parse {parse:.2f} s ({parse / total:.0%})"
    )
    print(
        f"chunk lines: median {statistics.median(lengths):.0f}, "
        f"p90 {lengths[int(len(lengths) * 0.9)]}, max {lengths[-1]}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
