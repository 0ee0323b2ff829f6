"""Opening workspace files without ever blocking: only regular files are read or written.

A FIFO blocks ``open()`` until someone writes to it, a character device may never end, and
a socket cannot be opened at all, so a workspace holding one (by accident or on purpose)
could hang a tool's thread forever. Every tool that opens a file goes through here: the
path is checked with ``stat`` before it is opened, then opened with ``O_NONBLOCK`` (so a
file swapped for a FIFO in between cannot block either) and checked again with ``fstat``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from daemon.tools.base import ToolError

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a directory"),
)


def kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _refuse(shown: str, mode: int) -> ToolError:
    return ToolError(f"{shown} is {kind(mode)}; only regular files can be read or written")


def check_regular(path: Path, shown: str | None = None) -> os.stat_result:
    """The file's stat, or a ToolError naming what it is when it is not a regular file."""
    st = path.stat()
    if not stat.S_ISREG(st.st_mode):
        raise _refuse(shown or path.name, st.st_mode)
    return st


def read_regular(path: Path, max_bytes: int, shown: str | None = None) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; anything else is refused."""
    shown = shown or path.name
    st = check_regular(path, shown)
    if st.st_size > max_bytes:
        raise ToolError(f"{shown} is larger than {max_bytes} bytes; read a range of it")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _refuse(shown, st.st_mode)
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:  # it grew since the stat
                raise ToolError(f"{shown} is larger than {max_bytes} bytes; read a range of it")
        return b"".join(chunks)
    finally:
        os.close(fd)


def write_regular(path: Path, text: str, shown: str | None = None) -> None:
    """Write ``text`` to a regular file (created if missing); anything else is refused."""
    shown = shown or path.name
    if path.exists():
        check_regular(path, shown)
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:
        if exc.errno == getattr(os, "ENXIO", None):  # a FIFO with no reader, or a socket
            raise ToolError(f"{shown} is not a regular file; nothing written") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _refuse(shown, st.st_mode)
        os.ftruncate(fd, 0)
        data = text.encode("utf-8")
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)
