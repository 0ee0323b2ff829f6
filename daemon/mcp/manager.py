"""Every configured MCP server, and what the agent sees of them.

:class:`McpManager` keeps one :class:`~daemon.mcp.client.ServerConnection` per server of
``[mcp.servers]``. ``await manager.tools()`` starts the enabled servers that are not running
(all at once, each bounded by its ``startup_timeout_s``) and returns their tools as agent
tools named ``SERVER__tool``; a server that will not start is left out (its state and error
are in ``deputydev/mcp/list``) and the turn goes on with the rest. ``update(settings)``
stops the servers whose settings changed or were removed; they start again on next use.

Both the daemon (``daemon.mcp.service``) and ``deputydev ask`` own one; neither imports the
SDK until a server is started.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from daemon.mcp.client import (
    McpCallFailed,
    McpUnavailable,
    ServerConnection,
    ToolInfo,
)
from daemon.mcp.settings import McpSettings
from daemon.tools.base import Tool, ToolContext, ToolError, cap

if TYPE_CHECKING:
    from mcp_types import CallToolResult, GetPromptResult, ReadResourceResult

log = logging.getLogger(__name__)

SEPARATOR = "__"
# The strictest providers' limit on a tool name (OpenAI, Gemini): 64 of [A-Za-z0-9_-].
MAX_TOOL_NAME = 64
MAX_DESCRIPTION = 2_000
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def exposed_name(server: str, tool: str) -> str:
    """``server__tool``, made safe for every provider: other characters become ``_`` and a
    name too long is cut and given a short hash of the original, so that it stays unique."""
    name = f"{server}{SEPARATOR}{_UNSAFE.sub('_', tool)}"
    if len(name) <= MAX_TOOL_NAME and name == f"{server}{SEPARATOR}{tool}":
        return name
    digest = hashlib.sha1(tool.encode()).hexdigest()[:8]
    return f"{name[: MAX_TOOL_NAME - 9]}_{digest}"


class McpTool(Tool):
    """One tool of one MCP server, offered to the agents as ``SERVER__tool``.

    Each call is approved by the user through ``deputydev/confirm`` unless the server's
    ``auto_approve`` lists the tool; a call that fails, times out, or meets a stopped server
    is a tool error the model sees, and the turn goes on.
    """

    read_only = False

    def __init__(self, connection: ServerConnection, info: ToolInfo) -> None:
        # Built-in tools declare these on the class; an MCP tool's come from its server.
        auto = connection.settings.approves(info.name)
        vars(self).update(
            name=exposed_name(connection.name, info.name),
            description=_describe(connection.name, info),
            # Run alongside other read-only tools only when nothing needs asking.
            read_only=info.read_only and auto,
        )
        self.connection = connection
        self.info = info
        self.auto_approved = auto

    def budget(self, ctx: ToolContext) -> float | None:
        # The server's own timeout_s stops a call (on the server too); a restart may come first.
        settings = self.connection.settings
        return settings.timeout_s + settings.startup_timeout_s

    def parameters(self) -> dict[str, Any]:  # type: ignore[override]
        schema = dict(self.info.input_schema)
        schema.pop("$schema", None)
        schema.setdefault("type", "object")
        schema.setdefault("properties", {})
        return schema

    async def __call__(self, arguments: Mapping[str, Any], ctx: ToolContext) -> str:
        server, tool = self.connection.name, self.info.name
        if not self.auto_approved:
            if ctx.confirm is None:
                raise ToolError(
                    f"{tool} on MCP server {server} needs the user's approval and no one can "
                    "give it"
                )
            approved = await ctx.confirm(
                f"Run {tool} on MCP server {server}?",
                {"kind": "mcp", "server": server, "tool": tool, "arguments": dict(arguments)},
            )
            if not approved:
                raise ToolError(f"the user declined to run {tool} on MCP server {server}")
        try:
            result = await self.connection.call(tool, arguments)
        except (McpUnavailable, McpCallFailed, TimeoutError) as exc:
            raise ToolError(str(exc)) from None
        text = result_text(result)
        if result.is_error:
            raise ToolError(cap(text or f"{tool} failed", ctx.settings.max_output_chars))
        return cap(text, ctx.settings.max_output_chars)


def _describe(server: str, info: ToolInfo) -> str:
    text = info.description.strip() or info.name
    if len(text) > MAX_DESCRIPTION:
        text = text[:MAX_DESCRIPTION] + "…"
    return f"{text}\n(MCP server {server}, tool {info.name})"


def result_text(result: CallToolResult) -> str:
    """A tool result as text for the model: text parts as they are, structured content as
    JSON when there is no text, other parts as one-line notes."""
    parts = [_content_text(block) for block in result.content]
    text = "\n".join(p for p in parts if p)
    if not text and result.structured_content is not None:
        text = json.dumps(result.structured_content, indent=2, ensure_ascii=False)
    return text


def _content_text(block: Any) -> str:
    kind = getattr(block, "type", "")
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        size = len(base64.b64decode(block.data or "", validate=False)) if block.data else 0
        return f"[{kind} {block.mime_type}, {size} bytes: not shown to the model]"
    if kind == "resource_link":
        return f"[resource {block.uri}{': ' + block.description if block.description else ''}]"
    if kind == "resource":
        return _contents_text(block.resource)
    return f"[{kind or type(block).__name__} content]"


def _contents_text(contents: Any) -> str:
    text = getattr(contents, "text", None)
    if isinstance(text, str):
        return text
    blob = getattr(contents, "blob", None) or ""
    mime = getattr(contents, "mime_type", None) or "binary"
    size = len(base64.b64decode(blob, validate=False)) if blob else 0
    return f"[{contents.uri}: {mime}, {size} bytes: not shown to the model]"


def resource_text(result: ReadResourceResult) -> str:
    return "\n\n".join(_contents_text(c) for c in result.contents)


def prompt_text(result: GetPromptResult) -> str:
    """A prompt's messages, each under its role, as the text of a focus item."""
    parts = [f"({result.description})"] if result.description else []
    for message in result.messages:
        parts.append(f"[{message.role}]\n{_content_text(message.content)}")
    return "\n\n".join(parts)


