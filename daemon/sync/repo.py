"""A workspace root as a repository to publish: its name, its commit, whether it is clean.

The repository is untrusted input, so git runs with nothing from its config that could
start a program (no fsmonitor, no hooks), never prompting, taking no lock, under a time
limit. The name is the last part of ``remote.origin.url`` without ``.git``
(``git@host:acme/payments.git`` -> ``payments``), else the folder's name.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from pathlib import Path

_SAFE = ("-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null")
_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class RepoInfo:
    name: str
    commit: str | None  # None outside git, or before the first commit
    dirty: bool  # tracked files differ from the commit


async def _git(root: Path, *args: str) -> str | None:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}
    try:
        process = await asyncio.create_subprocess_exec(
            "git",
            *_SAFE,
            *args,
            cwd=root,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError:
        return None
    try:
        out, _ = await asyncio.wait_for(process.communicate(), 30)
    except TimeoutError:
        process.kill()
        await process.wait()
        return None
    if process.returncode != 0:
        return None
    return out.decode("utf-8", errors="replace").strip()


def name_from_url(url: str) -> str | None:
    tail = url.strip().rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    tail = tail.removesuffix(".git")
    cleaned = _NAME.sub("-", tail).strip("-.")
    return cleaned or None


async def repo_info(root: Path) -> RepoInfo:
    url = await _git(root, "config", "--get", "remote.origin.url")
    name = (name_from_url(url) if url else None) or _NAME.sub("-", root.name) or "root"
    commit = await _git(root, "rev-parse", "--verify", "-q", "HEAD")
    dirty = False
    if commit:
        status = await _git(root, "status", "--porcelain", "--untracked-files=no")
        dirty = bool(status)
    return RepoInfo(name, commit or None, dirty)
