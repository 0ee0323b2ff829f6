"""``file_path_search``: find files by a fuzzy piece of their path, as an editor's quick-open."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from pydantic import Field

from daemon.tools.base import Args, Tool, ToolContext, ToolError
from daemon.tools.files import SKIPPED_DIRS
from daemon.tools.git import run_git
from daemon.tools.runtime import checkpoint, in_thread

MAX_FILES = 200_000


async def _git_files(root: Path) -> list[str] | None:
    """Tracked plus untracked-not-ignored files, or None outside a git repository."""
    if not await in_thread((root / ".git").exists):
        return None
    try:
        out = await run_git(root, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    except ToolError:
        return None
    return [p for p in out.split("\0") if p]


def _walk(root: Path) -> Iterator[str]:
    for folder, dirs, files in os.walk(root):
        checkpoint()
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".")]
        base = Path(folder).relative_to(root)
        for name in files:
            yield (base / name).as_posix()


def fuzzy_score(query: str, path: str) -> float:
    """How well ``query`` names ``path``: 0 when it does not, higher for a better match.

    The file name counts most: an exact name beats a name that starts with the query, which
    beats a name containing it; otherwise the query's characters must appear in order in the
    path, and matches that are contiguous or start a path segment score higher (as fzf does).
    """
    q = query.lower().replace("\\", "/")
    p = path.lower()
    name = p.rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0]
    shortness = 1.0 / (1 + len(p) / 40)
    if q in (name, stem):
        return 100 + shortness
    if "/" in q and p.endswith(q):
        return 90 + shortness
    if name.startswith(q):
        return 80 + shortness
    if q in name:
        return 70 + shortness
    if q in p:
        return 60 + shortness
    score, at, run = 0.0, 0, 0
    for char in q:
        found = p.find(char, at)
        if found < 0:
            return 0.0
        run = run + 1 if found == at else 0
        boundary = found == 0 or p[found - 1] in "/_-. "
        score += 1 + run + (2 if boundary else 0) + (1 if found >= len(p) - len(name) else 0)
        at = found + 1
    return 40 * score / (4 * len(q)) + shortness


async def search_paths(roots: Sequence[Path], query: str, limit: int) -> list[str]:
    listed = [(root, await _git_files(root)) for root in roots]
    return await in_thread(_best, roots, listed, query, limit)


def _best(
    roots: Sequence[Path], listed: list[tuple[Path, list[str] | None]], query: str, limit: int
) -> list[str]:
    scored: list[tuple[float, str]] = []
    for root, files in listed:
        prefix = "" if len(roots) == 1 else root.name + "/"
        for count, rel in enumerate(files if files is not None else _walk(root)):
            if count >= MAX_FILES:
                break
            if count % 1000 == 0:
                checkpoint()
            if (score := fuzzy_score(query, rel)) > 0:
                scored.append((score, prefix + rel))
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return [path for _, path in scored[:limit]]


class FilePathSearchArgs(Args):
    query: str = Field(min_length=1, description="Part of a file name or path; fuzzy.")
    limit: int = Field(default=20, ge=1, le=200)


class FilePathSearch(Tool):
    name = "file_path_search"
    description = (
        "Find files by a fuzzy part of their name or path (like an editor's quick-open). "
        "Honours .gitignore."
    )
    Arguments = FilePathSearchArgs

    async def run(self, args: FilePathSearchArgs, ctx: ToolContext) -> str:
        found = await search_paths(ctx.roots, args.query, args.limit)
        if not found:
            raise ToolError(f"no file path matches {args.query!r}")
        return "\n".join(found)
