"""git run on a hostile repository: its config names programs, and none of them runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from indexer.discovery import discover
from indexer.gitsafe import DIFF_FLAGS, driver_overrides, git_argv, git_env


def test_driver_overrides_empty_every_driver_command() -> None:
    out = driver_overrides("filter.lfs.clean\nfilter.lfs.smudge\ndiff.a.b.textconv\nuser.name\n")
    assert out == [
        "filter.lfs.clean=",
        "filter.lfs.smudge=",
        "filter.lfs.process=",
        "filter.lfs.required=false",
        "diff.a.b.command=",
        "diff.a.b.textconv=",
    ]


def test_the_environment_names_no_program() -> None:
    env = git_env({"GIT_EXTERNAL_DIFF": "x", "GIT_SSH_COMMAND": "x", "PATH": "/bin"})
    assert "GIT_EXTERNAL_DIFF" not in env and "GIT_SSH_COMMAND" not in env
    assert env["GIT_CONFIG_NOSYSTEM"] == "1" and env["PATH"] == "/bin"


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Path]:
    """A repository whose .git/config runs a program from every hook git offers."""
    root = tmp_path / "repo"
    root.mkdir()
    marks = tmp_path / "marks"
    marks.mkdir()

    def run(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=root,
            check=True,
            capture_output=True,
        )

    run("init", "-q")
    (root / "a.txt").write_text("one\n")
    (root / ".gitattributes").write_text("*.txt filter=evil diff=evil\n")
    run("add", "-A")
    run("commit", "-qm", "x")
    (root / "a.txt").write_text("two\n")
    config = {
        "core.fsmonitor": f"touch {marks}/fsmonitor; false",
        "core.pager": f"touch {marks}/pager; cat",
        "diff.external": f"touch {marks}/external",
        "filter.evil.clean": f"touch {marks}/clean; cat",
        "filter.evil.process": f"touch {marks}/process",
        "diff.evil.textconv": f"touch {marks}/textconv; cat",
        "diff.evil.command": f"touch {marks}/diffcommand",
        "log.showSignature": "true",
        "gpg.program": f"touch {marks}/gpg",
    }
    for key, value in config.items():
        run("config", key, value)
    return root, marks


def test_a_hostile_repositorys_config_runs_nothing(hostile: tuple[Path, Path]) -> None:
    root, marks = hostile
    # The control: plain git runs the repository's programs.
    subprocess.run(["git", "diff"], cwd=root, capture_output=True)
    assert {"fsmonitor", "process"} <= {p.name for p in marks.iterdir()}
    for mark in marks.iterdir():
        mark.unlink()
    for args in (
        ["status", "--short"],
        ["diff", *DIFF_FLAGS],
        ["log", "-p", *DIFF_FLAGS],
        ["show", *DIFF_FLAGS],
        ["blame", *DIFF_FLAGS, "a.txt"],
        ["ls-files", "--others", "--exclude-standard"],
    ):
        done = subprocess.run(git_argv(root, *args), cwd=root, env=git_env(), capture_output=True)
        assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in marks.iterdir()) == []


def test_the_indexer_lists_a_hostile_repository_without_running_it(
    hostile: tuple[Path, Path],
) -> None:
    root, marks = hostile
    assert [f.path for f in discover(root)] == [".gitattributes", "a.txt"]
    assert list(marks.iterdir()) == []
