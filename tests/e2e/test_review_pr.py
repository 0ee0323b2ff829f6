"""``deputydev review --pr URL --post`` against fake GitHub and GitLab servers on the wire:
the diff read through hosting/, findings posted as inline comments plus one summary, and a
rerun that edits its own comments instead of posting them again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_review_cli import review
from tests.fakes.hosting_server import HostingServer
from tests.fakes.llm_server import LLMServer
from tests.fakes.review_hosts import GitHubPull, GitLabMergeRequest
from tests.fakes.review_model import ReviewModel, finding
from tests.review_repo import make_repo

GITHUB_TOKEN = "ghp_reviewtoken000000000000000000000"
GITLAB_TOKEN = "glpat-reviewtoken0000000"
FIX = '    return db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()'


@pytest.fixture
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def reviewers() -> ReviewModel:
    return ReviewModel(
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
            "performance": [
                finding("app.py", 12, 13, category="fetch-all", message="counts in Python")
            ],
            # outside the diff but severe: in the summary, not inline
            "correctness": [finding("app.py", 2, severity="error", category="import")],
        }
    )


def test_a_github_pull_request_gets_one_review_and_a_rerun_edits_it(
    repo: Path, llm: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with HostingServer("github", auth=f"Bearer {GITHUB_TOKEN}") as github:
        pull = GitHubPull(github)
        monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
        monkeypatch.setenv("DEPUTYDEV_HOSTING__GITHUB__API_URL", github.url)
        url = "https://github.com/o/r/pull/7"
        llm.responder = reviewers()
        done = review(repo, llm, "--pr", url, "--post", "--format", "json")
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result["posted"] == url
        assert {f["category"] for f in result["findings"]} == {
            "sql-injection",
            "fetch-all",
            "import",
        }
        assert "logo.png" in json.dumps(result["skipped"]) and ".env" in json.dumps(
            result["skipped"]
        )
        assert "sk-live-pr-secret" not in json.dumps(llm.bodies())
        [posted] = pull.reviews
        assert posted["state"] == "COMMENTED"
        inline = {c["line"]: c for c in pull.review_comments}
        assert set(inline) == {9, 13}
        assert inline[13]["start_line"] == 12 and inline[13]["side"] == "RIGHT"
        assert "```suggestion\n" + FIX in inline[9]["body"]
        ours = [c for c in pull.issue_comments if "deputydev-review:summary" in c["body"]]
        assert len(ours) == 1 and "Outside the diff" in ours[0]["body"]
        assert "`app.py:2`" in ours[0]["body"]
        first_ids = sorted(c["id"] for c in pull.review_comments)

        llm.responder = reviewers()
        again = review(repo, llm, "--pr", url, "--post")
        assert again.returncode == 0, again.stderr
        assert len(pull.reviews) == 1  # no second review: the comments were edited
        assert sorted(c["id"] for c in pull.review_comments) == first_ids
        assert len([c for c in pull.issue_comments if "deputydev" in c["body"]]) == 1
        edits = [r for r in github.requests if r.method == "PATCH"]
        assert len(edits) == 3 and all(r.status == 200 for r in edits)


def test_a_gitlab_merge_request_gets_discussions_and_a_rerun_edits_them(
    repo: Path, llm: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with HostingServer("gitlab", auth=f"Bearer {GITLAB_TOKEN}") as gitlab:
        mr = GitLabMergeRequest(gitlab)
        monkeypatch.setenv("GITLAB_TOKEN", GITLAB_TOKEN)
        monkeypatch.setenv("DEPUTYDEV_HOSTING__GITLAB__API_URL", gitlab.url + "/api/v4")
        url = "https://gitlab.com/g/p/-/merge_requests/1"
        llm.responder = reviewers()
        done = review(repo, llm, "--pr", url, "--post")
        assert done.returncode == 0, done.stderr
        assert "name is formatted into the SQL" in done.stdout
        positions = sorted(d["notes"][0]["position"]["new_line"] for d in mr.discussions)
        assert positions == [9, 13]
        bodies = {
            d["notes"][0]["position"]["new_line"]: d["notes"][0]["body"] for d in mr.discussions
        }
        assert "```suggestion:-0+0\n" + FIX in bodies[9]  # GitLab's own suggestion syntax
        summaries = [n for n in mr.notes if "deputydev-review:summary" in str(n["body"])]
        assert len(summaries) == 1
        count = len(mr.notes)

        llm.responder = reviewers()
        again = review(repo, llm, "--pr", url, "--post")
        assert again.returncode == 0, again.stderr
        assert len(mr.notes) == count and len(mr.discussions) == 2
        assert len([r for r in gitlab.requests if r.method == "PUT"]) == 3


def test_posting_needs_a_pull_request_and_a_bad_link_is_named(repo: Path, llm: LLMServer) -> None:
    llm.responder = ReviewModel()
    done = review(repo, llm, "--post")
    assert done.returncode == 2 and "--post needs --pr" in done.stderr
    done = review(repo, llm, "--pr", "https://example.com/not/a/pull")
    assert done.returncode == 2 and "not a link to a pull request" in done.stderr
    assert not llm.requests
