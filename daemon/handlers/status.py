"""``deputydev/status``."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from daemon import __version__
from protocol.status import STATUS, RootStatus, StatusParams, StatusResult

if TYPE_CHECKING:
    from daemon.server import DeputyServer


def register(server: DeputyServer) -> None:
    @server.feature(STATUS)
    async def status(params: StatusParams) -> StatusResult:
        from daemon.status import collect

        roots = [RootStatus(uri=p.as_uri(), path=str(p)) for p in server.roots()]
        try:
            open_documents = len(server.workspace.text_documents)
        except RuntimeError:
            open_documents = 0
        extra = await collect(server)
        return StatusResult.model_validate(
            {
                "version": __version__,
                "uptime_s": round(server.uptime(), 3),
                "pid": os.getpid(),
                "roots": roots,
                "open_documents": open_documents,
                "config_errors": [str(i) for i in server.loaded.errors],
                "workspace_refused": [str(i) for i in server.loaded.refused],
                **extra,
            }
        )
