"""What hardening costs each git the daemon runs (indexer.gitsafe): plain ``git status``
against the hardened one (its driver query included), in this repository.

    .venv/bin/python -m bench.git_hardening
"""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path

from indexer.gitsafe import git_argv, git_env

ROUNDS = 40


def _time(argv: list[str], cwd: Path, env: dict[str, str] | None) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=True)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    plain, hardened = [], []
    for _ in range(ROUNDS):
        plain.append(_time(["git", "status", "--short"], root, None))
        started = time.perf_counter()
        argv = git_argv(root, "status", "--short")  # runs the driver query
        subprocess.run(argv, cwd=root, env=git_env(), capture_output=True, check=True)
        hardened.append((time.perf_counter() - started) * 1000)
    print(
        f"git status, median of {ROUNDS}: plain {statistics.median(plain):.1f} ms, "
        f"hardened {statistics.median(hardened):.1f} ms "
        f"(+{statistics.median(hardened) - statistics.median(plain):.1f} ms)"
    )


if __name__ == "__main__":
    main()
