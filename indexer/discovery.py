"""Which files of a root the index holds: the ones git would track, minus what we skip.

In a git work tree that is ``git ls-files --cached --others --exclude-standard`` (tracked
files, and untracked ones no ``.gitignore``, ``.git/info/exclude`` or global excludes file
ignores); outside one, a walk that honours every ``.gitignore`` on the way down (pathspec,
git's own wildmatch rules).  Either way a ``.deputydevignore`` at the root (same syntax)
removes more, and we skip:

- generated and vendored folders (``VENDORED_DIRS``) at any depth, tracked or not;
- files over ``max_file_bytes`` and binaries: by name (``BINARY_SUFFIXES``), else, for
  a file in no language we chunk, a NUL byte in its first 8 KiB (a file of a known
  language is not opened here: an unchanged file costs a stat, not a read);
- symlinks that loop or point nowhere; a symlink to a folder is not followed, so a walk
  never loops.

Paths are relative to the root, with ``/``; everything here is blocking, for a thread.

    found = discover(Path("/src/app"), max_file_bytes=1 << 20)
    found[0]    # FileInfo(path="app/main.py", size=812, mtime_ns=...)
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from indexer.errors import RootUnreadable
from indexer.languages import language_for_path

if TYPE_CHECKING:
    from pathspec import PathSpec

__all__ = [
    "IGNORE_FILE",
    "VENDORED_DIRS",
    "Exclude",
    "FileInfo",
    "Ignorer",
    "discover",
    "is_binary",
]

log = logging.getLogger(__name__)

IGNORE_FILE = ".deputydevignore"
VENDORED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".deputydev",
        "node_modules",
        ".venv",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".tox",
        "dist",
        "build",
        "target",
        "vendor",
        ".next",
        ".gradle",
    }
)
_SNIFF = 8192
# Never text: skipped by name, without opening them.
BINARY_SUFFIXES = frozenset(
    [
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".bmp",
        ".ico",
        ".webp",
        ".tif",
        ".tiff",
        ".psd",
        ".pdf",
        ".zip",
        ".gz",
        ".tgz",
        ".bz2",
        ".xz",
        ".zst",
        ".7z",
        ".rar",
        ".tar",
        ".jar",
        ".war",
        ".class",
        ".pyc",
        ".pyo",
        ".so",
        ".dylib",
        ".dll",
        ".exe",
        ".o",
        ".a",
        ".lib",
        ".obj",
        ".wasm",
        ".woff",
        ".woff2",
        ".ttf",
        ".otf",
        ".eot",
        ".mp3",
        ".mp4",
        ".m4a",
        ".wav",
        ".ogg",
        ".flac",
        ".avi",
        ".mov",
        ".mkv",
        ".webm",
        ".db",
        ".sqlite",
        ".sqlite3",
        ".bin",
        ".dat",
        ".pkl",
        ".npy",
        ".npz",
        ".parquet",
        ".onnx",
        ".pt",
        ".safetensors",
    ]
)


class Exclude(Protocol):
    """Files the index must never hold (secrets), decided by whoever opens the index: by
    relative path before a file is read, by its bytes once it is. Must pickle (chunking
    workers get it)."""

    def path(self, rel: str) -> bool: ...

    def content(self, head: bytes | str) -> bool: ...


@dataclass(frozen=True, slots=True)
class FileInfo:
    path: str  # relative to the root, with "/"
    size: int
    mtime_ns: int


def is_binary(head: bytes) -> bool:
    return b"\x00" in head[:_SNIFF]


def _spec(lines: Iterable[str]) -> PathSpec[Any] | None:
    from pathspec import GitIgnoreSpec

    patterns = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return GitIgnoreSpec.from_lines(patterns) if patterns else None


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


class Ignorer:
    """What we skip beyond git: vendored folders and ``.deputydevignore``; for a walk
    outside git, also the ``.gitignore`` files met on the way (each relative to its folder)."""

    def __init__(self, root: Path, *, use_gitignore: bool) -> None:
        self.root = root
        self.use_gitignore = use_gitignore
        self._own = _spec(_read_lines(root / IGNORE_FILE))
        self._git: dict[str, PathSpec[Any] | None] = {}

    def _gitignore(self, folder: str) -> PathSpec[Any] | None:
        if folder not in self._git:
            base = self.root / folder if folder else self.root
            lines = _read_lines(base / ".gitignore")
            if not folder:
                lines += _read_lines(self.root / ".git" / "info" / "exclude")
            self._git[folder] = _spec(lines)
        return self._git[folder]

    def ignored(self, rel: str, *, is_dir: bool = False) -> bool:
        parts = rel.split("/")
        folders = parts if is_dir else parts[:-1]
        if any(part in VENDORED_DIRS for part in folders):
            return True
        probe = rel + "/" if is_dir else rel
        if self._own is not None and self._own.match_file(probe):
            return True
        if not self.use_gitignore:
            return False
        # Each .gitignore from the root down to the file's folder, its patterns relative
        # to its own folder (git's rule).
        for depth in range(len(parts)):
            folder = "/".join(parts[:depth])
            spec = self._gitignore(folder)
            tail = "/".join(parts[depth:]) + ("/" if is_dir else "")
            if spec is not None and spec.match_file(tail):
                return True
        return False


def _git_files(root: Path) -> list[str] | None:
    """Files git would track under ``root``, or None when it is not in a work tree.

    git runs hardened (``indexer.gitsafe``): ``ls-files`` runs a repository's
    ``core.fsmonitor`` program otherwise, and the repository may be an attacker's."""
    if not (root / ".git").exists():
        return None
    import subprocess

    from indexer.gitsafe import git_argv, git_env

    argv = git_argv(root, "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", ".")
    try:
        done = subprocess.run(argv, cwd=root, env=git_env(), capture_output=True, check=False)
    except OSError as exc:
        log.info("git ls-files failed in %s (%s); walking instead", root, exc)
        return None
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", errors="replace").strip()[:300]
        log.info("git ls-files failed in %s (%s); walking instead", root, err)
        return None
    out = os.fsdecode(done.stdout)
    return sorted({p for p in out.split("\0") if p})


