"""GitHub's REST API (github.com and GitHub Enterprise Server): the few endpoints we read.

A pull request is six requests, five of them at once: the pull, its files (with patches),
review comments, reviews and conversation, then the CI of its head commit (check runs and
the combined status). Each is cached by ETag, so reading the same pull again costs 304s,
which GitHub does not count against the rate limit.

What REST cannot tell, whether a review thread is resolved (and by whom), comes from one
GraphQL query when the pull has review comments and a token is set (GraphQL wants one):
kept five minutes, and left out, with the threads shown as REST gives them, if it fails.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from hosting.errors import AuthError, HostingError, NotFound
from hosting.http import Api, together
from hosting.models import Check, Comment, FileDiff, SearchHit, WorkItem

HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
PER_PAGE = 100
MAX_THREAD_PAGES = 5

THREADS = """
query($owner: String!, $name: String!, $number: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: 100, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes {
          isResolved
          resolvedBy { login }
          comments(first: 1) { nodes { databaseId } }
        }
      }
    }
  }
}
"""

log = logging.getLogger(__name__)


def _login(user: Any) -> str:
    return str((user or {}).get("login") or "ghost")


def _names(values: Any, key: str) -> tuple[str, ...]:
    return tuple(str(v.get(key)) for v in values or () if isinstance(v, dict) and v.get(key))


class GitHub(Api):
    async def pull(self, repo: str, number: int) -> WorkItem:
        what = f"pull request {repo}#{number}"
        base = f"/repos/{repo}"
        pull, files, review_comments, reviews = await together(
            self.http.get_json(f"{base}/pulls/{number}", what=what),
            self.http.pages(
                f"{base}/pulls/{number}/files",
                params={"per_page": PER_PAGE},
                what=what,
                limit=self.max_files,
            ),
            self.http.pages(
                f"{base}/pulls/{number}/comments",
                params={"per_page": PER_PAGE},
                what=what,
                limit=self.max_comments,
            ),
            self.http.pages(
                f"{base}/pulls/{number}/reviews",
                params={"per_page": PER_PAGE},
                what=what,
                limit=self.max_comments,
            ),
        )
        comments, omitted = await self._conversation(repo, number, int(pull.get("comments") or 0))
        resolved = await self._resolved_threads(repo, number) if review_comments else {}
        sha = (pull.get("head") or {}).get("sha")
        checks, note = await self._checks(repo, sha) if sha else ((), "no head commit")
        state = "merged" if pull.get("merged") or pull.get("merged_at") else pull.get("state", "")
        return WorkItem(
            kind="pull request",
            ref=f"{repo}#{number}",
            host=self.http.host.label,
            url=str(pull.get("html_url") or ""),
            title=str(pull.get("title") or ""),
            state=str(state),
            author=_login(pull.get("user")),
            body=str(pull.get("body") or ""),
            created=str(pull.get("created_at") or ""),
            updated=str(pull.get("updated_at") or ""),
            labels=_names(pull.get("labels"), "name"),
            assignees=_names(pull.get("assignees"), "login"),
            reviewers=_names(pull.get("requested_reviewers"), "login"),
            milestone=(pull.get("milestone") or {}).get("title"),
            draft=bool(pull.get("draft")),
            source_branch=(pull.get("head") or {}).get("label")
            or (pull.get("head") or {}).get("ref"),
            target_branch=(pull.get("base") or {}).get("ref"),
            head_sha=sha,
            additions=pull.get("additions"),
            deletions=pull.get("deletions"),
            changed_files=pull.get("changed_files"),
            comments=comments,
            omitted_comments=omitted,
            review_comments=_review_comments(review_comments, resolved),
            reviews=tuple(
                Comment(
                    _login(r.get("user")),
                    str(r.get("submitted_at") or ""),
                    str(r.get("body") or ""),
                    state=str(r.get("state") or "") or None,
                )
                for r in reviews
                if r.get("body") or r.get("state") not in (None, "COMMENTED")
            ),
            files=tuple(_file(f) for f in files),
            files_total=pull.get("changed_files"),
            checks=checks,
            checks_note=note,
        )

    async def issue(self, repo: str, number: int) -> WorkItem:
        what = f"issue {repo}#{number}"
        issue = await self.http.get_json(f"/repos/{repo}/issues/{number}", what=what)
        if issue.get("pull_request"):
            return await self.pull(repo, number)  # GitHub's issue numbers include pulls
        comments, omitted = await self._conversation(repo, number, int(issue.get("comments") or 0))
        reason = issue.get("state_reason")
        state = str(issue.get("state") or "") + (f" ({reason})" if reason else "")
        return WorkItem(
            kind="issue",
            ref=f"{repo}#{number}",
            host=self.http.host.label,
            url=str(issue.get("html_url") or ""),
            title=str(issue.get("title") or ""),
            state=state,
            author=_login(issue.get("user")),
            body=str(issue.get("body") or ""),
            created=str(issue.get("created_at") or ""),
            updated=str(issue.get("updated_at") or ""),
            labels=_names(issue.get("labels"), "name"),
            assignees=_names(issue.get("assignees"), "login"),
            milestone=(issue.get("milestone") or {}).get("title"),
            comments=comments,
            omitted_comments=omitted,
        )

    async def _resolved_threads(self, repo: str, number: int) -> dict[int, str]:
        """The first comment's id of each resolved review thread, with who resolved it."""
        if self.http.host.credentials is None:
            return {}
        owner, _, name = repo.partition("/")
        found: dict[int, str] = {}
        after: str | None = None
        try:
            for _ in range(MAX_THREAD_PAGES):
                data = await self.http.graphql(
                    THREADS,
                    {"owner": owner, "name": name, "number": number, "after": after},
                    what=f"the review threads of {repo}#{number}",
                )
                threads = ((data.get("repository") or {}).get("pullRequest") or {}).get(
                    "reviewThreads"
                ) or {}
                for thread in threads.get("nodes") or ():
                    first = ((thread or {}).get("comments") or {}).get("nodes") or []
                    if thread.get("isResolved") and first and first[0].get("databaseId"):
                        found[int(first[0]["databaseId"])] = _login(thread.get("resolvedBy"))
                page = threads.get("pageInfo") or {}
                after = page.get("endCursor")
                if not page.get("hasNextPage") or not after:
                    break
        except HostingError as exc:
            log.info("review threads shown without their resolution: %s", exc)
        return found

    async def _conversation(
        self, repo: str, number: int, total: int
    ) -> tuple[tuple[Comment, ...], int]:
        """The newest ``max_comments`` comments of the conversation (GitHub lists oldest
        first: with more than that, the last pages are asked for directly)."""
        if total == 0:
            return (), 0
        path = f"/repos/{repo}/issues/{number}/comments"
        what = f"the comments of {repo}#{number}"
        last = max(math.ceil(total / PER_PAGE), 1)
        # The page holding the oldest comment kept.
        first = (total - self.max_comments) // PER_PAGE + 1 if total > self.max_comments else 1
        found: list[Any] = []
        for page in range(first, last + 1):
            found += await self.http.get_json(
                path, params={"per_page": PER_PAGE, "page": page}, what=what
            )
        kept = found[-self.max_comments :]
        comments = tuple(
            Comment(_login(c.get("user")), str(c.get("created_at") or ""), str(c.get("body") or ""))
            for c in kept
        )
        return comments, max(total - len(comments), 0)

    async def _checks(self, repo: str, sha: str) -> tuple[tuple[Check, ...], str | None]:
        what = f"the CI status of {sha[:12]} in {repo}"
        try:
            runs, status = await together(
                self.http.get_json(
                    f"/repos/{repo}/commits/{sha}/check-runs",
                    params={"per_page": PER_PAGE},
                    what=what,
                ),
                self.http.get_json(f"/repos/{repo}/commits/{sha}/status", what=what),
            )
        except (AuthError, NotFound) as exc:
            return (), f"CI status not available: {exc}"
        checks = [
            Check(
                str(run.get("name") or "check"),
                _run_status(run),
                run.get("html_url") or run.get("details_url"),
            )
            for run in (runs or {}).get("check_runs") or ()
        ]
        checks += [
            Check(
                str(s.get("context") or "status"),
                {"error": "failure"}.get(str(s.get("state")), str(s.get("state") or "pending")),
                s.get("target_url"),
            )
            for s in (status or {}).get("statuses") or ()
        ]
        return tuple(checks), None

    async def search(self, query: str, limit: int) -> tuple[list[SearchHit], int | None]:
        body = await self.http.get_json(
            "/search/issues",
            params={"q": query, "per_page": min(limit, PER_PAGE), "sort": "updated"},
            what=f"the search {query!r}",
        )
        hits = [_hit(item) for item in (body.get("items") or [])[:limit]]
        return hits, body.get("total_count")

    async def pulls(self, repo: str, state: str, limit: int) -> list[SearchHit]:
        wanted = {"merged": "closed"}.get(state, state)
        found = await self.http.pages(
            f"/repos/{repo}/pulls",
            params={
                "state": wanted,
                "per_page": min(max(limit, 10), PER_PAGE),
                "sort": "updated",
                "direction": "desc",
            },
            what=f"the pull requests of {repo}",
            limit=limit if state != "merged" else limit * 3,
        )
        if state == "merged":
            found = [p for p in found if p.get("merged_at")]
        return [_hit(p, repo) for p in found[:limit]]


