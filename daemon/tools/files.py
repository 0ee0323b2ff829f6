"""Reading, listing and editing files inside the workspace."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from daemon.tools.base import Args, Tool, ToolContext, ToolError
from daemon.tools.fileio import read_regular, write_regular
from daemon.tools.paths import check_readable, confine, relative, secret_refusal
from daemon.tools.runtime import checkpoint, in_thread
from daemon.tools.secrets import SecretPolicy

if TYPE_CHECKING:
    from protocol.query import EditStatus

# Files longer than this come back as an outline of their definitions unless a range is given.
OUTLINE_LINES = 1_000
MAX_READ_BYTES = 2_000_000
SKIPPED_DIRS = frozenset({".git", "node_modules", "__pycache__", ".venv", "venv", ".mypy_cache"})


def _read_text(path: Path) -> str:
    data = read_regular(path, MAX_READ_BYTES)
    if b"\0" in data[:8192]:
        raise ToolError(f"{path.name} is a binary file")
    return data.decode("utf-8", errors="replace")


def current_text(ctx: ToolContext, path: Path) -> str:
    """What the user sees: the editor's unsaved buffer if open, else the file on disk."""
    if ctx.document_text is not None and (text := ctx.document_text(path)) is not None:
        return text
    return _read_text(path)


def _outline(rel: str, text: str) -> str:
    from indexer.chunking import chunk_file

    lines = text.count("\n") + 1
    symbols = chunk_file(rel, text).symbols
    head = (
        f"{rel} has {lines} lines; showing its outline. "
        "Call read_file with startLine/endLine to read a part."
    )
    body = [f"{s.start_line}-{s.end_line} {s.kind} {s.qualified_name}" for s in symbols]
    return "\n".join([head, *body]) if body else head + "\n(no definitions found)"


class ReadFileArgs(Args):
    path: str = Field(description="Path relative to the workspace root.")
    start_line: int | None = Field(default=None, ge=1, alias="startLine")
    end_line: int | None = Field(default=None, ge=1, alias="endLine")


class ReadFile(Tool):
    name = "read_file"
    description = (
        "Read a text file of the workspace, with line numbers. Files over 1000 lines come back "
        "as an outline of their definitions unless startLine/endLine are given."
    )
    Arguments = ReadFileArgs

    async def run(self, args: ReadFileArgs, ctx: ToolContext) -> str:
        path = confine(ctx.roots, args.path)
        if path.is_dir():
            raise ToolError(f"{args.path} is a directory; use list_directory")
        rel = check_readable(ctx.roots, path, ctx.settings)
        return await in_thread(self._read, ctx, path, rel, args)

    @staticmethod
    def _read(ctx: ToolContext, path: Path, rel: str, args: ReadFileArgs) -> str:
        text = current_text(ctx, path)
        if SecretPolicy.of(ctx.settings).content(text):  # the editor's buffer, say
            raise secret_refusal(rel)
        lines = text.splitlines()
        if args.start_line is None and args.end_line is None and len(lines) > OUTLINE_LINES:
            return _outline(rel, text)
        start = args.start_line or 1
        end = min(args.end_line or len(lines), len(lines))
        if start > max(len(lines), 1):
            raise ToolError(f"startLine {start} is past the end of {rel} ({len(lines)} lines)")
        if end < start:
            raise ToolError(f"endLine {end} is before startLine {start}")
        width = len(str(end))
        numbered = [f"{n:>{width}}  {lines[n - 1]}" for n in range(start, end + 1)]
        return f"{rel} (lines {start}-{end} of {len(lines)})\n" + "\n".join(numbered)


class ListFilesArgs(Args):
    path: str = Field(default=".", description="Directory relative to the workspace root.")
    recursive: bool = False


class ListFiles(Tool):
    name = "list_directory"
    description = "List a workspace directory (directories end with '/')."
    Arguments = ListFilesArgs

    async def run(self, args: ListFilesArgs, ctx: ToolContext) -> str:
        path = confine(ctx.roots, args.path)
        if not path.is_dir():
            raise ToolError(f"{args.path} is not a directory")
        return await in_thread(self._list, ctx, path, args.recursive)

    @staticmethod
    def _list(ctx: ToolContext, path: Path, recursive: bool) -> str:
        entries: list[str] = []
        if recursive:
            for folder, dirs, files in os.walk(path):
                checkpoint()
                dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
                base = Path(folder)
                entries += [relative(ctx.roots, base / d) + "/" for d in dirs]
                entries += [relative(ctx.roots, base / f) for f in sorted(files)]
                if len(entries) > 5_000:
                    break
        else:
            for child in sorted(path.iterdir()):
                checkpoint()
                suffix = "/" if child.is_dir() else ""
                entries.append(relative(ctx.roots, child.resolve()) + suffix)
        return "\n".join(sorted(entries)) or "(empty directory)"


