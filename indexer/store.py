"""The index database of one workspace root: the only module with SQL.

Tables (see ``migrations.py``): ``files`` (path, size, mtime, content hash), ``chunks``
(lines, kind, symbol names, content hash, text), ``symbols`` (every definition),
``chunks_fts`` (FTS5 over each chunk, rowid = chunk id, columns and tokenizer as
``ranking.py`` measured them), ``embeddings`` (vectors by content hash and embedder) and,
when sqlite-vec loads, ``chunk_vectors`` (vec0, rowid = chunk id, cosine distance).

A chunk's text is stored once: ``chunks_fts`` is contentless (its index and column sizes,
all that MATCH and bm25() read), and ``chunks.text`` holds the text zlib-compressed
(``pack_text``; a text column written before that is read as it is).  On the 265 MB
corpus of ``bench/scale.py`` that took the database from 3.9x the source to about 1x.

A :class:`Store` wraps one connection and is used by one thread at a time (the index
keeps a writer and a reader).  Writes of many files go in one ``transaction()``: a file's
old rows and its new ones change together, so a process killed at any moment leaves the
last committed state, which the next run brings up to date by comparing hashes.

    store = Store.open(path, driver())
    with store.transaction():
        store.replace_file(prepared)
    found = store.match('"parse"', 200, file_ids=None)
"""

from __future__ import annotations

import json
import re
import sqlite3
import struct
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.chunking import Chunk, Symbol
from indexer.migrations import migrate
from indexer.ranking import COLUMN_WEIGHTS, FTS_TOKENIZE, Candidate
from indexer.sqlite import Driver, connect
from indexer.vectors import QuantisedVectors

__all__ = [
    "ChunkRow",
    "FileState",
    "PreparedFile",
    "Store",
    "SymbolRow",
]

_FTS_COLUMNS = ", ".join(COLUMN_WEIGHTS)
_FTS_PLACEHOLDERS = ", ".join("?" for _ in COLUMN_WEIGHTS)
# Symbol names of a chunk are stored joined by this (names never contain it).
_SEP = "\x1f"


@dataclass(frozen=True, slots=True)
class PreparedFile:
    """A file read, hashed and chunked, with its FTS rows: ready to be written."""

    path: str
    language: str | None
    size: int
    mtime_ns: int
    hash: str
    chunks: tuple[Chunk, ...]
    symbols: tuple[Symbol, ...]
    fts: tuple[tuple[str, ...], ...]  # one row per chunk, in COLUMN_WEIGHTS order
    packed: tuple[bytes, ...] = ()  # pack_text of each chunk's text, when made already


@dataclass(frozen=True, slots=True)
class FileState:
    id: int
    size: int
    mtime_ns: int
    hash: str


@dataclass(frozen=True, slots=True)
class ChunkRow:
    id: int
    path: str
    language: str | None
    start_line: int
    end_line: int
    kind: str
    symbols: tuple[str, ...]
    text: str


@dataclass(frozen=True, slots=True)
class SymbolRow:
    id: int
    path: str
    language: str | None
    name: str
    kind: str
    container: str | None
    start_line: int
    end_line: int


def pack_text(text: str) -> bytes:
    """A chunk's text as stored: zlib at level 1 (code shrinks 3-4x; level 6 saved 10%
    more for three times the CPU)."""
    return zlib.compress(text.encode("utf-8", "surrogatepass"), 1)


def unpack_text(value: str | bytes) -> str:
    if isinstance(value, str):
        return value
    return zlib.decompress(value).decode("utf-8", "surrogatepass")


def pack_vector(vector: Sequence[float]) -> bytes:
    return struct.pack(f"{len(vector)}f", *vector)


# Pruned MATCHes (``Store._pruned``): above this many chunks; a word in more than this
# share of them is common; rows the rare words may match; candidates scored exactly.
PRUNE_ABOVE = 50_000
COMMON_SHARE = 0.005
STAGE_ONE_ROWS = 20_000
CANDIDATES = 1_000
_QUOTED = re.compile(r'"([^"]*)"')

# Up to this many floats (64 MB) the vectors are held as they are; above, quantised
# (``vectors.QuantisedVectors``: 433 bytes a vector of 384 floats instead of 1,536), up
# to QUANTISED_MAX_FLOATS (about 1.1 GB of them), beyond which vec0 answers every query.
MATRIX_MAX_FLOATS = 16_000_000
QUANTISED_MAX_FLOATS = 2_500_000_000


