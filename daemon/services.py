"""Long-lived parts of the daemon (index, providers, sessions, sync), created on first use.

A service is a class whose constructor takes the server and does no I/O; ``start`` runs after
``initialized`` (for services listed in the server's ``autostart`` list) or on first use, and
``aclose`` at shutdown. Nothing here is on the start-up path: importing a service module must
stay cheap, so heavy imports (SDKs, tree-sitter, sqlite) happen inside methods.

    index = server.service(IndexService)      # same instance for the server's lifetime
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from daemon.server import DeputyServer


class Service(Protocol):
    def __init__(self, server: DeputyServer) -> None: ...

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...
