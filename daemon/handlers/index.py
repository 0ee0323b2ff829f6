"""``deputydev/search`` and ``deputydev/index/*``: thin adapters over the IndexService."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from daemon.convert import search_hit
from daemon.errors import jsonrpc_errors
from protocol.index import (
    INDEX_PAUSE,
    INDEX_REBUILD,
    INDEX_REINDEX,
    INDEX_RESUME,
    INDEX_STATUS,
    SEARCH,
    IndexPauseParams,
    IndexPauseResult,
    IndexRebuildParams,
    IndexRebuildResult,
    IndexStatusParams,
    IndexStatusResult,
    RootIndexStatus,
    SearchHit,
    SearchParams,
    SearchResult,
)

if TYPE_CHECKING:
    from daemon.index.service import IndexService
    from daemon.server import DeputyServer


async def team_search(server: DeputyServer, params: SearchParams) -> SearchResult:
    from daemon.sync.service import SyncService

    sync = await server.started(SyncService)
    if (error := sync.config_error()) is not None:
        raise error
    found, mode = await sync.team().code_search(
        params.query,
        limit=params.limit,
        repositories=params.repositories,
        embedder=sync.query_embedder(),
    )
    return SearchResult(
        mode="hybrid" if mode == "hybrid" else "lexical",
        results=[
            SearchHit(
                path=h.path,
                root="",
                start_line=h.start_line,
                end_line=h.end_line,
                symbol=h.symbol,
                kind=h.kind,
                language=h.language,
                score=h.score,
                snippet=h.text,
                repository=h.repository,
                commit=h.commit,
                author=h.author,
            )
            for h in found
        ],
    )


def _statuses(rows: list[dict[str, Any]]) -> list[RootIndexStatus]:
    return [RootIndexStatus.model_validate(row) for row in rows]


async def index_status(server: DeputyServer) -> dict[str, Any]:
    """The ``index`` field of ``deputydev/status``, and each root's ``indexState``
    (``ready`` once indexed, else ``not-indexed``, ``indexing``, ``paused`` or ``error``)."""
    from daemon.index.service import IndexService
    from protocol.status import RootStatus

    service = server.service(IndexService)
    rows = await service.status()
    states = {row["root"]: row["state"] for row in rows}
    roots = []
    for path in server.roots():
        state = states.get(str(path.resolve()), "not-indexed")
        roots.append(
            RootStatus(
                uri=path.as_uri(), path=str(path), index_state="ready" if state == "idle" else state
            )
        )
    return {"index": {"enabled": service.settings.enabled, "roots": rows}, "roots": roots}


def register(server: DeputyServer) -> None:
    server.status_contributors.append(index_status)

    async def service() -> IndexService:
        from daemon.index.service import IndexService

        return await server.started(IndexService)

    @server.feature(SEARCH)
    @jsonrpc_errors
    async def search(params: SearchParams) -> SearchResult:
        if params.scope == "team":
            return await team_search(server, params)
        svc = await service()
        found = await svc.search(
            params.query,
            mode=params.mode,
            limit=params.limit,
            globs=params.paths,
            languages=params.languages,
            root=params.root,
        )
        return SearchResult(
            mode=found.mode, results=[search_hit(f) for f in found], partial=found.partial
        )

    @server.feature(INDEX_STATUS)
    @jsonrpc_errors
    async def status(params: IndexStatusParams) -> IndexStatusResult:
        svc = await service()
        return IndexStatusResult(
            enabled=svc.settings.enabled, roots=_statuses(await svc.status(params.root))
        )

    @jsonrpc_errors
    async def rebuild(params: IndexRebuildParams) -> IndexRebuildResult:
        svc = await service()
        await svc.rebuild(params.root, full=params.full)
        return IndexRebuildResult(roots=_statuses(await svc.status(params.root)))

    server.feature(INDEX_REBUILD)(rebuild)
    server.feature(INDEX_REINDEX)(rebuild)

    @server.feature(INDEX_PAUSE)
    @jsonrpc_errors
    async def pause(params: IndexPauseParams) -> IndexPauseResult:
        (await service()).pause(True)
        return IndexPauseResult(paused=True)

    @server.feature(INDEX_RESUME)
    @jsonrpc_errors
    async def resume(params: IndexPauseParams) -> IndexPauseResult:
        (await service()).pause(False)
        return IndexPauseResult(paused=False)
