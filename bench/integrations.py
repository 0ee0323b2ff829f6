"""Figures for issue 14's integrations: import costs and the MCP tool round trip.

1. **Import cost added to the first query** by each client library the integrations load
   on first use, measured in fresh interpreters that have already imported what a daemon
   has loaded by the time a query runs (pygls, lsprotocol, pydantic, httpx, the daemon's
   own server and solver modules), so that only the library's own cost is counted. Median
   of ``--imports`` runs each.
2. **MCP tool round trip**: a call through :class:`daemon.mcp.manager.McpTool` (the agents'
   view: approval check, the SDK's JSON-RPC over the transport, the result as text) against
   a direct ``Client.call_tool`` of the SDK on the same connection, and against the
   server's own time to do the work (the tool's function called in process). Real servers:
   ``mcp-server-time`` over stdio, and ``tests.fakes.mcp_server``'s ``echo`` over stdio and
   over the SDK's streamable HTTP transport. Medians and p95 of ``--calls`` calls.
3. **Server start**: spawn (or connect), handshake and listing, as the first query pays it.
4. **Images**: checking an image within the limits (its header only), and fitting a 12 MP
   photo and a large PNG screenshot to Anthropic's limit (Pillow: decode, resize, encode).

    python -m bench.integrations [--imports 5] [--calls 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

BASELINE = (
    "import pygls.lsp.server, lsprotocol.types, pydantic, httpx, httpx2;"
    "import daemon.server, daemon.solver.loop, daemon.tools.registry, providers.router"
)
LIBRARIES: dict[str, str] = {
    "mcp (SDK client, stdio + HTTP)": ("import mcp, mcp.client.stdio, mcp.client.streamable_http"),
    "openai (OpenRouter)": "import openai",
    "anthropic": "import anthropic",
    "anthropic Bedrock client + boto3/botocore": (
        "from anthropic import AsyncAnthropicBedrock; import boto3, botocore.auth, "
        "botocore.eventstream, botocore.parsers"
    ),
    "anthropic Vertex client + google-auth": (
        "from anthropic import AsyncAnthropicVertex; "
        "import google.auth, google.auth.transport.requests, google.oauth2.service_account"
    ),
    "Pillow (downscaling an image)": "from PIL import Image; Image.init()",
}
# Imports a library's measurement starts after (what the first query has already paid).
ALREADY = {
    "anthropic Bedrock client + boto3/botocore": "import anthropic",
    "anthropic Vertex client + google-auth": "import anthropic",
}


def import_ms(statement: str, before: str, runs: int) -> float:
    code = (
        f"{BASELINE}\n{before}\nimport time\nt = time.perf_counter()\n"
        f"{statement}\n"
        "print((time.perf_counter() - t) * 1000)"
    )
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        times.append(float(out.strip().splitlines()[-1]))
    return statistics.median(times)


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"median {statistics.median(ordered):7.3f} ms   p95 {p95:7.3f} ms"


async def timed(calls: int, *variants: Callable[[], Awaitable[Any]]) -> list[list[float]]:
    """Each variant's times, the variants alternating call by call (so that a busy moment
    of the machine falls on all of them alike)."""
    for call in variants:
        for _ in range(10):  # warm up
            await call()
    out: list[list[float]] = [[] for _ in variants]
    for _ in range(calls):
        for samples, call in zip(out, variants, strict=True):
            start = time.perf_counter()
            await call()
            samples.append((time.perf_counter() - start) * 1000)
    return out


async def round_trips(calls: int) -> None:
    from daemon.mcp.client import ServerConnection
    from daemon.mcp.manager import McpTool
    from daemon.mcp.settings import McpServerSettings
    from daemon.tools.base import ToolContext
    from tests.fakes.mcp_server import http_server

    repo = Path(__file__).resolve().parents[1]
    ctx = ToolContext(roots=[repo])
    with tempfile.TemporaryDirectory() as tmp, http_server(Path(tmp) / "http.log") as url:
        cases = [
            (
                "mcp-server-time get_current_time (stdio)",
                McpServerSettings(
                    command=sys.executable, args=("-m", "mcp_server_time"), auto_approve=("*",)
                ),
                "get_current_time",
                {"timezone": "Europe/Paris"},
                _time_server_own_ms,
            ),
            (
                "test server echo (stdio)",
                McpServerSettings(
                    command=sys.executable,
                    args=("-m", "tests.fakes.mcp_server"),
                    cwd=str(repo),
                    auto_approve=("*",),
                ),
                "echo",
                {"text": "x" * 100},
                None,
            ),
            (
                "test server echo (streamable HTTP)",
                McpServerSettings(url=url, auto_approve=("*",)),
                "echo",
                {"text": "x" * 100},
                None,
            ),
        ]
        for label, settings, tool, arguments, own in cases:
            connection = ServerConnection("bench", settings, log_dir=Path(tmp))
            start = time.perf_counter()
            await connection.ensure_started()
            started = (time.perf_counter() - start) * 1000
            try:
                info = next(t for t in connection.tools if t.name == tool)
                agent_tool = McpTool(connection, info)
                client = connection._client
                assert client is not None

                async def direct(
                    c: Any = client, name: str = tool, args: dict[str, Any] = arguments
                ) -> Any:
                    return await c.call_tool(name, args)

                async def through(t: McpTool = agent_tool, args: dict[str, Any] = arguments) -> Any:
                    return await t(args, ctx)

                sdk, ours = await timed(calls, direct, through)
            finally:
                await connection.stop()
            own_ms = own(calls) if own is not None else 0.0
            print(f"\n{label}: started (spawn/connect + handshake + listing) in {started:.0f} ms")
            print(f"  server's own work         {own_ms:7.3f} ms")
            print(f"  SDK call_tool round trip  {summary(sdk)}")
            print(f"  through McpTool (agents)  {summary(ours)}")
            overhead = statistics.median(ours) - own_ms
            layer = statistics.median(ours) - statistics.median(sdk)
            print(
                f"  overhead over the server's own time: {overhead:.3f} ms"
                f" (of which our layer over the SDK: {layer:+.3f} ms)"
            )


def _time_server_own_ms(calls: int) -> float:
    from mcp_server_time.server import TimeServer  # type: ignore[import-untyped]

    server = TimeServer()
    for _ in range(10):
        server.get_current_time("Europe/Paris")
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        server.get_current_time("Europe/Paris")
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def images(runs: int = 5) -> None:
    import base64
    import io

    from PIL import Image

    from providers.base import ImagePart
    from providers.images import LIMITS, fit

    def encoded(fmt: str, size: tuple[int, int]) -> ImagePart:
        image = Image.radial_gradient("L").resize(size).convert("RGB")
        buffer = io.BytesIO()
        image.save(buffer, fmt)
        media = "image/jpeg" if fmt == "JPEG" else "image/png"
        return ImagePart(media, base64.b64encode(buffer.getvalue()).decode())

    cases = {
        "within the limits (800x600 PNG): header only": encoded("PNG", (800, 600)),
        "12 MP photo (4000x3000 JPEG) to 1568 px": encoded("JPEG", (4000, 3000)),
        "screenshot (3840x2160 PNG) to 1568 px": encoded("PNG", (3840, 2160)),
    }
    print("\nImages fitted to Anthropic's limit (median of", runs, "runs):")
    for label, part in cases.items():
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            fit(part, LIMITS["anthropic"])
            samples.append((time.perf_counter() - start) * 1000)
        print(f"  {label:48s} {statistics.median(samples):8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--imports", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()

    print(f"Import cost added to the first query (median of {args.imports} fresh interpreters,")
    print("after the daemon's own modules are loaded):")
    for label, statement in LIBRARIES.items():
        ms = import_ms(statement, ALREADY.get(label, ""), args.imports)
        print(f"  {label:48s} {ms:7.0f} ms")
    asyncio.run(round_trips(args.calls))
    images()


if __name__ == "__main__":
    main()
