"""``deputydev index`` and ``deputydev search`` from the terminal, in process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daemon.cli import main


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "retry.py").write_text(
        "def backoff_delay(attempt):\n    return min(60, 2 ** attempt)\n\n\n"
        "class Client:\n    def send(self, request):\n        return request\n"
    )
    (root / "notes.md").write_text("# Notes\n\nNothing about code here.\n")
    return root


def test_index_prints_a_summary_and_a_second_run_changes_nothing(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"indexed {folder}: 2 files (2 added, 0 updated, 0 removed)" in out
    assert "vectors off" in out
    assert main(["index", str(folder)]) == 0
    assert "(0 added, 0 updated, 0 removed)" in capsys.readouterr().out
    (folder / "notes.md").unlink()
    assert main(["index", str(folder)]) == 0
    assert f"indexed {folder}: 1 file (0 added" in capsys.readouterr().out


def test_search_json_indexes_first_and_prints_the_documented_keys(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "retry backoff delay", "--root", str(folder), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert set(results[0]) == {
        "path",
        "start_line",
        "end_line",
        "symbol",
        "kind",
        "language",
        "snippet",
        "score",
    }
    assert (results[0]["path"], results[0]["symbol"], results[0]["start_line"]) == (
        "retry.py",
        "backoff_delay",
        1,
    )


def test_search_text_output_and_filters(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "Client.send", "--root", str(folder), "--mode", "symbol"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("retry.py:6-7  Client.send  (method")
    assert main(["search", "notes", "--root", str(folder), "-l", "rust"]) == 0
    assert "no results" in capsys.readouterr().err


def test_search_on_a_missing_folder_or_bad_mode_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "x", "--root", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["search", "x", "--root", str(tmp_path), "--mode", "semantic"]) == 1
    assert "semantic search is off" in capsys.readouterr().err
