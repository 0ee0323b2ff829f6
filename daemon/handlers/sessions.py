"""``deputydev/sessions/*``: thin adapters over the sessions store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from daemon.convert import session_info, turn_info
from daemon.errors import jsonrpc_errors
from daemon.sessions.service import SessionsService
from daemon.sync.service import SyncService
from protocol.sessions import (
    SESSIONS_DELETE,
    SESSIONS_GET,
    SESSIONS_LIST,
    SESSIONS_PIN,
    SESSIONS_RENAME,
    SESSIONS_SHARE,
    SessionInfo,
    SessionParams,
    SessionResult,
    SessionsDeleteResult,
    SessionsGetParams,
    SessionsGetResult,
    SessionsListParams,
    SessionsListResult,
    SessionsPinParams,
    SessionsRenameParams,
    SessionsShareParams,
    TurnInfo,
)

if TYPE_CHECKING:
    from daemon.server import DeputyServer
    from daemon.sessions.store import SessionStore


def register(server: DeputyServer) -> None:
    async def store() -> SessionStore:
        return (await server.started(SessionsService)).store

    @server.feature(SESSIONS_LIST)
    @jsonrpc_errors
    async def list_sessions(params: SessionsListParams) -> SessionsListResult:
        if params.scope == "team":
            team = (await server.started(SyncService)).team()
            rows = await team.list_sessions(
                query=params.query, limit=params.limit, offset=params.offset
            )
            return SessionsListResult(sessions=[SessionInfo.model_validate(r) for r in rows])
        found = await (await store()).list_sessions(
            query=params.query, limit=params.limit, offset=params.offset
        )
        return SessionsListResult(sessions=[session_info(s) for s in found])

    @server.feature(SESSIONS_GET)
    @jsonrpc_errors
    async def get_session(params: SessionsGetParams) -> SessionsGetResult:
        if params.scope == "team":
            team = (await server.started(SyncService)).team()
            found, turns = await team.get_session(params.session_id)
            return SessionsGetResult(
                session=SessionInfo.model_validate(found),
                turns=[TurnInfo.model_validate(t) for t in turns],
            )
        sessions = await store()
        session = await sessions.get_session(params.session_id)
        local_turns = await sessions.get_turns(params.session_id)
        return SessionsGetResult(
            session=session_info(session), turns=[turn_info(t) for t in local_turns]
        )

    @server.feature(SESSIONS_RENAME)
    @jsonrpc_errors
    async def rename(params: SessionsRenameParams) -> SessionResult:
        session = await (await store()).rename(params.session_id, params.title)
        return SessionResult(session=session_info(session))

    @server.feature(SESSIONS_SHARE)
    @jsonrpc_errors
    async def share(params: SessionsShareParams) -> SessionResult:
        session = await (await store()).set_visibility(params.session_id, params.visibility)
        return SessionResult(session=session_info(session))

    @server.feature(SESSIONS_PIN)
    @jsonrpc_errors
    async def pin(params: SessionsPinParams) -> SessionResult:
        session = await (await store()).set_pinned(params.session_id, params.pinned)
        return SessionResult(session=session_info(session))

    @server.feature(SESSIONS_DELETE)
    @jsonrpc_errors
    async def delete(params: SessionParams) -> SessionsDeleteResult:
        await (await store()).delete_session(params.session_id)
        return SessionsDeleteResult(deleted=True)
