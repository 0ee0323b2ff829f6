"""SIGKILL of ``deputydev index`` during a cold run leaves no process behind.

The index chunks files in a pool of spawned processes; the multiprocessing resource tracker
comes with it. Killed with SIGKILL the parent cannot stop them, so each worker watches its
parent and exits the moment it dies; the tracker follows once the workers are gone.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.harness import daemon_env

pytestmark = pytest.mark.skipif(
    not hasattr(os, "pidfd_open") or not Path("/proc/self/stat").exists(),
    reason="needs Linux: /proc to find the children and pidfds to wait on them",
)

WORKERS = 2
EXIT_WITHIN_S = 2.0


def children(pid: int) -> dict[int, str]:
    """Live children of ``pid``: their pid and command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after its ")".
        state, ppid = stat.rpartition(")")[2].split()[:2]
        if int(ppid) == pid and state != "Z":
            found[int(entry.name)] = cmdline
    return found


def wait_for_children(process: subprocess.Popen[bytes], timeout: float = 60) -> dict[int, str]:
    """The pool's workers and the resource tracker, once all of them have started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "deputydev index ended before its workers started"
        found = children(process.pid)
        workers = [p for p, cmd in found.items() if "multiprocessing.spawn" in cmd]
        tracker = [p for p, cmd in found.items() if "resource_tracker" in cmd]
        if len(workers) >= WORKERS and tracker:
            return found
        time.sleep(0.02)  # polling /proc: there is no event for "a child was spawned"
    raise AssertionError(f"the pool did not start in {timeout}s: {children(process.pid)}")


def wait_exited(pids: list[int], timeout: float) -> list[int]:
    """Wait (on pidfds, not a sleep) until every pid has exited; returns those still alive."""
    fds = {}
    for pid in pids:
        try:
            fds[os.pidfd_open(pid)] = pid
        except ProcessLookupError:
            continue  # already gone
    deadline = time.monotonic() + timeout
    try:
        while fds and (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select(list(fds), [], [], left)
            for fd in ready:
                os.close(fd)
                del fds[fd]
        return sorted(fds.values())
    finally:
        for fd in fds:
            os.close(fd)


@pytest.mark.slow
def test_workers_and_tracker_exit_when_deputydev_index_is_killed(tmp_path: Path) -> None:
    root = tmp_path / "big"
    root.mkdir()
    body = "".join(f"def function_{i}(x):\n    return x * {i}\n\n" for i in range(60))
    for n in range(3000):
        (root / f"module_{n}.py").write_text(f"# module {n}\n{body}")
    process = subprocess.Popen(
        [sys.executable, "-m", "daemon", "index", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=daemon_env({"DEPUTYDEV_INDEX__WORKERS": str(WORKERS)}),
    )
    try:
        found = wait_for_children(process)
        assert process.poll() is None, "the run must still be going when it is killed"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    workers = [p for p, cmd in found.items() if "multiprocessing.spawn" in cmd]
    try:
        assert wait_exited(workers, EXIT_WITHIN_S) == [], "workers outlived their parent"
        assert wait_exited(list(found), EXIT_WITHIN_S) == [], "the resource tracker lives on"
    finally:
        for pid in found:  # a failed run leaves nothing behind either
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
