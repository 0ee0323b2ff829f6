"""Discovery: each ignore source, binaries, size, vendored folders, symlinks, several roots."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from indexer.discovery import discover


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def write(root: Path, rel: str, text: str = "x = 1\n") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def paths(root: Path, max_file_bytes: int = 1 << 20) -> set[str]:
    return {f.path for f in discover(root, max_file_bytes=max_file_bytes)}


@pytest.fixture(params=["git", "plain"])
def root(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    if request.param == "git":
        git(root, "init", "-q")
    return root


def test_gitignore_at_root_and_nested_is_honoured(root: Path) -> None:
    write(root, ".gitignore", "*.log\nsecret/\n")
    write(root, "pkg/.gitignore", "generated_*.py\n")
    write(root, "app.py")
    write(root, "debug.log", "noise\n")
    write(root, "secret/keys.py")
    write(root, "pkg/generated_models.py")
    write(root, "pkg/models.py")
    found = paths(root)
    assert {"app.py", "pkg/models.py"} <= found
    assert not found & {"debug.log", "secret/keys.py", "pkg/generated_models.py"}


def test_git_info_exclude_is_honoured(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    write(root, ".git/info/exclude", "local_notes.py\n")
    write(root, "local_notes.py")
    write(root, "main.py")
    assert paths(root) == {"main.py"}


def test_deputydevignore_removes_files_git_would_keep(root: Path) -> None:
    write(root, ".deputydevignore", "fixtures/\n*.snap.py\n")
    write(root, "fixtures/big.py")
    write(root, "test_x.snap.py")
    write(root, "real.py")
    found = paths(root)
    assert "real.py" in found
    assert not found & {"fixtures/big.py", "test_x.snap.py"}


def test_tracked_files_are_listed_even_when_a_later_gitignore_matches(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    write(root, "keep.cfg", "a = 1\n")
    git(root, "add", "keep.cfg")
    git(root, "commit", "-q", "-m", "init")
    write(root, ".gitignore", "*.cfg\n")
    write(root, "other.cfg", "b = 2\n")
    found = paths(root)
    assert "keep.cfg" in found
    assert "other.cfg" not in found


def test_binaries_large_files_and_vendored_folders_are_skipped(root: Path) -> None:
    write(root, "ok.py")
    (root / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR")
    (root / "blob.custom").write_bytes(b"header\x00\x01\x02 not text")
    write(root, "huge.py", "x = 1\n" * 1000)
    for folder in ("node_modules/lib", ".venv/lib", "dist", "build", "target", "vendor"):
        write(root, f"{folder}/skipped.py")
    found = paths(root, max_file_bytes=1000)
    assert found == {"ok.py"}


def test_symlink_loops_and_dangling_links_do_not_hang_or_appear(root: Path) -> None:
    write(root, "src/a.py")
    os.symlink(root / "src", root / "src" / "loop")
    os.symlink(root / "nowhere.py", root / "dangling.py")
    os.symlink("self.py", root / "self.py")
    os.symlink(root / "src" / "a.py", root / "alias.py")
    found = paths(root)
    assert "src/a.py" in found
    assert "alias.py" in found  # a link to a file inside the root is that file's text
    assert not any("loop" in p for p in found)
    assert not found & {"dangling.py", "self.py"}


def test_several_roots_are_discovered_apart(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    write(one, "a.py")
    write(one, ".gitignore", "b.py\n")
    write(one, "b.py")
    write(two, "b.py")
    assert paths(one) == {".gitignore", "a.py"}
    assert paths(two) == {"b.py"}


def test_unchanged_source_files_are_not_opened(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(root, "a.py")
    write(root, "notes.txt", "plain words\n")
    opened: list[str] = []
    real_open = open

    def spy(file: object, *args: object, **kwargs: object) -> object:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", spy)
    found = paths(root)
    assert {"a.py", "notes.txt"} <= found
    assert not any(p.endswith("a.py") for p in opened)
