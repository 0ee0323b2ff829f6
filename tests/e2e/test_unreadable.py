"""Folders and files the user cannot read: said so by name, never blamed on a config file.

Root reads everything, so as root the command runs in a user namespace of its own
(``unshare --map-root-user``) and the unreadable entries belong to a uid that namespace
does not map: its root then has no power over them, exactly as a user has none over
another user's 0600 file. Run as a user, plain permissions do it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import daemon_env, start_daemon

STRANGER = 12345  # a uid nobody on the machine maps


def lock(path: Path) -> None:
    if os.geteuid() == 0:
        os.chown(path, STRANGER, STRANGER)
    path.chmod(0)


def unprivileged() -> list[str]:
    if os.geteuid() != 0:
        return []
    if shutil.which("unshare") is None:
        pytest.skip("needs util-linux's unshare to run as root without root's powers")
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"user namespaces are not available here: {probe.stderr.decode().strip()}")
    return ["unshare", "--user", "--map-root-user"]


def deputydev(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*unprivileged(), sys.executable, "-m", "daemon", *args],
        cwd=cwd,
        env=daemon_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def restore(tmp_path: Path):  # type: ignore[no-untyped-def]
    locked: list[Path] = []
    yield locked
    for path in locked:  # so that pytest can remove tmp_path
        path.chmod(0o700)


def test_unreadable_files_and_folders_are_counted_and_named(
    workspace: Path, tmp_path: Path, restore: list[Path]
) -> None:
    (workspace / "private.py").write_text("x = 1\n")
    (workspace / "vault").mkdir()
    (workspace / "vault" / "keys.py").write_text("y = 2\n")
    for path in (workspace / "private.py", workspace / "vault"):
        lock(path)
        restore.append(path)

    result = deputydev("index", str(workspace), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert f"indexed {workspace}: 1 file (1 added" in result.stdout
    assert "skipped 2 unreadable (permission denied): private.py, vault/" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [("index", "{root}"), ("search", "x", "--root", "{root}")])
def test_an_unreadable_folder_is_named_as_such(
    tmp_path: Path, restore: list[Path], command: tuple[str, ...]
) -> None:
    root = tmp_path / "locked"
    root.mkdir()
    lock(root)
    restore.append(root)

    result = deputydev(*(a.format(root=root) for a in command), cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.strip() == f"deputydev: cannot read the folder {root} (Permission denied)"
    assert "config" not in result.stderr and result.stdout == ""


def test_ask_in_an_unreadable_folder_says_so(tmp_path: Path, restore: list[Path]) -> None:
    root = tmp_path / "locked"
    root.mkdir()
    lock(root)
    restore.append(root)
    result = deputydev("ask", "hi", "--root", str(root), cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot read the folder" in result.stderr and "config" not in result.stderr


async def test_the_daemon_names_unreadable_files_when_it_indexes(
    workspace: Path, tmp_path: Path, restore: list[Path]
) -> None:
    (workspace / "private.py").write_text("x = 1\n")
    lock(workspace / "private.py")
    restore.append(workspace / "private.py")
    client = await start_daemon(workspace, stderr_path=tmp_path / "d.stderr", prefix=unprivileged())
    try:

        def ended() -> list[dict[str, object]] | None:
            for values in client.progress_values.values():
                if values and values[0].get("kind") == "begin" and values[-1]["kind"] == "end":
                    return values
            return None

        await client.wait_for(ended, what="indexing progress to end")
        done = ended()
        assert done is not None
        assert "1 unreadable (permission denied): private.py" in str(done[-1]["message"])
        assert await client.stop_daemon() == 0
    finally:
        await client.kill()
