"""Start-up: spawn to ``initialize`` response, ours against a minimal pygls server.

Both servers are spawned the same way by the same interpreter, alternating, so that disk
cache and CPU frequency treat them alike. Prints the medians, the ratio (target <= 1.2) and
the resident memory of each after initialize (target: ours under 80 MB).

    python bench/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MINIMAL = """
from pygls.lsp.server import LanguageServer
server = LanguageServer("minimal", "0.1")
@server.feature("minimal/hello")
def hello(params):
    return {"hello": "world"}
server.start_io()
"""


def frame(payload: dict[str, object]) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def read_message(stream: object) -> dict[str, object]:
    length = 0
    while True:
        line = stream.readline()  # type: ignore[attr-defined]
        if not line:
            raise RuntimeError("server closed its output")
        if line == b"\r\n":
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    result: dict[str, object] = json.loads(stream.read(length))  # type: ignore[attr-defined]
    return result


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    init = frame(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"processId": os.getpid(), "rootUri": None, "capabilities": {}},
        }
    )
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(init)
    proc.stdin.flush()
    while read_message(proc.stdout).get("id") != 1:
        pass
    elapsed = time.perf_counter() - start
    proc.stdin.write(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
    proc.stdin.flush()
    time.sleep(0.5)  # let the idle server settle before reading its memory
    memory = rss_mb(proc.pid)
    proc.stdin.write(frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
    proc.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
    proc.stdin.close()
    proc.wait(10)
    return elapsed, memory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        minimal = Path(tmp) / "minimal_server.py"
        minimal.write_text(MINIMAL)
        env = dict(os.environ, DEPUTYDEV_HOME=str(Path(tmp) / "home"))
        ours_cmd = [sys.executable, "-m", "daemon", "serve"]
        base_cmd = [sys.executable, str(minimal)]
        measure(ours_cmd, env)  # warm the disk cache and .pyc files for both
        measure(base_cmd, env)
        ours, base, ours_mem, base_mem = [], [], [], []
        for _ in range(args.runs):
            t, m = measure(ours_cmd, env)
            ours.append(t)
            ours_mem.append(m)
            t, m = measure(base_cmd, env)
            base.append(t)
            base_mem.append(m)
    o, b = statistics.median(ours), statistics.median(base)
    print(f"spawn->initialize median: deputydev {o * 1000:.0f} ms, minimal pygls {b * 1000:.0f} ms")
    print(f"ratio: {o / b:.2f} (target <= 1.20)")
    print(
        f"idle RSS after initialize: deputydev {statistics.median(ours_mem):.1f} MB, "
        f"minimal pygls {statistics.median(base_mem):.1f} MB (target < 80 MB)"
    )


if __name__ == "__main__":
    main()
