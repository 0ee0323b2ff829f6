"""Is the daemon responsive while tools work? Status latency under load, and cancel latency.

The real daemon runs in a subprocess over stdio (as an editor spawns it), with the model
faked on the wire and scripted to call one heavy tool after another on a large generated
workspace: the Python standard library copied several times (about 100 MB of source), a
tree of 100,000 file names, a 2 MB Python file, a git repository with a large diff, and a
line on which ``(a+)+$`` backtracks exponentially in Python's ``re``.

1. Status under load: for each tool, a query calls it over and over while the client sends
   ``deputydev/status`` back to back (10 ms apart); only the requests sent while a tool was
   running count. Prints p50, p99 and max per tool, and over all of them (target: p99 under
   100 ms).
2. Cancel latency: for each tool, a query calls it once; 300 ms into the call the client
   sends ``$/cancelRequest`` and times the RequestCancelled answer, then checks that the
   session takes a new query at once. Prints each and the worst.

Tools run twice where it matters: ``grep_search`` on ripgrep (the default) and on the
Python fallback (``solver.tools.grepEngine = "python"``), which runs the backtracking
pattern in a process of its own.

    python -m bench.status_latency [--copies 3] [--names 100000] [--rounds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled

from tests.e2e.harness import DaemonClient, start_daemon
from tests.fakes.llm_server import Call, LLMServer, Reply, Text

STDLIB = Path(sysconfig.get_path("stdlib"))


@dataclass(frozen=True)
class Scenario:
    label: str
    tool: str
    arguments: dict[str, Any]
    engine: str = "auto"


SCENARIOS = (
    Scenario("grep_search (ripgrep, whole tree)", "grep_search", {"pattern": r"\w+Error\(\w+"}),
    Scenario("grep_search (ripgrep, (a+)+$)", "grep_search", {"pattern": "(a+)+$"}),
    Scenario(
        "grep_search (python, whole tree)",
        "grep_search",
        {"pattern": r"\w+Error\(\w+", "path": "lib"},
        "python",
    ),
    Scenario(
        "grep_search (python, (a+)+$)",
        "grep_search",
        {"pattern": "(a+)+$", "path": "bomb.txt"},
        "python",
    ),
    Scenario("file_path_search", "file_path_search", {"query": "modhandlr"}),
    Scenario("list_directory (recursive)", "list_directory", {"path": "names", "recursive": True}),
    Scenario("read_file (2 MB outline)", "read_file", {"path": "huge.py"}),
    Scenario("git diff", "git", {"command": "diff", "path": "lib"}),
    Scenario("git log", "git", {"command": "log", "path": "lib", "limit": 100}),
    Scenario(
        "execute_command (CPU)",
        "execute_command",
        {"command": f"{sys.executable} -c 'sum(i * i for i in range(10**9))'"},
    ),
)


def pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def make_workspace(root: Path, copies: int, names: int) -> None:
    started = time.monotonic()
    sources = [p for p in STDLIB.rglob("*.py") if "site-packages" not in p.parts and p.is_file()]
    for n in range(copies):
        for src in sources:
            dest = root / "lib" / f"copy{n}" / src.relative_to(STDLIB)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
    for n in range(names):
        folder = root / "names" / f"d{n // 1000:03d}"
        if n % 1000 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"module_{n:06d}_handler.py").touch()
    typing_src = (STDLIB / "typing.py").read_text()
    (root / "huge.py").write_text((typing_src * (1_990_000 // len(typing_src) + 1))[:1_990_000])
    (root / "bomb.txt").write_text("a" * 28 + "!\n")

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", "lib/copy0")
    git("-c", "user.name=B", "-c", "user.email=b@e", "commit", "-qm", "the library")
    for path in sorted((root / "lib" / "copy0").rglob("*.py"))[:1500]:
        with path.open("a") as out:
            out.write("# changed\n")
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    files = sum(1 for p in root.rglob("*") if p.is_file())
    print(
        f"workspace: {files:,} files, {size / 1e6:.0f} MB, made in "
        f"{time.monotonic() - started:.0f} s"
    )


@dataclass
class Running:
    """Which tool calls are in flight, from the query's progress events."""

    started: int = 0
    finished: int = 0
    samples: list[float] = field(default_factory=list)

    def busy(self) -> bool:
        return self.started > self.finished


async def status_under_load(
    client: DaemonClient, llm: LLMServer, scenario: Scenario, rounds: int, token: str
) -> list[float]:
    replies = [
        Reply([Call(f"{token}-{n}", scenario.tool, scenario.arguments)]) for n in range(rounds)
    ]
    llm.script(*replies, Reply([Text("done")]))
    values = client.progress_values[token]
    query = asyncio.ensure_future(
        client.request(
            "deputydev/query", {"query": scenario.label, "partialResultToken": token}, 900
        )
    )
    latencies: list[float] = []
    while not query.done():
        kinds = [v["kind"] for v in values]
        busy_before = kinds.count("toolCall") > kinds.count("toolResult")
        sent = time.perf_counter()
        await client.request("deputydev/status", {}, 30)
        took = time.perf_counter() - sent
        kinds = [v["kind"] for v in values]
        busy_after = kinds.count("toolCall") > kinds.count("toolResult")
        if busy_before and busy_after:
            latencies.append(took)
        await asyncio.sleep(0.01)
    result = await query
    errors = [c["result"][:200] for c in result["toolCalls"] if c["isError"]]
    if errors:
        print(f"    (tool errors: {errors[0]})")
    return latencies


