"""Feature registration: one module per area, each with ``register(server)``.

Handlers are thin: read the params, call into a service or package, convert, return.
``register_all`` puts the sessions, index and sync services on the server's ``autostart``
list (started after ``initialized``, in order); everything else starts on first use.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from daemon.handlers import (
    completion,
    editor,
    index,
    lifecycle,
    mcp,
    models,
    query,
    review,
    sessions,
    status,
    symbols,
    sync,
    workspace,
)

if TYPE_CHECKING:
    from daemon.server import DeputyServer

FEATURES: list[Callable[[DeputyServer], None]] = [
    lifecycle.register,
    workspace.register,
    status.register,
    sessions.register,
    query.register,
    index.register,
    models.register,
    sync.register,
    symbols.register,
    editor.register,
    completion.register,
    mcp.register,
    review.register,
]


def _sessions_service() -> type[Any]:
    from daemon.sessions.service import SessionsService

    return SessionsService


def _index_service() -> type[Any]:
    from daemon.index.service import IndexService

    return IndexService


def _sync_service() -> type[Any]:
    from daemon.sync.service import SyncService

    return SyncService


PLUGINS_ENV = "DEPUTYDEV_PLUGINS"


def register_all(server: DeputyServer) -> None:
    server.autostart.extend([_sessions_service, _index_service, _sync_service])
    for register in FEATURES:
        register(server)
    # Extra handler modules, each with register(server): comma-separated module names.
    for name in filter(None, (n.strip() for n in os.environ.get(PLUGINS_ENV, "").split(","))):
        importlib.import_module(name).register(server)
