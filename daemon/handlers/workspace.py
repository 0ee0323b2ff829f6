"""Workspace folders, configuration and document events, turned into the server's signals.

pygls keeps the folders and the open documents (unsaved text included) itself; these
handlers run after it and tell the services what changed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.uris import to_fs_path

if TYPE_CHECKING:
    from daemon.server import DeputyServer

log = logging.getLogger(__name__)


def _path(uri: str) -> Path | None:
    path = to_fs_path(uri)
    return Path(path) if path else None


def register(server: DeputyServer) -> None:
    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    async def did_change_workspace_folders(params: types.DidChangeWorkspaceFoldersParams) -> None:
        added = [p for f in params.event.added if (p := _path(f.uri))]
        removed = [p for f in params.event.removed if (p := _path(f.uri))]
        log.info("roots: +%s -%s", added, removed)
        for issue in server.reload_settings():
            server.show_message(f"DeputyDev settings: {issue}")
        await server.roots_changed.emit(added, removed)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(params: types.DidChangeConfigurationParams) -> None:
        if params.settings == []:  # an empty Lua table, as Neovim encodes it
            server.editor_settings = {}
        elif isinstance(params.settings, dict):
            server.editor_settings = params.settings
        elif params.settings is not None:
            server.show_message(
                "DeputyDev settings: the editor sent settings that are not an object"
            )
        for issue in server.reload_settings():
            log.warning("config: %s", issue)
            server.show_message(f"DeputyDev settings: {issue}")
        await server.settings_changed.emit(server.settings)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        log.debug("opened %s", params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(params: types.DidChangeTextDocumentParams) -> None:
        if path := _path(params.text_document.uri):
            await server.document_changed.emit(path)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        log.debug("closed %s", params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=True))
    async def did_save(params: types.DidSaveTextDocumentParams) -> None:
        if path := _path(params.text_document.uri):
            await server.document_saved.emit(path, params.text)
