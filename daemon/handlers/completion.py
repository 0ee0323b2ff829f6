"""``textDocument/inlineCompletion`` (LSP 3.18), and the completions' part of
``deputydev/status``.

The capability is advertised only when ``[completion] model`` names a model at
``initialize``. When the setting changes later, a client that registers capabilities
dynamically is told (``client/registerCapability`` / ``unregisterCapability``); any other is
told to restart the server once. A request that reaches the server while no model is set
gets no items.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from lsprotocol import types

if TYPE_CHECKING:
    from daemon.config import Settings
    from daemon.server import DeputyServer

log = logging.getLogger(__name__)

REGISTRATION_ID = "deputydev-inline-completion"


def _service() -> type[Any]:
    from daemon.completion.service import CompletionService

    return CompletionService


async def _status(server: DeputyServer) -> dict[str, Any]:
    service = await server.started(_service())
    return {"completion": await service.status()}


def _dynamic(server: DeputyServer) -> bool:
    try:
        document = server.client_capabilities.text_document
    except (AttributeError, RuntimeError):
        return False
    inline = document.inline_completion if document is not None else None
    return bool(inline and inline.dynamic_registration)


def register(server: DeputyServer) -> None:
    server.status_contributors.append(_status)
    server.autostart.append(_service)  # reads today's spending, warms the SDK up
    advertised = {"on": False}

    def adjust(client: types.ClientCapabilities, capabilities: types.ServerCapabilities) -> None:
        advertised["on"] = server.settings.completion.model is not None
        if not advertised["on"]:
            capabilities.inline_completion_provider = None

    server.capability_hooks.append(adjust)

    async def settings_changed(settings: Settings) -> None:
        wanted = settings.completion.model is not None
        if wanted == advertised["on"]:
            return
        if not _dynamic(server):
            if wanted:
                server.show_message(
                    "DeputyDev: inline completions were turned on after the editor started; "
                    "restart the language server to use them",
                    types.MessageType.Info,
                )
            return
        method = types.TEXT_DOCUMENT_INLINE_COMPLETION
        if wanted:
            await server.client_register_capability_async(
                types.RegistrationParams(
                    registrations=[
                        types.Registration(
                            id=REGISTRATION_ID,
                            method=method,
                            register_options=types.InlineCompletionRegistrationOptions(
                                document_selector=None
                            ),
                        )
                    ]
                )
            )
        else:
            await server.client_unregister_capability_async(
                types.UnregistrationParams(
                    unregisterations=[types.Unregistration(id=REGISTRATION_ID, method=method)]
                )
            )
        advertised["on"] = wanted
        log.info("inline completions %s", "registered" if wanted else "unregistered")

    server.settings_changed.connect(settings_changed)

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        params: types.InlineCompletionParams,
    ) -> types.InlineCompletionList:
        service = await server.started(_service())
        result: types.InlineCompletionList = await service.complete(params)
        return result