def _walk(root: Path, ignorer: Ignorer, unreadable: list[str]) -> Iterator[str]:
    def refused(error: OSError) -> None:
        # os.walk skips a folder it cannot list; the summary names it instead.
        if error.filename is not None and isinstance(error, PermissionError):
            rel = os.path.relpath(error.filename, root).replace(os.sep, "/")
            unreadable.append("./" if rel == "." else rel + "/")

    for folder, dirs, files in os.walk(root, followlinks=False, onerror=refused):
        rel_folder = os.path.relpath(folder, root).replace(os.sep, "/")
        rel_folder = "" if rel_folder == "." else rel_folder + "/"
        dirs[:] = sorted(d for d in dirs if not ignorer.ignored(rel_folder + d, is_dir=True))
        for name in sorted(files):
            yield rel_folder + name


def _check(
    root: Path,
    rel: str,
    max_file_bytes: int,
    unreadable: list[str] | None = None,
    exclude: Exclude | None = None,
) -> FileInfo | None:
    path = root / rel
    try:
        st = path.stat()  # follows a symlink; a loop or a dangling one raises
    except PermissionError:
        if unreadable is not None:
            unreadable.append(rel)
        return None
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size > max_file_bytes:
        return None
    if os.path.splitext(rel)[1].lower() in BINARY_SUFFIXES:
        return None
    if not os.access(path, os.R_OK):
        if unreadable is not None:
            unreadable.append(rel)
        return None
    if path.is_symlink():
        # A link out of the root is not part of this workspace, and a link to a file that
        # must not be indexed (notes.txt -> .env) is that file.
        try:
            target = path.resolve(strict=True).relative_to(root.resolve())
        except (OSError, ValueError, RuntimeError):
            return None
        if exclude is not None and exclude.path(target.as_posix()):
            return None
    if not _sniff_needed(rel):
        return FileInfo(rel, st.st_size, st.st_mtime_ns)
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF)
    except OSError:
        return None
    if is_binary(head):
        return None
    return FileInfo(rel, st.st_size, st.st_mtime_ns)


def _sniff_needed(rel: str) -> bool:
    """Files of a language we chunk are text; only the others are opened to check for
    NUL bytes (and ``prepare`` checks every file it reads anyway)."""
    return language_for_path(rel) is None


def discover(
    root: Path,
    *,
    max_file_bytes: int = 1 << 20,
    exclude: Exclude | None = None,
    unreadable: list[str] | None = None,
) -> list[FileInfo]:
    """The files to index under ``root``, sorted by path, without those ``exclude`` names.
    Files and folders that cannot be read (permissions) are left out and, given
    ``unreadable``, named there (folders end with ``/``). A root that cannot be listed
    raises :class:`RootUnreadable`."""
    root = root.resolve()
    try:
        with os.scandir(root):
            pass
    except OSError as exc:
        raise RootUnreadable(
            f"cannot read the folder {root} ({exc.strerror or exc})", root=str(root)
        ) from None
    refused: list[str] = [] if unreadable is None else unreadable
    listed = _git_files(root)
    ignorer = Ignorer(root, use_gitignore=listed is None)
    names = listed if listed is not None else list(_walk(root, ignorer, refused))
    found = []
    for rel in names:
        if ignorer.ignored(rel) or (exclude is not None and exclude.path(rel)):
            continue
        info = _check(root, rel, max_file_bytes, refused, exclude)
        if info is not None:
            found.append(info)
    return found


def admits(
    root: Path, rel: str, ignorer: Ignorer, max_file_bytes: int, exclude: Exclude | None = None
) -> FileInfo | None:
    """One changed file (the watcher, a save), judged as ``discover`` would.  Pass an
    ``Ignorer(root, use_gitignore=True)``: reading the ignore files is what git does for
    an untracked file, and it costs no ``git`` process per change."""
    if ignorer.ignored(rel) or (exclude is not None and exclude.path(rel)):
        return None
    return _check(root, rel, max_file_bytes, exclude=exclude)
