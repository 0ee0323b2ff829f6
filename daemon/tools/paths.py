"""Confinement: every path a model names must resolve inside a workspace root.

Paths are resolved (symlinks followed) before the check, so a link inside the workspace
that points outside it is refused like ``../`` would be. Absolute paths are refused even
when they point inside a root: the model works in root-relative paths, and refusing keeps
one rule it can learn from the error.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from daemon.solver.settings import ToolSettings
from daemon.tools.base import ToolError
from daemon.tools.secrets import SecretPolicy


def root_for(roots: Sequence[Path], raw: str) -> tuple[Path, str]:
    """Pick the root a relative path refers to: ``name/...`` selects a root by folder name
    when there are several roots; otherwise the first root."""
    if not roots:
        raise ToolError("no workspace folder is open, so no file can be reached")
    if len(roots) > 1:
        first, _, rest = raw.partition("/")
        for root in roots:
            if root.name == first:
                return root, rest or "."
    return roots[0], raw


def confine(roots: Sequence[Path], raw: str, *, must_exist: bool = True) -> Path:
    text = raw.strip().replace("\\", "/")
    if not text:
        raise ToolError("path is empty; give a path relative to the workspace root")
    if text.startswith("/") or text.startswith("~") or (len(text) > 1 and text[1] == ":"):
        raise ToolError(f"path {raw!r} is absolute; give a path relative to the workspace root")
    if ".." in PurePosixPath(text).parts:
        raise ToolError(f"path {raw!r} contains '..'; paths must stay inside the workspace")
    root, rel = root_for(roots, text)
    resolved_root = root.resolve()
    target = (resolved_root / rel).resolve()
    if not target.is_relative_to(resolved_root):
        raise ToolError(f"path {raw!r} leads outside the workspace (through a symbolic link)")
    if must_exist and not target.exists():
        raise ToolError(f"path {raw!r} does not exist")
    return target


def relative(roots: Sequence[Path], path: Path) -> str:
    for root in roots:
        resolved = root.resolve()
        if path.is_relative_to(resolved):
            rel = path.relative_to(resolved).as_posix()
            return f"{root.name}/{rel}" if len(roots) > 1 else rel
    return path.as_posix()


def is_secret(path: Path, rel: str, settings: ToolSettings) -> bool:
    """By the one secret policy (``daemon.tools.secrets``): its path, or its first bytes."""
    return SecretPolicy.of(settings).file(path, rel)


def secret_refusal(rel: str) -> ToolError:
    return ToolError(
        f"{rel} looks like a secrets file and is not readable (to allow it, set "
        "solver.tools.allowSecretFiles in your own config.toml)"
    )


def check_readable(roots: Sequence[Path], path: Path, settings: ToolSettings) -> str:
    rel = relative(roots, path)
    if is_secret(path, rel, settings):
        raise secret_refusal(rel)
    return rel
