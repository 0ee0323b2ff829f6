"""``workspace/symbol`` from the index: every language it knows, before any language server.

The ranking is the index's own symbol search (``deputydev/search`` in ``symbol`` mode:
exact, qualified, prefix, word parts, fuzzy), so the editor's symbol picker and the search
method agree; this handler only converts. An empty query, indexing turned off, or no root
open answers an empty list, as a language server with nothing to offer would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from daemon.convert import symbol_information
from daemon.errors import jsonrpc_errors

if TYPE_CHECKING:
    from daemon.server import DeputyServer

LIMIT = 100


def register(server: DeputyServer) -> None:
    @server.feature(types.WORKSPACE_SYMBOL)
    @jsonrpc_errors
    async def workspace_symbol(
        params: types.WorkspaceSymbolParams,
    ) -> list[types.SymbolInformation]:
        from daemon.index.service import IndexService

        if not params.query.strip() or not server.settings.index.enabled or not server.roots():
            return []
        service = await server.started(IndexService)
        found = await service.search(params.query, mode="symbol", limit=LIMIT)
        encoding = server.workspace.position_encoding
        return [symbol_information(hit, encoding) for hit in found]
