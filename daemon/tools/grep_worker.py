"""grep_search's fallback engine when ripgrep is missing: Python's ``re`` in a process.

Python's ``re`` backtracks, so a pattern such as ``(a+)+$`` can take exponential time, and
it holds the GIL while it does: run in the daemon, even in a thread, it would freeze the
event loop. So it runs here, in a process of its own that the daemon kills at the tool's
time limit or on cancellation. It imports nothing but the standard library (it is started
as ``python -I -S grep_worker.py``) and prints what ``rg --null --line-number`` prints:
``path NUL line-number : text``, exiting 0 when something matched, 1 when nothing did and
2 on an error (the message on stderr).

    python -I -S grep_worker.py [--ignore-case] --max-count N -e PATTERN TARGET
"""

from __future__ import annotations

import os
import re
import stat
import sys

# As the file tools: vendor and tool folders are not searched (hidden ones neither).
SKIPPED_DIRS = frozenset({".git", "node_modules", "__pycache__", ".venv", "venv", ".mypy_cache"})
MAX_FILE_BYTES = 10_000_000
MAX_COLUMNS = 500


def _files(target: str) -> list[str]:
    if not os.path.isdir(target):
        return [target]
    found: list[str] = []
    for folder, dirs, names in os.walk(target):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        found += [os.path.join(folder, n) for n in sorted(names)]
    return found


def _read(path: str) -> bytes | None:
    """A regular file's bytes (never a FIFO, device or link), or None."""
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE_BYTES:
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def main(argv: list[str]) -> int:
    flags = 0
    max_count = 200
    pattern: str | None = None
    rest: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--ignore-case":
            flags |= re.IGNORECASE
        elif arg == "--max-count":
            max_count = int(next(args))
        elif arg == "-e":
            pattern = next(args)
        else:
            rest.append(arg)
    if pattern is None or len(rest) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        compiled = re.compile(pattern, flags)
    except re.error as exc:
        print(f"regex parse error: {exc}", file=sys.stderr)
        return 2
    out = sys.stdout.buffer
    matched = False
    for path in _files(rest[0]):
        data = _read(path)
        if data is None or b"\0" in data[:8192]:
            continue
        count = 0
        for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            if compiled.search(line):
                text = line[:MAX_COLUMNS]
                out.write(path.encode("utf-8", "surrogateescape") + b"\0")
                out.write(f"{number}:{text}\n".encode("utf-8", "replace"))
                matched = True
                count += 1
                if count >= max_count:
                    break
        out.flush()
    return 0 if matched else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:  # the daemon read enough and went away
        sys.exit(0)
