"""An MCP server for the failure cases, built on the official SDK's ``MCPServer``.

The real servers the tests use (``mcp-server-time``, ``mcp-server-git``) behave; this one
misbehaves on demand: ``crash`` exits the process in the middle of a call, ``slow`` sleeps,
``fail`` raises. It also has a resource and a prompt. It runs over stdio, or over the SDK's
own streamable HTTP transport (uvicorn) on a loopback port:

    python -m tests.fakes.mcp_server              # stdio
    python -m tests.fakes.mcp_server http PORT    # http://127.0.0.1:PORT/mcp
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

README = "# Notes\nThe deploy key rotates every Monday."


def build() -> object:
    from mcp.server.mcpserver import MCPServer

    app = MCPServer("deputydev-test")

    @app.tool()
    def echo(text: str) -> str:
        """Echo the text back."""
        return f"echo: {text}"

    @app.tool()
    def crash() -> str:
        """Exit the server process in the middle of the call."""
        print("about to crash", file=sys.stderr, flush=True)
        os._exit(3)

    @app.tool()
    async def slow(seconds: float) -> str:
        """Sleep for the given number of seconds."""
        await asyncio.sleep(seconds)
        return "slept"

    @app.tool()
    def fail() -> str:
        """Raise an error."""
        raise ValueError("the tool broke")

    @app.resource("notes://readme", description="The team's notes")
    def readme() -> str:
        return README

    @app.resource("notes://day/{day}", description="The notes of one day")
    def day(day: str) -> str:
        return f"Notes of {day}: nothing happened."

    @app.prompt()
    def review(code: str) -> str:
        """Review a piece of code."""
        return f"Review this: {code}"

    return app


def main() -> None:
    app = build()
    if len(sys.argv) > 2 and sys.argv[1] == "http":
        app.run(  # type: ignore[attr-defined]
            "streamable-http", host="127.0.0.1", port=int(sys.argv[2])
        )
    else:
        app.run()  # type: ignore[attr-defined]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def http_server(log: Path) -> Iterator[str]:
    """This server over streamable HTTP in a subprocess; yields its URL."""
    port = free_port()
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.mcp_server", "http", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[2],
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "the MCP HTTP server did not start: " + log.read_text()
                    ) from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


if __name__ == "__main__":
    main()
