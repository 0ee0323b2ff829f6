"""The one secret policy: which workspace files the model (and the index) never sees.

Every way a file's content can travel goes through :class:`SecretPolicy`: the index
(``indexer`` gets it as its ``exclude``), ``code_search``/``symbol_search`` (their hits),
``grep_search`` (matching lines), ``read_file``, the ``git`` tool (diff, log with patches,
show, blame), focus items (file, snippet, symbol, gitDiff) and pull-request diffs and
review comments (``fetch_work_item``). Names may still be listed (``list_directory``,
``file_path_search``, a diff's file list); contents never.

A file is secret by its path or by its content:

- **path**: ``solver.tools.secret_patterns``, gitignore-style and in order, the last
  pattern that matches deciding (``!`` negates): a pattern without ``/`` matches the file's
  name, one with ``/`` matches the whole relative path or any tail of it (``.aws/credentials``
  matches ``home/.aws/credentials``);
- **content**: a private key block (``-----BEGIN ... PRIVATE KEY-----``) or a cloud
  service-account key (JSON with ``"type": "service_account"`` and a ``private_key``), in
  the first :data:`SNIFF_BYTES` bytes, whatever the file is called.

``solver.tools.allow_secret_files`` (user-only) turns the policy off.

    policy = SecretPolicy.of(settings.solver.tools)
    policy.path("config/.env.production")    # True
    policy.path("id_rsa.pub")                # False
    policy.content(b"-----BEGIN OPENSSH PRIVATE KEY-----\\n...")   # True
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from daemon.solver.settings import ToolSettings

SNIFF_BYTES = 16_384
_PRIVATE_KEY = re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_SERVICE_ACCOUNT = re.compile(rb'"type"\s*:\s*"service_account"')
_PRIVATE_KEY_FIELD = re.compile(rb'"private_key(?:_id)?"\s*:')


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern))


def path_matches(patterns: tuple[str, ...], rel: str) -> bool:
    """Whether ``rel`` (relative, ``/``-separated) is secret by ``patterns``, last match
    winning, ``!`` negating."""
    rel = rel.replace("\\", "/").strip("/")
    parts = rel.split("/")
    name = parts[-1]
    tails = ["/".join(parts[i:]) for i in range(len(parts))]
    secret = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        pattern = pattern.strip().strip("/")
        if not pattern:
            continue
        compiled = _compiled(pattern)
        if "/" in pattern:
            hit = any(compiled.fullmatch(tail) for tail in tails)
        else:
            hit = compiled.fullmatch(name) is not None
        if hit:
            secret = not negate
    return secret


def content_is_secret(head: bytes | str) -> bool:
    """A private key block, or a service-account key, in the start of a file."""
    data = head.encode("utf-8", errors="replace") if isinstance(head, str) else head
    data = data[:SNIFF_BYTES]
    if _PRIVATE_KEY.search(data):
        return True
    return bool(_SERVICE_ACCOUNT.search(data) and _PRIVATE_KEY_FIELD.search(data))


@dataclass(frozen=True, slots=True)
class SecretPolicy:
    """The policy of one settings tree. Frozen and made of tuples, so that it pickles
    (the index's chunking workers get it)."""

    patterns: tuple[str, ...]
    enabled: bool = True

    @classmethod
    def of(cls, settings: ToolSettings) -> SecretPolicy:
        return cls(tuple(settings.secret_patterns), not settings.allow_secret_files)

    def path(self, rel: str) -> bool:
        return self.enabled and path_matches(self.patterns, rel)

    def content(self, head: bytes | str) -> bool:
        return self.enabled and content_is_secret(head)

    def file(self, path: Path, rel: str) -> bool:
        """By path, else by the first bytes on disk (a file that cannot be read is not
        secret here: whatever reads it next fails on its own)."""
        if not self.enabled:
            return False
        if self.path(rel):
            return True
        # A link is the file it points to (notes.txt -> .env).
        try:
            real = path.resolve()
        except (OSError, RuntimeError):
            real = path
        if real != path.absolute() and self.path(real.as_posix()):
            return True
        return content_is_secret(_head(path))


def _head(path: Path) -> bytes:
    """The first bytes of a regular file; nothing for anything else (a FIFO would block)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return b""
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return b""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b""
        return os.read(fd, SNIFF_BYTES)
    except OSError:
        return b""
    finally:
        os.close(fd)


# A diff's file header: ``diff --git a/X b/Y`` (quoted when the name is unusual).
_DIFF_HEADER = re.compile(r'^diff --(?:git|cc|combined) (?:"?a/(.*?)"? "?b/(.*?)"?|"?(.*?)"?)$')


def filter_diff(
    text: str, policy: SecretPolicy, secret_file: Callable[[str], bool] | None = None
) -> str:
    """``git diff``/``log -p``/``show`` output with each secret file's patch replaced by a
    line saying it was withheld (the file's name stays). A file is secret by its path, by
    ``secret_file(path)`` (the caller's look at the file on disk: a key under an innocent
    name), or by the patch's own lines."""
    if not policy.enabled or "diff --" not in text:
        return text
    out: list[str] = []
    block: list[str] = []
    names: list[str] = []

    def close_block() -> None:
        if not names:
            out.extend(block)
        elif (
            any(policy.path(n) for n in names)
            or (secret_file is not None and any(secret_file(n) for n in names))
            or content_is_secret("\n".join(line[1:] for line in block[1:]))
        ):
            out.append(block[0])
            out.append(f"[the change to {names[-1]} is withheld: it is a secrets file]")
        else:
            out.extend(block)
        block.clear()
        names.clear()

    for line in text.split("\n"):
        match = _DIFF_HEADER.match(line)
        if match is not None:
            close_block()
            names.extend(_unquote(n) for n in match.groups() if n)
            block.append(line)
            continue
        if names and line.startswith(_PATCH_LINE):
            block.append(line)
            continue
        close_block()  # the next commit of a log, or the end of the output
        out.append(line)
    close_block()
    return _withhold_key_blocks("\n".join(out))


# Lines of one file's patch: hunks, their lines, and the extended headers.
_PATCH_LINE = (
    " ",
    "+",
    "-",
    "@@",
    "\\",
    "index ",
    "old mode",
    "new mode",
    "deleted file",
    "new file",
    "similarity",
    "dissimilarity",
    "rename ",
    "copy ",
    "Binary files",
    "GIT binary patch",
    "literal ",
    "delta ",
)


def _unquote(name: str) -> str:
    return name.encode("latin-1", errors="ignore").decode("unicode_escape", errors="ignore")


_KEY_BLOCK = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
    r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)"
)


def _withhold_key_blocks(text: str) -> str:
    """A private key pasted into any file (a diff of ``deploy.sh``) is cut out too."""
    if "PRIVATE KEY" not in text:
        return text
    return _KEY_BLOCK.sub("[a private key block is withheld]", text)
