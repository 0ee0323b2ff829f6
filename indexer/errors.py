"""Errors raised by ``indexer``.

    IndexerError
    ├── RootUnreadable       the root folder cannot be listed (permissions)
    ├── VectorsUnavailable   semantic search asked for, but no vector extension or embedder
    └── BadQuery             the query or a filter cannot be used (bad glob, unknown mode)

Each carries ``data``: a JSON-ready dict for the editor.
"""

from __future__ import annotations

from typing import Any


class IndexerError(Exception):
    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.data: dict[str, Any] = {k: v for k, v in data.items() if v is not None}


class RootUnreadable(IndexerError):
    pass


class VectorsUnavailable(IndexerError):
    pass


class BadQuery(IndexerError):
    pass
