"""Responses kept on disk with their validators, so that asking again costs a 304.

One JSON file per (credential, URL) under the folder the daemon gives (its data folder's
``hosting-cache/``): the body, its ``ETag``/``Last-Modified`` and the few headers a later
page needs (``Link``). The key includes a hash of the credential, so what one token could
read is never served to another, and no token is written. The folder is trimmed to its size
limit, oldest first, after each write. Everything here is blocking file I/O: the HTTP
client calls it off the event loop.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Cached:
    body: str
    etag: str | None
    last_modified: str | None
    headers: dict[str, str]


class ETagCache:
    """``get``/``put`` by (credential fingerprint, URL); safe to share between clients."""

    def __init__(self, folder: Path, max_bytes: int = 50 * 1024 * 1024) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self._writes = 0

    def _path(self, identity: str, url: str) -> Path:
        digest = hashlib.sha256(f"{identity}\n{url}".encode()).hexdigest()
        return self.folder / digest[:2] / f"{digest}.json"

    def get(self, identity: str, url: str) -> Cached | None:
        path = self._path(identity, url)
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("url") != url:
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used files are the last to be trimmed
        return Cached(
            str(data.get("body", "")),
            data.get("etag"),
            data.get("last_modified"),
            dict(data.get("headers") or {}),
        )

    def put(self, identity: str, url: str, entry: Cached) -> None:
        path = self._path(identity, url)
        payload = {
            "url": url,
            "etag": entry.etag,
            "last_modified": entry.last_modified,
            "headers": entry.headers,
            "body": entry.body,
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(payload, out)
            os.replace(tmp, path)
        except OSError:
            return  # a cache that cannot be written only costs a full response next time
        self._writes += 1
        if self._writes % 16 == 1:  # a walk of the folder now and then, not on every write
            self._trim()

    def _trim(self) -> None:
        files: list[tuple[float, int, Path]] = []
        total = 0
        for path in self.folder.glob("*/*.json"):
            try:
                stat = path.stat()
            except OSError:
                continue
            files.append((stat.st_mtime, stat.st_size, path))
            total += stat.st_size
        if total <= self.max_bytes:
            return
        for _, size, path in sorted(files):
            with contextlib.suppress(OSError):
                path.unlink()
            total -= size
            if total <= self.max_bytes * 0.8:
                break


def fingerprint(token: str | None, username: str | None = None) -> str:
    """Stands for a credential in cache keys: a hash, never the token itself."""
    if token is None:
        return "anonymous"
    return hashlib.sha256(f"{username or ''}:{token}".encode()).hexdigest()[:32]
