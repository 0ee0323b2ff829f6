"""``deputydev/mcp/list``, and the MCP servers' part of ``deputydev/status``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from daemon.errors import jsonrpc_errors
from protocol.mcp import (
    MCP_LIST,
    McpListParams,
    McpListResult,
    McpPromptArgument,
    McpPromptInfo,
    McpResourceInfo,
    McpResourceTemplateInfo,
    McpServerInfo,
    McpServerStatus,
    McpToolInfo,
)

if TYPE_CHECKING:
    from daemon.mcp.client import PromptInfo, ServerConnection
    from daemon.mcp.manager import McpManager
    from daemon.server import DeputyServer


def _prompts(prompts: tuple[PromptInfo, ...]) -> list[McpPromptInfo]:
    return [
        McpPromptInfo(
            name=p.name,
            description=p.description,
            arguments=[
                McpPromptArgument(name=a.name, description=a.description, required=a.required)
                for a in p.arguments
            ],
        )
        for p in prompts
    ]


def server_info(connection: ServerConnection) -> McpServerInfo:
    from daemon.mcp.manager import McpTool, exposed_name

    settings = connection.settings
    target = settings.command if settings.command is not None else settings.url
    return McpServerInfo(
        name=connection.name,
        transport="stdio" if settings.command is not None else "http",
        state=connection.state,
        target=" ".join([target or "", *settings.args]).strip(),
        tools=[
            McpToolInfo(
                name=exposed_name(connection.name, t.name),
                tool=t.name,
                description=t.description,
                auto_approved=settings.approves(t.name),
                read_only=t.read_only,
                input_schema=McpTool(connection, t).parameters(),
            )
            for t in connection.tools
        ],
        prompts=_prompts(connection.prompts),
        resources=[
            McpResourceInfo(
                uri=r.uri, name=r.name, description=r.description, mime_type=r.mime_type
            )
            for r in connection.resources
        ],
        resource_templates=[
            McpResourceTemplateInfo(
                uri_template=t.uri_template,
                name=t.name,
                description=t.description,
                mime_type=t.mime_type,
            )
            for t in connection.resource_templates
        ],
        last_error=connection.last_error,
        starts=connection.starts,
        start_ms=connection.start_ms,
        log_file=str(connection.log_file) if connection.log_file else None,
    )


async def list_servers(manager: McpManager, start: bool) -> McpListResult:
    if start:
        await manager.start()
    return McpListResult(servers=[server_info(c) for c in manager.connections.values()])


async def _status(server: DeputyServer) -> dict[str, Any]:
    if not server.settings.mcp.servers:
        return {}
    from daemon.mcp.service import McpService

    manager = server.service(McpService).manager
    return {
        "mcp": [
            McpServerStatus(
                name=c.name,
                state=c.state,
                tools=len(c.tools),
                prompts=_prompts(c.prompts),
                last_error=c.last_error,
            )
            for c in manager.connections.values()
        ]
    }


def register(server: DeputyServer) -> None:
    server.status_contributors.append(_status)

    @server.feature(MCP_LIST)
    @jsonrpc_errors
    async def mcp_list(params: McpListParams) -> McpListResult:
        from daemon.mcp.service import McpService

        service = server.service(McpService)
        result = await list_servers(service.manager, params.start)
        service.report_failures()
        return result
