"""Searching one root's store: the modes, the filters, and the shape of a result.

- ``lexical``: FTS5 BM25 ranked by ``ranking.lexical_search`` (the measured default);
- ``symbol``: definitions by name (exact, qualified, prefix, word parts, fuzzy), from an
  in-memory copy of the symbols table refreshed when the index changes;
- ``semantic``: KNN over the chunk vectors, given the query's vector;
- ``hybrid``: both lists, fused by ``fusion.fuse``; without vectors it is lexical.

Filters are path globs (gitignore syntax: ``*.py``, ``src/**``; a leading ``!`` excludes)
and languages; they pick file ids first, so the SQL ranks only what may be returned.
A result is one chunk (or one definition, cut to its chunk): it never spans two.

The :class:`Searcher` is blocking and used from one thread at a time (the index runs it
through ``asyncio.to_thread`` under a lock).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from indexer.errors import BadQuery
from indexer.fusion import fuse, lexical_weight
from indexer.ranking import Candidate, lexical_search, rank_symbols
from indexer.store import ChunkRow, Store, SymbolRow
from indexer.symbols import NameTable

if TYPE_CHECKING:
    from pathspec import PathSpec

__all__ = ["MODES", "RanMode", "SearchResult", "SearchResults", "Searcher"]

MODES = ("auto", "hybrid", "lexical", "semantic", "symbol")
SNIPPET_LINES = 12
# Names whose definitions a symbol search reads in one query.
_NAMES_PER_FETCH = 256
# How many candidates each side brings to a hybrid fusion.
FUSION_DEPTH = 50


# The mode a search actually ran: "auto" resolves to hybrid, and hybrid is lexical when no
# vectors are stored or the query could not be embedded.
RanMode = Literal["hybrid", "lexical", "semantic", "symbol"]


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One hit: lines ``start_line..end_line`` (1-based, inclusive) of ``path`` under ``root``."""

    root: Path
    path: str
    start_line: int
    end_line: int
    symbol: str | None
    kind: str
    language: str | None
    score: float
    text: str
    chunk_id: int

    @property
    def snippet(self) -> str:
        lines = self.text.splitlines()
        more = len(lines) - SNIPPET_LINES
        head = "\n".join(lines[:SNIPPET_LINES])
        return head + (f"\n… {more} more lines" if more > 0 else "")


class SearchResults(list[SearchResult]):
    """The hits of one search, best first, and the mode that found them; ``partial``
    while the root's first index is still being written (what it holds so far)."""

    def __init__(
        self, mode: RanMode, hits: Sequence[SearchResult] = (), *, partial: bool = False
    ) -> None:
        super().__init__(hits)
        self.mode: RanMode = mode
        self.partial = partial