def _busy(values: list[Any]) -> bool:
    kinds = [v["kind"] for v in values]
    return kinds.count("toolCall") > kinds.count("toolResult")


async def cancel_latency(
    client: DaemonClient, llm: LLMServer, scenario: Scenario, token: str, rounds: int
) -> tuple[float, float] | None:
    """Cancel 300 ms into a run of calls, while one is in flight; None if none was."""
    llm.script(
        *[Reply([Call(f"{token}-{n}", scenario.tool, scenario.arguments)]) for n in range(rounds)],
        Reply([Text("ok")]),
    )
    values = client.progress_values[token]
    pending = client.protocol.send_request_async(
        "deputydev/query", {"query": scenario.label, "partialResultToken": token}, msg_id=token
    )
    await client.wait_for(lambda: any(v["kind"] == "toolCall" for v in values), 60, "tool")
    await asyncio.sleep(0.3)  # into the work
    in_flight = asyncio.ensure_future(client.wait_for(lambda: _busy(values), 120, "a call"))
    await asyncio.wait({in_flight, pending}, return_when=asyncio.FIRST_COMPLETED)
    in_flight.cancel()
    sent = time.perf_counter()
    client.protocol.notify("$/cancelRequest", types.CancelParams(id=token))
    try:
        await asyncio.wait_for(pending, 120)
        cancelled: float | None = None  # it had finished
    except JsonRpcRequestCancelled:
        cancelled = time.perf_counter() - sent
    with llm._lock:  # the calls the cancelled query did not get to
        llm._replies.clear()
    llm.script(Reply([Text("ok")]))
    session = values[0]["sessionId"]
    sent = time.perf_counter()
    again = await client.request("deputydev/query", {"query": "again", "sessionId": session})
    assert again["text"] == "ok"
    return None if cancelled is None else (cancelled, time.perf_counter() - sent)


async def run(copies: int, names: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="deputydev-bench-") as tmp, LLMServer() as llm:
        workspace = Path(tmp) / "ws"
        workspace.mkdir()
        make_workspace(workspace, copies, names)
        overall: list[float] = []
        grep_all: list[float] = []
        cancels: list[tuple[str, float, float]] = []
        for engine in ("auto", "python"):
            client = await start_daemon(
                workspace,
                stderr_path=Path(tmp) / f"daemon-{engine}.stderr",
                env={
                    "DEPUTYDEV_HOME": str(Path(tmp) / "home"),
                    "OPENAI_BASE_URL": llm.url + "/v1",
                    "OPENAI_API_KEY": "sk-bench",
                    "DEPUTYDEV_PROVIDERS__DEFAULT_MODEL": "gpt-4.1",
                    "DEPUTYDEV_INDEX__ENABLED": "false",
                    "DEPUTYDEV_SOLVER__MAX_STEPS": "500",
                    "DEPUTYDEV_SOLVER__TOOLS__GREP_ENGINE": engine,
                    "DEPUTYDEV_SOLVER__TOOLS__TIMEOUT_S": "600",
                    "DEPUTYDEV_SOLVER__TOOLS__COMMAND_TIMEOUT_S": "4",
                },
            )
            client.on_request("deputydev/confirm", lambda params: {"approved": True})
            try:
                await client.request("deputydev/status", {})
                for n, scenario in enumerate(s for s in SCENARIOS if s.engine == engine):
                    several = (
                        1 if "(a+)" in scenario.label or "execute" in scenario.tool else rounds
                    )
                    lat = await status_under_load(client, llm, scenario, several, f"{engine}{n}")
                    overall += lat
                    if scenario.tool == "grep_search":
                        grep_all += lat
                    if lat:
                        print(
                            f"{scenario.label:36} status p50 {pct(lat, 50) * 1000:6.1f} ms  "
                            f"p99 {pct(lat, 99) * 1000:6.1f} ms  max {max(lat) * 1000:6.1f} ms"
                            f"  ({len(lat)} requests while it ran)"
                        )
                    else:
                        print(f"{scenario.label:36} finished before a status request")
                    timed = await cancel_latency(client, llm, scenario, f"{engine}c{n}", several)
                    if timed is None:
                        print(f"    ({scenario.label}: done before the cancel; not timed)")
                    else:
                        cancels.append((scenario.label, *timed))
            finally:
                await client.stop_daemon()
        print()
        for label, cancel, again in cancels:
            print(
                f"cancel {label:36} {cancel * 1000:7.1f} ms; next query on the session "
                f"answered in {again * 1000:6.1f} ms"
            )
        print()
        print(
            f"status while grep_search runs: p50 {pct(grep_all, 50) * 1000:.1f} ms, "
            f"p99 {pct(grep_all, 99) * 1000:.1f} ms ({len(grep_all)} requests)"
        )
        print(
            f"status while any tool runs:    p50 {pct(overall, 50) * 1000:.1f} ms, "
            f"p99 {pct(overall, 99) * 1000:.1f} ms, max {max(overall) * 1000:.1f} ms "
            f"({len(overall)} requests)"
        )
        worst = max(cancels, key=lambda c: c[1])
        print(f"worst cancel latency: {worst[1] * 1000:.1f} ms ({worst[0]})")
        print(f"mean cancel latency:  {statistics.mean(c[1] for c in cancels) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=3, help="copies of the stdlib")
    parser.add_argument("--names", type=int, default=100_000, help="empty files to name")
    parser.add_argument("--rounds", type=int, default=8, help="calls of each tool under load")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(run(args.copies, args.names, args.rounds))


if __name__ == "__main__":
    main()
