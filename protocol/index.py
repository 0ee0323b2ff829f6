"""The workspace index on the wire: ``deputydev/search`` and ``deputydev/index/*``.

- ``deputydev/search``: query, mode (``auto`` | ``hybrid`` | ``lexical`` | ``semantic`` |
  ``symbol``), limit, path globs, languages, and optionally one root -> results, each one
  chunk: path (relative to its root), root, 1-based inclusive lines, symbol, kind,
  language, score, snippet. With ``scope: "team"`` it searches the repositories the team
  published instead (``repositories`` narrows them): each result has ``repository``,
  ``commit`` and ``author`` and an empty ``root``; the mode is ``hybrid`` or ``lexical``.
- ``deputydev/index/status``: per root, its state, counts, vectors and last run.
- ``deputydev/index/rebuild`` (alias ``deputydev/index/reindex``): index a root (or all)
  again now; ``full`` drops what is stored first.  Answers when the run is done.
- ``deputydev/index/pause`` and ``deputydev/index/resume``: hold and continue indexing.
- ``deputydev/index/updated`` (server -> client notification): a run changed the index,
  vectors were stored, or a root's watcher is in place; tests and status bars wait on it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from protocol.base import WireModel

SEARCH = "deputydev/search"
INDEX_STATUS = "deputydev/index/status"
INDEX_REBUILD = "deputydev/index/rebuild"
INDEX_REINDEX = "deputydev/index/reindex"
INDEX_PAUSE = "deputydev/index/pause"
INDEX_RESUME = "deputydev/index/resume"
INDEX_UPDATED = "deputydev/index/updated"

SearchMode = Literal["auto", "hybrid", "lexical", "semantic", "symbol"]


class SearchParams(WireModel):
    query: str = Field(min_length=1)
    mode: SearchMode = "auto"
    limit: int = Field(default=10, ge=1, le=200)
    # Path globs in .gitignore syntax ("src/**", "*.py"; "!" excludes).
    paths: list[str] = []
    languages: list[str] = []
    # Only this root (a path or file URI); all roots when absent.
    root: str | None = None
    # workspace: the local index of the open roots; team: the team's published repositories.
    scope: Literal["workspace", "team"] = "workspace"
    # With scope "team": only these published repositories (by name).
    repositories: list[str] = []


class SearchHit(WireModel):
    path: str
    root: str
    start_line: int
    end_line: int
    symbol: str | None = None
    kind: str
    language: str | None = None
    score: float
    snippet: str
    # Team search: the published repository, the commit it was published at, who published.
    repository: str | None = None
    commit: str | None = None
    author: str | None = None


# The mode a search ran: auto resolves to hybrid or lexical, and hybrid is lexical when no
# vectors are stored or the query could not be embedded.
RanMode = Literal["hybrid", "lexical", "semantic", "symbol"]


class SearchResult(WireModel):
    mode: RanMode
    results: list[SearchHit]
    # The root's first index is still being written: these come from the files it holds
    # so far (the open files and their folders first).
    partial: bool = False


class IndexRunInfo(WireModel):
    added: int
    updated: int
    removed: int
    unchanged: int
    seconds: float
    finished_at: float


class RootIndexStatus(WireModel):
    root: str
    state: str  # not-indexed | indexing | paused | idle | error
    files: int = 0
    chunks: int = 0
    symbols: int = 0
    vectors: int = 0
    vectors_pending: int = 0
    # Vectors computed here that the team's embedding cache has not received yet.
    vectors_unshared: int = 0
    vectors_enabled: bool = False
    vectors_reason: str = ""
    embedder: str | None = None
    embed_state: str = "off"
    embed_error: str | None = None
    error: str | None = None
    # The watcher is in place: changes on disk from now on are indexed as they happen.
    watching: bool = False
    last_run: IndexRunInfo | None = None


class IndexStatusParams(WireModel):
    root: str | None = None


class IndexStatusResult(WireModel):
    enabled: bool
    roots: list[RootIndexStatus]


class IndexRebuildParams(WireModel):
    root: str | None = None
    full: bool = False


class IndexRebuildResult(WireModel):
    roots: list[RootIndexStatus]


class IndexPauseParams(WireModel):
    pass


class IndexPauseResult(WireModel):
    paused: bool


class IndexUpdated(WireModel):
    root: str
    # updated: a run changed files; vectors: vectors were stored; watching: the watcher
    # of ``root`` is in place.
    kind: Literal["updated", "vectors", "watching"]
    added: int = 0
    updated: int = 0
    removed: int = 0
    paths: list[str] = []
    vectors: int = 0


METHODS: dict[str, tuple[type[Any] | None, type[Any] | None]] = {
    SEARCH: (SearchParams, SearchResult),
    INDEX_STATUS: (IndexStatusParams, IndexStatusResult),
    INDEX_REBUILD: (IndexRebuildParams, IndexRebuildResult),
    INDEX_REINDEX: (IndexRebuildParams, IndexRebuildResult),
    INDEX_PAUSE: (IndexPauseParams, IndexPauseResult),
    INDEX_RESUME: (IndexPauseParams, IndexPauseResult),
}
