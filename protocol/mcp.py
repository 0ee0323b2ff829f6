"""``deputydev/mcp/list``: the MCP servers of the user's config, their state and what they offer.

Servers are started on first use (a query, this request with ``start``); each is ``idle``,
``starting``, ``running``, ``failed`` (``lastError`` says why, with the end of its stderr),
``stopped`` or ``disabled``. Their tools reach the agents as ``SERVER__tool``; ``autoApproved``
tools run without ``deputydev/confirm``.
"""

from __future__ import annotations

from typing import Any, Literal

from protocol.base import WireModel

MCP_LIST = "deputydev/mcp/list"

McpState = Literal["idle", "starting", "running", "failed", "stopped", "disabled"]


class McpListParams(WireModel):
    # Start the servers that are not running yet (each bounded by its startupTimeoutS), so
    # that their tools can be listed; false answers at once with what is known.
    start: bool = True


class McpToolInfo(WireModel):
    name: str  # as the agents see it: SERVER__tool
    tool: str  # the server's own name
    description: str = ""
    auto_approved: bool = False
    read_only: bool = False
    input_schema: dict[str, Any] = {}


class McpPromptArgument(WireModel):
    name: str
    description: str = ""
    required: bool = False


class McpPromptInfo(WireModel):
    name: str
    description: str = ""
    arguments: list[McpPromptArgument] = []


class McpResourceInfo(WireModel):
    uri: str
    name: str
    description: str = ""
    mime_type: str | None = None


class McpResourceTemplateInfo(WireModel):
    uri_template: str  # RFC 6570; a filled-in URI is read as an mcp focus item's uri
    name: str
    description: str = ""
    mime_type: str | None = None


class McpServerInfo(WireModel):
    name: str
    transport: Literal["stdio", "http"]
    state: McpState
    # The program (stdio) or the URL (http); never an env value or a header.
    target: str
    tools: list[McpToolInfo] = []
    prompts: list[McpPromptInfo] = []
    resources: list[McpResourceInfo] = []
    resource_templates: list[McpResourceTemplateInfo] = []
    last_error: str | None = None
    starts: int = 0
    start_ms: float | None = None
    log_file: str | None = None


class McpListResult(WireModel):
    servers: list[McpServerInfo] = []


class McpServerStatus(WireModel):
    """A server's line in ``deputydev/status`` (prompts of the servers that have run)."""

    name: str
    state: McpState
    tools: int = 0
    prompts: list[McpPromptInfo] = []
    last_error: str | None = None


METHODS: dict[str, tuple[type[Any] | None, type[Any] | None]] = {
    MCP_LIST: (McpListParams, McpListResult),
}