# Paths whose content runs code, or decides what runs, outside the model's edit: git's own
# folder (config, hooks), DeputyDev's (its config), and other tools' config that executes.
_PROTECTED_DIRS = {
    ".git": "is git's own folder (its config and hooks can run programs)",
    ".deputydev": "is DeputyDev's own configuration",
    ".githooks": "holds git hooks, which run on commit and push",
    ".husky": "holds git hooks, which run on commit and push",
}
_PROTECTED_FILES = {
    ".vscode/tasks.json": "defines tasks your editor runs",
    ".vscode/launch.json": "defines programs your editor launches",
    ".vscode/settings.json": "sets the programs and paths your editor runs",
    ".envrc": "is run by direnv when you enter the folder",
    ".pre-commit-config.yaml": "names hooks that run on every commit",
    ".gitmodules": "names repositories git fetches",
}


def protected(rel: str) -> str | None:
    """Why the model may not write ``rel`` without asking (None: it may)."""
    parts = [p.lower() for p in rel.replace("\\", "/").split("/") if p not in ("", ".")]
    for part in parts[:-1] if len(parts) > 1 else []:
        if part in _PROTECTED_DIRS:
            return _PROTECTED_DIRS[part]
    if parts and parts[-1] in _PROTECTED_DIRS:  # a file named .git (a gitdir pointer)
        return _PROTECTED_DIRS[parts[-1]]
    for tail, why in _PROTECTED_FILES.items():
        wanted = tail.split("/")
        if parts[-len(wanted) :] == wanted:
            return why
    return None


async def _deliver(ctx: ToolContext, path: Path, new_text: str) -> str:
    """Send the edit to the editor; write the file only when config allows and it can't.
    A protected path needs the user's explicit yes first, whichever way it is written."""
    rel = relative(ctx.roots, path)
    why = protected(rel)
    if why is not None:
        if ctx.confirm is None:
            raise ToolError(f"{rel} {why}; writing it needs your approval and no one can give it")
        asked = f"Allow the model to write {rel}? It {why}."
        if not await ctx.confirm(asked, {"path": rel, "protected": why}):
            raise ToolError(f"{rel} {why}; the user did not allow writing it")
    exists = await in_thread(path.exists)
    old_text = await in_thread(current_text, ctx, path) if exists else ""
    added, removed = await in_thread(line_changes, old_text, new_text)

    async def tell(status: EditStatus) -> None:
        if ctx.on_edit is not None:
            await ctx.on_edit(rel, status, added, removed)

    if ctx.apply_edit is not None:
        await tell("proposed")
        applied = await ctx.apply_edit(path, new_text)
        await tell("applied" if applied else "rejected")
        if not applied:
            raise ToolError(f"the editor did not apply the edit to {rel}")
        return f"edit to {rel} applied by the editor (+{added} -{removed} lines)"
    if not ctx.settings.direct_write:
        raise ToolError(
            "the editor cannot apply edits and solver.tools.directWrite is off; no change made"
        )
    await in_thread(path.parent.mkdir, parents=True, exist_ok=True)
    await in_thread(write_regular, path, new_text, rel)
    await tell("written")
    return f"wrote {rel} (+{added} -{removed} lines)"


def line_changes(old: str, new: str) -> tuple[int, int]:
    """Lines added and removed between two versions of a file."""
    import difflib

    added = removed = 0
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed


class ReplaceInFileArgs(Args):
    path: str
    old_text: str = Field(alias="oldText", min_length=1, description="Exact text to replace.")
    new_text: str = Field(alias="newText")


class ReplaceInFile(Tool):
    name = "replace_in_file"
    description = "Replace one exact, unique occurrence of oldText with newText in a file."
    Arguments = ReplaceInFileArgs
    read_only = False
    writes: ClassVar[bool] = True

    async def run(self, args: ReplaceInFileArgs, ctx: ToolContext) -> str:
        if not ctx.write_mode:
            raise ToolError("editing files needs write mode, which this query is not in")
        path = confine(ctx.roots, args.path)
        check_readable(ctx.roots, path, ctx.settings)
        text = await in_thread(current_text, ctx, path)
        count = text.count(args.old_text)
        if count == 0:
            raise ToolError(f"oldText was not found in {args.path}; read the file again")
        if count > 1:
            raise ToolError(f"oldText occurs {count} times in {args.path}; include more context")
        return await _deliver(ctx, path, text.replace(args.old_text, args.new_text, 1))


class WriteFileArgs(Args):
    path: str
    content: str


class WriteFile(Tool):
    name = "write_file"
    description = "Create a file, or replace a file's whole content."
    Arguments = WriteFileArgs
    read_only = False
    writes: ClassVar[bool] = True

    async def run(self, args: WriteFileArgs, ctx: ToolContext) -> str:
        if not ctx.write_mode:
            raise ToolError("writing files needs write mode, which this query is not in")
        path = confine(ctx.roots, args.path, must_exist=False)
        check_readable(ctx.roots, path, ctx.settings)
        if path.is_dir():
            raise ToolError(f"{args.path} is a directory")
        return await _deliver(ctx, path, args.content)
