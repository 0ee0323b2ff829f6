"""File tools on a real temporary workspace: confinement, secrets, caps, outline, edits."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from daemon.solver.settings import ToolSettings
from daemon.tools.base import ToolContext, ToolError
from daemon.tools.files import ListFiles, ReadFile, ReplaceInFile, WriteFile


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "mod.py").write_text("def a():\n    return 1\n\n\ndef b():\n    return 2\n")
    (root / ".env").write_text("API_KEY=sk-secret\n")
    (tmp_path / "outside.txt").write_text("private\n")
    return root


@pytest.fixture
def ctx(root: Path) -> ToolContext:
    return ToolContext(roots=[root])


async def test_read_file_numbers_lines_and_reads_a_range(ctx: ToolContext) -> None:
    whole = await ReadFile()({"path": "pkg/mod.py"}, ctx)
    assert "1  def a():" in whole and "6      return 2" in whole
    part = await ReadFile()({"path": "pkg/mod.py", "startLine": 5, "endLine": 6}, ctx)
    assert "def a" not in part and "5  def b():" in part


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../outside.txt", "'..'"),
        ("/etc/passwd", "absolute"),
        ("~/x", "absolute"),
        ("link/outside.txt", "outside the workspace"),
        ("escape.txt", "outside the workspace"),
        ("missing.py", "does not exist"),
    ],
)
async def test_paths_outside_the_workspace_are_refused(
    ctx: ToolContext, root: Path, path: str, reason: str
) -> None:
    os.symlink(root.parent, root / "link")
    os.symlink(root.parent / "outside.txt", root / "escape.txt")
    with pytest.raises(ToolError, match=reason):
        await ReadFile()({"path": path}, ctx)


async def test_a_link_that_stays_inside_is_followed(ctx: ToolContext, root: Path) -> None:
    os.symlink(root / "pkg" / "mod.py", root / "alias.py")
    assert "def a" in await ReadFile()({"path": "alias.py"}, ctx)


async def test_secret_files_are_unreadable_unless_allowed(root: Path) -> None:
    with pytest.raises(ToolError, match="allowSecretFiles"):
        await ReadFile()({"path": ".env"}, ToolContext(roots=[root]))
    allowed = ToolContext(roots=[root], settings=ToolSettings(allow_secret_files=True))
    assert "API_KEY" in await ReadFile()({"path": ".env"}, allowed)


async def test_output_is_capped_with_a_marker(root: Path) -> None:
    (root / "big.txt").write_text("x" * 50_000 + "\n")
    ctx = ToolContext(roots=[root], settings=ToolSettings(max_output_chars=1_000))
    out = await ReadFile()({"path": "big.txt"}, ctx)
    assert len(out) < 1_200
    assert out.endswith("more characters not shown ...]")


async def test_long_files_come_back_as_an_outline(ctx: ToolContext, root: Path) -> None:
    body = "".join(f"def f{n}():\n    return {n}\n\n" for n in range(400))
    (root / "long.py").write_text(body)
    out = await ReadFile()({"path": "long.py"}, ctx)
    assert "1200 lines" in out.splitlines()[0] or "lines; showing its outline" in out
    assert "1-2 function f0" in out and "function f399" in out
    assert "return 5" not in out
    ranged = await ReadFile()({"path": "long.py", "startLine": 4, "endLine": 5}, ctx)
    assert "def f1():" in ranged


async def test_bad_arguments_name_the_field(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="startLine"):
        await ReadFile()({"path": "pkg/mod.py", "startLine": 0}, ctx)
    with pytest.raises(ToolError, match="path"):
        await ReadFile()({}, ctx)


async def test_list_files(ctx: ToolContext) -> None:
    assert (await ListFiles()({}, ctx)).splitlines() == [".env", "pkg/"]
    assert "pkg/mod.py" in await ListFiles()({"recursive": True}, ctx)


async def test_edits_need_write_mode_and_go_to_the_editor(ctx: ToolContext, root: Path) -> None:
    args = {"path": "pkg/mod.py", "oldText": "return 1", "newText": "return 10"}
    with pytest.raises(ToolError, match="write mode"):
        await ReplaceInFile()(args, ctx)

    sent: list[tuple[Path, str]] = []

    async def apply(path: Path, text: str) -> bool:
        sent.append((path, text))
        return True

    ctx.write_mode = True
    ctx.apply_edit = apply
    assert "applied" in await ReplaceInFile()(args, ctx)
    assert sent[0][0] == (root / "pkg" / "mod.py").resolve()
    assert "return 10" in sent[0][1] and "return 2" in sent[0][1]
    assert "return 1\n" in (root / "pkg" / "mod.py").read_text()  # the editor writes, not us

    async def decline(path: Path, text: str) -> bool:
        return False

    ctx.apply_edit = decline
    with pytest.raises(ToolError, match="did not apply"):
        await WriteFile()({"path": "new.py", "content": "x = 1\n"}, ctx)


async def test_direct_write_only_when_allowed_and_no_editor(root: Path) -> None:
    ctx = ToolContext(roots=[root], write_mode=True)
    with pytest.raises(ToolError, match="directWrite"):
        await WriteFile()({"path": "new/file.py", "content": "x = 1\n"}, ctx)
    ctx.settings = ToolSettings(direct_write=True)
    await WriteFile()({"path": "new/file.py", "content": "x = 1\n"}, ctx)
    assert (root / "new" / "file.py").read_text() == "x = 1\n"


async def test_replace_needs_a_unique_match(ctx: ToolContext, root: Path) -> None:
    ctx.write_mode = True
    ctx.settings = ToolSettings(direct_write=True)
    with pytest.raises(ToolError, match="2 times"):
        await ReplaceInFile()({"path": "pkg/mod.py", "oldText": "return", "newText": "x"}, ctx)
    with pytest.raises(ToolError, match="not found"):
        await ReplaceInFile()({"path": "pkg/mod.py", "oldText": "nope", "newText": "x"}, ctx)


async def test_file_path_search_ranks_names_and_honours_gitignore(tmp_path: Path) -> None:
    import subprocess

    from daemon.tools.find import FilePathSearch, fuzzy_score

    assert fuzzy_score("handlers.py", "a/handlers.py") > fuzzy_score("handlers", "a/handlers_x.py")

    root = tmp_path / "repo"
    for rel in (
        "src/server/handlers.py",
        "src/server/handler_utils.py",
        "docs/handlers.md",
        "tests/test_handlers.py",
        "build/handlers.py",
        "src/shandy_lers.py",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x\n")
    (root / ".gitignore").write_text("build/\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)  # noqa: ASYNC221
    ctx = ToolContext(roots=[root])
    found = (await FilePathSearch()({"query": "handlers.py"}, ctx)).splitlines()
    assert found[0] == "src/server/handlers.py"
    assert "build/handlers.py" not in found  # ignored by git
    fuzzy = (await FilePathSearch()({"query": "srvhndl"}, ctx)).splitlines()
    assert fuzzy[0].startswith("src/server/handler")
    with pytest.raises(ToolError, match="no file path matches"):
        await FilePathSearch()({"query": "zzzz"}, ctx)


async def test_a_fifo_or_socket_is_refused_at_once(root: Path) -> None:
    import socket

    os.mkfifo(root / "pipe")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(root / "sock"))
    ctx = ToolContext(roots=[root], write_mode=True, settings=ToolSettings(direct_write=True))
    try:
        with pytest.raises(ToolError, match=r"pipe is a FIFO \(named pipe\); only regular"):
            await ReadFile()({"path": "pipe"}, ctx)
        with pytest.raises(ToolError, match="sock is a socket"):
            await ReadFile()({"path": "sock"}, ctx)
        with pytest.raises(ToolError, match="FIFO"):
            await WriteFile()({"path": "pipe", "content": "x"}, ctx)
        with pytest.raises(ToolError, match="FIFO"):
            await ReplaceInFile()({"path": "pipe", "oldText": "a", "newText": "b"}, ctx)
        assert {"pipe", "sock"} <= set((await ListFiles()({}, ctx)).splitlines())
    finally:
        server.close()
    assert stat_is_fifo(root / "pipe")  # nothing replaced it


def stat_is_fifo(path: Path) -> bool:
    import stat

    return stat.S_ISFIFO(path.stat().st_mode)


@pytest.mark.parametrize(
    ("rel", "guarded"),
    [
        (".git/config", True),
        (".git/hooks/pre-commit", True),
        ("sub/.git/config", True),
        (".GIT/config", True),
        (".deputydev/config.toml", True),
        (".vscode/tasks.json", True),
        (".husky/pre-push", True),
        (".envrc", True),
        ("src/git.py", False),
        (".github/workflows/ci.yml", False),
        (".vscode/extensions.json", False),
    ],
)
def test_protected_paths(rel: str, guarded: bool) -> None:
    from daemon.tools.files import protected

    assert (protected(rel) is not None) is guarded


async def test_a_protected_path_is_written_only_after_a_yes_naming_it(root: Path) -> None:
    (root / ".git").mkdir()
    asked: list[tuple[str, dict[str, Any]]] = []
    answer = False

    async def confirm(message: str, details: Mapping[str, Any]) -> bool:
        asked.append((message, dict(details)))
        return answer

    ctx = ToolContext(
        roots=[root],
        settings=ToolSettings(direct_write=True),
        write_mode=True,
        confirm=confirm,
    )
    with pytest.raises(ToolError, match="did not allow"):
        await WriteFile()({"path": ".git/config", "content": "[core]\n"}, ctx)
    assert not (root / ".git" / "config").exists()
    answer = True
    await WriteFile()({"path": ".git/config", "content": "[core]\n"}, ctx)
    assert (root / ".git" / "config").read_text() == "[core]\n"
    assert [d["path"] for _, d in asked] == [".git/config", ".git/config"]
    no_one = ToolContext(roots=[root], settings=ToolSettings(direct_write=True), write_mode=True)
    with pytest.raises(ToolError, match="approval"):
        await WriteFile()({"path": ".deputydev/config.toml", "content": "x"}, no_one)
