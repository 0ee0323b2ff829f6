"""Settings of the MCP client (nested in the daemon's settings tree as ``mcp``).

    [mcp.servers.time]                 # a server run as a program, spoken to over stdio
    command = "uvx"
    args = ["mcp-server-time"]
    env = { TZ = "Europe/Paris" }      # added to a minimal environment (PATH, HOME, ...)
    auto_approve = ["get_current_time"]

    [mcp.servers.tracker]              # a server reached over streamable HTTP
    url = "https://mcp.example.com/mcp"
    headers = { Authorization = "Bearer ${TRACKER_TOKEN}" }

A server declared here is a program the daemon runs, or a URL it sends data to, so this
whole section is user-only: only the user's own config.toml and ``DEPUTYDEV_MCP__*``
variables may set it, never a workspace's ``.deputydev/config.toml`` nor the editor
(``daemon.config``). Values in ``env``, ``headers`` and ``args`` may name variables of the
daemon's environment as ``${NAME}``, so that tokens need not be written into the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic.alias_generators import to_camel

# A server's name prefixes its tools' names (NAME__tool), which every provider limits to
# letters, digits, "_" and "-" (Gemini: starting with a letter); "__" is the separator,
# so a name may not contain it.
SERVER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")


def _server_name(name: str) -> str:
    if not SERVER_NAME.fullmatch(name) or "__" in name:
        raise ValueError(
            "a server's name is 1-32 letters, digits, '-' or '_', starting with a letter and "
            "without '__' (it prefixes its tools' names as NAME__tool)"
        )
    return name


ServerName = Annotated[str, AfterValidator(_server_name)]

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Section(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )


class McpServerSettings(_Section):
    """One server: ``command`` (stdio) or ``url`` (streamable HTTP), not both."""

    command: str | None = Field(default=None, min_length=1)
    args: tuple[str, ...] = ()
    env: dict[str, SecretStr] = {}
    cwd: str | None = None  # default: the first workspace root
    url: str | None = Field(default=None, pattern=r"^https?://")
    headers: dict[str, SecretStr] = {}
    # Tools that run without asking (their MCP names, or "*" for every tool of the server).
    auto_approve: tuple[str, ...] = ()
    enabled: bool = True
    # Seconds: one tool call, and starting the server (spawn or connect, then list tools).
    timeout_s: float = Field(default=60.0, gt=0, le=3600)
    startup_timeout_s: float = Field(default=30.0, gt=0, le=600)

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerSettings:
        if (self.command is None) == (self.url is None):
            raise ValueError("set either command (a program run over stdio) or url (HTTP)")
        return self

    @property
    def transport(self) -> str:
        return "stdio" if self.command is not None else "http"

    def approves(self, tool: str) -> bool:
        return "*" in self.auto_approve or tool in self.auto_approve


class McpSettings(_Section):
    servers: dict[ServerName, McpServerSettings] = {}


class MissingVariable(ValueError):
    def __init__(self, name: str, where: str) -> None:
        super().__init__(f"{where} uses ${{{name}}} but {name} is not set in the environment")
        self.variable = name


def expand(value: str, where: str, environ: Mapping[str, str] | None = None) -> str:
    """``value`` with each ``${NAME}`` replaced by that environment variable."""
    env = os.environ if environ is None else environ

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise MissingVariable(name, where)
        return env[name]

    return _VARIABLE.sub(one, value)
