"""``deputydev search`` as a user runs it: a real subprocess, what stdout and stderr say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_ask_cli import deputydev


@pytest.fixture
def project(workspace: Path) -> Path:
    (workspace / "tests").mkdir()
    (workspace / "tests" / "test_hello.py").write_text("def test_greet():\n    greet('x')\n")
    return workspace


def paths(result: str) -> list[str]:
    return [hit["path"] for hit in json.loads(result)]


def test_hybrid_without_an_embedder_says_it_ran_lexical(project: Path) -> None:
    result = deputydev(project, "search", "greet", "--mode", "hybrid")
    assert result.returncode == 0
    assert "hello.py" in result.stdout
    assert "searched lexically" in result.stderr
    assert "[index.embeddings] backend" in result.stderr


def test_semantic_without_vectors_names_the_setting(project: Path) -> None:
    result = deputydev(project, "search", "greet", "--mode", "semantic")
    assert result.returncode == 1 and result.stdout == ""
    assert "semantic search is off" in result.stderr
    assert "[index.embeddings] backend" in result.stderr


def test_an_unknown_language_lists_the_known_ones(project: Path) -> None:
    result = deputydev(project, "search", "greet", "--language", "klingon")
    assert result.returncode == 2 and result.stdout == ""
    assert "unknown language 'klingon'" in result.stderr
    assert "python" in result.stderr and "typescript" in result.stderr
    assert deputydev(project, "search", "greet", "-l", "py", "--json").returncode == 0


def test_negated_globs_and_exclude_leave_paths_out(project: Path) -> None:
    everything = deputydev(project, "search", "greet", "--json")
    assert set(paths(everything.stdout)) == {"hello.py", "tests/test_hello.py"}
    for args in (("--path", "!tests/**"), ("--exclude", "tests/**"), ("-x", "tests")):
        result = deputydev(project, "search", "greet", "--json", *args)
        assert paths(result.stdout) == ["hello.py"], args
    both = deputydev(project, "search", "greet", "--json", "-p", "*.py", "-x", "tests/**")
    assert paths(both.stdout) == ["hello.py"]


def test_json_results_carry_the_snippet(project: Path) -> None:
    result = deputydev(project, "search", "greet", "--json", "-x", "tests/**")
    [hit] = json.loads(result.stdout)
    assert hit["snippet"].startswith("def greet(name):")
    assert {"path", "start_line", "end_line", "symbol", "kind", "language", "score"} <= set(hit)
