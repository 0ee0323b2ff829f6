"""GitLab, Bitbucket, Jira and Confluence through fakes on the wire, each into Markdown."""

from __future__ import annotations

from tests.fakes.hosting_data import (
    confluence_dc_page,
    gitlab_user,
    jira_issue,
    seed_bitbucket_pull,
    seed_confluence_cloud,
    seed_gitlab_mr,
)
from tests.fakes.hosting_server import Answer, HostingServer
from tests.unit.hosting.conftest import MakeHosting


async def test_a_gitlab_merge_request_on_a_self_hosted_instance(make_hosting: MakeHosting) -> None:
    with HostingServer("gitlab", auth="Bearer glpat-testtoken123456") as server:
        seed_gitlab_mr(server)
        hosting = make_hosting(
            {"GITLAB_TOKEN": "glpat-testtoken123456", "GITLAB_URL": "https://gitlab.example.com"},
            gitlab={"api_url": server.url + "/api/v4"},
        )
        text = await hosting.fetch("https://gitlab.example.com/group/sub/proj/-/merge_requests/5")
    assert text.startswith("# Merge request group/sub/proj!5: Draft: cache the token lookup")
    assert "- State: open (draft)" in text and "- Branches: cache-token -> main" in text
    assert "- Labels: performance, backend" in text and "- Reviewers: @hank" in text
    assert "FAILED: test: rspec" in text and "passed: lint: rubocop" in text
    assert "- `app/token.rb:2` @hank (2024-06-01 09:00) [resolved]:\n  What invalidates it?" in text
    assert "  - reply `app/token.rb:2` @frank" in text
    assert "Please rebase." in text and "added 1 commit" not in text  # system notes dropped
    assert "### app/token.rb (modified, +2 -1)" in text
    assert "### new_name.rb (from old_name.rb) (renamed, +0 -0)" in text


async def test_a_gitlab_com_issue_with_its_newest_notes(make_hosting: MakeHosting) -> None:
    base = "/api/v4/projects/acme%2Fweb/issues/41"
    # As GitLab sends them with sort=desc: newest first; one system note among them.
    notes = [
        {
            "id": 200 + i,
            "body": f"note {i}",
            "author": gitlab_user("ivy"),
            "created_at": f"2024-07-{1 + i:02d}T10:00:00.000Z",
            "system": False,
        }
        for i in reversed(range(30))
    ]
    notes.insert(2, {"id": 1, "body": "changed the description", "system": True, "author": {}})
    with HostingServer("gitlab", auth="Bearer glpat-abc") as server:
        server.json(
            base,
            {
                "id": 7001,
                "iid": 41,
                "title": "Login loops on Safari",
                "description": "Steps:\n1. open `/login`\n2. watch it reload",
                "state": "closed",
                "author": gitlab_user("jon"),
                "assignees": [gitlab_user("kay"), gitlab_user("lee")],
                "labels": ["bug", "auth"],
                "milestone": {"title": "16.2"},
                "web_url": "https://gitlab.com/acme/web/-/issues/41",
                "user_notes_count": 30,
                "created_at": "2024-06-30T10:00:00.000Z",
                "updated_at": "2024-07-09T10:00:00.000Z",
            },
        )
        server.json(base + "/notes", notes)
        hosting = make_hosting(
            {"GITLAB_TOKEN": "glpat-abc"},
            gitlab={"api_url": server.url + "/api/v4"},
            max_comments=10,
        )
        text = await hosting.fetch("https://gitlab.com/acme/web/-/issues/41")
    assert text.startswith("# Issue acme/web#41: Login loops on Safari")
    for fact in (
        "- State: closed",
        "@jon",
        "- Labels: bug, auth",
        "@kay",
        "@lee",
        "16.2",
        "1. open `/login`",
        "earlier comments not shown)",
    ):
        assert fact in text, fact
    assert text.index("note 28") < text.index("note 29")  # oldest first, as read
    assert "note 21" in text and "note 19" not in text and "changed the description" not in text


