"""One MCP server as the daemon sees it: started on first use, restarted after a failure.

A :class:`ServerConnection` runs the official ``mcp`` SDK's ``Client`` in a task of its own
(the SDK's transports are anyio task groups, which must be entered and left by one task),
and other tasks call through it: listing tools, prompts and resources once at start (again
when the server says its tools changed), calling tools with a time limit, reading
resources. The SDK is imported on the first start, never before: it costs about 0.7 s.

States: ``idle`` (configured, not started yet), ``starting``, ``running``, ``failed`` (it
would not start, or it stopped: ``last_error`` says why, with the end of its stderr),
``stopped`` (the daemon stopped it) and ``disabled`` (``enabled = false``). A failed server is
started again on its next use, but not sooner than a back-off after repeated failures
(5 s doubling to 60 s), so a broken command does not cost every query a spawn; a server
that ran and then stopped is started again at once.

A stdio server's stderr goes to ``mcp-NAME.log`` in the daemon's log folder; the SDK passes
it only ``PATH``, ``HOME``, ``USER``, ``SHELL``, ``TERM``, ``LOGNAME`` and the ``env`` of its
settings, so the daemon's own keys never reach it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO, TypeVar

from daemon.logs import redact, register_secret
from daemon.mcp.settings import McpServerSettings, MissingVariable, expand

if TYPE_CHECKING:
    from mcp import Client
    from mcp_types import CallToolResult, GetPromptResult, ReadResourceResult

log = logging.getLogger(__name__)

T = TypeVar("T")
State = Literal["idle", "starting", "running", "failed", "stopped", "disabled"]

# Listings are paginated; a server that never stops paginating is cut off here.
MAX_PAGES = 20
BACKOFF_FIRST_S = 5.0
BACKOFF_MAX_S = 60.0
STOP_TIMEOUT_S = 8.0
STDERR_TAIL_BYTES = 4096


class McpUnavailable(Exception):
    """The server cannot be used now; the message says why and what to change."""


class McpCallFailed(Exception):
    """The call reached the server and failed there, or the server stopped during it."""


@dataclass(frozen=True, slots=True)
class ToolInfo:
    name: str  # the server's own name for it
    description: str
    input_schema: Mapping[str, Any]
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class PromptArgumentInfo:
    name: str
    description: str = ""
    required: bool = False


@dataclass(frozen=True, slots=True)
class PromptInfo:
    name: str
    description: str = ""
    arguments: tuple[PromptArgumentInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    uri: str
    name: str
    description: str = ""
    mime_type: str | None = None


@dataclass(frozen=True, slots=True)
class ResourceTemplateInfo:
    uri_template: str  # RFC 6570: fill it in and read the result as a resource
    name: str
    description: str = ""
    mime_type: str | None = None


class ServerConnection:
    """One configured server. ``await ensure_started()``, then ``call``/``read_resource``."""

    def __init__(
        self,
        name: str,
        settings: McpServerSettings,
        *,
        cwd: Path | None = None,
        log_dir: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.settings = settings
        self.cwd = cwd
        self.log_dir = log_dir
        self._clock = clock
        self.state: State = "idle" if settings.enabled else "disabled"
        self.last_error: str | None = None
        self.tools: tuple[ToolInfo, ...] = ()
        self.prompts: tuple[PromptInfo, ...] = ()
        self.resources: tuple[ResourceInfo, ...] = ()
        self.resource_templates: tuple[ResourceTemplateInfo, ...] = ()
        self.starts = 0
        self.start_ms: float | None = None
        self._failures = 0
        self._failed_at = 0.0
        self._client: Client | None = None
        self._owner: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._starting: asyncio.Future[None] | None = None
        self._tools_stale = False

    # -- lifetime ----------------------------------------------------------------------------

    @property
    def log_file(self) -> Path | None:
        if self.log_dir is None or self.settings.command is None:
            return None
        return self.log_dir / f"mcp-{self.name}.log"

    def retry_in(self) -> float:
        """Seconds before a failed server may be started again (0: now)."""
        if self.state != "failed" or self._failures == 0:
            return 0.0
        wait = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2.0 ** (self._failures - 1))
        return max(0.0, self._failed_at + wait - self._clock())

    async def ensure_started(self) -> None:
        """Start the server unless it runs; raises :class:`McpUnavailable` with the reason."""
        if self.state == "disabled":
            raise McpUnavailable(
                f"MCP server {self.name} is disabled (enabled = false in [mcp.servers.{self.name}])"
            )
        if self.state == "running" and self._alive():
            if self._tools_stale:
                await self._refresh_tools()
            return
        if self.state == "running":  # its connection closed while it was idle
            await self._fail("the server stopped while idle")
        if self._starting is not None:
            await asyncio.shield(self._starting)
            return
        wait = self.retry_in()
        if wait > 0:
            raise McpUnavailable(
                f"MCP server {self.name} failed: {self.last_error} (next try in {wait:.0f} s)"
            )
        loop = asyncio.get_running_loop()
        self._starting = loop.create_future()
        try:
            await self._start()
            self._starting.set_result(None)
        except BaseException as exc:
            self._starting.set_exception(exc)
            self._starting.exception()  # retrieved: concurrent waiters see it, or nobody does
            raise
        finally:
            self._starting = None

    async def _start(self) -> None:
        self.state = "starting"
        self.starts += 1
        began = time.perf_counter()
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._stop = asyncio.Event()
        self._owner = asyncio.ensure_future(self._own(ready, self._stop))
        try:
            await asyncio.wait_for(asyncio.shield(ready), self.settings.startup_timeout_s)
        except TimeoutError:
            await self._fail(
                f"did not start within {self.settings.startup_timeout_s:g} s "
                f"(startup_timeout_s in [mcp.servers.{self.name}])"
            )
            raise McpUnavailable(f"MCP server {self.name} {self.last_error}") from None
        except asyncio.CancelledError:
            await asyncio.shield(self._fail("its start was cancelled"))
            raise
        except Exception as exc:
            await self._fail(self._explain(exc))
            raise McpUnavailable(
                f"MCP server {self.name} failed to start: {self.last_error}"
            ) from None
        self.start_ms = round((time.perf_counter() - began) * 1000, 1)
        self.state = "running"
        self.last_error = None
        self._failures = 0
        log.info(
            "MCP server %s started in %.0f ms: %d tools, %d prompts, %d resources",
            self.name,
            self.start_ms,
            len(self.tools),
            len(self.prompts),
            len(self.resources),
        )

    async def _own(self, ready: asyncio.Future[None], stop: asyncio.Event) -> None:
        """The task that holds the SDK client open until ``stop`` is set."""
        try:
            async with contextlib.AsyncExitStack() as stack:
                client = await self._connect(stack)
                self._client = client
                await self._list_everything(client)
                if not ready.done():
                    ready.set_result(None)
                await stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(_first(exc))
                ready.exception()
            elif not stop.is_set():
                log.warning("MCP server %s: connection ended: %r", self.name, exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            self._client = None

    async def _connect(self, stack: contextlib.AsyncExitStack) -> Client:
        from mcp import Client, StdioServerParameters
        from mcp_types import Implementation

        from daemon import __version__

        info = Implementation(name="deputydev", version=__version__)
        settings = self.settings
        where = f"[mcp.servers.{self.name}]"
        if settings.command is not None:
            from mcp.client.stdio import stdio_client

            params = StdioServerParameters(
                command=expand(settings.command, f"{where} command"),
                args=[expand(a, f"{where} args") for a in settings.args],
                env={
                    k: _secret(expand(v.get_secret_value(), f"{where} env.{k}"))
                    for k, v in settings.env.items()
                },
                cwd=settings.cwd or (str(self.cwd) if self.cwd else None),
            )
            errlog = stack.enter_context(self._open_log())
            transport: Any = stdio_client(params, errlog=errlog)
        else:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            assert settings.url is not None
            headers = {
                k: _secret(expand(v.get_secret_value(), f"{where} headers.{k}"))
                for k, v in settings.headers.items()
            }
            http = await stack.enter_async_context(
                httpx2.AsyncClient(
                    headers=headers,
                    timeout=httpx2.Timeout(30.0, read=300.0),
                    trust_env=False,
                )
            )
            transport = streamable_http_client(settings.url, http_client=http)
        client = Client(
            transport,
            client_info=info,
            message_handler=self._on_message,
            cache=None,
        )
        return await stack.enter_async_context(client)

    def _open_log(self) -> TextIO:
        path = self.log_file
        if path is None:
            import os

            return open(os.devnull, "w")  # closed by the exit stack
        path.parent.mkdir(parents=True, exist_ok=True)
        return open(path, "w", encoding="utf-8")  # closed by the exit stack

    async def _on_message(self, message: Any) -> None:
        kind = type(message).__name__
        if kind == "ToolListChangedNotification":
            self._tools_stale = True
        elif isinstance(message, Exception):
            log.debug("MCP server %s: transport error %r", self.name, message)

    async def _list_everything(self, client: Client) -> None:
        capabilities = client.server_capabilities
        self.tools = await self._list_tools(client) if capabilities.tools is not None else ()
        self.prompts = ()
        if capabilities.prompts is not None:
            self.prompts = tuple(
                PromptInfo(
                    p.name,
                    p.description or "",
                    tuple(
                        PromptArgumentInfo(a.name, a.description or "", bool(a.required))
                        for a in p.arguments or ()
                    ),
                )
                for p in await _pages(lambda c: client.list_prompts(cursor=c), "prompts")
            )
        self.resources = ()
        if capabilities.resources is not None:
            self.resources = tuple(
                ResourceInfo(r.uri, r.name, r.description or "", r.mime_type)
                for r in await _pages(lambda c: client.list_resources(cursor=c), "resources")
            )
        self.resource_templates = ()
        if capabilities.resources is not None:
            self.resource_templates = tuple(
                ResourceTemplateInfo(t.uri_template, t.name, t.description or "", t.mime_type)
                for t in await _pages(
                    lambda c: client.list_resource_templates(cursor=c), "resource_templates"
                )
            )

    async def _list_tools(self, client: Client) -> tuple[ToolInfo, ...]:
        self._tools_stale = False
        tools = await _pages(lambda c: client.list_tools(cursor=c), "tools")
        return tuple(
            ToolInfo(
                t.name,
                t.description or t.title or "",
                dict(t.input_schema or {"type": "object", "properties": {}}),
                bool(t.annotations is not None and t.annotations.read_only_hint),
            )
            for t in tools
        )

    async def _refresh_tools(self) -> None:
        client = self._client
        if client is None:
            return
        try:
            self.tools = await asyncio.wait_for(
                self._list_tools(client), self.settings.startup_timeout_s
            )
        except Exception as exc:
            log.warning("MCP server %s: listing its changed tools failed: %r", self.name, exc)

    def _alive(self) -> bool:
        """False once the connection is known to be closed (the process exited)."""
        client = self._client
        if client is None or self._owner is None or self._owner.done():
            return False
        # The SDK's dispatcher marks itself closed at EOF; read defensively (private).
        dispatcher = getattr(client.session, "_dispatcher", None)
        return not bool(getattr(dispatcher, "_closed", False))

    async def stop(self) -> None:
        """Stop the server (its process ends: stdin closed, then SIGTERM, then SIGKILL)."""
        await self._close()
        if self.state != "disabled":
            self.state = "stopped"

    async def _close(self) -> None:
        owner, stop = self._owner, self._stop
        self._owner = None
        if stop is not None:
            stop.set()
        if owner is not None and not owner.done():
            try:
                await asyncio.wait_for(asyncio.shield(owner), STOP_TIMEOUT_S)
            except TimeoutError:
                owner.cancel()
                with contextlib.suppress(BaseException):
                    await owner
            except BaseException:
                pass
        self._client = None

    async def _fail(self, why: str) -> None:
        if self.state not in ("running", "starting"):
            return  # already failed (two calls saw the same crash) or stopped
        # Only failures to start back off; a server that ran and stopped restarts at once.
        self._failures = self._failures + 1 if self.state == "starting" else 0
        await self._close()
        tail = self.stderr_tail()
        self.last_error = redact(f"{why}; its stderr ends: {tail}" if tail else why)
        self.state = "failed"
        self._failed_at = self._clock()
        log.warning("MCP server %s failed: %s", self.name, self.last_error)

    def stderr_tail(self, lines: int = 5) -> str:
        path = self.log_file
        if path is None or not path.exists():
            return ""
        with open(path, "rb") as file:
            file.seek(max(0, path.stat().st_size - STDERR_TAIL_BYTES))
            text = file.read().decode("utf-8", errors="replace")
        kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
        return " | ".join(kept)

    def _explain(self, exc: BaseException) -> str:
        exc = _first(exc)
        where = f"[mcp.servers.{self.name}]"
        if isinstance(exc, MissingVariable):
            return str(exc)
        if isinstance(exc, FileNotFoundError) and self.settings.command is not None:
            return (
                f"command {self.settings.command!r} was not found (check command in {where}, "
                "or install the server)"
            )
        if isinstance(exc, PermissionError) and self.settings.command is not None:
            return f"command {self.settings.command!r} cannot be run ({exc.strerror})"
        text = str(exc) or type(exc).__name__
        if type(exc).__name__ == "ConnectError":
            return f"cannot connect to {self.settings.url} ({text}; check url in {where})"
        if type(exc).__name__ == "MCPError" and "closed" in text.lower():
            return "the server exited before it answered"
        if type(exc).__name__ == "HTTPStatusError":
            return f"{self.settings.url} answered {text}"
        return f"{type(exc).__name__}: {text}"

    # -- calls -------------------------------------------------------------------------------

    async def call(self, tool: str, arguments: Mapping[str, Any]) -> CallToolResult:
        """Call ``tool``; :class:`McpCallFailed` when the server fails or stops during it,
        ``TimeoutError`` after ``timeout_s`` (the call is cancelled on the server)."""
        await self.ensure_started()
        client = self._client
        if client is None:
            raise McpUnavailable(f"MCP server {self.name} is not running")
        return await self._request(
            lambda: client.call_tool(tool, dict(arguments)), f"{tool} on MCP server {self.name}"
        )

    async def read_resource(self, uri: str) -> ReadResourceResult:
        await self.ensure_started()
        client = self._client
        if client is None:
            raise McpUnavailable(f"MCP server {self.name} is not running")
        return await self._request(lambda: client.read_resource(uri), f"reading {uri}")

    async def get_prompt(self, name: str, arguments: Mapping[str, str]) -> GetPromptResult:
        await self.ensure_started()
        client = self._client
        if client is None:
            raise McpUnavailable(f"MCP server {self.name} is not running")
        return await self._request(
            lambda: client.get_prompt(name, dict(arguments)),
            f"prompt {name!r} of MCP server {self.name}",
        )

    async def _request(self, send: Callable[[], Awaitable[T]], what: str) -> T:
        from mcp import MCPError
        from mcp_types import CONNECTION_CLOSED

        try:
            return await asyncio.wait_for(send(), self.settings.timeout_s)
        except TimeoutError:
            raise TimeoutError(
                f"{what} did not answer within {self.settings.timeout_s:g} s and was cancelled "
                f"(timeout_s in [mcp.servers.{self.name}])"
            ) from None
        except MCPError as exc:
            if exc.code == CONNECTION_CLOSED:
                await self._fail(f"it stopped during {what}")
                raise McpCallFailed(
                    f"MCP server {self.name} stopped during the call ({self.last_error}); "
                    "it is started again on its next use"
                ) from None
            raise McpCallFailed(f"{what} failed: {exc}") from None
        except Exception as exc:
            # A transport failure (HTTP server down, bad answer) ends this connection.
            first = _first(exc)
            await self._fail(f"{what} failed: {type(first).__name__}: {first}")
            raise McpCallFailed(f"MCP server {self.name}: {self.last_error}") from None


async def _pages(fetch: Callable[[str | None], Awaitable[Any]], field: str) -> list[Any]:
    out: list[Any] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page = await fetch(cursor)
        out.extend(getattr(page, field))
        cursor = page.next_cursor
        if not cursor:
            break
    return out


def _secret(value: str) -> str:
    """An env or header value, once ``${VARS}`` are expanded, is hidden from every log."""
    register_secret(value)
    return value


def _first(exc: BaseException) -> BaseException:
    """The first leaf of an exception group (anyio wraps transport errors in them)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc
