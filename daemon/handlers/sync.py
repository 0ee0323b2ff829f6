"""``deputydev/sync/status`` and sync's part of ``deputydev/status``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from daemon.errors import jsonrpc_errors
from daemon.sync.service import SyncService
from protocol.sync import SYNC_STATUS, SyncStatusParams, SyncStatusResult

if TYPE_CHECKING:
    from daemon.server import DeputyServer


async def sync_status(server: DeputyServer) -> SyncStatusResult:
    service = await server.started(SyncService)
    snapshot = service.state.snapshot()
    store = snapshot.get("vector_store")
    if store is not None:
        from daemon.sync.vectors import PGVECTOR_FIX

        snapshot["team_search"] = "hybrid" if store == "pgvector" else "full-text"
        snapshot["vector_store_fix"] = None if store == "pgvector" else PGVECTOR_FIX
    return SyncStatusResult.model_validate(
        {
            **snapshot,
            "pending": await service.pending(),
            "vectors_pending": await service.vectors_pending(),
        }
    )


async def _contribute(server: DeputyServer) -> dict[str, Any]:
    result = await sync_status(server)
    return {"sync": result.model_dump(by_alias=True, exclude_none=True)}


def register(server: DeputyServer) -> None:
    server.status_contributors.append(_contribute)

    @server.feature(SYNC_STATUS)
    @jsonrpc_errors
    async def sync_status_handler(params: SyncStatusParams) -> SyncStatusResult:
        service = await server.started(SyncService)
        if (error := service.config_error()) is not None:
            raise error
        return await sync_status(server)