async def test_a_bitbucket_pull_request_with_its_diff_split_per_file(
    make_hosting: MakeHosting,
) -> None:
    with HostingServer("bitbucket", auth="Basic bWU6YXBwLXBhc3M=") as server:  # me:app-pass
        seed_bitbucket_pull(server)
        hosting = make_hosting(
            {"BITBUCKET_USERNAME": "me", "BITBUCKET_APP_PASSWORD": "app-pass"},
            bitbucket={"api_url": server.url + "/2.0"},
        )
        text = await hosting.fetch("https://bitbucket.org/ws/repo/pull-requests/9")
        diff_requests = [r.path for r in server.requests if "/diff" in r.path]
    assert text.startswith("# Pull request ws/repo#9: Add retries to the client")
    assert "- Branches: feature/retry -> main" in text
    assert "Overall: 1 passed" in text and "[APPROVED]" in text
    assert "- `client.py:2` @jo (2024-07-01 12:00):\n  Why retry here?" in text
    assert "### client.py (modified, +2 -1)" in text and "+def call(): retry()" in text
    # A patch holding ``` gets a longer fence, so the Markdown stays whole.
    assert "````diff\n@@ -0,0 +1 @@\n+Retries ```three``` times\n````" in text
    # The diff redirect was followed on the same API host.
    assert diff_requests == [
        "/2.0/repositories/ws/repo/pullrequests/9/diff",
        "/2.0/repositories/ws/repo/pullrequests/9/diffstat",
        "/2.0/repositories/ws/repo/diff/c0ffee..d00d",
    ] or sorted(diff_requests) == sorted(
        [
            "/2.0/repositories/ws/repo/pullrequests/9/diff",
            "/2.0/repositories/ws/repo/pullrequests/9/diffstat",
            "/2.0/repositories/ws/repo/diff/c0ffee..d00d",
        ]
    )


async def test_bitbucket_pages_follow_next(make_hosting: MakeHosting) -> None:
    with HostingServer("bitbucket") as server:
        server.json(
            "/2.0/repositories/ws/repo/pullrequests",
            [
                {
                    "id": n,
                    "title": f"PR {n}",
                    "state": "OPEN",
                    "author": {"nickname": "x"},
                    "links": {"html": {"href": f"https://bitbucket.org/ws/repo/pull-requests/{n}"}},
                }
                for n in range(1, 61)
            ],
        )
        hosting = make_hosting({}, bitbucket={"api_url": server.url + "/2.0"})
        text = await hosting.pull_requests("https://bitbucket.org/ws/repo", "open", limit=55)
        pages = [r.query.get("page", ["1"])[0] for r in server.requests]
    assert text.count("\n- ws/repo#") == 55
    assert pages == ["1", "2"]


async def test_a_jira_cloud_issue_with_adf_fields_and_comments(make_hosting: MakeHosting) -> None:
    with HostingServer("jira", auth="Basic bWVAYWNtZS5jb206amlyYS10b2tlbg==") as server:
        server.json("/rest/api/3/issue/PROJ-12", jira_issue(comments=8))
        server.json(
            "/rest/api/3/issue/PROJ-12/comment",
            [
                {
                    "author": {"displayName": f"User {i}"},
                    "created": "2024-08-02T10:00:00.000+0000",
                    "body": {
                        "type": "doc",
                        "version": 1,
                        "content": [
                            {"type": "paragraph", "content": [{"type": "text", "text": f"c{i}"}]}
                        ],
                    },
                }
                for i in range(8)
            ],
        )
        hosting = make_hosting(
            {
                "JIRA_URL": "https://acme.atlassian.net",
                "JIRA_EMAIL": "me@acme.com",
                "JIRA_API_TOKEN": "jira-token",
            },
            jira={"api_url": server.url},
            max_comments=5,
        )
        text = await hosting.fetch("https://acme.atlassian.net/browse/PROJ-12")
        comment_query = [r.query for r in server.requests if r.path.endswith("/comment")]
    assert text.startswith("# PROJ-12: Saving settings times out")
    for fact in (
        "- Type: Bug",
        "- Status: In Progress",
        "- Priority: High",
        "- Assignee: Kim Lee",
        "- Components: web",
        "- Parent: PROJ-1: Settings epic",
        "- Labels: settings, timeout",
        "- blocks PROJ-20: Release 2.4",
        "- PROJ-13 [To Do]: Add a spinner",
    ):
        assert fact in text
    assert "## Steps\n\n1. Open `/settings`\n2. Click **Save**" in text
    assert "```python\nraise TimeoutError()\n```" in text
    assert "See [the runbook](https://wiki/runbook) @Kim" in text
    assert "(3 earlier comments not shown)" in text and "c7" in text and "c2" not in text
    assert comment_query == [{"startAt": ["3"], "maxResults": ["5"], "orderBy": ["created"]}]


