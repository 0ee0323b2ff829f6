"""Responses in the shapes each API documents, trimmed to the fields a client could read.

Field names, nesting and value spellings follow the public reference pages (GitHub REST
"Get a pull request", "List pull request files", "List review comments", "List check runs
for a Git reference"; GitLab "Merge requests API", "Discussions API"; Bitbucket "Pull
requests"; Jira Cloud "Get issue" v3 with ADF; Confluence Cloud v2 "Get page by id",
Data Center "content"). ``seed_*`` puts a whole item on a :class:`HostingServer`.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.hosting_server import Answer, HostingServer, Request

WEB = "https://github.com"


def patch(lines: int, name: str = "x") -> str:
    """A unified-diff hunk of ``lines`` added lines."""
    body = "\n".join(f"+{name}_{i} = {i}" for i in range(lines))
    return f"@@ -0,0 +1,{lines} @@\n{body}"


def github_user(login: str) -> dict[str, Any]:
    return {"login": login, "id": abs(hash(login)) % 10_000, "type": "User"}


def github_pull(repo: str = "o/r", number: int = 7, **over: Any) -> dict[str, Any]:
    pull = {
        "url": f"https://api.github.com/repos/{repo}/pulls/{number}",
        "id": 1,
        "number": number,
        "state": "open",
        "locked": False,
        "title": "Retry uploads with back-off",
        "user": github_user("alice"),
        "body": "Uploads now retry **three** times.\n\nFixes #3.",
        "labels": [{"id": 1, "name": "enhancement", "color": "a2eeef"}],
        "milestone": {"title": "v1.2", "number": 2},
        "created_at": "2024-05-01T10:00:00Z",
        "updated_at": "2024-05-02T12:30:00Z",
        "merged_at": None,
        "assignees": [github_user("bob")],
        "requested_reviewers": [github_user("carol")],
        "head": {"label": "alice:retry", "ref": "retry", "sha": "abc123def4567890"},
        "base": {"label": "o:main", "ref": "main", "sha": "0000000"},
        "html_url": f"{WEB}/{repo}/pull/{number}",
        "draft": False,
        "merged": False,
        "comments": 2,
        "review_comments": 2,
        "commits": 3,
        "additions": 12,
        "deletions": 3,
        "changed_files": 2,
    }
    pull.update(over)
    return pull


def github_files(count: int = 2, lines: int = 6) -> list[dict[str, Any]]:
    files = []
    for index in range(count):
        files.append(
            {
                "sha": f"{index:040d}",
                "filename": f"src/mod_{index}.py",
                "status": "modified" if index else "added",
                "additions": lines,
                "deletions": 0,
                "changes": lines,
                "blob_url": "",
                "patch": patch(lines, f"v{index}"),
            }
        )
    return files


def github_review_threads(
    server: HostingServer, threads: list[tuple[int, str | None]], page_size: int = 100
) -> None:
    """Answer GitHub's GraphQL ``reviewThreads`` query: one thread per (first comment's id,
    who resolved it or None), paged by ``after`` as GitHub pages connections."""

    def answer(request: Request) -> Answer:
        body = request.body if isinstance(request.body, dict) else {}
        if "reviewThreads" not in str(body.get("query")):
            return Answer(200, {"errors": [{"message": "fake: unknown query"}]})
        variables = body.get("variables") or {}
        start = int(variables.get("after") or 0)
        chunk = threads[start : start + page_size]
        end = start + len(chunk)
        nodes = [
            {
                "isResolved": by is not None,
                "resolvedBy": github_user(by) if by else None,
                "comments": {"nodes": [{"databaseId": first}]},
            }
            for first, by in chunk
        ]
        page = {"hasNextPage": end < len(threads), "endCursor": str(end) if chunk else None}
        thread_data = {"pageInfo": page, "nodes": nodes}
        pull = {"reviewThreads": thread_data}
        return Answer(200, {"data": {"repository": {"pullRequest": pull}}})

    server.route("POST", "/graphql", answer)


def seed_github_pull(
    server: HostingServer,
    repo: str = "o/r",
    number: int = 7,
    *,
    files: list[dict[str, Any]] | None = None,
    comments: int = 2,
    **over: Any,
) -> None:
    files = github_files() if files is None else files
    base = f"/repos/{repo}"
    server.json(
        f"{base}/pulls/{number}",
        github_pull(
            repo,
            number,
            changed_files=len(files),
            additions=sum(f["additions"] for f in files),
            comments=comments,
            **over,
        ),
    )
    server.json(f"{base}/pulls/{number}/files", files)
    server.json(
        f"{base}/pulls/{number}/comments",
        [
            {
                "id": 10,
                "path": "src/mod_1.py",
                "line": 4,
                "original_line": 4,
                "side": "RIGHT",
                "body": "Should this be configurable?",
                "user": github_user("carol"),
                "created_at": "2024-05-01T11:00:00Z",
                "diff_hunk": "@@ -0,0 +1,6 @@",
            },
            {
                "id": 11,
                "in_reply_to_id": 10,
                "path": "src/mod_1.py",
                "line": 4,
                "original_line": 4,
                "body": "Yes: added a setting.",
                "user": github_user("alice"),
                "created_at": "2024-05-01T11:30:00Z",
            },
        ],
    )
    server.json(
        f"{base}/pulls/{number}/reviews",
        [
            {
                "id": 80,
                "user": github_user("carol"),
                "body": "Looks good once the setting is in.",
                "state": "CHANGES_REQUESTED",
                "submitted_at": "2024-05-01T11:05:00Z",
            }
        ],
    )
    server.json(
        f"/repos/{repo}/issues/{number}/comments",
        [
            {
                "id": 900 + i,
                "user": github_user("dave"),
                "body": f"conversation comment {i}",
                "created_at": f"2024-05-0{1 + i % 8}T09:00:00Z",
            }
            for i in range(comments)
        ],
    )
    sha = "abc123def4567890"
    server.json(
        f"/repos/{repo}/commits/{sha}/check-runs",
        {
            "total_count": 2,
            "check_runs": [
                {
                    "id": 1,
                    "name": "tests",
                    "status": "completed",
                    "conclusion": "failure",
                    "html_url": f"{WEB}/{repo}/runs/1",
                },
                {"id": 2, "name": "lint", "status": "completed", "conclusion": "success"},
            ],
        },
    )
    server.json(
        f"/repos/{repo}/commits/{sha}/status",
        {
            "state": "pending",
            "sha": sha,
            "total_count": 1,
            "statuses": [{"context": "ci/deploy-preview", "state": "pending", "target_url": None}],
        },
    )


def github_issue(repo: str = "o/r", number: int = 3, **over: Any) -> dict[str, Any]:
    issue = {
        "number": number,
        "title": "Uploads fail on flaky networks",
        "state": "closed",
        "state_reason": "completed",
        "user": github_user("erin"),
        "body": "Steps:\n1. upload\n2. pull the cable",
        "labels": [{"name": "bug"}],
        "assignees": [],
        "milestone": None,
        "comments": 1,
        "created_at": "2024-04-01T10:00:00Z",
        "updated_at": "2024-04-03T10:00:00Z",
        "html_url": f"{WEB}/{repo}/issues/{number}",
        "repository_url": f"https://api.github.com/repos/{repo}",
    }
    issue.update(over)
    return issue


# --------------------------------------------------------------------------- GitLab


def gitlab_user(name: str) -> dict[str, Any]:
    return {"id": 1, "username": name, "name": name.capitalize(), "state": "active"}


def seed_gitlab_mr(server: HostingServer, repo: str = "group/sub/proj", iid: int = 5) -> None:
    encoded = repo.replace("/", "%2F")
    base = f"/api/v4/projects/{encoded}/merge_requests/{iid}"
    server.json(
        base,
        {
            "id": 99,
            "iid": iid,
            "project_id": 3,
            "title": "Draft: cache the token lookup",
            "description": "Caches it for a minute.",
            "state": "opened",
            "created_at": "2024-06-01T08:00:00.000Z",
            "updated_at": "2024-06-02T08:00:00.000Z",
            "target_branch": "main",
            "source_branch": "cache-token",
            "author": gitlab_user("frank"),
            "assignees": [gitlab_user("gina")],
            "reviewers": [gitlab_user("hank")],
            "labels": ["performance", "backend"],
            "draft": True,
            "work_in_progress": True,
            "milestone": None,
            "sha": "feedbeef",
            "user_notes_count": 3,
            "changes_count": "2",
            "web_url": f"https://gitlab.example.com/{repo}/-/merge_requests/{iid}",
            "head_pipeline": {
                "id": 4242,
                "sha": "feedbeef",
                "status": "failed",
                "web_url": f"https://gitlab.example.com/{repo}/-/pipelines/4242",
            },
        },
    )
    server.json(
        f"{base}/diffs",
        [
            {
                "old_path": "app/token.rb",
                "new_path": "app/token.rb",
                "a_mode": "100644",
                "b_mode": "100644",
                "diff": "@@ -1,2 +1,3 @@\n def token\n-  fetch\n+  @token ||= fetch\n+  # cached\n",
                "new_file": False,
                "renamed_file": False,
                "deleted_file": False,
            },
            {
                "old_path": "old_name.rb",
                "new_path": "new_name.rb",
                "diff": "",
                "new_file": False,
                "renamed_file": True,
                "deleted_file": False,
            },
        ],
    )
    server.json(
        f"{base}/discussions",
        [
            {
                "id": "d1",
                "individual_note": False,
                "notes": [
                    {
                        "id": 1,
                        "type": "DiffNote",
                        "body": "What invalidates it?",
                        "author": gitlab_user("hank"),
                        "created_at": "2024-06-01T09:00:00.000Z",
                        "system": False,
                        "resolvable": True,
                        "resolved": True,
                        "position": {
                            "base_sha": "a",
                            "head_sha": "b",
                            "position_type": "text",
                            "old_path": "app/token.rb",
                            "new_path": "app/token.rb",
                            "old_line": None,
                            "new_line": 2,
                        },
                    },
                    {
                        "id": 2,
                        "type": "DiffNote",
                        "body": "A minute's expiry.",
                        "author": gitlab_user("frank"),
                        "created_at": "2024-06-01T09:10:00.000Z",
                        "system": False,
                        "position": {
                            "old_path": "app/token.rb",
                            "new_path": "app/token.rb",
                            "old_line": None,
                            "new_line": 2,
                        },
                    },
                ],
            },
            {
                "id": "d2",
                "individual_note": True,
                "notes": [
                    {
                        "id": 3,
                        "type": None,
                        "body": "added 1 commit",
                        "author": gitlab_user("frank"),
                        "created_at": "2024-06-01T10:00:00.000Z",
                        "system": True,
                    }
                ],
            },
            {
                "id": "d3",
                "individual_note": True,
                "notes": [
                    {
                        "id": 4,
                        "type": "DiscussionNote",
                        "body": "Please rebase.",
                        "author": gitlab_user("gina"),
                        "created_at": "2024-06-01T11:00:00.000Z",
                        "system": False,
                    }
                ],
            },
        ],
    )
    server.json(
        f"/api/v4/projects/{encoded}/pipelines/4242/jobs",
        [
            {
                "id": 1,
                "name": "rspec",
                "stage": "test",
                "status": "failed",
                "web_url": "https://gitlab.example.com/jobs/1",
            },
            {"id": 2, "name": "rubocop", "stage": "lint", "status": "success", "web_url": None},
        ],
    )


# --------------------------------------------------------------------------- Bitbucket


def seed_bitbucket_pull(server: HostingServer, repo: str = "ws/repo", number: int = 9) -> None:
    base = f"/2.0/repositories/{repo}/pullrequests/{number}"
    user = {"display_name": "Ivy Iverson", "nickname": "ivy", "type": "user"}
    server.json(
        base,
        {
            "id": number,
            "type": "pullrequest",
            "title": "Add retries to the client",
            "description": "Retries idempotent calls.",
            "state": "OPEN",
            "draft": False,
            "author": user,
            "source": {"branch": {"name": "feature/retry"}, "commit": {"hash": "c0ffee"}},
            "destination": {"branch": {"name": "main"}, "commit": {"hash": "d00d"}},
            "reviewers": [{"display_name": "Jo", "nickname": "jo"}],
            "participants": [
                {
                    "user": {"nickname": "jo"},
                    "role": "REVIEWER",
                    "approved": True,
                    "state": "approved",
                    "participated_on": "2024-07-02T10:00:00+00:00",
                }
            ],
            "comment_count": 2,
            "created_on": "2024-07-01T10:00:00.000000+00:00",
            "updated_on": "2024-07-02T10:00:00.000000+00:00",
            "links": {"html": {"href": f"https://bitbucket.org/{repo}/pull-requests/{number}"}},
        },
    )
    server.json(
        f"{base}/diffstat",
        [
            {
                "type": "diffstat",
                "status": "modified",
                "lines_added": 2,
                "lines_removed": 1,
                "old": {"path": "client.py"},
                "new": {"path": "client.py"},
            },
            {
                "type": "diffstat",
                "status": "added",
                "lines_added": 1,
                "lines_removed": 0,
                "old": None,
                "new": {"path": "docs/retry.md"},
            },
        ],
    )
    diff = (
        "diff --git a/client.py b/client.py\nindex 1..2 100644\n--- a/client.py\n+++ b/client.py\n"
        "@@ -1,2 +1,3 @@\n import time\n-def call(): pass\n+def call(): retry()\n+# done\n"
        "diff --git a/docs/retry.md b/docs/retry.md\nnew file mode 100644\n--- /dev/null\n"
        "+++ b/docs/retry.md\n@@ -0,0 +1 @@\n+Retries ```three``` times\n"
    )
    # Bitbucket answers the PR's diff with a redirect to the repository's diff endpoint.
    server.redirect(f"{base}/diff", f"{server.url}/2.0/repositories/{repo}/diff/c0ffee..d00d")
    server.text(f"/2.0/repositories/{repo}/diff/c0ffee..d00d", diff)
    server.json(
        f"{base}/comments",
        [
            {
                "id": 2,
                "content": {"raw": "Thanks!", "markup": "markdown"},
                "user": user,
                "created_on": "2024-07-02T09:00:00+00:00",
                "deleted": False,
            },
            {
                "id": 1,
                "content": {"raw": "Why retry here?"},
                "user": {"nickname": "jo"},
                "created_on": "2024-07-01T12:00:00+00:00",
                "deleted": False,
                "inline": {"path": "client.py", "from": None, "to": 2},
            },
        ],
    )
    server.json(
        f"{base}/statuses",
        [
            {
                "type": "build",
                "key": "ci",
                "name": "Pipeline #12",
                "state": "SUCCESSFUL",
                "url": "https://ci.example.com/12",
            }
        ],
    )


# --------------------------------------------------------------------------- Jira


def adf(*blocks: Any) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": list(blocks)}


def adf_text(text: str, *marks: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": text}
    if marks:
        node["marks"] = list(marks)
    return node


def jira_issue(key: str = "PROJ-12", comments: int = 1) -> dict[str, Any]:
    description = adf(
        {"type": "heading", "attrs": {"level": 2}, "content": [adf_text("Steps")]},
        {
            "type": "orderedList",
            "attrs": {"order": 1},
            "content": [
                {
                    "type": "listItem",
                    "content": [
                        {
                            "type": "paragraph",
                            "content": [adf_text("Open "), adf_text("/settings", {"type": "code"})],
                        }
                    ],
                },
                {
                    "type": "listItem",
                    "content": [
                        {
                            "type": "paragraph",
                            "content": [adf_text("Click "), adf_text("Save", {"type": "strong"})],
                        }
                    ],
                },
            ],
        },
        {
            "type": "codeBlock",
            "attrs": {"language": "python"},
            "content": [{"type": "text", "text": "raise TimeoutError()"}],
        },
        {
            "type": "paragraph",
            "content": [
                adf_text("See "),
                adf_text(
                    "the runbook", {"type": "link", "attrs": {"href": "https://wiki/runbook"}}
                ),
                {"type": "text", "text": " "},
                {"type": "mention", "attrs": {"id": "abc", "text": "@Kim"}},
            ],
        },
    )
    return {
        "id": "10001",
        "key": key,
        "self": "https://acme.atlassian.net/rest/api/3/issue/10001",
        "fields": {
            "summary": "Saving settings times out",
            "status": {"name": "In Progress", "statusCategory": {"key": "indeterminate"}},
            "issuetype": {"name": "Bug"},
            "priority": {"name": "High"},
            "assignee": {"displayName": "Kim Lee", "accountId": "1"},
            "reporter": {"displayName": "Lou Ma", "accountId": "2"},
            "labels": ["settings", "timeout"],
            "components": [{"name": "web"}],
            "fixVersions": [{"name": "2.4"}],
            "resolution": None,
            "created": "2024-08-01T09:00:00.000+0000",
            "updated": "2024-08-03T09:00:00.000+0000",
            "duedate": None,
            "parent": {"key": "PROJ-1", "fields": {"summary": "Settings epic"}},
            "subtasks": [
                {
                    "key": "PROJ-13",
                    "fields": {"summary": "Add a spinner", "status": {"name": "To Do"}},
                }
            ],
            "issuelinks": [
                {
                    "type": {"name": "Blocks", "inward": "is blocked by", "outward": "blocks"},
                    "outwardIssue": {"key": "PROJ-20", "fields": {"summary": "Release 2.4"}},
                }
            ],
            "description": description,
            "comment": {
                "comments": [
                    {
                        "id": str(i),
                        "author": {"displayName": "Mo"},
                        "body": adf({"type": "paragraph", "content": [adf_text(f"comment {i}")]}),
                        "created": "2024-08-02T09:00:00.000+0000",
                    }
                    for i in range(min(comments, 5))
                ],
                "maxResults": 5,
                "total": comments,
                "startAt": 0,
            },
        },
    }


# --------------------------------------------------------------------------- Confluence

STORAGE = (
    "<h1>Deploying</h1><p>Run the <strong>deploy</strong> job, then check "
    '<a href="https://status.example.com">status</a>.</p>'
    '<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">bash</ac:parameter>'
    "<ac:plain-text-body><![CDATA[make deploy ENV=prod\necho done]]></ac:plain-text-body>"
    "</ac:structured-macro>"
    '<ac:structured-macro ac:name="warning"><ac:rich-text-body><p>Never on Fridays.</p>'
    "</ac:rich-text-body></ac:structured-macro>"
    "<ul><li>first<ul><li>nested</li></ul></li><li>second</li></ul>"
    "<table><tbody><tr><th>Env</th><th>Owner</th></tr><tr><td>prod</td><td>ops</td></tr>"
    "</tbody></table>"
    '<p>See <ac:link><ri:page ri:content-title="Rollback" /></ac:link>.</p>'
)


def seed_confluence_cloud(server: HostingServer, page_id: str = "123456") -> None:
    server.json(
        f"/wiki/api/v2/pages/{page_id}",
        {
            "id": page_id,
            "status": "current",
            "title": "Deploy guide",
            "spaceId": "77",
            "parentId": "22",
            "authorId": "acc-1",
            "version": {"number": 14, "createdAt": "2024-09-01T10:00:00.000Z", "authorId": "acc-2"},
            "body": {"storage": {"representation": "storage", "value": STORAGE}},
            "labels": {"results": [{"id": "1", "name": "ops"}]},
            "_links": {
                "webui": f"/spaces/ENG/pages/{page_id}/Deploy+guide",
                "base": "https://acme.atlassian.net/wiki",
            },
        },
    )
    server.json(
        f"/wiki/api/v2/pages/{page_id}/ancestors",
        {"results": [{"id": "11", "type": "page"}, {"id": "22", "type": "page"}]},
    )
    server.json(
        "/wiki/api/v2/pages",
        {
            "results": [{"id": "22", "title": "Operations"}, {"id": "11", "title": "Engineering"}],
            "_links": {},
        },
    )
    server.json("/wiki/api/v2/spaces/77", {"id": "77", "key": "ENG", "name": "Engineering Space"})
    server.json("/wiki/rest/api/user", {"accountId": "acc-2", "displayName": "Nina Ops"})


def confluence_dc_page(page_id: str = "98765") -> dict[str, Any]:
    return {
        "id": page_id,
        "type": "page",
        "status": "current",
        "title": "Runbook",
        "space": {"key": "OPS", "name": "Operations"},
        "ancestors": [{"id": "1", "title": "Home"}, {"id": "2", "title": "Runbooks"}],
        "version": {"number": 3, "when": "2024-02-02T10:00:00.000Z", "by": {"displayName": "Oli"}},
        "body": {
            "storage": {"value": "<p>Restart <code>svc</code>.</p>", "representation": "storage"}
        },
        "metadata": {"labels": {"results": [{"name": "runbook"}]}},
        "_links": {
            "webui": f"/pages/viewpage.action?pageId={page_id}",
            "base": "https://wiki.acme.com/confluence",
        },
    }