class Searcher:
    def __init__(self, root: Path, store: Store) -> None:
        self.root = root
        self.store = store
        self.generation = 0
        self._names: NameTable | None = None

    def changed(self) -> None:
        """The index was written: cached symbols are stale."""
        self.generation += 1

    # ---- filters

    def file_ids(self, paths: Sequence[str], languages: Sequence[str]) -> list[int] | None:
        """Ids of the files the filters admit, or None when there are no filters."""
        if not paths and not languages:
            return None
        spec = _globs(paths)
        wanted = _languages(languages)
        return [
            file_id
            for file_id, path, language in self.store.files()
            if (not wanted or (language or "").lower() in wanted)
            and (spec is None or spec.match_file(path))
        ]

    # ---- modes

    def lexical(
        self,
        query: str,
        limit: int,
        file_ids: list[int] | None,
        prefetched: Mapping[str, list[Candidate]] | None = None,
    ) -> list[tuple[int, float]]:
        """BM25 ranking; ``prefetched`` holds MATCH results already run (by expression)."""
        if file_ids is not None and not file_ids:
            return []

        def match(expression: str, depth: int) -> list[Candidate]:
            if prefetched is not None and expression in prefetched:
                return prefetched[expression]
            return self.store.match(expression, depth, file_ids)

        found = lexical_search(query, match, limit=limit)
        return [(c.key, c.score) for c in found]

    def semantic(
        self, vector: bytes, limit: int, file_ids: list[int] | None
    ) -> list[tuple[int, float]]:
        if file_ids is not None and not file_ids:
            return []
        # vec0 filters nothing by file: fetch deeper, then keep the admitted chunks.
        depth = limit if file_ids is None else max(limit * 10, 200)
        found = self.store.knn(vector, depth)
        if file_ids is None:
            return found[:limit]
        paths = self._paths_of(file_ids)
        rows = self.store.chunks(cid for cid, _ in found)
        return [(cid, s) for cid, s in found if cid in rows and rows[cid].path in paths][:limit]

    def _paths_of(self, file_ids: list[int]) -> set[str]:
        wanted = set(file_ids)
        return {path for file_id, path, _ in self.store.files() if file_id in wanted}

    def chunk_results(self, ranked: Sequence[tuple[int, float]]) -> list[SearchResult]:
        rows = self.store.chunks(cid for cid, _ in ranked)
        return [_result(self.root, rows[cid], score) for cid, score in ranked if cid in rows]

    def search(
        self,
        query: str,
        *,
        mode: str,
        limit: int,
        paths: Sequence[str] = (),
        languages: Sequence[str] = (),
        query_vector: bytes | None = None,
    ) -> list[SearchResult]:
        if mode not in MODES:
            raise BadQuery(f"unknown search mode {mode!r}; use one of {', '.join(MODES)}")
        if limit < 1:
            raise BadQuery("limit must be at least 1", limit=limit)
        file_ids = self.file_ids(paths, languages)
        if mode == "symbol":
            return self.symbols(query, limit, file_ids)
        if mode == "semantic":
            if query_vector is None:
                raise BadQuery("semantic search needs vectors, and this index has none")
            return self.chunk_results(self.semantic(query_vector, limit, file_ids))
        if query_vector is None:  # lexical, or hybrid/auto with no vectors
            return self.chunk_results(self.lexical(query, limit, file_ids))
        lexical = self.lexical(query, FUSION_DEPTH, file_ids)
        semantic = self.semantic(query_vector, FUSION_DEPTH, file_ids)
        return self.fused(query, lexical, semantic, limit)

    def fused(
        self,
        query: str,
        lexical: Sequence[tuple[int, float]],
        semantic: Sequence[tuple[int, float]],
        limit: int,
    ) -> list[SearchResult]:
        """Hybrid results from the two rankings of ``query`` (``FUSION_DEPTH`` deep each)."""
        weight = lexical_weight(query)
        return self.chunk_results(fuse(lexical, semantic, limit=limit, lexical_weight=weight))

    def warm(self) -> None:
        """Build now what the first search would (see ``Index._warm``)."""
        if self._names is None:
            self._names = NameTable(self.store.symbol_names())
        self.store.warm()

    def names_added(self, names: Iterable[str]) -> None:
        """Definitions of these names were written (the name table learns them)."""
        if self._names is not None:
            self._names.add(names)

    def names_dropped(self) -> None:
        """Every definition was dropped: the name table starts again."""
        self._names = None

    def _named(self, query: str, limit: int, file_ids: list[int] | None) -> list[SymbolRow]:
        """The definitions among which ``rank_symbols`` finds the best ``limit``: those of
        the names ``NameTable.candidates`` yields, group by group, until there are enough
        (a later group scores below all of them)."""
        if self._names is None:
            self._names = NameTable(self.store.symbol_names())
        paths = self._paths_of(file_ids) if file_ids is not None else None
        found: list[SymbolRow] = []
        wanted: list[str] = []

        def fetch() -> None:
            rows = self.store.symbols_named(wanted)
            found.extend(rows if paths is None else [s for s in rows if s.path in paths])
            wanted.clear()

        for group in self._names.candidates(query):
            wanted.extend(group)
            # Names are asked for a few hundred at a time; more than needed is harmless.
            if len(wanted) >= max(limit, _NAMES_PER_FETCH):
                fetch()
                if len(found) >= limit:
                    return found
        if wanted:
            fetch()
        return found

    def symbols(self, query: str, limit: int, file_ids: list[int] | None) -> list[SearchResult]:
        if not query.strip():
            return []
        candidates = self._named(query, limit, file_ids)
        return self._symbol_results(
            rank_symbols(query, candidates, limit=limit, path=lambda s: s.path)
        )

    def definitions(self, names: Sequence[str], per_name: int) -> dict[str, list[SearchResult]]:
        """The definitions named exactly each of ``names``, unranked: one query, no fuzzy
        matching (for inline completions, which ask for a dozen names a keystroke)."""
        out: dict[str, list[SearchResult]] = {name: [] for name in names}
        for symbol, chunk in self.store.definitions(names, per_name):
            out[symbol.name].append(self._symbol_result(symbol, chunk, 1.0))
        return out

    def mentions(self, name: str, limit: int) -> list[SearchResult]:
        """The chunks whose text has ``name``, by BM25 alone: one MATCH, without the
        lexical ranking's second query and rescoring."""
        from indexer.query import fts_query

        expression = fts_query(name)
        if expression is None:
            return []
        return self.chunk_results([(c.key, c.score) for c in self.store.match(expression, limit)])

    def _symbol_results(self, ranked: Iterable[tuple[SymbolRow, float]]) -> list[SearchResult]:
        out = []
        for sym, score in ranked:
            chunk_id = self.store.chunk_at(sym.path, sym.start_line)
            rows = self.store.chunks([chunk_id]) if chunk_id is not None else {}
            row = rows.get(chunk_id) if chunk_id is not None else None
            if row is not None:
                out.append(self._symbol_result(sym, row, score))
        return out

    def _symbol_result(self, sym: SymbolRow, row: ChunkRow, score: float) -> SearchResult:
        """The definition cut to the chunk it starts in: a result is never two chunks."""
        end = min(sym.end_line, row.end_line)
        lines = row.text.splitlines()[sym.start_line - row.start_line : end - row.start_line + 1]
        name = f"{sym.container}.{sym.name}" if sym.container else sym.name
        return SearchResult(
            self.root,
            sym.path,
            sym.start_line,
            end,
            name,
            sym.kind,
            sym.language,
            round(score, 4),
            "\n".join(lines),
            row.id,
        )