async def test_a_jira_data_center_issue_speaks_v2_and_wiki_markup(
    make_hosting: MakeHosting,
) -> None:
    issue = jira_issue("OPS-3", comments=0)
    issue["fields"]["description"] = "h2. Cause\n*disk* full on {{db-1}}\n{code:sql}select 1;{code}"
    with HostingServer("jira", auth="Bearer dc-pat-token") as server:
        server.json("/rest/api/2/issue/OPS-3", issue)
        hosting = make_hosting(
            {"JIRA_URL": "https://jira.acme.com", "JIRA_PAT": "dc-pat-token"},
            jira={"api_url": server.url},
        )
        text = await hosting.fetch("https://jira.acme.com/browse/OPS-3")
    assert "## Cause\n**disk** full on `db-1`\n```sql\nselect 1;\n```" in text


async def test_jira_custom_fields_appear_under_their_site_names(
    make_hosting: MakeHosting,
) -> None:
    issue = jira_issue("PROJ-40", comments=0)
    issue["fields"].update(
        {
            "customfield_10016": 5.0,
            "customfield_10020": [
                {"id": 7, "name": "Sprint 7", "state": "active", "boardId": 2},
            ],
            "customfield_10014": "PROJ-1",
            "customfield_10050": {"value": "Payments", "child": {"value": "Checkout"}},
            "customfield_10060": {
                "type": "doc",
                "version": 1,
                "content": [
                    {
                        "type": "bulletList",
                        "content": [
                            {
                                "type": "listItem",
                                "content": [
                                    {
                                        "type": "paragraph",
                                        "content": [{"type": "text", "text": "Saves in < 2 s"}],
                                    }
                                ],
                            },
                            {
                                "type": "listItem",
                                "content": [
                                    {
                                        "type": "paragraph",
                                        "content": [{"type": "text", "text": "Shows a spinner"}],
                                    }
                                ],
                            },
                        ],
                    }
                ],
            },
            "customfield_10019": "0|i0001b:",
            "customfield_10000": "{pullrequest={dataType=pullrequest, state=OPEN}}",
            "customfield_10099": None,
            "customfield_10098": [],
        }
    )
    issue["names"] = {
        "customfield_10016": "Story Points",
        "customfield_10020": "Sprint",
        "customfield_10014": "Epic Link",
        "customfield_10050": "Area",
        "customfield_10060": "Acceptance Criteria",
        "customfield_10019": "Rank",
        "customfield_10000": "Development",
        "customfield_10099": "Empty one",
        "customfield_10098": "Empty list",
    }
    with HostingServer("jira") as server:
        server.json("/rest/api/3/issue/PROJ-40", issue)
        hosting = make_hosting(
            {"JIRA_URL": "https://acme.atlassian.net"}, jira={"api_url": server.url}
        )
        text = await hosting.fetch("https://acme.atlassian.net/browse/PROJ-40")
        asked = [r.query for r in server.requests if r.path.endswith("/PROJ-40")]
    for fact in (
        "- Story Points: 5\n",
        "- Sprint: Sprint 7 (active)\n",
        "- Epic Link: PROJ-1\n",
        "- Area: Payments > Checkout\n",
        "## Acceptance Criteria\n\n- Saves in < 2 s\n- Shows a spinner",
    ):
        assert fact in text
    for noise in ("Rank", "0|i0001b", "Development", "pullrequest", "Empty", "customfield_"):
        assert noise not in text
    assert asked[0]["expand"] == ["names"] and asked[0]["fields"][0].startswith("*all")
    assert not any(r.path.endswith("/field") for r in server.requests)


