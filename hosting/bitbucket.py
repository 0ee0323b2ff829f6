"""Bitbucket Cloud's REST API 2.0: pull requests and their diff, comments and statuses.

Bitbucket serves a pull request's diff as one plain-text ``git diff`` (after a redirect on
the same API host), which is split here per file; ``/diffstat`` gives each file's status
and counts. Pages are objects with ``values`` and an absolute ``next`` URL.
"""

from __future__ import annotations

import re
from typing import Any

from hosting.errors import AuthError, NotFound
from hosting.http import Answer, Api, together
from hosting.models import Check, Comment, FileDiff, SearchHit, WorkItem

PAGELEN = 50
_STATUS = {
    "SUCCESSFUL": "success",
    "FAILED": "failure",
    "INPROGRESS": "running",
    "STOPPED": "cancelled",
}


def values(body: Any) -> list[Any]:
    return list((body or {}).get("values") or [])


def next_page(answer: Answer, body: Any) -> str | None:
    value = (body or {}).get("next")
    return str(value) if value else None


def _user(data: Any) -> str:
    data = data or {}
    return str(data.get("nickname") or data.get("display_name") or data.get("username") or "ghost")


class Bitbucket(Api):
    async def pull(self, repo: str, number: int) -> WorkItem:
        what = f"pull request {repo}#{number}"
        base = f"/repositories/{repo}/pullrequests/{number}"
        pull, stats, diff, comments = await together(
            self.http.get_json(base, what=what),
            self.http.pages(
                f"{base}/diffstat",
                params={"pagelen": 100},
                what=what,
                limit=self.max_files,
                items=values,
                next_url=next_page,
            ),
            self.http.get_text(f"{base}/diff", accept="text/plain", what=what),
            self.http.pages(
                f"{base}/comments",
                params={"pagelen": PAGELEN, "sort": "-created_on"},
                what=what,
                limit=self.max_comments,
                items=values,
                next_url=next_page,
            ),
        )
        checks, note = await self._statuses(base, what)
        patches = split_diff(diff)
        files = tuple(_file(s, patches) for s in stats)
        review, conversation = _comments(list(reversed(comments)))
        reviewers = tuple(_user(r) for r in pull.get("reviewers") or ())
        approvals = tuple(
            Comment(
                _user(p.get("user")),
                str(p.get("participated_on") or ""),
                "",
                state=str(p.get("state") or "approved").upper(),
            )
            for p in pull.get("participants") or ()
            if p.get("approved") or p.get("state")
        )
        total = int(pull.get("comment_count") or len(comments))
        return WorkItem(
            kind="pull request",
            ref=f"{repo}#{number}",
            host=self.http.host.label,
            url=str(((pull.get("links") or {}).get("html") or {}).get("href") or ""),
            title=str(pull.get("title") or ""),
            state=str(pull.get("state") or "").lower(),
            author=_user(pull.get("author")),
            body=str(pull.get("description") or (pull.get("summary") or {}).get("raw") or ""),
            created=str(pull.get("created_on") or ""),
            updated=str(pull.get("updated_on") or ""),
            reviewers=reviewers,
            draft=bool(pull.get("draft")),
            source_branch=((pull.get("source") or {}).get("branch") or {}).get("name"),
            target_branch=((pull.get("destination") or {}).get("branch") or {}).get("name"),
            head_sha=((pull.get("source") or {}).get("commit") or {}).get("hash"),
            additions=sum(f.additions for f in files),
            deletions=sum(f.deletions for f in files),
            changed_files=len(files),
            comments=tuple(conversation),
            omitted_comments=max(total - len(comments), 0),
            review_comments=review,
            reviews=approvals,
            files=files,
            checks=checks,
            checks_note=note,
        )

    async def _statuses(self, base: str, what: str) -> tuple[tuple[Check, ...], str | None]:
        try:
            found = await self.http.pages(
                f"{base}/statuses",
                params={"pagelen": PAGELEN},
                what=what,
                limit=100,
                items=values,
                next_url=next_page,
            )
        except (AuthError, NotFound) as exc:
            return (), f"CI status not available: {exc}"
        return tuple(
            Check(
                str(s.get("name") or s.get("key") or "build"),
                _STATUS.get(str(s.get("state")), "pending"),
                s.get("url"),
            )
            for s in found
        ), None

    async def pulls(self, repo: str, state: str, limit: int) -> list[SearchHit]:
        states = {
            "open": ["OPEN"],
            "merged": ["MERGED"],
            "closed": ["MERGED", "DECLINED", "SUPERSEDED"],
            "all": ["OPEN", "MERGED", "DECLINED", "SUPERSEDED"],
        }[state]
        found = await self.http.pages(
            f"/repositories/{repo}/pullrequests",
            params={
                "state": states,
                "pagelen": min(max(limit, 10), PAGELEN),
                "sort": "-updated_on",
            },
            what=f"the pull requests of {repo}",
            limit=limit,
            items=values,
            next_url=next_page,
        )
        return [
            SearchHit(
                ref=f"{repo}#{p.get('id')}",
                title=str(p.get("title") or ""),
                state=str(p.get("state") or "").lower() + (" (draft)" if p.get("draft") else ""),
                url=str(((p.get("links") or {}).get("html") or {}).get("href") or ""),
                kind="pull request",
                author=_user(p.get("author")),
                updated=str(p.get("updated_on") or ""),
            )
            for p in found
        ]