def _hit(item: Any, repo: str | None = None) -> SearchHit:
    if repo is None:
        repo = str(item.get("repository_url") or "").split("/repos/")[-1]
    is_pull = bool(item.get("pull_request")) or "head" in item
    merged = item.get("merged_at") or (item.get("pull_request") or {}).get("merged_at")
    state = "merged" if merged else str(item.get("state") or "")
    if item.get("draft"):
        state += " (draft)"
    return SearchHit(
        ref=f"{repo}#{item.get('number')}",
        title=str(item.get("title") or ""),
        state=state,
        url=str(item.get("html_url") or ""),
        kind="pull request" if is_pull else "issue",
        author=_login(item.get("user")),
        updated=str(item.get("updated_at") or ""),
        extra=_names(item.get("labels"), "name"),
    )


def _run_status(run: Any) -> str:
    if run.get("status") != "completed":
        return "running" if run.get("status") == "in_progress" else "pending"
    conclusion = str(run.get("conclusion") or "neutral")
    return {"timed_out": "failure", "action_required": "failure", "stale": "neutral"}.get(
        conclusion, conclusion
    )


def _file(data: Any) -> FileDiff:
    return FileDiff(
        path=str(data.get("filename") or ""),
        status=str(data.get("status") or "modified"),
        additions=int(data.get("additions") or 0),
        deletions=int(data.get("deletions") or 0),
        patch=data.get("patch"),
        old_path=data.get("previous_filename"),
    )


def _review_comments(items: list[Any], resolved: dict[int, str]) -> tuple[Comment, ...]:
    """Threads in order: each top comment followed by its replies; a resolved thread's top
    comment says so, and by whom."""
    by_id = {c.get("id"): c for c in items}
    replies: dict[Any, list[Any]] = {}
    tops: list[Any] = []
    for c in items:
        parent = c.get("in_reply_to_id")
        if parent is not None and parent in by_id:
            replies.setdefault(parent, []).append(c)
        else:
            tops.append(c)
    out: list[Comment] = []
    for top in tops:
        for c in [top, *replies.get(top.get("id"), [])]:
            line = c.get("line")
            state = "outdated" if line is None and c.get("original_line") else None
            if c is top and c.get("id") in resolved:
                state = ", ".join(filter(None, (f"resolved by @{resolved[c['id']]}", state)))
            out.append(
                Comment(
                    _login(c.get("user")),
                    str(c.get("created_at") or ""),
                    str(c.get("body") or ""),
                    path=c.get("path"),
                    line=line,
                    old_line=c.get("original_line") if line is None else None,
                    state=state,
                    reply=c is not top,
                )
            )
    return tuple(out)