class McpManager:
    def __init__(
        self,
        settings: McpSettings,
        *,
        cwd: Path | None = None,
        log_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.cwd = cwd
        self.log_dir = log_dir
        self.connections: dict[str, ServerConnection] = {
            name: ServerConnection(name, s, cwd=cwd, log_dir=log_dir)
            for name, s in settings.servers.items()
        }

    @property
    def configured(self) -> bool:
        return bool(self.connections)

    async def update(self, settings: McpSettings, cwd: Path | None = None) -> None:
        """New settings: servers removed or changed are stopped (changed ones start again,
        with their new settings, on next use); the others keep running."""
        old, self.connections = self.connections, {}
        self.settings = settings
        if cwd is not None:
            self.cwd = cwd
        stale: list[ServerConnection] = []
        for name, server_settings in settings.servers.items():
            current = old.pop(name, None)
            if current is not None and current.settings == server_settings:
                self.connections[name] = current
                continue
            if current is not None:
                stale.append(current)
            self.connections[name] = ServerConnection(
                name, server_settings, cwd=self.cwd, log_dir=self.log_dir
            )
        stale.extend(old.values())
        await asyncio.gather(*(c.stop() for c in stale))

    def connection(self, name: str) -> ServerConnection:
        found = self.connections.get(name)
        if found is None:
            known = ", ".join(sorted(self.connections)) or "none is configured"
            raise McpUnavailable(
                f"there is no MCP server {name!r} ({known}); declare it under "
                f"[mcp.servers.{name}] in your config.toml"
            )
        return found

    async def start(self, names: Sequence[str] | None = None) -> None:
        """Start the named (default: every enabled) server; failures are recorded, not raised."""
        chosen = [
            c
            for n, c in self.connections.items()
            if (names is None or n in names) and c.state != "disabled"
        ]
        results = await asyncio.gather(
            *(c.ensure_started() for c in chosen), return_exceptions=True
        )
        for connection, result in zip(chosen, results, strict=True):
            if isinstance(result, asyncio.CancelledError):
                raise result
            if isinstance(result, McpUnavailable):
                log.info("MCP server %s left out: %s", connection.name, result)
            elif isinstance(result, BaseException):
                log.warning("MCP server %s: %r", connection.name, result)

    async def tools(self) -> list[Tool]:
        """The tools of every enabled server that runs (starting those not running)."""
        if not self.configured:
            return []
        await self.start()
        out: list[Tool] = []
        for connection in self.connections.values():
            if connection.state == "running":
                out.extend(McpTool(connection, info) for info in connection.tools)
        return out

    async def read_resource(self, server: str, uri: str) -> str:
        """A resource's text, for a focus item; :class:`ToolError` says why it cannot be."""
        try:
            result = await self.connection(server).read_resource(uri)
        except (McpUnavailable, McpCallFailed, TimeoutError) as exc:
            raise ToolError(str(exc)) from None
        return resource_text(result)

    async def get_prompt(self, server: str, name: str, arguments: Mapping[str, str]) -> str:
        """A prompt's messages as text, for a focus item; :class:`ToolError` says why not.

        Checked against the prompt list first, so a wrong name or a missing argument is
        named before the server is asked."""
        try:
            connection = self.connection(server)
            await connection.ensure_started()
        except McpUnavailable as exc:
            raise ToolError(str(exc)) from None
        known = {p.name: p for p in connection.prompts}
        prompt = known.get(name)
        if prompt is None:
            offered = ", ".join(sorted(known)) or "none"
            raise ToolError(f"MCP server {server} has no prompt {name!r} (its prompts: {offered})")
        missing = [a.name for a in prompt.arguments if a.required and not arguments.get(a.name)]
        if missing:
            raise ToolError(
                f"prompt {name!r} of MCP server {server} needs "
                + ", ".join(repr(m) for m in missing)
                + " in 'arguments'"
            )
        extra = sorted(set(arguments) - {a.name for a in prompt.arguments})
        if extra:
            raise ToolError(
                f"prompt {name!r} of MCP server {server} takes no "
                + ", ".join(repr(e) for e in extra)
                + " (its arguments: "
                + (", ".join(a.name for a in prompt.arguments) or "none")
                + ")"
            )
        try:
            result = await connection.get_prompt(name, arguments)
        except (McpUnavailable, McpCallFailed, TimeoutError) as exc:
            raise ToolError(str(exc)) from None
        return prompt_text(result)

    async def aclose(self) -> None:
        await asyncio.gather(*(c.stop() for c in self.connections.values()))
