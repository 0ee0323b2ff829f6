"""Searching the team's published code: PostgreSQL full-text plus pgvector KNN, fused.

The same hybrid ranking as local search (``indexer.fusion.fuse``, the lexical side
weighted up when the query names code): full-text candidates ranked by ``ts_rank_cd``
over the ``simple`` tsvector, semantic candidates by cosine through the HNSW index of the
embedder the repository was published with (``hnsw.iterative_scan`` so that row-level
security filtering after the index scan still fills the list), 50 of each. Without
pgvector, or with no query vector of that embedder, it is full-text alone. Row-level
security decides which repositories a role sees: the query needs no filter of its own.

    hits, mode = await search(conn, "retry back-off", vector=..., embedder="openai:...")
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from daemon.sync import schema

if TYPE_CHECKING:
    import asyncpg

_S = schema.SCHEMA
DEPTH = 50
_WORD = re.compile(r"[A-Za-z0-9_]+|[^\W\d_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class TeamHit:
    repository: str
    commit: str | None
    path: str
    start_line: int
    end_line: int
    symbol: str | None
    kind: str
    language: str | None
    score: float
    text: str
    author: str


def tsquery(query: str) -> str | None:
    """An OR of the query's terms (and their identifier parts) for ``to_tsquery('simple')``,
    or None when it has none. Only word characters reach it: no tsquery syntax."""
    from indexer.query import query_terms

    terms = [t for term in query_terms(query) for t in _WORD.findall(term.lower())]
    unique = list(dict.fromkeys(t for t in terms if t))
    return " | ".join(unique) if unique else None


async def lexical(
    conn: asyncpg.Connection, query: str, repositories: Sequence[str], depth: int = DEPTH
) -> list[tuple[int, float]]:
    expression = tsquery(query)
    if expression is None:
        return []
    # A security-definer function: it applies the read policy itself, so that the GIN
    # index serves the match (under row-level security it could not: migration 003).
    rows = await conn.fetch(
        f"SELECT id, rank FROM {_S}.search_code_text(to_tsquery('simple', $1), $2, $3)",
        expression,
        depth,
        list(repositories) or None,
    )
    return [(int(r["id"]), float(r["rank"])) for r in rows]


async def semantic(
    conn: asyncpg.Connection,
    vector: bytes,
    embedder: str,
    repositories: Sequence[str],
    depth: int = DEPTH,
) -> list[tuple[int, float]]:
    """Nearest published chunks of ``embedder`` by cosine; needs pgvector's codec on
    ``conn`` (``vectors.prepare``). The expression and predicate match the HNSW index
    ``ensure_code_index`` made, so the planner uses it."""
    dims = len(vector) // 4
    where = await conn.fetchval(
        "SELECT n.nspname FROM pg_catalog.pg_type t"
        " JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"
        " WHERE t.typname = 'vector' ORDER BY n.nspname = 'public' DESC LIMIT 1"
    )
    kind = "vector" if dims <= 2000 else "halfvec"
    typed = f'"{where}".{kind}({dims})'
    literal = "'" + embedder.replace("'", "''") + "'"
    async with contextlib.AsyncExitStack() as stack:
        if not conn.is_in_transaction():  # SET LOCAL needs one
            await stack.enter_async_context(conn.transaction(readonly=True))
        await conn.execute("SET LOCAL hnsw.ef_search = 100")
        await conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        rows = await conn.fetch(
            f"SELECT c.id, (c.embedding::{typed}) <=> $1::{typed} AS distance"
            f" FROM {_S}.code_chunks c WHERE c.embedder = {literal}"
            f" AND ($3::text[] IS NULL OR c.repo_id IN (SELECT id FROM {_S}.code_repos"
            " WHERE name = ANY($3::text[])))"
            f" ORDER BY (c.embedding::{typed}) <=> $1::{typed} LIMIT $2",
            vector,
            depth,
            list(repositories) or None,
        )
    found = [(int(r["id"]), 1.0 - float(r["distance"])) for r in rows]
    found.sort(key=lambda pair: -pair[1])  # relaxed order: nearly sorted
    return found


async def embedders(conn: asyncpg.Connection) -> dict[str, int]:
    """The embedders (and their dimensions) of the repositories this role can read."""
    rows = await conn.fetch(
        f"SELECT DISTINCT embedder, dims FROM {_S}.code_repos"
        " WHERE embedder IS NOT NULL AND dims IS NOT NULL"
    )
    return {str(r["embedder"]): int(r["dims"]) for r in rows}


async def search(
    conn: asyncpg.Connection,
    query: str,
    *,
    limit: int = 10,
    vector: bytes | None = None,
    embedder: str | None = None,
    repositories: Sequence[str] = (),
    vector_store: str | None = None,
) -> tuple[list[TeamHit], str]:
    """The best ``limit`` published chunks for ``query``, and the mode that ran
    (``hybrid`` or ``lexical``)."""
    from indexer.fusion import fuse, lexical_weight

    text_side = await lexical(conn, query, repositories)
    near: list[tuple[int, float]] = []
    mode = "lexical"
    if vector is not None and embedder is not None and vector_store == "vector":
        near = await semantic(conn, vector, embedder, repositories)
        mode = "hybrid"
    ranked = fuse(text_side, near, limit=limit, lexical_weight=lexical_weight(query))
    if not ranked:
        return [], mode
    rows = await conn.fetch(
        "SELECT c.id, r.name, r.commit, c.path, c.start_line, c.end_line, c.symbol, c.kind,"
        f" c.language, c.text, c.owner FROM {_S}.code_chunks c"
        f" JOIN {_S}.code_repos r ON r.id = c.repo_id WHERE c.id = ANY($1::bigint[])",
        [chunk_id for chunk_id, _ in ranked],
    )
    by_id = {int(r["id"]): r for r in rows}
    hits = []
    for chunk_id, score in ranked:
        r = by_id.get(chunk_id)
        if r is None:
            continue
        hits.append(
            TeamHit(
                repository=str(r["name"]),
                commit=r["commit"],
                path=str(r["path"]),
                start_line=int(r["start_line"]),
                end_line=int(r["end_line"]),
                symbol=r["symbol"],
                kind=str(r["kind"]),
                language=r["language"],
                score=round(float(score), 4),
                text=str(r["text"]),
                author=str(r["owner"]),
            )
        )
    return hits, mode
