"""``deputydev doctor``'s MCP rows: each server is started, listed, and stopped again."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from daemon.words import plural

if TYPE_CHECKING:
    from daemon.config import LoadedSettings
    from daemon.doctor import Check


def check(loaded: LoadedSettings) -> list[Check]:
    from daemon.doctor import Check

    servers = loaded.settings.mcp.servers
    if not servers:
        return [Check("mcp servers", "ok", "none configured ([mcp.servers.NAME] in config.toml)")]
    return asyncio.run(_check_all(loaded))


async def _check_all(loaded: LoadedSettings) -> list[Check]:
    from pathlib import Path

    from daemon import paths
    from daemon.doctor import Check
    from daemon.mcp.manager import McpManager

    manager = McpManager(loaded.settings.mcp, cwd=Path.cwd(), log_dir=paths.log_dir())
    try:
        await manager.start()
    finally:
        await manager.aclose()
    checks = []
    for name, connection in manager.connections.items():
        label = f"mcp {name}"
        where = f"[mcp.servers.{name}]"
        if connection.state == "disabled":
            checks.append(Check(label, "ok", f"disabled (enabled = false in {where})"))
        elif connection.last_error is None:
            checks.append(
                Check(
                    label,
                    "ok",
                    f"{connection.settings.transport}: started in {connection.start_ms:.0f} ms; "
                    f"{plural(len(connection.tools), 'tool')},"
                    f" {plural(len(connection.prompts), 'prompt')},"
                    f" {plural(len(connection.resources), 'resource')}",
                )
            )
        else:
            log = f"; its log: {connection.log_file}" if connection.log_file else ""
            checks.append(
                Check(
                    label,
                    "fail",
                    connection.last_error,
                    f"fix command/args/url in {where} of your config.toml{log}",
                )
            )
    return checks
