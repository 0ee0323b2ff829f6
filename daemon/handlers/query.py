"""``deputydev/query``: a thin adapter over the query service.

pygls cancels this handler's task on ``$/cancelRequest``; the solver saves what the turn had
produced, marks it cancelled and lets the cancellation through, and pygls answers
RequestCancelled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from daemon.convert import usage_info
from daemon.errors import jsonrpc_errors
from daemon.solver.service import QueryService
from protocol.query import QUERY, QueryParams, QueryResult, ToolCallInfo

if TYPE_CHECKING:
    from daemon.server import DeputyServer
    from daemon.solver.loop import TurnOutcome


def query_result(outcome: TurnOutcome) -> QueryResult:
    """A finished turn as the wire result (``deputydev/query`` and the editor commands)."""
    return QueryResult(
        session_id=outcome.session_id,
        query_id=outcome.query_id,
        text=outcome.text,
        tool_calls=[
            ToolCallInfo(
                call_id=c.call_id,
                name=c.name,
                arguments=dict(c.arguments),
                result=c.result,
                is_error=c.is_error,
            )
            for c in outcome.tool_calls
        ],
        model=outcome.model,
        agent=outcome.agent,
        usage=usage_info(outcome.usage),
        cost_usd=round(outcome.cost_usd, 6),
        stop_reason=outcome.stop_reason,
        steps=outcome.steps,
    )


def register(server: DeputyServer) -> None:
    @server.feature(QUERY)
    @jsonrpc_errors
    async def query(params: QueryParams) -> QueryResult:
        service = await server.started(QueryService)
        return query_result(await service.run(params))
