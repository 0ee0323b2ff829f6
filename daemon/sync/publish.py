"""Publishing a repository's index to the team (``deputydev index --publish``, ``[sync]
publish``): chunk metadata, redacted text, a tsvector and the vectors, in PostgreSQL.

A repository is one ``code_repos`` row per (team, name), owned by whoever published it
first; only its owner republishes it. Each file is a ``code_files`` row holding the hash
it was published at (with ``+v`` once every chunk of it had a vector), so republishing
after a push sends only the files whose hash changed and deletes those gone, each batch of
files in one transaction (a file's old chunks and its new ones change together).

What is sent: never a secret file (``solver.tools.secret_patterns``, whatever
``allow_secret_files`` says), and every chunk's text and symbol through the sync redactor;
a chunk that redaction changed goes with the hash of its redacted text and no vector (the
vector was made from the secret). The tsvector is made on the server, with the
``simple`` configuration (no stemming: identifiers stay as written), from the symbol, the
path and the text, plus the parts of compound identifiers (``indexer.query.index_terms``),
the symbol and path weighted ``A``.

    summary = await publish(conn, index, name="payments", team="backend", commit="9f2c...",
                            redactor=Redactor(), secret_patterns=DEFAULT_SECRET_PATTERNS)
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from daemon.errors import SyncError
from daemon.sync import schema
from daemon.sync.redact import Redactor
from daemon.sync.vectors import TEAM_INDEX_VERSION, prepare, secret_file

if TYPE_CHECKING:
    import asyncpg

_S = schema.SCHEMA
BATCH_FILES = 100
_PATH_WORDS = re.compile(r"[^A-Za-z0-9]+")


class PublishError(SyncError):
    """The repository cannot be published as asked (someone else's, no schema, ...)."""


class Exportable(Protocol):
    """What publishing needs of an index (``indexer.index.Index``)."""

    root: Path

    async def file_hashes(self) -> list[tuple[str, str, str | None]]: ...

    async def export_chunks(
        self, paths: Sequence[str]
    ) -> list[tuple[str, int, int, str, tuple[str, ...], str, str, bytes | None]]: ...


@dataclass(frozen=True, slots=True)
class PublishSummary:
    repository: str
    team: str
    commit: str | None
    files: int  # published files now
    sent: int  # files sent (new or changed)
    removed: int
    unchanged: int
    chunks: int  # chunks sent
    vectors: int  # of which with a vector
    seconds: float
    vector_store: str  # pgvector | bytea


def _head(path: str, symbols: Sequence[str]) -> str:
    from indexer.query import index_terms

    names = " ".join(symbols)
    return f"{names} {index_terms(names)} {_PATH_WORDS.sub(' ', path)}"


def _body(text: str) -> str:
    from indexer.query import index_terms

    return f"{text} {index_terms(text)}"


def _clean(text: str) -> str:
    return text.replace("\x00", "")  # PostgreSQL text holds no NUL


async def _repo(
    conn: asyncpg.Connection,
    *,
    name: str,
    team: str,
    readers: str | None,
    embedder: str | None,
) -> tuple[uuid.UUID, str | None]:
    """The repository's id (made on first publish) and the embedder it was published with."""
    import asyncpg

    row = await conn.fetchrow(
        f"SELECT id, owner, embedder FROM {_S}.code_repos WHERE team = $1 AND name = $2",
        team,
        name,
    )
    me = await conn.fetchval("SELECT current_user")
    if row is not None and row["owner"] != me:
        raise PublishError(
            f"repository {name!r} of team {team!r} is published by {row['owner']!r}; only"
            " its owner republishes it (publish under another name with --name)",
            repository=name,
            owner=row["owner"],
        )
    if row is None:
        repo_id = uuid.uuid4()
        try:
            async with conn.transaction():
                await conn.execute(
                    f"INSERT INTO {_S}.code_repos (id, team, name, readers, embedder)"
                    " VALUES ($1, $2, $3, $4, $5)",
                    repo_id,
                    team,
                    name,
                    readers,
                    embedder,
                )
        except asyncpg.UniqueViolationError:
            raise PublishError(
                f"repository {name!r} of team {team!r} is already published by someone"
                " else (publish under another name with --name)",
                repository=name,
            ) from None
        except asyncpg.InsufficientPrivilegeError as exc:
            raise PublishError(
                f"cannot publish to team {team!r}: is this role a member of it? ({exc})",
                team=team,
            ) from exc
        return repo_id, embedder
    repo_id = row["id"]
    async with conn.transaction():
        await conn.execute(
            f"UPDATE {_S}.code_repos SET readers = $2 WHERE id = $1", repo_id, readers
        )
        for table in ("code_files", "code_chunks"):
            await conn.execute(
                f"UPDATE {_S}.{table} SET readers = $2 WHERE repo_id = $1"
                " AND readers IS DISTINCT FROM $2",
                repo_id,
                readers,
            )
    return repo_id, row["embedder"]


async def publish(
    conn: asyncpg.Connection,
    index: Exportable,
    *,
    name: str,
    team: str,
    commit: str | None,
    embedder: str | None,
    redactor: Redactor,
    secret_patterns: Sequence[str],
    readers: str | None = None,
    batch_files: int = BATCH_FILES,
    progress: Callable[[int, int], None] | None = None,
) -> PublishSummary:
    started = time.perf_counter()
    version = await schema.check(conn)
    if version < TEAM_INDEX_VERSION:
        await schema.migrate(conn)
    kind = await prepare(conn)
    assert kind is not None
    vtype = "bytea" if kind == "bytea" else await _vector_type(conn)
    repo_id, published_with = await _repo(
        conn, name=name, team=team, readers=readers, embedder=embedder
    )
    local = {
        path: (digest, language)
        for path, digest, language in await index.file_hashes()
        if not secret_file(path, secret_patterns)
    }
    server = {
        str(r["path"]): str(r["hash"])
        for r in await conn.fetch(
            f"SELECT path, hash FROM {_S}.code_files WHERE repo_id = $1", repo_id
        )
    }
    resend_all = published_with != embedder
    todo = [
        p
        for p, (digest, _) in local.items()
        if resend_all or server.get(p) not in (digest, digest + "+v")
    ]
    removed = [p for p in server if p not in local]
    sent_chunks = sent_vectors = 0
    dims: int | None = None
    if removed:
        async with conn.transaction():
            await conn.execute(
                f"DELETE FROM {_S}.code_files WHERE repo_id = $1 AND path = ANY($2::text[])",
                repo_id,
                removed,
            )
    if progress is not None:
        progress(0, len(todo))
    for start in range(0, len(todo), batch_files):
        paths = todo[start : start + batch_files]
        chunks = await index.export_chunks(paths)
        files: dict[str, bool] = {p: True for p in paths}  # every chunk has a vector
        cols: tuple[list[object], ...] = tuple([] for _ in range(11))
        for path, first, last, chunk_kind, symbols, digest, text, vector in chunks:
            clean = redactor.text(_clean(text))
            if clean != text:
                digest = hashlib.sha256(clean.encode()).hexdigest()
                vector = None
            symbol = redactor.text(_clean(symbols[0])) if symbols else None
            if vector is None:
                files[path] = False
            else:
                dims = len(vector) // 4
                sent_vectors += 1
            row = (path, first, last, symbol, chunk_kind, local[path][1], digest, clean)
            for col, value in zip(cols, row, strict=False):
                col.append(value)
            cols[8].append(_clean(_head(path, [redactor.text(s) for s in symbols])))
            cols[9].append(_clean(_body(clean)))
            cols[10].append(vector)
        async with conn.transaction():
            await conn.execute(
                f"DELETE FROM {_S}.code_files WHERE repo_id = $1 AND path = ANY($2::text[])",
                repo_id,
                paths,
            )
            await conn.execute(
                f"INSERT INTO {_S}.code_files (repo_id, path, hash, language, commit, team,"
                " readers) SELECT $1, u.p, u.h, u.l, $2, $3, $4"
                " FROM unnest($5::text[], $6::text[], $7::text[]) AS u(p, h, l)",
                repo_id,
                commit,
                team,
                readers,
                paths,
                [local[p][0] + ("+v" if files[p] and embedder else "") for p in paths],
                [local[p][1] for p in paths],
            )
            await conn.execute(
                f"INSERT INTO {_S}.code_chunks (repo_id, path, commit, start_line, end_line,"
                " symbol, kind, language, content_hash, text, tsv, embedder, team, readers,"
                " embedding)"
                " SELECT $1, u.path, $2, u.s, u.e, u.sym, u.kind, u.lang, u.h, u.text,"
                " setweight(to_tsvector('simple', u.head), 'A')"
                " || to_tsvector('simple', u.body),"
                " CASE WHEN u.v IS NULL THEN NULL ELSE $3 END, $4, $5, u.v"
                " FROM unnest($6::text[], $7::int[], $8::int[], $9::text[], $10::text[],"
                f" $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],"
                f" $16::{vtype}[])"
                " AS u(path, s, e, sym, kind, lang, h, text, head, body, v)",
                repo_id,
                commit,
                embedder,
                team,
                readers,
                *cols,
            )
        sent_chunks += len(chunks)
        if progress is not None:
            progress(min(start + batch_files, len(todo)), len(todo))
    if dims is not None and embedder and kind == "vector":
        await conn.fetchval(f"SELECT {_S}.ensure_code_index($1, $2)", embedder, dims)
    totals = await conn.fetchrow(
        f"SELECT (SELECT count(*) FROM {_S}.code_files WHERE repo_id = $1) AS files,"
        f" (SELECT count(*) FROM {_S}.code_chunks WHERE repo_id = $1) AS chunks",
        repo_id,
    )
    assert totals is not None
    await conn.execute(
        f"UPDATE {_S}.code_repos SET commit = $2, embedder = $3,"
        " dims = COALESCE($4, dims), files = $5, chunks = $6, published_at = now()"
        " WHERE id = $1",
        repo_id,
        commit,
        embedder,
        dims,
        totals["files"],
        totals["chunks"],
    )
    return PublishSummary(
        repository=name,
        team=team,
        commit=commit,
        files=int(totals["files"]),
        sent=len(todo),
        removed=len(removed),
        unchanged=len(local) - len(todo),
        chunks=sent_chunks,
        vectors=sent_vectors,
        seconds=time.perf_counter() - started,
        vector_store="pgvector" if kind == "vector" else "bytea",
    )


async def _vector_type(conn: asyncpg.Connection) -> str:
    where = await conn.fetchval(
        "SELECT n.nspname FROM pg_catalog.pg_type t"
        " JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"
        " WHERE t.typname = 'vector' ORDER BY n.nspname = 'public' DESC LIMIT 1"
    )
    return f'"{where}".vector'
