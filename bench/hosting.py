"""Source hosting: what each client library adds to the first query, and how long a pull
request with a 2,000-line diff takes to become context.

1. Client libraries. Each runs in a fresh interpreter against the fake hosts of
   ``tests/fakes/hosting_server.py`` (loopback, so the network is not what is measured):
   the import (pydantic, which the daemon always has, loaded before), then reading one item
   twice. "Added to the first query" is the import plus
   what the first call costs over the second (lazy models, client set-up). Ours (httpx, in
   ``hosting/``) always runs; githubkit, python-gitlab and atlassian-python-api run when
   the interpreter given by ``--others`` has them (they are not dependencies: install them
   in a scratch venv to compare).
2. A pull request of 20 files x 100 added lines (2,000 diff lines) with review comments
   and CI, turned into Markdown by ``Hosting.fetch`` with the default caps: cold (empty
   cache), warm (every request answered 304 from the ETag cache), and the rendering alone.

    python -m bench.hosting [--runs 7] [--others /tmp/clientbench/bin/python]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.fakes.hosting_data import github_files, jira_issue, seed_github_pull, seed_gitlab_mr
from tests.fakes.hosting_server import HostingServer

TOKEN = "ghp_benchtoken000000000000"

OURS = """
import asyncio, json, sys, time
import pydantic  # the daemon has it loaded already
from hosting.settings import HostingSettings  # so has it this (its config tree nests it)
t0 = time.perf_counter()
from hosting.service import Hosting
import httpx
t1 = time.perf_counter()
async def main():
    hosting = Hosting(HostingSettings.model_validate({"github": {"api_url": sys.argv[1]}}),
                      env={"GITHUB_TOKEN": sys.argv[2]})
    host = hosting.hosts.named("github")
    times = []
    for _ in range(2):
        a = time.perf_counter()
        await hosting.client(host).get_json("/repos/o/r/pulls/7")
        times.append(time.perf_counter() - a)
    await hosting.aclose()
    return times
first, second = asyncio.run(main())
print(json.dumps({"import": t1 - t0, "first": first, "second": second}))
"""

GITHUBKIT = """
import json, sys, time
import pydantic  # the daemon has it loaded already
t0 = time.perf_counter()
from githubkit import GitHub
t1 = time.perf_counter()
client = GitHub(sys.argv[2], base_url=sys.argv[1])
times = []
for _ in range(2):
    a = time.perf_counter()
    client.rest.pulls.get("o", "r", 7).json()
    times.append(time.perf_counter() - a)
# .parsed_data validates into githubkit's pydantic models, loaded on first use (and strict:
# it refuses the fake's trimmed pull); their import is timed apart.
m = time.perf_counter()
from githubkit.versions.latest.models import PullRequest
models = time.perf_counter() - m
print(json.dumps({"import": t1 - t0, "first": times[0], "second": times[1], "models": models}))
"""

PYTHON_GITLAB = """
import json, sys, time
import pydantic  # the daemon has it loaded already
t0 = time.perf_counter()
import gitlab
t1 = time.perf_counter()
client = gitlab.Gitlab(sys.argv[1], private_token=sys.argv[2])
times = []
for _ in range(2):
    a = time.perf_counter()
    client.projects.get("group/sub/proj", lazy=True).mergerequests.get(5)
    times.append(time.perf_counter() - a)
print(json.dumps({"import": t1 - t0, "first": times[0], "second": times[1]}))
"""

ATLASSIAN = """
import json, sys, time
import pydantic  # the daemon has it loaded already
t0 = time.perf_counter()
from atlassian import Jira
t1 = time.perf_counter()
client = Jira(url=sys.argv[1], token=sys.argv[2])
times = []
for _ in range(2):
    a = time.perf_counter()
    client.issue("PROJ-12")
    times.append(time.perf_counter() - a)