async def test_jira_data_center_custom_fields_fall_back_to_the_field_list(
    make_hosting: MakeHosting,
) -> None:
    issue = jira_issue("OPS-9", comments=0)
    issue["fields"]["description"] = "plain"
    issue["fields"]["customfield_10105"] = [
        "com.atlassian.greenhopper.service.sprint.Sprint@14b1c359[id=3,rapidViewId=1,"
        "state=CLOSED,name=Ops sprint 3,startDate=2024-07-01T10:00:00.000Z]"
    ]
    issue["fields"]["customfield_10106"] = 3
    issue["fields"]["customfield_10107"] = "h3. Risk\n*data loss* if rushed"
    issue["fields"]["customfield_10108"] = "{code:bash}make rollback{code}"
    issue["fields"]["customfield_10109"] = "{}"
    with HostingServer("jira", auth="Bearer dc-pat-token") as server:
        server.json("/rest/api/2/issue/OPS-9", issue)
        server.handler(  # a bare array, not a page of one
            "/rest/api/2/field",
            lambda query: Answer(
                200,
                [
                    {"id": "summary", "name": "Summary", "custom": False},
                    {"id": "customfield_10105", "name": "Sprint", "custom": True},
                    {"id": "customfield_10106", "name": "Story Points", "custom": True},
                    {"id": "customfield_10107", "name": "Risk notes", "custom": True},
                    {"id": "customfield_10108", "name": "Rollback", "custom": True},
                    {"id": "customfield_10109", "name": "Development", "custom": True},
                ],
            ),
        )
        hosting = make_hosting(
            {"JIRA_URL": "https://jira.acme.com", "JIRA_PAT": "dc-pat-token"},
            jira={"api_url": server.url},
        )
        text = await hosting.fetch("https://jira.acme.com/browse/OPS-9")
        again = await hosting.fetch("https://jira.acme.com/browse/OPS-9")
        field_calls = [r for r in server.requests if r.path.endswith("/field")]
    assert "- Sprint: Ops sprint 3 (closed)\n" in text
    assert "- Story Points: 3\n" in text
    assert "## Risk notes\n\n### Risk\n**data loss** if rushed" in text
    assert "## Rollback\n\n```bash\nmake rollback\n```" in text
    assert "Development" not in text
    assert again == text and len(field_calls) <= 2


async def test_jira_cloud_search_uses_the_jql_endpoint(make_hosting: MakeHosting) -> None:
    with HostingServer("jira") as server:
        server.json(
            "/rest/api/3/search/jql",
            {"issues": [jira_issue("PROJ-1"), jira_issue("PROJ-2")], "isLast": True},
        )
        hosting = make_hosting(
            {"JIRA_URL": "https://acme.atlassian.net"}, jira={"api_url": server.url}
        )
        text = await hosting.search("jira", "project = PROJ AND statusCategory != Done")
        query = server.requests[-1].query
    assert query["jql"] == ["project = PROJ AND statusCategory != Done"]
    assert "- PROJ-2 (Jira issue, In Progress): Saving settings times out [Bug, High" in text
    assert "https://acme.atlassian.net/browse/PROJ-1" in text


async def test_a_confluence_cloud_page_with_breadcrumbs(make_hosting: MakeHosting) -> None:
    with HostingServer("confluence") as server:
        seed_confluence_cloud(server)
        hosting = make_hosting(
            {"JIRA_URL": "https://acme.atlassian.net"},
            hosts={
                "wiki": {
                    "kind": "confluence",
                    "url": "https://acme.atlassian.net/wiki",
                    "api_url": server.url + "/wiki",
                }
            },
        )
        text = await hosting.fetch(
            "https://acme.atlassian.net/wiki/spaces/ENG/pages/123456/Deploy+guide"
        )
        titles_query = [r.query for r in server.requests if r.path == "/wiki/api/v2/pages"]
    assert text.startswith(
        "# Deploy guide\n\n- Breadcrumbs: Engineering Space > Engineering > "
        "Operations > Deploy guide"
    )
    assert "- Last updated by: Nina Ops" in text and "(version 14)" in text
    assert (
        "# Deploying\n\nRun the **deploy** job, then check [status](https://status.example.com)."
        in text
    )
    assert "```bash\nmake deploy ENV=prod\necho done\n```" in text
    assert "> **Warning:** Never on Fridays." in text
    assert "- first\n  - nested\n- second" in text
    assert "| Env | Owner |\n| --- | --- |\n| prod | ops |" in text
    assert "See [page: Rollback]." in text
    assert titles_query == [{"id": ["11", "22"], "limit": ["250"]}]


