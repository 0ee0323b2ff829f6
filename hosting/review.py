"""Posting a code review on a pull/merge request: inline comments and one summary comment.

GitHub: the new comments as one pull request review (``event: COMMENT``), the summary as a
conversation comment. GitLab: one discussion per comment (positioned on the new line), the
summary as a note. Bitbucket: inline comments and one plain comment.

A host that refuses an inline comment (a line it does not consider part of the diff) does
not lose it: the comment goes into the summary instead, under "Not placed on the diff".

Each comment carries a hidden marker with a stable key (``<!-- deputydev-review:KEY -->``);
a rerun lists the request's comments first and edits its own earlier ones (same key) in
place instead of posting them again; only comments with a new key are created. Comments
of earlier runs whose key is gone are left as they are (a person may have replied).

    result = await post(http, "github", "o/r", 7, comments, summary)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hosting.errors import BadRequest, BadResponse, NotRecognised
from hosting.gitlab import project_id
from hosting.http import HostClient

MARK = "<!-- deputydev-review:{key} -->"
SUMMARY_KEY = "summary"
_FOUND = re.compile(r"<!-- deputydev-review:([A-Za-z0-9_-]+) -->")
PER_PAGE = 100
MAX_EXISTING = 1000


@dataclass(frozen=True, slots=True)
class InlineComment:
    key: str
    path: str
    start_line: int
    end_line: int
    body: str
    # The old side's number of end_line when it is an unchanged line of the diff (GitLab
    # positions such a line by both numbers); None for an added line.
    old_line: int | None = None


@dataclass(frozen=True, slots=True)
class Posted:
    url: str
    created: int
    updated: int


def marked(key: str, body: str) -> str:
    return f"{body.rstrip()}\n\n{MARK.format(key=key)}"


def _unplaced(summary: str, refused: Sequence[InlineComment]) -> str:
    if not refused:
        return summary
    parts = [f"**`{c.path}:{c.start_line}`**\n\n{c.body}" for c in refused]
    return summary.rstrip() + "\n\nNot placed on the diff:\n\n" + "\n\n".join(parts)


def _ours(items: Sequence[Any], body_of: Any = lambda c: c.get("body")) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        body = body_of(item)
        if isinstance(body, str) and (m := _FOUND.search(body)):
            out.setdefault(m.group(1), item)
    return out


async def post(
    http: HostClient,
    kind: str,
    repo: str,
    number: int,
    comments: Sequence[InlineComment],
    summary: str,
) -> Posted:
    if kind == "github":
        return await _github(http, repo, number, comments, summary)
    if kind == "gitlab":
        return await _gitlab(http, repo, number, comments, summary)
    if kind == "bitbucket":
        return await _bitbucket(http, repo, number, comments, summary)
    raise NotRecognised(f"reviews are posted on GitHub, GitLab or Bitbucket, not {kind}")


# --------------------------------------------------------------------------- GitHub


async def _github(
    http: HostClient, repo: str, number: int, comments: Sequence[InlineComment], summary: str
) -> Posted:
    what = f"pull request {repo}#{number}"
    base = f"/repos/{repo}"
    pull = await http.get_json(f"{base}/pulls/{number}", what=what)
    head = (pull.get("head") or {}).get("sha")
    if not head:
        raise BadResponse(f"{http.host.label} sent {what} without its head commit")
    existing = _ours(
        await http.pages(
            f"{base}/pulls/{number}/comments",
            params={"per_page": PER_PAGE},
            what=what,
            limit=MAX_EXISTING,
        )
    )
    conversation = _ours(
        await http.pages(
            f"{base}/issues/{number}/comments",
            params={"per_page": PER_PAGE},
            what=what,
            limit=MAX_EXISTING,
        )
    )
    created = updated = 0
    new: list[dict[str, Any]] = []
    for c in comments:
        body = marked(c.key, c.body)
        if c.key in existing:
            await http.send(
                "PATCH",
                f"{base}/pulls/comments/{existing[c.key]['id']}",
                body={"body": body},
                what=what,
            )
            updated += 1
            continue
        entry: dict[str, Any] = {"path": c.path, "line": c.end_line, "side": "RIGHT", "body": body}
        if c.start_line < c.end_line:
            entry.update(start_line=c.start_line, start_side="RIGHT")
        new.append(entry)
    refused: list[InlineComment] = []
    if new:
        review = {
            "commit_id": head,
            "event": "COMMENT",
            "body": f"DeputyDev review: {len(new)} new comment(s); the summary is below.",
            "comments": new,
        }
        try:
            await http.send("POST", f"{base}/pulls/{number}/reviews", body=review, what=what)
            created += len(new)
        except BadRequest:
            # One line GitHub would not place fails the whole review: one at a time, then.
            for entry, c in zip(new, [c for c in comments if c.key not in existing], strict=True):
                try:
                    await http.send(
                        "POST",
                        f"{base}/pulls/{number}/reviews",
                        body={**review, "comments": [entry], "body": "DeputyDev review"},
                        what=what,
                    )
                    created += 1
                except BadRequest:
                    refused.append(c)
    summary = _unplaced(summary, refused)
    body = marked(SUMMARY_KEY, summary)
    if SUMMARY_KEY in conversation:
        await http.send(
            "PATCH",
            f"{base}/issues/comments/{conversation[SUMMARY_KEY]['id']}",
            body={"body": body},
            what=what,
        )
        updated += 1
    else:
        await http.send("POST", f"{base}/issues/{number}/comments", body={"body": body}, what=what)
        created += 1
    return Posted(str(pull.get("html_url") or ""), created, updated)


# --------------------------------------------------------------------------- GitLab


async def _gitlab(
    http: HostClient, repo: str, iid: int, comments: Sequence[InlineComment], summary: str
) -> Posted:
    what = f"merge request {repo}!{iid}"
    base = f"/projects/{project_id(repo)}/merge_requests/{iid}"
    mr = await http.get_json(base, what=what)
    refs = mr.get("diff_refs") or {}
    if not refs.get("head_sha"):
        raise BadResponse(f"{http.host.label} sent {what} without its diff_refs")
    notes = _ours(
        await http.pages(
            f"{base}/notes", params={"per_page": PER_PAGE}, what=what, limit=MAX_EXISTING
        )
    )
    created = updated = 0
    refused: list[InlineComment] = []
    for c in comments:
        body = marked(c.key, c.body)
        if c.key in notes:
            await http.send(
                "PUT", f"{base}/notes/{notes[c.key]['id']}", body={"body": body}, what=what
            )
            updated += 1
            continue
        position: dict[str, Any] = {
            "position_type": "text",
            "base_sha": refs.get("base_sha"),
            "start_sha": refs.get("start_sha"),
            "head_sha": refs.get("head_sha"),
            "new_path": c.path,
            "old_path": c.path,
            "new_line": c.end_line,
        }
        if c.old_line is not None:
            position["old_line"] = c.old_line
        try:
            await http.send(
                "POST",
                f"{base}/discussions",
                body={"body": body, "position": position},
                what=what,
            )
            created += 1
        except BadRequest:
            refused.append(c)
    body = marked(SUMMARY_KEY, _unplaced(summary, refused))
    if SUMMARY_KEY in notes:
        await http.send(
            "PUT", f"{base}/notes/{notes[SUMMARY_KEY]['id']}", body={"body": body}, what=what
        )
        updated += 1
    else:
        await http.send("POST", f"{base}/notes", body={"body": body}, what=what)
        created += 1
    return Posted(str(mr.get("web_url") or ""), created, updated)


# --------------------------------------------------------------------------- Bitbucket


async def _bitbucket(
    http: HostClient, repo: str, number: int, comments: Sequence[InlineComment], summary: str
) -> Posted:
    from hosting.bitbucket import next_page, values

    what = f"pull request {repo}#{number}"
    base = f"/repositories/{repo}/pullrequests/{number}"
    pull = await http.get_json(base, what=what)
    found = await http.pages(
        f"{base}/comments",
        params={"pagelen": 100},
        what=what,
        limit=MAX_EXISTING,
        items=values,
        next_url=next_page,
    )
    ours = _ours(found, lambda c: (c.get("content") or {}).get("raw"))
    created = updated = 0

    async def put(key: str, content: dict[str, Any]) -> None:
        nonlocal created, updated
        if key in ours:
            await http.send(
                "PUT", f"{base}/comments/{ours[key]['id']}", body={"content": content}, what=what
            )
            updated += 1
        else:
            payload: dict[str, Any] = {"content": content}
            inline = next((c for c in comments if c.key == key), None)
            if inline is not None:
                payload["inline"] = {"path": inline.path, "to": inline.end_line}
            await http.send("POST", f"{base}/comments", body=payload, what=what)
            created += 1

    for c in comments:
        await put(c.key, {"raw": marked(c.key, c.body)})
    await put(SUMMARY_KEY, {"raw": marked(SUMMARY_KEY, summary)})
    link = ((pull.get("links") or {}).get("html") or {}).get("href")
    return Posted(str(link or ""), created, updated)