class VectorMatrix:
    """Every vector of ``chunk_vectors`` as rows of a normalised float32 matrix."""

    def __init__(self, ids: Any, rows: Any, version: int) -> None:
        self.ids = ids
        self.rows = rows
        self.version = version

    @classmethod
    def load(cls, conn: Any, version: int) -> VectorMatrix | QuantisedVectors | None:
        """None when numpy is missing or the vectors are too many to hold."""
        try:
            import numpy as np
        except ImportError:
            return None
        row = conn.execute("SELECT value FROM meta WHERE key = 'vector_dimensions'").fetchone()
        dims = int(row[0]) if row is not None else 0
        (count,) = conn.execute("SELECT COUNT(*) FROM chunks WHERE has_vector = 1").fetchone()
        if dims <= 0 or count * dims > QUANTISED_MAX_FLOATS:
            return None
        rows = conn.execute("SELECT rowid, embedding FROM chunk_vectors")
        if count * dims > MATRIX_MAX_FLOATS:
            return QuantisedVectors.build(rows, count, dims, version)
        ids: list[int] = []
        blobs = bytearray()
        for rowid, blob in rows:
            ids.append(int(rowid))
            blobs += blob
        matrix = np.frombuffer(bytes(blobs), dtype=np.float32).reshape(len(ids), dims).copy()
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        matrix /= np.where(norms == 0, 1.0, norms)
        return cls(np.asarray(ids, dtype=np.int64), matrix, version)

    def nearest(self, vector: bytes, k: int) -> list[tuple[int, float]]:
        import numpy as np

        if len(self.ids) == 0 or k < 1:
            return []
        query = np.frombuffer(vector, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        scores = self.rows @ (query / norm if norm else query)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in top]