async def test_a_confluence_data_center_page_by_id_and_by_title(make_hosting: MakeHosting) -> None:
    with HostingServer("confluence", auth="Bearer conf-pat") as server:
        server.json("/confluence/rest/api/content/98765", confluence_dc_page())
        server.json("/confluence/rest/api/content", {"results": [confluence_dc_page()], "size": 1})
        hosting = make_hosting(
            {"CONFLUENCE_URL": "https://wiki.acme.com/confluence", "CONFLUENCE_PAT": "conf-pat"},
            confluence={"api_url": server.url + "/confluence"},
        )
        by_id = await hosting.fetch(
            "https://wiki.acme.com/confluence/pages/viewpage.action?pageId=98765"
        )
        by_title = await hosting.fetch("https://wiki.acme.com/confluence/display/OPS/Runbook")
        title_query = server.requests[-1].query
    assert by_id == by_title
    assert "- Breadcrumbs: Operations > Home > Runbooks > Runbook" in by_id
    assert "Restart `svc`." in by_id and "- Last updated by: Oli" in by_id
    assert title_query["spaceKey"] == ["OPS"] and title_query["title"] == ["Runbook"]


async def test_gitlab_pages_follow_the_link_header(make_hosting: MakeHosting) -> None:
    with HostingServer("gitlab") as server:
        server.json(
            "/api/v4/projects/g%2Fp/merge_requests",
            [
                {
                    "iid": n,
                    "title": f"MR {n}",
                    "state": "opened",
                    "author": {"username": "u"},
                    "references": {"full": f"g/p!{n}"},
                    "web_url": f"https://gitlab.com/g/p/-/merge_requests/{n}",
                }
                for n in range(1, 151)
            ],
        )
        hosting = make_hosting({}, gitlab={"api_url": server.url + "/api/v4"})
        text = await hosting.pull_requests("https://gitlab.com/g/p", "open", limit=100)
        pages = [r.query.get("page", ["1"])[0] for r in server.requests]
        states = {r.query["state"][0] for r in server.requests}
    assert text.splitlines()[0] == "100 results for open merge requests of g/p on gitlab.com:"
    assert "- g/p!100 (merge request, open): MR 100" in text
    assert pages == ["1"] and states == {"opened"}
    with HostingServer("gitlab") as server:
        server.json(
            "/api/v4/projects/g%2Fp/merge_requests",
            [{"iid": n, "references": {"full": f"g/p!{n}"}} for n in range(1, 151)],
        )
        hosting = make_hosting({}, gitlab={"api_url": server.url + "/api/v4"})
        text = await hosting.pull_requests("https://gitlab.com/g/p", "all", limit=100)
        assert text.count("\n- g/p!") == 100
    # 100 per page is GitLab's maximum; more than a page follows rel="next".
    with HostingServer("gitlab") as server:
        server.json(
            "/api/v4/projects/g%2Fp/merge_requests/1/diffs",
            [
                {"old_path": f"f{n}", "new_path": f"f{n}", "diff": "@@ -1 +1 @@\n-a\n+b\n"}
                for n in range(150)
            ],
        )
        server.json(
            "/api/v4/projects/g%2Fp/merge_requests/1",
            {"iid": 1, "title": "t", "state": "opened", "changes_count": "150"},
        )
        server.json("/api/v4/projects/g%2Fp/merge_requests/1/discussions", [])
        hosting = make_hosting({}, gitlab={"api_url": server.url + "/api/v4"}, max_diff_files=120)
        text = await hosting.fetch("https://gitlab.com/g/p/-/merge_requests/1")
        diff_pages = [
            r.query.get("page", ["1"])[0] for r in server.requests if r.path.endswith("/diffs")
        ]
    assert diff_pages == ["1", "2"]
    assert "Only the first 120 of 150 files were fetched." in text
    assert "No pipeline ran for the head commit." in text
