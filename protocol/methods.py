"""Every custom method of the wire contract, with the models of its params and result.

Each feature module in ``protocol`` declares ``METHODS``: ``{method: (params, result)}``;
this module gathers them for the server's protocol class (typed params) and for docs.
Server-to-client requests are listed in ``CLIENT_METHODS``, and the notifications the
server sends in ``NOTIFICATIONS`` (advertised at initialize; none comes from the client).
"""

from __future__ import annotations

from typing import Any

from protocol import commands, index, mcp, models, query, review, sessions, status, sync

MethodTypes = tuple[type[Any] | None, type[Any] | None]

METHOD_TYPES: dict[str, MethodTypes] = {
    **status.METHODS,
    **sessions.METHODS,
    **query.METHODS,
    **index.METHODS,
    **models.METHODS,
    **sync.METHODS,
    **commands.METHODS,
    **mcp.METHODS,
    **review.METHODS,
}

CLIENT_METHODS: dict[str, MethodTypes] = {
    **query.CLIENT_METHODS,
}

NOTIFICATIONS: dict[str, type[Any]] = {
    index.INDEX_UPDATED: index.IndexUpdated,
}
