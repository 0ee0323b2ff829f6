"""``deputydev review`` in a real git repository, the reviewers played by the on-wire fake.

Each test runs the command as a subprocess (as a hook or CI would) with its providers
pointed at :class:`tests.fakes.llm_server.LLMServer`, whose responder is a scripted
:class:`tests.fakes.review_model.ReviewModel`; the fake records every request, so the tests
check both what the terminal got and what the models were sent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.fakes.llm_server import LLMServer
from tests.fakes.review_model import ReviewModel, finding
from tests.review_repo import SECRET, git, make_repo

SCHEMA = Path(__file__).parent.parent / "data" / "sarif-schema-2.1.0.json"
FIX = '    return db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()'


@pytest.fixture
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def review(
    repo: Path, llm: LLMServer, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "OPENAI_BASE_URL": llm.url + "/v1",
        "OPENAI_API_KEY": "sk-test",
        "DEPUTYDEV_PROVIDERS__DEFAULT_MODEL": "gpt-4.1",
        "DEPUTYDEV_INDEX__ENABLED": "false",
    }
    return subprocess.run(
        [sys.executable, "-m", "daemon", "review", *args],
        cwd=cwd or repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def sent(llm: LLMServer) -> list[dict[str, Any]]:
    return [b for b in llm.bodies("openai-chat") if isinstance(b, dict)]


def system_of(body: dict[str, Any]) -> str:
    return "".join(
        str(m.get("content")) for m in body["messages"] if m.get("role") in ("system", "developer")
    )


def test_uncommitted_changes_reviewed_by_five_reviewers_with_findings_grouped_by_file(
    repo: Path, llm: LLMServer
) -> None:
    model = ReviewModel(
        {
            "correctness": [
                finding("util.py", 6, category="wrong-operands", message="sub returns b - a")
            ],
            # the same problem from another reviewer: merged into one finding
            "maintainability": [
                finding("util.py", 6, category="wrong-operands", message="operands swapped")
            ],
            # below the confidence threshold: dropped
            "performance": [finding("staged.py", 2, category="slow", confidence=0.2)],
            # lines outside the file: refused by report_finding, dropped
            "tests": [finding("util.py", 40, category="untested")],
        }
    )
    llm.responder = model
    done = review(repo, llm)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "util.py\n" in out and "util.py:6 [wrong-operands]" in out
    assert "correctness, maintainability" in out  # merged across reviewers
    assert "     6 |     return b - a" in out  # the code lines of the finding
    assert "slow" not in out and "untested" not in out
    assert ".env (secret file" in out and "image.bin (binary file)" in out
    assert model.reviewers_seen == {
        "security",
        "correctness",
        "performance",
        "maintainability",
        "tests",
    }
    bodies = sent(llm)
    assert SECRET not in json.dumps(bodies)  # the secret never reached a model
    reviewer_systems = {system_of(b) for b in bodies if "as the" in json.dumps(b["messages"])}
    assert len(reviewer_systems) == 1  # one shared prefix for the five reviewers
    (system,) = reviewer_systems
    assert "util.py" in system and "staged.py" in system and "notes.py" in system
    assert "app.py" not in system  # committed on the branch: not uncommitted
    refused = [
        m["content"]
        for b in bodies
        for m in b["messages"]
        if m.get("role") == "tool" and "outside util.py" in str(m.get("content"))
    ]
    assert refused  # the model was told why its finding was dropped


def test_staged_scope_reads_only_the_index(repo: Path, llm: LLMServer) -> None:
    llm.responder = ReviewModel()
    done = review(repo, llm, "--staged", "--agents", "correctness")
    assert done.returncode == 0, done.stderr
    systems = [system_of(b) for b in sent(llm) if "as the" in json.dumps(b["messages"])]
    assert systems and all("staged.py" in s and "util.py" not in s for s in systems)
    assert "No findings" not in done.stdout and "0 findings" in done.stdout


def test_branch_scope_against_base_with_sarif_and_fail_on(repo: Path, llm: LLMServer) -> None:
    llm.responder = ReviewModel(
        {
            "security": [
                finding(
                    "app.py",
                    9,
                    severity="error",
                    category="sql-injection",
                    message="name is formatted into the SQL",
                    suggestion=FIX,
                )
            ],
            "tests": [finding("app.py", 12, 13, severity="info", category="untested")],
        }
    )
    done = review(repo, llm, "--base", "main", "--format", "sarif", "--fail-on", "error")
    assert done.returncode == 1, done.stderr  # an error-level finding fails the hook
    log = json.loads(done.stdout)
    jsonschema.validate(log, json.loads(SCHEMA.read_text()))
    results = log["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"sql-injection", "untested"}
    injection = next(r for r in results if r["ruleId"] == "sql-injection")
    assert injection["level"] == "error"
    assert injection["locations"][0]["physicalLocation"]["region"]["startLine"] == 9
    replacement = injection["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert replacement["insertedContent"]["text"] == FIX + "\n"
    systems = [system_of(b) for b in sent(llm) if "as the" in json.dumps(b["messages"])]
    assert all("app.py" in s and "staged.py" not in s for s in systems)


def test_fail_on_sets_the_exit_code_by_severity(repo: Path, llm: LLMServer) -> None:
    script = {"correctness": [finding("util.py", 6, severity="warning", category="bug")]}
    llm.responder = ReviewModel(script)
    assert review(repo, llm, "--agents", "correctness", "--fail-on", "error").returncode == 0
    llm.responder = ReviewModel(script)
    assert review(repo, llm, "--agents", "correctness", "--fail-on", "warning").returncode == 1


def test_json_report_and_the_review_kept_as_a_session(repo: Path, llm: LLMServer) -> None:
    llm.responder = ReviewModel(
        {"correctness": [finding("util.py", 6, category="wrong-operands")]}, fail=["security"]
    )
    done = review(repo, llm, "--agents", "security,correctness", "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [f["path"] for f in result["findings"]] == ["util.py"]
    assert result["failed"][0]["reviewer"] == "security"
    assert "security" in result["summary"] and "Failed reviewers" in result["summary"]
    listing = subprocess.run(
        [sys.executable, "-m", "daemon", "sessions", "list"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result["sessionId"][:8] in listing.stdout
    assert "Review: uncommitted changes" in listing.stdout
    exported = subprocess.run(
        [sys.executable, "-m", "daemon", "sessions", "export", result["sessionId"]],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "wrong-operands" in exported.stdout


def test_bad_input_is_reported_and_no_model_is_called(
    repo: Path, llm: LLMServer, tmp_path: Path
) -> None:
    llm.responder = ReviewModel()
    plain = tmp_path / "plain"
    plain.mkdir()
    done = review(repo, llm, cwd=plain)
    assert done.returncode == 2 and "not inside a git repository" in done.stderr
    done = review(repo, llm, "--base", "no-such-branch")
    assert done.returncode == 2 and "base 'no-such-branch'" in done.stderr
    done = review(repo, llm, "--range", "main")
    assert done.returncode == 2 and "A..B" in done.stderr
    done = review(repo, llm, "--agents", "nitpicker")
    assert done.returncode == 2 and "unknown reviewer 'nitpicker'" in done.stderr
    git(repo, "stash", "-u")
    done = review(repo, llm)
    assert done.returncode == 0 and "Nothing to review" in done.stdout
    assert not llm.requests


def test_a_reviewer_whose_model_fails_leaves_the_others_reporting(
    repo: Path, llm: LLMServer
) -> None:
    llm.responder = ReviewModel(
        {"correctness": [finding("util.py", 6, category="bug")]},
        fail=["security", "performance"],
    )
    done = review(repo, llm)
    assert done.returncode == 0, done.stderr
    assert "util.py:6 [bug]" in done.stdout
    assert "Failed reviewers" in done.stdout
    assert "security:" in done.stdout and "performance:" in done.stdout


def test_a_diff_larger_than_the_window_is_batched_and_what_was_left_out_is_said(
    repo: Path, llm: LLMServer, hermetic_env: Path
) -> None:
    # A model with a small window: the big file is split at hunks, every line reviewed,
    # and past review.maxBatches the rest is listed as skipped.
    config = hermetic_env / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text(
        '[providers.models.tiny]\nprovider = "openai"\nmodel_id = "tiny"\n'
        "context_window = 12000\nmax_output_tokens = 1000\n"
        '[review]\nmodel = "tiny"\nmax_batches = 3\n'
    )
    (repo / "big.py").write_text(
        "".join(f"def f{i}(x):\n    return x * {i}\n\n\n" for i in range(2000))
    )
    llm.responder = ReviewModel({"correctness": [finding("big.py", 2, category="bug")]})
    done = review(repo, llm, "--agents", "correctness", "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["batches"] == 3
    skipped = {s["path"]: s["reason"] for s in result["skipped"]}
    assert "review.maxBatches" in skipped["big.py"]
    assert "Skipped: " in result["summary"] and "big.py" in result["summary"]
    systems = [system_of(b) for b in sent(llm) if "as the" in json.dumps(b["messages"])]
    assert len(set(systems)) == 3 and all(len(s) < 12000 * 4 for s in systems)
    assert "part 1 of" in systems[0]


def test_with_claude_the_reviewers_share_one_cached_prefix(repo: Path, llm: LLMServer) -> None:
    llm.responder = ReviewModel({"security": [finding("util.py", 6, category="bug")]}, cache=True)
    env = {
        **os.environ,
        "ANTHROPIC_BASE_URL": llm.url,
        "ANTHROPIC_API_KEY": "sk-ant-test",
        "DEPUTYDEV_PROVIDERS__DEFAULT_MODEL": "claude-sonnet",
        "DEPUTYDEV_INDEX__ENABLED": "false",
    }
    done = subprocess.run(
        [sys.executable, "-m", "daemon", "review", "--format", "json"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    bodies = [b for b in llm.bodies("anthropic") if "as the" in json.dumps(b["messages"][:1])]
    assert len(bodies) >= 5
    assert len({json.dumps([b["tools"], b["system"]]) for b in bodies}) == 1
    first = bodies[0]
    assert first["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert first["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "util.py" in first["system"][-1]["text"]  # the diff is in the cached prefix
    usage = json.loads(done.stdout)["usage"]
    assert usage["cacheReadTokens"] > usage["inputTokens"]


def test_a_custom_reviewer_from_the_repository_config_reads_only_its_files(
    repo: Path, llm: LLMServer
) -> None:
    (repo / ".deputydev").mkdir()
    (repo / ".deputydev" / "config.toml").write_text(
        '[review.agents.arith]\nprompt = "Check arithmetic: operands, overflow, rounding."\n'
        'model = "gpt-4.1-mini"\nglobs = ["util*.py"]\n'
    )
    llm.responder = ReviewModel({"arith": [finding("util.py", 6, category="operands")]})
    done = review(repo, llm, "--agents", "arith,correctness", "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["reviewers"] == ["arith", "correctness"]
    assert [f["reviewers"] for f in result["findings"]] == [["arith"]]
    first = [b for b in sent(llm) if "as the arith reviewer" in json.dumps(b["messages"][:2])]
    assert first and all(b["model"] == "gpt-4.1-mini" for b in first)
    system = system_of(first[0])
    assert "util.py" in system and "staged.py" not in system
    assert "Check arithmetic" in json.dumps(first[0]["messages"])
    others = [b for b in sent(llm) if "as the correctness reviewer" in json.dumps(b["messages"])]
    assert "staged.py" in system_of(others[0])


def test_the_validation_pass_drops_what_the_code_contradicts_and_writes_the_summary(
    repo: Path, llm: LLMServer
) -> None:
    model = ReviewModel(
        {
            "correctness": [finding("util.py", 6, category="operands", message="b - a")],
            "tests": [finding("staged.py", 1, 2, category="untested", message="no test")],
        },
        verdict={
            "drop": [{"id": "F2", "reason": "util.py has a test for sub"}],
            "summary": "One real problem: sub's operands.",
        },
    )
    llm.responder = model
    done = review(repo, llm, "--agents", "correctness,tests", "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [f["category"] for f in result["findings"]] == ["untested"]
    assert result["dropped"] == 1
    assert result["summary"].startswith("One real problem: sub's operands.")
    [judged] = model.judged
    assert "[F1] staged.py:1-2" in judged and "[F2] util.py:6-6" in judged
    assert "    6  " in judged and "return b - a" in judged  # the code it judges by
