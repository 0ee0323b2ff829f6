"""The daemon's MCP servers: one :class:`~daemon.mcp.manager.McpManager` for its lifetime.

Nothing starts with the daemon: a server starts when a query first needs the agents' tools
(or ``deputydev/mcp/list`` asks), and every server stops with the daemon. A change of the
``[mcp]`` settings stops the servers it touches; they start again, changed, on next use.
A stdio server runs in the first workspace root unless its ``cwd`` says otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from daemon.mcp.manager import McpManager

if TYPE_CHECKING:
    from daemon.config import Settings
    from daemon.server import DeputyServer
    from daemon.tools.base import Tool


class McpService:
    def __init__(self, server: DeputyServer) -> None:
        from daemon import paths

        self._server = server
        self.manager = McpManager(server.settings.mcp, cwd=self._root(), log_dir=paths.log_dir())
        self._shown: set[str] = set()
        server.settings_changed.connect(self._settings_changed)

    def _root(self) -> Path | None:
        roots = self._server.roots()
        return roots[0] if roots else None

    async def start(self) -> None:
        pass

    async def _settings_changed(self, settings: Settings) -> None:
        await self.manager.update(settings.mcp, self._root())

    async def tools(self) -> list[Tool]:
        """The agents' MCP tools, starting the servers not running yet."""
        tools = await self.manager.tools()
        self.report_failures()
        return tools

    def report_failures(self) -> None:
        """Tell the user once about each distinct reason a server is left out."""
        for connection in self.manager.connections.values():
            error = connection.last_error
            if connection.state == "failed" and error and error not in self._shown:
                self._shown.add(error)
                self._server.show_message(
                    f"DeputyDev: MCP server {connection.name} is left out: {error}"
                )

    async def aclose(self) -> None:
        await self.manager.aclose()