print(json.dumps({"import": t1 - t0, "first": times[0], "second": times[1]}))
"""


def run_child(python: str, code: str, url: str, token: str) -> dict[str, float] | None:
    done = subprocess.run(
        [python, "-c", code, url, token], capture_output=True, text=True, cwd=Path.cwd()
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        print(f"    (failed: {last[:160]})")
        return None
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def libraries(runs: int, others: str | None) -> None:
    print("1. Import cost added to the first query (fresh interpreter, loopback fake host)")
    print(f"   median of {runs}; first/second = reading one item the first and second time")
    with (
        HostingServer("github") as github,
        HostingServer("gitlab") as gitlab,
        HostingServer("jira") as jira,
    ):
        seed_github_pull(github)
        seed_gitlab_mr(gitlab)
        for version in ("2", "3", "latest"):
            jira.json(f"/rest/api/{version}/issue/PROJ-12", jira_issue())
        cases = [("httpx (ours, hosting/)", sys.executable, OURS, github.url)]
        if others:
            cases += [
                ("githubkit", others, GITHUBKIT, github.url),
                ("python-gitlab", others, PYTHON_GITLAB, gitlab.url),
                ("atlassian-python-api", others, ATLASSIAN, jira.url),
            ]
        for name, python, code, url in cases:
            found = [run_child(python, code, url, TOKEN) for _ in range(runs)]
            results = [r for r in found if r is not None]
            if not results:
                print(f"   {name:24} not measured")
                continue
            imp = statistics.median(r["import"] for r in results) * 1000
            first = statistics.median(r["first"] for r in results) * 1000
            second = statistics.median(r["second"] for r in results) * 1000
            added = imp + first - second
            print(
                f"   {name:24} import {imp:6.0f} ms  first {first:6.1f} ms  "
                f"second {second:5.1f} ms  -> added to the first query {added:6.0f} ms"
            )
            if "models" in results[0]:
                models = statistics.median(r["models"] for r in results) * 1000
                print(f"   {'':24} + its typed models for .parsed_data: {models:.0f} ms")


async def diff_to_context(runs: int) -> None:
    from hosting import markdown
    from hosting.github import GitHub
    from hosting.service import Hosting
    from hosting.settings import HostingSettings

    print("\n2. A pull request with a 2,000-line diff (20 files x 100 lines) into context")
    with HostingServer("github", auth=f"Bearer {TOKEN}") as github:
        seed_github_pull(github, files=github_files(count=20, lines=100), comments=30)
        url = "https://github.com/o/r/pull/7"
        settings = HostingSettings.model_validate({"github": {"api_url": github.url}})
        cold: list[float] = []
        warm: list[float] = []
        render: list[float] = []
        size = 0
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as folder:
                hosting = Hosting(settings, cache_dir=Path(folder), env={"GITHUB_TOKEN": TOKEN})
                started = time.perf_counter()
                text = await hosting.fetch(url)
                cold.append(time.perf_counter() - started)
                before = github.not_modified
                started = time.perf_counter()
                again = await hosting.fetch(url)
                warm.append(time.perf_counter() - started)
                assert again == text and github.not_modified > before
                host = hosting.hosts.named("github")
                assert host is not None
                item = await GitHub(hosting.client(host)).pull("o/r", 7)
                started = time.perf_counter()
                markdown.work_item(item, 40_000, settings.max_diff_lines)
                render.append(time.perf_counter() - started)
                size = len(text)
                await hosting.aclose()
        requests = len({(r.path, json.dumps(r.query, sort_keys=True)) for r in github.requests})
    ms = 1000.0
    print(f"   {requests} distinct API requests per pull request; Markdown {size:,} characters")
    print(f"   cold (no cache)       median {statistics.median(cold) * ms:6.1f} ms")
    print(f"   warm (all 304s)       median {statistics.median(warm) * ms:6.1f} ms")
    print(f"   rendering alone       median {statistics.median(render) * ms:6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--others", help="a Python with githubkit, python-gitlab, atlassian")
    args = parser.parse_args()
    libraries(args.runs, args.others)
    asyncio.run(diff_to_context(args.runs))


if __name__ == "__main__":
    main()
