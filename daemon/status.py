"""What ``deputydev/status`` reports beyond the basics, contributed by each feature.

A contributor is an async function of the server returning a dict of ``StatusResult``
fields (``index``, ``providers``, ``roots``, ...); feature modules add theirs to the
server's ``status_contributors`` in their ``register``, so each server has its own. A
contributor that fails is logged and skipped: status must answer even when a part of the
daemon is broken.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from daemon.server import DeputyServer

log = logging.getLogger(__name__)

Contributor = Callable[["DeputyServer"], Awaitable[dict[str, Any]]]


async def collect(server: DeputyServer) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for contributor in server.status_contributors:
        try:
            out.update(await contributor(server))
        except Exception:
            log.exception("status contributor %s failed", getattr(contributor, "__name__", "?"))
    return out
