"""GitLab's REST API v4 (gitlab.com and self-managed): merge requests, issues, search.

A merge request is the MR itself (with its head pipeline), its diffs (the paginated
``/diffs`` endpoint of GitLab 15.7+), its discussions (diff notes carry their file and
line) and the jobs of its head pipeline. Projects are addressed by their URL-encoded path.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hosting.errors import AuthError, NotFound
from hosting.http import Api, together
from hosting.models import Check, Comment, FileDiff, SearchHit, WorkItem

PER_PAGE = 100
_JOB_STATUS = {
    "success": "success",
    "failed": "failure",
    "canceled": "cancelled",
    "skipped": "skipped",
    "running": "running",
    "manual": "pending",
    "created": "pending",
    "pending": "pending",
    "preparing": "pending",
    "waiting_for_resource": "pending",
    "scheduled": "pending",
}


def project_id(repo: str) -> str:
    return quote(repo, safe="")


def _user(data: Any) -> str:
    return str((data or {}).get("username") or "ghost")


def _users(values: Any) -> tuple[str, ...]:
    return tuple(_user(v) for v in values or () if isinstance(v, dict))


def _state(value: Any) -> str:
    return {"opened": "open"}.get(str(value or ""), str(value or ""))


class GitLab(Api):
    async def merge_request(self, repo: str, iid: int) -> WorkItem:
        what = f"merge request {repo}!{iid}"
        base = f"/projects/{project_id(repo)}/merge_requests/{iid}"
        mr, diffs, discussions = await together(
            self.http.get_json(base, what=what),
            self.http.pages(
                f"{base}/diffs", params={"per_page": PER_PAGE}, what=what, limit=self.max_files
            ),
            self.http.pages(
                f"{base}/discussions",
                params={"per_page": PER_PAGE},
                what=what,
                limit=self.max_comments * 2,
            ),
        )
        review, conversation = _notes(discussions)
        checks, note = await self._pipeline(repo, mr.get("head_pipeline") or mr.get("pipeline"))
        files = tuple(_file(d) for d in diffs)
        changes = str(mr.get("changes_count") or "").rstrip("+")
        return WorkItem(
            kind="merge request",
            ref=f"{repo}!{iid}",
            host=self.http.host.label,
            url=str(mr.get("web_url") or ""),
            title=str(mr.get("title") or ""),
            state=_state(mr.get("state")),
            author=_user(mr.get("author")),
            body=str(mr.get("description") or ""),
            created=str(mr.get("created_at") or ""),
            updated=str(mr.get("updated_at") or ""),
            labels=tuple(str(x) for x in mr.get("labels") or ()),
            assignees=_users(mr.get("assignees")),
            reviewers=_users(mr.get("reviewers")),
            milestone=(mr.get("milestone") or {}).get("title"),
            draft=bool(mr.get("draft") or mr.get("work_in_progress")),
            source_branch=mr.get("source_branch"),
            target_branch=mr.get("target_branch"),
            head_sha=mr.get("sha"),
            additions=sum(f.additions for f in files),
            deletions=sum(f.deletions for f in files),
            changed_files=int(changes) if changes.isdigit() else len(files),
            comments=tuple(conversation[-self.max_comments :]),
            omitted_comments=max(len(conversation) - self.max_comments, 0),
            review_comments=review[: self.max_comments],
            files=files,
            files_total=int(changes) if changes.isdigit() else None,
            checks=checks,
            checks_note=note,
        )

    async def _pipeline(self, repo: str, pipeline: Any) -> tuple[tuple[Check, ...], str | None]:
        if not isinstance(pipeline, dict) or pipeline.get("id") is None:
            return (), "No pipeline ran for the head commit."
        overall = Check(
            "pipeline",
            _JOB_STATUS.get(str(pipeline.get("status")), "pending"),
            pipeline.get("web_url"),
        )
        try:
            jobs = await self.http.pages(
                f"/projects/{project_id(repo)}/pipelines/{int(pipeline['id'])}/jobs",
                params={"per_page": PER_PAGE},
                what=f"the jobs of pipeline {pipeline['id']}",
                limit=100,
            )
        except (AuthError, NotFound) as exc:
            return (overall,), f"Jobs not available: {exc}"
        checks = [
            Check(
                f"{j.get('stage')}: {j.get('name')}" if j.get("stage") else str(j.get("name")),
                _JOB_STATUS.get(str(j.get("status")), str(j.get("status") or "pending")),
                j.get("web_url"),
            )
            for j in jobs
        ]
        return tuple(checks) or (overall,), None

    async def issue(self, repo: str, iid: int) -> WorkItem:
        what = f"issue {repo}#{iid}"
        base = f"/projects/{project_id(repo)}/issues/{iid}"
        issue, notes = await together(
            self.http.get_json(base, what=what),
            self.http.pages(
                f"{base}/notes",
                params={"per_page": PER_PAGE, "sort": "desc", "order_by": "created_at"},
                what=what,
                limit=self.max_comments,
            ),
        )
        comments = [
            Comment(
                _user(n.get("author")), str(n.get("created_at") or ""), str(n.get("body") or "")
            )
            for n in reversed(notes)
            if not n.get("system")
        ]
        total = int(issue.get("user_notes_count") or len(comments))
        return WorkItem(
            kind="issue",
            ref=f"{repo}#{iid}",
            host=self.http.host.label,
            url=str(issue.get("web_url") or ""),
            title=str(issue.get("title") or ""),
            state=_state(issue.get("state")),
            author=_user(issue.get("author")),
            body=str(issue.get("description") or ""),
            created=str(issue.get("created_at") or ""),
            updated=str(issue.get("updated_at") or ""),
            labels=tuple(str(x) for x in issue.get("labels") or ()),
            assignees=_users(issue.get("assignees")),
            milestone=(issue.get("milestone") or {}).get("title"),
            comments=tuple(comments),
            omitted_comments=max(total - len(comments), 0),
        )

    async def search(
        self, query: str, limit: int, repo: str | None = None
    ) -> tuple[list[SearchHit], int | None]:
        base = f"/projects/{project_id(repo)}/search" if repo else "/search"
        what = f"the search {query!r}"
        issues, mrs = await together(
            self.http.get_json(
                base, params={"scope": "issues", "search": query, "per_page": limit}, what=what
            ),
            self.http.get_json(
                base,
                params={"scope": "merge_requests", "search": query, "per_page": limit},
                what=what,
            ),
        )
        hits = [_hit(i, "issue") for i in issues or ()] + [
            _hit(m, "merge request") for m in mrs or ()
        ]
        hits.sort(key=lambda h: h.updated, reverse=True)
        return hits[:limit], None

    async def merge_requests(self, repo: str, state: str, limit: int) -> list[SearchHit]:
        wanted = {"open": "opened"}.get(state, state)
        found = await self.http.pages(
            f"/projects/{project_id(repo)}/merge_requests",
            params={
                "state": wanted,
                "per_page": min(max(limit, 10), PER_PAGE),
                "order_by": "updated_at",
                "sort": "desc",
            },
            what=f"the merge requests of {repo}",
            limit=limit,
        )
        return [_hit(m, "merge request") for m in found]


def _hit(item: Any, kind: str) -> SearchHit:
    refs = item.get("references") or {}
    sign = "!" if kind == "merge request" else "#"
    ref = refs.get("full") or f"{item.get('project_id')}{sign}{item.get('iid')}"
    state = _state(item.get("state"))
    if item.get("draft") or item.get("work_in_progress"):
        state += " (draft)"
    return SearchHit(
        ref=str(ref),
        title=str(item.get("title") or ""),
        state=state,
        url=str(item.get("web_url") or ""),
        kind=kind,
        author=_user(item.get("author")),
        updated=str(item.get("updated_at") or ""),
        extra=tuple(str(x) for x in item.get("labels") or ()),
    )


def _file(data: Any) -> FileDiff:
    diff = data.get("diff")
    if data.get("too_large") or (data.get("collapsed") and not diff):
        diff = None
    additions = deletions = 0
    for line in (diff or "").splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            additions += 1
        elif line.startswith("-") and not line.startswith("---"):
            deletions += 1
    status = (
        "added"
        if data.get("new_file")
        else "removed"
        if data.get("deleted_file")
        else "renamed"
        if data.get("renamed_file")
        else "modified"
    )
    return FileDiff(
        path=str(data.get("new_path") or data.get("old_path") or ""),
        status=status,
        additions=additions,
        deletions=deletions,
        patch=diff or None,
        old_path=data.get("old_path") if data.get("renamed_file") else None,
    )


def _notes(discussions: list[Any]) -> tuple[tuple[Comment, ...], list[Comment]]:
    """(diff notes, threads in order with replies; other notes, oldest first)."""
    review: list[Comment] = []
    conversation: list[Comment] = []
    for discussion in discussions:
        notes = [n for n in discussion.get("notes") or () if not n.get("system")]
        for index, note in enumerate(notes):
            position = note.get("position") or {}
            if note.get("type") == "DiffNote" or position:
                review.append(
                    Comment(
                        _user(note.get("author")),
                        str(note.get("created_at") or ""),
                        str(note.get("body") or ""),
                        path=position.get("new_path") or position.get("old_path"),
                        line=position.get("new_line"),
                        old_line=position.get("old_line")
                        if position.get("new_line") is None
                        else None,
                        state="resolved" if index == 0 and note.get("resolved") else None,
                        reply=index > 0,
                    )
                )
            else:
                conversation.append(
                    Comment(
                        _user(note.get("author")),
                        str(note.get("created_at") or ""),
                        str(note.get("body") or ""),
                    )
                )
    return tuple(review), conversation
