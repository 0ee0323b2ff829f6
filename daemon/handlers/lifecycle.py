"""initialize / initialized / shutdown: settings from the editor, the parent watch, services."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from lsprotocol import types

if TYPE_CHECKING:
    from daemon.server import DeputyServer

log = logging.getLogger(__name__)


def register(server: DeputyServer) -> None:
    background: set[asyncio.Task[Any]] = set()

    def spawn(coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        background.add(task)
        task.add_done_callback(background.discard)

    @server.feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        options = params.initialization_options
        if options == []:  # an empty Lua table, as Neovim encodes it
            options = {}
        if isinstance(options, dict):
            server.editor_settings = options
        elif options is not None:
            log.warning("initializationOptions is not an object; ignored")
        server.reload_settings()
        if params.process_id:
            from daemon.server import watch_parent

            spawn(watch_parent(params.process_id, server))

    @server.feature(types.INITIALIZED)
    async def initialized(params: types.InitializedParams) -> None:
        for issue in server.loaded.issues:
            log.warning("config: %s", issue)
            server.show_message(f"DeputyDev settings: {issue}")
        server.initialized.set()
        for get_cls in server.autostart:
            cls = get_cls()
            spawn(server.started(cls))

    @server.feature(types.SHUTDOWN)
    async def shutdown(params: None) -> None:
        await server.close_services()
