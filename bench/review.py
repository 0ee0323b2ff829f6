"""Code review: a 500-line diff reviewed by the five reviewers through the daemon.

A git repository in a temporary folder gets a change of 500 diff lines (five files, each
with 60 lines changed and 40 added); the real daemon (``deputydev serve`` over stdio, as
an editor starts it) answers ``deputydev/review`` with its providers pointed at the fake
model server. A first review warms the daemon up (the provider SDK is imported on first
use); the second is measured. The fake plays each reviewer (two findings each, one of them
a duplicate across reviewers), the validation pass, a model's latency (``--latency`` seconds before
each answer) and a provider's prompt cache: a request whose tools + system prompt an
earlier request already sent reads those tokens from the cache (as Anthropic's breakpoints
on tools and system, and OpenAI's automatic prefix cache, would).

Printed per run, then the median: model calls, input tokens (uncached + cached), the share
of input tokens served from the cache, wall time, the time a model call was in flight, and
the daemon's own overhead (wall time with no model call in flight: reading the diff,
starting the reviewers, tools, validation, saving the session, publishing diagnostics).

    python -m bench.review [--runs 3] [--latency 0.4]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.e2e.harness import start_daemon
from tests.fakes.llm_server import LLMServer
from tests.fakes.review_model import ReviewModel, finding

FILES = 5


def make_repo(root: Path) -> int:
    """A repository whose uncommitted change is 500 diff lines; returns that count."""
    root.mkdir(parents=True)

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=B", "-c", "user.email=b@example.com", *args],
            cwd=root,
            check=True,
            capture_output=True,
        )

    git("init", "-q", "-b", "main")
    for n in range(FILES):
        body = "".join(
            f"def handler_{n}_{i}(request):\n    value = request.get('v{i}')\n"
            f"    return value * {i}\n\n\n"
            for i in range(40)
        )
        (root / f"service_{n}.py").write_text(body)
    git("add", ".")
    git("commit", "-qm", "base")
    for n in range(FILES):
        path = root / f"service_{n}.py"
        lines = path.read_text().splitlines()
        for i in range(30):  # 30 lines changed: 30 removed + 30 added = 60 diff lines
            lines[i * 5 + 2] = f"    return (value or 0) * {i} + 1"
        lines += [f"LIMIT_{n}_{i} = {i}" for i in range(40)]  # 40 added
        path.write_text("\n".join(lines) + "\n")
    done = subprocess.run(
        ["git", "diff", "--numstat"], cwd=root, check=True, capture_output=True, text=True
    )
    return sum(
        int(a) + int(d)
        for a, d, _ in (line.split("\t") for line in done.stdout.split("\n") if line)
    )


def script() -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for k, name in enumerate(
        ("security", "correctness", "performance", "maintainability", "tests")
    ):
        out[name] = [
            finding(f"service_{k}.py", 3, category=f"{name}-issue", message=f"{name} finding"),
            # the same problem seen by every reviewer: merged into one
            finding("service_0.py", 8, category="shared", message="value may be None here"),
        ]
    return out


async def one_run(tmp: Path, latency: float) -> dict[str, float]:
    repo = tmp / "repo"
    diff_lines = make_repo(repo)
    model = ReviewModel(script(), cache=True, delay_s=latency)
    with LLMServer() as llm:
        llm.responder = model
        client = await start_daemon(
            repo,
            stderr_path=tmp / "daemon.stderr",
            env={
                "DEPUTYDEV_HOME": str(tmp / "home"),
                "OPENAI_BASE_URL": llm.url + "/v1",
                "OPENAI_API_KEY": "sk-bench",
                "DEPUTYDEV_PROVIDERS__DEFAULT_MODEL": "gpt-4.1",
                "DEPUTYDEV_INDEX__ENABLED": "false",
            },
        )
        client.on_notification("textDocument/publishDiagnostics")
        try:
            # A first review warms the daemon (the provider SDK is imported on first use, as
            # in an editor's long-lived daemon); the measured one meets a cold prompt cache.
            await client.request("deputydev/review", {"scope": "uncommitted"}, timeout=300)
            llm.responder = model = ReviewModel(script(), cache=True, delay_s=latency)
            started = time.perf_counter()
            result = await client.request("deputydev/review", {"scope": "uncommitted"}, timeout=300)
            client_wall = time.perf_counter() - started
        finally:
            await client.stop_daemon()
    usage = result["usage"]
    cached = usage["cacheReadTokens"]
    total_in = usage["inputTokens"] + cached
    return {
        "diff_lines": diff_lines,
        "calls": result["modelCalls"],
        "input": total_in,
        "cached": cached,
        "share": cached / total_in if total_in else 0.0,
        "wall": result["wallMs"] / 1000,
        "client_wall": client_wall,
        "model": result["modelMs"] / 1000,
        "overhead": (result["wallMs"] - result["modelMs"]) / 1000,
        "findings": len(result["findings"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.4, help="seconds per model answer")
    args = parser.parse_args()
    runs = []
    for n in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            r = asyncio.run(one_run(Path(folder), args.latency))
        runs.append(r)
        print(
            f"run {n + 1}: {r['diff_lines']:.0f}-line diff, {r['calls']:.0f} model calls, "
            f"{r['input']:.0f} input tokens ({r['cached']:.0f} cached, {r['share']:.0%}), "
            f"wall {r['wall']:.2f} s (client {r['client_wall']:.2f} s), model in flight "
            f"{r['model']:.2f} s, daemon overhead {r['overhead'] * 1000:.0f} ms, "
            f"{r['findings']:.0f} findings"
        )

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    print(
        f"median of {len(runs)}: {med('calls'):.0f} model calls, {med('input'):.0f} input tokens, "
        f"{med('share'):.0%} from the prompt cache, wall {med('wall'):.2f} s, model "
        f"{med('model'):.2f} s, daemon overhead {med('overhead') * 1000:.0f} ms "
        f"({med('overhead') / med('wall'):.0%} of the wall time; model latency "
        f"{args.latency:g} s per answer)"
    )


if __name__ == "__main__":
    main()