def _result(root: Path, row: ChunkRow, score: float) -> SearchResult:
    return SearchResult(
        root,
        row.path,
        row.start_line,
        row.end_line,
        row.symbols[0] if row.symbols else None,
        row.kind,
        row.language,
        round(score, 4),
        row.text,
        row.id,
    )


def _languages(names: Sequence[str]) -> set[str]:
    """The languages asked for, by their indexed names; an unknown one is a BadQuery that
    lists the known ones."""
    from indexer.languages import KNOWN_LANGUAGES, LANGUAGE_ALIASES

    wanted = set()
    for name in names:
        key = name.strip().lower()
        key = LANGUAGE_ALIASES.get(key, key)
        if key not in KNOWN_LANGUAGES:
            raise BadQuery(
                f"unknown language {name!r}; known: {', '.join(sorted(KNOWN_LANGUAGES))}",
                field="languages",
                known=sorted(KNOWN_LANGUAGES),
            )
        wanted.add(key)
    return wanted


def _globs(patterns: Sequence[str]) -> PathSpec[Any] | None:
    """A PathSpec of the globs (gitignore syntax), or None for none. When the first glob
    excludes (``!tests/**``), every path is included before it, so exclusions alone narrow
    the whole workspace instead of matching nothing."""
    from pathspec import GitIgnoreSpec

    cleaned = [p.strip() for p in patterns if p.strip()]
    if not cleaned:
        return None
    if cleaned[0].startswith("!"):
        cleaned.insert(0, "*")
    try:
        return GitIgnoreSpec.from_lines(cleaned)
    except Exception as exc:
        raise BadQuery(f"bad path glob: {exc}", paths=list(patterns)) from None