class Store:
    def __init__(self, conn: sqlite3.Connection, driver: Driver, path: Path | None = None) -> None:
        self.conn = conn
        self.driver = driver
        self.path = path
        self._matrix: VectorMatrix | QuantisedVectors | None = None
        self._seen_version: int | None = None
        # (chunk ids when read, common terms) for pruned MATCHes; the stemming table made.
        self._common: tuple[int, dict[str, int]] | None = None
        self._stemmer = False

    @classmethod
    def open(cls, path: Path, driver: Driver) -> Store:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect(path, driver)
        try:
            migrate(conn)
        except BaseException:
            conn.close()
            raise
        return cls(conn, driver, path)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # ---- meta

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # ---- files

    def file_states(self) -> dict[str, FileState]:
        rows = self.conn.execute("SELECT path, id, size, mtime_ns, hash FROM files")
        return {path: FileState(id_, size, mtime, h) for path, id_, size, mtime, h in rows}

    def files(self) -> list[tuple[int, str, str | None]]:
        """(id, path, language) of every indexed file."""
        return list(self.conn.execute("SELECT id, path, language FROM files ORDER BY path"))

    def file_hashes(self) -> list[tuple[str, str, str | None]]:
        """(path, content hash, language) of every indexed file."""
        return list(self.conn.execute("SELECT path, hash, language FROM files ORDER BY path"))

    def export_chunks(
        self, paths: Sequence[str], embedder: str | None
    ) -> list[tuple[str, int, int, str, tuple[str, ...], str, str, bytes | None]]:
        """(path, start, end, kind, symbols, content hash, text, vector or None) of the
        chunks of ``paths``, the vectors ``embedder``'s."""
        if not paths:
            return []
        rows = self.conn.execute(
            "SELECT f.path, c.start_line, c.end_line, c.kind, c.symbols, c.content_hash,"
            " c.text, e.vector FROM chunks c JOIN files f ON f.id = c.file_id"
            " LEFT JOIN embeddings e ON e.content_hash = c.content_hash AND e.embedder = ?"
            " WHERE f.path IN (SELECT value FROM json_each(?)) ORDER BY f.path, c.start_line",
            (embedder or "", json.dumps(list(paths))),
        )
        return [
            (p, a, b, k, _names(sy), h, unpack_text(t), None if v is None else bytes(v))
            for p, a, b, k, sy, h, t, v in rows
        ]

    def touch_file(self, path: str, size: int, mtime_ns: int) -> None:
        """Same content, new stat: remember it so the next run costs a stat, not a read."""
        self.conn.execute(
            "UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?", (size, mtime_ns, path)
        )

    def delete_file(self, path: str) -> None:
        row = self.conn.execute("SELECT id FROM files WHERE path = ?", (path,)).fetchone()
        if row is not None:
            self._delete_rows(row[0])
            self.conn.execute("DELETE FROM files WHERE id = ?", (row[0],))

    def _delete_rows(self, file_id: int) -> None:
        ids = "SELECT id FROM chunks WHERE file_id = ?"
        self.conn.execute(f"DELETE FROM chunks_fts WHERE rowid IN ({ids})", (file_id,))
        if self.has_vector_table():
            self.conn.execute(f"DELETE FROM chunk_vectors WHERE rowid IN ({ids})", (file_id,))
        self.conn.execute("DELETE FROM chunks WHERE file_id = ?", (file_id,))
        self.conn.execute("DELETE FROM symbols WHERE file_id = ?", (file_id,))

    def clear(self) -> None:
        """Forget every file (call inside a transaction); cached vectors stay."""
        row = self.conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'chunks_fts'"
        ).fetchone()
        if row is not None and "content=''" in row[0]:
            self.conn.execute("INSERT INTO chunks_fts (chunks_fts) VALUES ('delete-all')")
        else:  # an SQLite older than 3.43 keeps the content (migrations.m004)
            self.conn.execute("DELETE FROM chunks_fts")
        if self.has_vector_table():
            self.conn.execute("DELETE FROM chunk_vectors")
        self.conn.execute("DELETE FROM symbols")
        self.conn.execute("DELETE FROM chunks")
        self.conn.execute("DELETE FROM files")

    def replace_file(self, prepared: PreparedFile) -> None:
        """The file's rows become ``prepared``'s (call inside a transaction)."""
        row = self.conn.execute("SELECT id FROM files WHERE path = ?", (prepared.path,)).fetchone()
        if row is None:
            cursor = self.conn.execute(
                "INSERT INTO files (path, language, size, mtime_ns, hash) VALUES (?, ?, ?, ?, ?)",
                (prepared.path, prepared.language, prepared.size, prepared.mtime_ns, prepared.hash),
            )
            file_id = cursor.lastrowid
            assert file_id is not None
        else:
            file_id = int(row[0])
            self._delete_rows(file_id)
            self.conn.execute(
                "UPDATE files SET language = ?, size = ?, mtime_ns = ?, hash = ? WHERE id = ?",
                (prepared.language, prepared.size, prepared.mtime_ns, prepared.hash, file_id),
            )
        insert_chunk = (
            "INSERT INTO chunks (file_id, start_line, end_line, kind, symbols, content_hash, text)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
        )
        insert_fts = (
            f"INSERT INTO chunks_fts (rowid, {_FTS_COLUMNS}) VALUES (?, {_FTS_PLACEHOLDERS})"
        )
        packed = prepared.packed or tuple(pack_text(c.text) for c in prepared.chunks)
        for chunk, fts, text in zip(prepared.chunks, prepared.fts, packed, strict=True):
            cursor = self.conn.execute(
                insert_chunk,
                (
                    file_id,
                    chunk.start_line,
                    chunk.end_line,
                    chunk.kind,
                    _SEP.join(chunk.symbols),
                    chunk.content_hash,
                    text,
                ),
            )
            self.conn.execute(insert_fts, (cursor.lastrowid, *fts))
        self.conn.executemany(
            "INSERT INTO symbols (file_id, name, kind, container, start_line, end_line)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (file_id, s.name, s.kind, s.container, s.start_line, s.end_line)
                for s in prepared.symbols
            ],
        )

    # ---- reading

    def counts(self) -> dict[str, int]:
        out = {}
        for name, sql in (
            ("files", "SELECT count(*) FROM files"),
            ("chunks", "SELECT count(*) FROM chunks"),
            ("symbols", "SELECT count(*) FROM symbols"),
            ("vectors", "SELECT count(*) FROM chunks WHERE has_vector = 1"),
        ):
            out[name] = int(self.conn.execute(sql).fetchone()[0])
        out["vectors_pending"] = out["chunks"] - out["vectors"]
        out["vectors_unshared"] = self.outbox_pending()
        return out

    def match(
        self, expression: str, depth: int, file_ids: Sequence[int] | None = None
    ) -> list[Candidate]:
        """The chunks an FTS5 MATCH finds, best first, scored -bm25(); ``file_ids``
        restricts them to those files (path and language filters)."""
        weights = ", ".join(str(float(w)) for w in COLUMN_WEIGHTS.values())
        if file_ids is None:
            # FTS alone, then the rows by id: joining inside the ranked query doubled
            # its time on the stdlib corpus (3.7 -> 7.8 ms median).
            found = self._pruned(expression, depth, weights)
            if found is None:
                found = self.conn.execute(
                    f"SELECT rowid, bm25(chunks_fts, {weights}) AS rank FROM chunks_fts"
                    " WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?",
                    (expression, depth),
                ).fetchall()
            rows = self._candidate_rows([rowid for rowid, _ in found])
            return [Candidate(rowid, *rows[rowid], -rank) for rowid, rank in found if rowid in rows]
        sql = (
            f"SELECT c.id, f.path, c.start_line, c.end_line, c.kind, c.symbols,"
            f" bm25(chunks_fts, {weights}) AS rank"
            " FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid"
            " JOIN files f ON f.id = c.file_id WHERE chunks_fts MATCH ?"
            " AND c.file_id IN (SELECT value FROM json_each(?)) ORDER BY rank LIMIT ?"
        )
        return [
            Candidate(id_, path, start, end, kind, _names(symbols), -rank)
            for id_, path, start, end, kind, symbols, rank in self.conn.execute(
                sql, (expression, json.dumps(list(file_ids)), depth)
            )
        ]

    def _pruned(self, expression: str, depth: int, weights: str) -> list[tuple[int, float]] | None:
        """The best ``depth`` rows of a MATCH over a large index, scoring only likely ones;
        None when the index is small or nothing can be left out.

        bm25() costs about 2 us a row, and an OR of common words matches half of a
        200,000-chunk index: 100-350 ms a query.  The query's rarest words (those in at
        most ``COMMON_SHARE`` of the chunks, then the next rarest while the rows they
        match stay under ``STAGE_ONE_ROWS``) find ``CANDIDATES`` rows, ranked by their
        own bm25(); then the whole expression scores those alone, exactly as it would
        have (the IDF of every word is the whole index's), the others never scored.
        A chunk that holds only the common words of the query is left out: with
        ``PRUNE_ABOVE`` chunks and more, their IDF is low and such a chunk rarely wins.
        """
        terms = _QUOTED.findall(expression)
        if len(terms) < 2 or expression != " OR ".join(f'"{t}"' for t in terms):
            return None
        common = self._common_terms()
        if common is None:
            return None
        stems = self._stems(terms)
        df = {t: common.get(stems.get(t, t), 0) for t in terms}
        chosen: list[str] = []
        rows = 0
        for term in sorted(terms, key=lambda t: df[t]):
            if chosen and rows + df[term] > STAGE_ONE_ROWS:
                break
            chosen.append(term)
            rows += df[term]
        if len(chosen) == len(terms):
            return None
        first = " OR ".join(f'"{t}"' for t in chosen)
        candidates = [
            rowid
            for (rowid,) in self.conn.execute(
                f"SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?"
                f" ORDER BY bm25(chunks_fts, {weights}) LIMIT ?",
                (first, max(CANDIDATES, depth)),
            )
        ]
        # `+rowid`: not a constraint FTS5 sees (it would run the MATCH once per id), but
        # a filter on its rows before bm25() is computed for them.
        found: list[tuple[int, float]] = self.conn.execute(
            f"SELECT rowid, bm25(chunks_fts, {weights}) AS rank FROM chunks_fts"
            " WHERE chunks_fts MATCH ? AND +rowid IN (SELECT value FROM json_each(?))"
            " ORDER BY rank LIMIT ?",
            (expression, json.dumps(candidates), depth),
        ).fetchall()
        return found

    def warm(self) -> None:
        """Read what a pruned MATCH needs (nothing on a small index)."""
        self._common_terms()

    def _common_terms(self) -> dict[str, int] | None:
        """Indexed terms (stems) in more than ``COMMON_SHARE`` of the chunks, with their
        chunk counts; None below ``PRUNE_ABOVE`` chunks.  Read from the FTS vocabulary
        (about a second on a 200,000-chunk index), again when the chunk count has moved
        by a fifth."""
        (total,) = self.conn.execute("SELECT max(id) FROM chunks").fetchone()
        total = int(total or 0)
        if total < PRUNE_ABOVE:
            return None
        known = self._common
        if known is not None and abs(known[0] - total) <= known[0] // 5:
            return known[1]
        self.conn.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunks_vocab"
            " USING fts5vocab(main, chunks_fts, row)"
        )
        (count,) = self.conn.execute("SELECT count(*) FROM chunks").fetchone()
        floor = int(count * COMMON_SHARE)
        terms = {
            term: int(doc)
            for term, doc in self.conn.execute(
                "SELECT term, doc FROM temp.chunks_vocab WHERE doc > ?", (floor,)
            )
        }
        self._common = (total, terms)
        return terms

    def _stems(self, terms: Sequence[str]) -> dict[str, str]:
        """Each term as the FTS tokenizer indexes it (``parsing`` -> ``pars``), through a
        temporary table of this connection with the same tokenizer."""
        if not self._stemmer:
            self.conn.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.stemmer USING fts5(word,"
                f" tokenize='{FTS_TOKENIZE}')"
            )
            self.conn.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.stemmer_vocab"
                " USING fts5vocab(temp, stemmer, instance)"
            )
            self._stemmer = True
        self.conn.execute("DELETE FROM temp.stemmer")
        self.conn.executemany(
            "INSERT INTO temp.stemmer (rowid, word) VALUES (?, ?)", list(enumerate(terms))
        )
        stems: dict[str, str] = {}
        for stem, row in self.conn.execute("SELECT term, doc FROM temp.stemmer_vocab"):
            stems.setdefault(terms[int(row)], stem)
        return stems

    def _candidate_rows(
        self, ids: Sequence[int]
    ) -> dict[int, tuple[str, int, int, str, tuple[str, ...]]]:
        if not ids:
            return {}
        rows = self.conn.execute(
            "SELECT c.id, f.path, c.start_line, c.end_line, c.kind, c.symbols"
            " FROM chunks c JOIN files f ON f.id = c.file_id"
            " WHERE c.id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(ids)),),
        )
        return {r[0]: (r[1], r[2], r[3], r[4], _names(r[5])) for r in rows}

    def chunks(self, ids: Iterable[int]) -> dict[int, ChunkRow]:
        wanted = list(ids)
        if not wanted:
            return {}
        rows = self.conn.execute(
            "SELECT c.id, f.path, f.language, c.start_line, c.end_line, c.kind, c.symbols, c.text"
            " FROM chunks c JOIN files f ON f.id = c.file_id"
            " WHERE c.id IN (SELECT value FROM json_each(?))",
            (json.dumps(wanted),),
        )
        return {
            r[0]: ChunkRow(r[0], r[1], r[2], r[3], r[4], r[5], _names(r[6]), unpack_text(r[7]))
            for r in rows
        }

    def symbols(self, like: Sequence[Sequence[str]] = ()) -> list[SymbolRow]:
        """Definitions, all of them or those whose name is LIKE every pattern of at
        least one group of ``like`` (case-insensitive for ASCII, as LIKE is)."""
        sql = (
            "SELECT s.id, f.path, f.language, s.name, s.kind, s.container, s.start_line,"
            " s.end_line FROM symbols s JOIN files f ON f.id = s.file_id"
        )
        groups = [list(g) for g in like if g]
        params: list[str] = []
        if groups:
            sql += " WHERE " + " OR ".join(
                "(" + " AND ".join("s.name LIKE ? ESCAPE '\\'" for _ in g) + ")" for g in groups
            )
            params = [p for g in groups for p in g]
        return [SymbolRow(*r) for r in self.conn.execute(sql, params)]

    def definitions(self, names: Sequence[str], per_name: int) -> list[tuple[SymbolRow, ChunkRow]]:
        """Definitions named exactly one of ``names`` (case-sensitive), at most ``per_name``
        of each, with the innermost chunk each starts in: one query for all the names."""
        rows = self.conn.execute(
            "SELECT s.id, f.path, f.language, s.name, s.kind, s.container, s.start_line,"
            " s.end_line, c.id, c.start_line, c.end_line, c.kind, c.symbols, c.text"
            " FROM symbols s JOIN files f ON f.id = s.file_id"
            " JOIN chunks c ON c.file_id = s.file_id"
            " AND c.start_line <= s.start_line AND c.end_line >= s.start_line"
            " WHERE s.name IN (SELECT value FROM json_each(?))"
            " ORDER BY s.name, f.path, s.start_line, c.end_line - c.start_line",
            (json.dumps(list(names)),),
        )
        out: list[tuple[SymbolRow, ChunkRow]] = []
        seen: set[int] = set()
        count: dict[str, int] = {}
        for r in rows:
            if r[0] in seen or count.get(r[3], 0) >= per_name:
                continue  # a wider chunk of a symbol already placed, or enough of this name
            seen.add(r[0])
            count[r[3]] = count.get(r[3], 0) + 1
            symbol = SymbolRow(*r[:8])
            chunk = ChunkRow(
                r[8], r[1], r[2], r[9], r[10], r[11], _names(r[12]), unpack_text(r[13])
            )
            out.append((symbol, chunk))
        return out

    def symbol_names(self) -> list[str]:
        """Every distinct name of a definition."""
        return [name for (name,) in self.conn.execute("SELECT DISTINCT name FROM symbols")]

    def symbols_named(self, names: Sequence[str]) -> list[SymbolRow]:
        """The definitions of these names."""
        if not names:
            return []
        rows = self.conn.execute(
            "SELECT s.id, f.path, f.language, s.name, s.kind, s.container, s.start_line,"
            " s.end_line FROM symbols s JOIN files f ON f.id = s.file_id"
            " WHERE s.name IN (SELECT value FROM json_each(?))",
            (json.dumps(list(names)),),
        )
        return [SymbolRow(*r) for r in rows]

    def chunk_at(self, path: str, line: int) -> int | None:
        """The chunk of ``path`` that holds ``line`` (the innermost when several do)."""
        row = self.conn.execute(
            "SELECT c.id FROM chunks c JOIN files f ON f.id = c.file_id"
            " WHERE f.path = ? AND c.start_line <= ? AND c.end_line >= ?"
            " ORDER BY c.end_line - c.start_line LIMIT 1",
            (path, line, line),
        ).fetchone()
        return None if row is None else int(row[0])

    # ---- vectors

    def has_vector_table(self) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'chunk_vectors'"
        ).fetchone()
        return row is not None

    def vector_table(self) -> tuple[str, int] | None:
        """(embedder key, dimensions) of the vectors held, or None."""
        key, dims = self.get_meta("vector_embedder"), self.get_meta("vector_dimensions")
        if key is None or dims is None or not self.has_vector_table():
            return None
        return key, int(dims)

    def reset_vectors(self, embedder: str, dimensions: int) -> None:
        """Make ``chunk_vectors`` hold ``embedder``'s vectors (call inside a transaction);
        a different embedder or width drops the old ones (the cache keeps them)."""
        if self.vector_table() == (embedder, dimensions):
            return
        if not self.driver.vectors:
            raise RuntimeError("sqlite-vec is not loaded: " + self.driver.vectors_reason)
        self.conn.execute("DROP TABLE IF EXISTS chunk_vectors")
        self.conn.execute(
            "CREATE VIRTUAL TABLE chunk_vectors USING vec0("
            f"embedding float[{int(dimensions)}] distance_metric=cosine)"
        )
        self.conn.execute("UPDATE chunks SET has_vector = 0 WHERE has_vector = 1")
        self.set_meta("vector_embedder", embedder)
        self.set_meta("vector_dimensions", str(dimensions))

    def forget_vectors(self) -> None:
        """Mark every chunk as lacking its vector, so that all are made again (the first
        new batch replaces the table: ``reset_vectors``)."""
        self.conn.execute("UPDATE chunks SET has_vector = 0 WHERE has_vector = 1")

    def pending_chunks(self, limit: int) -> list[tuple[int, str, str, str]]:
        """(id, content hash, text, path) of chunks with no vector yet."""
        rows = self.conn.execute(
            "SELECT c.id, c.content_hash, c.text, f.path FROM chunks c"
            " JOIN files f ON f.id = c.file_id WHERE c.has_vector = 0 LIMIT ?",
            (limit,),
        )
        return [(cid, h, unpack_text(text), path) for cid, h, text, path in rows]

    def cached_vectors(self, hashes: Iterable[str], embedder: str) -> dict[str, bytes]:
        wanted = sorted(set(hashes))
        if not wanted:
            return {}
        rows = self.conn.execute(
            "SELECT content_hash, vector FROM embeddings WHERE embedder = ?"
            " AND content_hash IN (SELECT value FROM json_each(?))",
            (embedder, json.dumps(wanted)),
        )
        return {h: bytes(v) for h, v in rows}

    def cache_vectors(self, embedder: str, vectors: dict[str, bytes]) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO embeddings (content_hash, embedder, vector) VALUES (?, ?, ?)",
            [(h, embedder, v) for h, v in vectors.items()],
        )

    def offer_vectors(self, embedder: str, hashes: Iterable[str]) -> None:
        """Queue these cached vectors for the team cache (inside the transaction that
        cached them)."""
        self.conn.executemany(
            "INSERT OR IGNORE INTO vector_outbox (embedder, content_hash) VALUES (?, ?)",
            [(embedder, h) for h in hashes],
        )

    def outbox(self, limit: int) -> list[tuple[str, str, bytes]]:
        """(embedder, content hash, vector) waiting for the team cache, oldest key first."""
        rows = self.conn.execute(
            "SELECT o.embedder, o.content_hash, e.vector FROM vector_outbox o"
            " JOIN embeddings e ON e.embedder = o.embedder AND e.content_hash = o.content_hash"
            " LIMIT ?",
            (limit,),
        )
        return [(k, h, bytes(v)) for k, h, v in rows]

    def outbox_ack(self, keys: Iterable[tuple[str, str]]) -> None:
        self.conn.executemany(
            "DELETE FROM vector_outbox WHERE embedder = ? AND content_hash = ?", list(keys)
        )

    def outbox_pending(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM vector_outbox").fetchone()[0])

    def put_vectors(self, rows: Iterable[tuple[int, bytes]]) -> int:
        """Store chunk vectors (inside a transaction); chunks gone since are skipped."""
        count = 0
        for chunk_id, vector in rows:
            exists = self.conn.execute(
                "SELECT 1 FROM chunks WHERE id = ? AND has_vector = 0", (chunk_id,)
            ).fetchone()
            if exists is None:
                continue
            self.conn.execute(
                "INSERT INTO chunk_vectors (rowid, embedding) VALUES (?, ?)", (chunk_id, vector)
            )
            self.conn.execute("UPDATE chunks SET has_vector = 1 WHERE id = ?", (chunk_id,))
            count += 1
        return count

    def knn(self, vector: bytes, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest chunks: (id, cosine similarity), best first.

        A vec0 KNN reads every vector from SQLite pages on each query (about 5 ms for 12k
        vectors of 256 floats here). Once the database has stopped changing between two
        queries, this connection keeps the vectors as one normalised matrix in memory and
        answers with a matrix product instead (0.4 ms), until the next write by anyone
        (``PRAGMA data_version``). While embedding fills vectors in, every query sees a new
        version and vec0 answers: the matrix is never rebuilt under churn.  Above
        ``MATRIX_MAX_FLOATS`` the matrix is quantised (``vectors.QuantisedVectors``).
        """
        version = int(self.conn.execute("PRAGMA data_version").fetchone()[0])
        matrix = self._matrix
        if matrix is not None and matrix.version == version:
            return matrix.nearest(vector, k)
        self._matrix = None
        if self._seen_version == version:
            built = VectorMatrix.load(self.conn, version)
            if built is not None:
                self._matrix = built
                return built.nearest(vector, k)
        self._seen_version = version
        rows = self.conn.execute(
            "SELECT rowid, distance FROM chunk_vectors WHERE embedding MATCH ? AND k = ?"
            " ORDER BY distance",
            (vector, k),
        )
        return [(int(rowid), 1.0 - float(distance)) for rowid, distance in rows]


def _names(joined: str) -> tuple[str, ...]:
    return tuple(joined.split(_SEP)) if joined else ()