_DIFF_HEAD = re.compile(r"^diff --git a/(?P<old>.+?) b/(?P<new>.+)$")


def split_diff(text: str) -> dict[str, str]:
    """A ``git diff`` as {new path: its hunks}, headers dropped."""
    patches: dict[str, list[str]] = {}
    current: list[str] | None = None
    in_hunks = False
    for line in text.splitlines():
        head = _DIFF_HEAD.match(line)
        if head:
            current = patches.setdefault(head["new"], [])
            in_hunks = False
            continue
        if current is None:
            continue
        if line.startswith("@@"):
            in_hunks = True
        elif line.startswith("+++ b/") and not in_hunks:
            continue
        if in_hunks or line.startswith("Binary files"):
            current.append(line)
    return {path: "\n".join(lines) for path, lines in patches.items()}


def _file(stat: Any, patches: dict[str, str]) -> FileDiff:
    new = (stat.get("new") or {}).get("path")
    old = (stat.get("old") or {}).get("path")
    path = str(new or old or "")
    patch = patches.get(path) or patches.get(str(old or ""))
    if patch is not None and patch.startswith("Binary files"):
        patch = None
    return FileDiff(
        path=path,
        status=str(stat.get("status") or "modified"),
        additions=int(stat.get("lines_added") or 0),
        deletions=int(stat.get("lines_removed") or 0),
        patch=patch or None,
        old_path=str(old) if old and old != new else None,
    )


def _comments(items: list[Any]) -> tuple[tuple[Comment, ...], list[Comment]]:
    review: list[Comment] = []
    conversation: list[Comment] = []
    by_id = {c.get("id"): c for c in items}
    for c in items:
        if c.get("deleted"):
            continue
        body = str((c.get("content") or {}).get("raw") or "")
        inline = c.get("inline")
        parent = by_id.get((c.get("parent") or {}).get("id"))
        if inline is None and parent is not None:
            inline = parent.get("inline")
        if inline:
            review.append(
                Comment(
                    _user(c.get("user")),
                    str(c.get("created_on") or ""),
                    body,
                    path=inline.get("path"),
                    line=inline.get("to"),
                    old_line=inline.get("from") if inline.get("to") is None else None,
                    reply=parent is not None,
                )
            )
        else:
            conversation.append(Comment(_user(c.get("user")), str(c.get("created_on") or ""), body))
    return tuple(review), conversation
