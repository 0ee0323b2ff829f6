"""Pull/merge requests that take review comments, on the fake hosts of ``hosting_server``.

:class:`GitHubPull` keeps review comments and conversation comments as GitHub does:
``POST .../pulls/N/reviews`` (``commit_id``, ``event``, ``comments`` with ``path``,
``line``, ``side``, optional ``start_line``) creates them, refusing with 422 a comment on a
line the diff does not show or a review on a stale commit; ``PATCH .../pulls/comments/ID``
and ``PATCH .../issues/comments/ID`` edit them; the lists are served paged.
:class:`GitLabMergeRequest` does the same for ``POST .../discussions`` (a ``position`` on the
new line, checked against ``diff_refs``), ``POST .../notes`` and ``PUT .../notes/ID``.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from tests.fakes.hosting_data import github_pull, github_user, gitlab_user
from tests.fakes.hosting_server import Answer, HostingServer, Request

HEAD = "abc123def4567890"

# app.py of the pull request: lines 7-13 of the new side are in the diff (9: the query).
PATCH = """@@ -7,3 +7,7 @@ def connect(path):
{blank}
 def find_user(db, name):
-    return db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
+    return db.execute(f"SELECT * FROM users WHERE name = '{name}'").fetchone()
+
+
+def count_users(db):
+    return len(db.execute("SELECT * FROM users").fetchall())""".replace("{blank}", " ")


def added_lines(patch: str) -> dict[int, int | None]:
    """New-side line -> its old-side number (None for an added line)."""
    out: dict[int, int | None] = {}
    old = new = 0
    for text in patch.splitlines():
        m = re.match(r"^@@ -(\d+)(?:,\d+)? \+(\d+)", text)
        if m:
            old, new = int(m.group(1)), int(m.group(2))
        elif text.startswith("+"):
            out[new] = None
            new += 1
        elif text.startswith("-"):
            old += 1
        else:
            out[new] = old
            old, new = old + 1, new + 1
    return out


def diff_lines(patch: str) -> set[int]:
    """New-side lines a patch shows (added and context)."""
    out: set[int] = set()
    line = 0
    for text in patch.splitlines():
        m = re.match(r"^@@ -\d+(?:,\d+)? \+(\d+)", text)
        if m:
            line = int(m.group(1))
        elif text.startswith(("+", " ")) or text == "":
            out.add(line)
            line += 1
    return out


class GitHubPull:
    def __init__(
        self,
        server: HostingServer,
        repo: str = "o/r",
        number: int = 7,
        refuse: frozenset[int] = frozenset(),
    ) -> None:
        self.repo, self.number = repo, number
        self.refuse = refuse  # lines this pull request will not take a comment on
        self.review_comments: list[dict[str, Any]] = []
        self.issue_comments: list[dict[str, Any]] = [
            {"id": 1, "user": github_user("carol"), "body": "Thanks!", "created_at": "2024"}
        ]
        self.reviews: list[dict[str, Any]] = []
        self.ids = itertools.count(100)
        base = f"/repos/{repo}"
        self.lines = diff_lines(PATCH)
        server.json(
            f"{base}/pulls/{number}",
            github_pull(repo, number, comments=0, changed_files=1, additions=5, deletions=1),
        )
        server.json(
            f"{base}/pulls/{number}/files",
            [
                {
                    "filename": "app.py",
                    "status": "modified",
                    "additions": 5,
                    "deletions": 1,
                    "changes": 6,
                    "patch": PATCH,
                },
                {"filename": "logo.png", "status": "added", "additions": 0, "deletions": 0},
                {
                    "filename": ".env",
                    "status": "modified",
                    "additions": 1,
                    "deletions": 1,
                    "patch": "@@ -1 +1 @@\n-KEY=a\n+KEY=sk-live-pr-secret",
                },
            ],
        )
        server.route(
            "GET", f"{base}/pulls/{number}/comments", lambda r: Answer(200, self.review_comments)
        )
        server.route("GET", f"{base}/pulls/{number}/reviews", lambda r: Answer(200, self.reviews))
        server.route(
            "GET", f"{base}/issues/{number}/comments", lambda r: Answer(200, self.issue_comments)
        )
        server.route("POST", f"{base}/pulls/{number}/reviews", self._review)
        server.route("PATCH", f"{base}/pulls/comments/*", self._edit(self.review_comments))
        server.route("POST", f"{base}/issues/{number}/comments", self._comment)
        server.route("PATCH", f"{base}/issues/comments/*", self._edit(self.issue_comments))

    def _review(self, request: Request) -> Answer:
        body = request.body or {}
        if body.get("commit_id") != HEAD:
            return Answer(422, {"message": "commit_id is not part of the pull request"})
        if body.get("event") == "COMMENT" and not body.get("body"):
            return Answer(422, {"message": "Review body is required for COMMENT"})
        for c in body.get("comments") or []:
            if c.get("path") != "app.py" or c.get("line") not in self.lines - self.refuse:
                return Answer(422, {"message": "Line could not be resolved"})
            if "start_line" in c and c["start_line"] not in self.lines:
                return Answer(422, {"message": "Start line could not be resolved"})
        review_id = next(self.ids)
        self.reviews.append({"id": review_id, "body": body.get("body"), "state": "COMMENTED"})
        for c in body.get("comments") or []:
            self.review_comments.append(
                {
                    "id": next(self.ids),
                    "pull_request_review_id": review_id,
                    "user": github_user("deputy"),
                    **c,
                }
            )
        return Answer(200, {"id": review_id, "state": "COMMENTED"})

    def _comment(self, request: Request) -> Answer:
        comment = {"id": next(self.ids), "user": github_user("deputy"), **(request.body or {})}
        self.issue_comments.append(comment)
        return Answer(201, comment)

    def _edit(self, items: list[dict[str, Any]]) -> Any:
        def edit(request: Request) -> Answer:
            wanted = int(request.path.rsplit("/", 1)[1])
            for item in items:
                if item["id"] == wanted:
                    item["body"] = (request.body or {}).get("body")
                    return Answer(200, item)
            return Answer(404, {"message": "Not Found"})

        return edit


class GitLabMergeRequest:
    def __init__(self, server: HostingServer, repo: str = "g/p", iid: int = 1) -> None:
        encoded = repo.replace("/", "%2F")
        base = f"/api/v4/projects/{encoded}/merge_requests/{iid}"
        self.notes: list[dict[str, Any]] = [
            {"id": 1, "body": "added 1 commit", "system": True, "author": gitlab_user("frank")}
        ]
        self.discussions: list[dict[str, Any]] = []
        self.ids = itertools.count(500)
        self.refs = {"base_sha": "b" * 8, "start_sha": "s" * 8, "head_sha": "h" * 8}
        self.lines = diff_lines(PATCH)
        server.json(
            base,
            {
                "id": 99,
                "iid": iid,
                "title": "Find users by name",
                "description": "",
                "state": "opened",
                "author": gitlab_user("frank"),
                "sha": "h" * 8,
                "diff_refs": self.refs,
                "web_url": f"https://gitlab.com/{repo}/-/merge_requests/{iid}",
                "user_notes_count": 0,
                "changes_count": "1",
            },
        )
        server.json(
            f"{base}/diffs",
            [
                {
                    "old_path": "app.py",
                    "new_path": "app.py",
                    "diff": PATCH + "\n",
                    "new_file": False,
                    "renamed_file": False,
                    "deleted_file": False,
                }
            ],
        )
        server.route("GET", f"{base}/notes", lambda r: Answer(200, self.notes))
        server.route("GET", f"{base}/discussions", lambda r: Answer(200, self.discussions))
        server.route("POST", f"{base}/discussions", self._discussion)
        server.route("POST", f"{base}/notes", self._note)
        server.route("PUT", f"{base}/notes/*", self._edit)

    def _discussion(self, request: Request) -> Answer:
        body = request.body or {}
        position = body.get("position") or {}
        for key, value in self.refs.items():
            if position.get(key) != value:
                return Answer(400, {"message": f"400 Bad request - {key} is stale"})
        new_line = position.get("new_line")
        mapping = added_lines(PATCH)
        if position.get("new_path") != "app.py" or new_line not in mapping:
            return Answer(
                400, {"message": '400 Bad request - Note {:line_code=>["can\'t be blank"]}'}
            )
        if position.get("old_line") != mapping[new_line]:  # an unchanged line needs both
            return Answer(400, {"message": "400 Bad request - line_code is invalid"})
        note = {
            "id": next(self.ids),
            "type": "DiffNote",
            "body": body.get("body"),
            "author": gitlab_user("deputy"),
            "system": False,
            "position": position,
        }
        self.notes.append(note)
        self.discussions.append({"id": f"d{note['id']}", "notes": [note]})
        return Answer(201, self.discussions[-1])

    def _note(self, request: Request) -> Answer:
        note = {
            "id": next(self.ids),
            "body": (request.body or {}).get("body"),
            "author": gitlab_user("deputy"),
            "system": False,
        }
        self.notes.append(note)
        return Answer(201, note)

    def _edit(self, request: Request) -> Answer:
        wanted = int(request.path.rsplit("/", 1)[1])
        for note in self.notes:
            if note["id"] == wanted:
                note["body"] = (request.body or {}).get("body")
                return Answer(200, note)
        return Answer(404, {"message": "404 Not found"})
