"""Work items as Markdown for the model, within a budget of characters.

A pull request reads top-down as a reviewer would take it in: what it is (title, state,
author, branches, size, labels), whether CI passed, what it says, what reviewers said (each
comment with its file and line), then the diff. The diff is capped per file
(``max_diff_lines``) and by what is left of the budget, and every cut is stated where it
happens, so the model knows what it has not seen and can ask for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from hosting.models import Check, Comment, FileDiff, JiraIssue, Page, SearchHit, WorkItem

DESCRIPTION_CHARS = 8_000
COMMENT_CHARS = 2_000
# Shares of the budget that comments may take before the diff gets the rest.
COMMENTS_SHARE = 0.3
_CHECK_MARK = {
    "success": "passed",
    "failure": "FAILED",
    "error": "FAILED",
    "cancelled": "cancelled",
    "pending": "pending",
    "running": "running",
    "skipped": "skipped",
    "neutral": "neutral",
}


def fence(text: str, info: str = "") -> str:
    """``text`` in a code fence longer than any run of backticks inside it."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    marks = "`" * max(3, longest + 1)
    return f"{marks}{info}\n{text.rstrip()}\n{marks}"


def clip(text: str, limit: int, what: str = "text") -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[:limit].rstrip() + f"\n[... {what} cut at {limit:,} of {len(text):,} characters]"


def _when(stamp: str) -> str:
    return stamp[:16].replace("T", " ") if stamp else ""


def _people(names: Iterable[str]) -> str:
    return ", ".join(f"@{n}" for n in names)


def work_item(
    item: WorkItem,
    budget: int,
    max_diff_lines: int,
    withhold: Callable[[str], bool] | None = None,
) -> str:
    """``withhold(path)`` names files whose diff must not be shown (secrets)."""
    lines = [f"# {item.kind.capitalize()} {item.ref}: {item.title}", ""]
    state = item.state + (" (draft)" if item.draft else "")
    facts = [f"State: {state}", f"Author: @{item.author}"]
    if item.source_branch and item.target_branch:
        facts.append(f"Branches: {item.source_branch} -> {item.target_branch}")
    if item.created:
        facts.append(f"Created: {_when(item.created)}")
    if item.updated:
        facts.append(f"Updated: {_when(item.updated)}")
    if item.changed_files is not None or item.additions is not None:
        facts.append(
            f"Size: {item.changed_files if item.changed_files is not None else '?'} files, "
            f"+{item.additions or 0} -{item.deletions or 0}"
        )
    if item.labels:
        facts.append("Labels: " + ", ".join(item.labels))
    if item.assignees:
        facts.append("Assignees: " + _people(item.assignees))
    if item.reviewers:
        facts.append("Reviewers: " + _people(item.reviewers))
    if item.milestone:
        facts.append(f"Milestone: {item.milestone}")
    facts.append(f"URL: {item.url}")
    lines += [f"- {fact}" for fact in facts]
    if item.kind != "issue" or item.checks:
        lines += ["", "## CI status", "", _checks(item.checks, item.checks_note)]
    lines += ["", "## Description", "", clip(item.body, DESCRIPTION_CHARS) or "(none)"]
    head = "\n".join(lines)

    comment_budget = max(int(budget * COMMENTS_SHARE), 2_000)
    sections: list[str] = []
    if item.reviews:
        sections.append("## Reviews\n\n" + _comment_list(item.reviews, comment_budget // 4))
    if item.review_comments:
        sections.append(
            "## Review comments\n\n"
            + _review_comments(item.review_comments, comment_budget // 2, withhold)
        )
    if item.comments or item.omitted_comments:
        shown = _comment_list(item.comments, comment_budget // 2)
        if item.omitted_comments:
            shown = f"({item.omitted_comments} earlier comments not shown)\n\n" + shown
        sections.append("## Conversation\n\n" + shown)
    text = head + "".join("\n\n" + s for s in sections)
    if item.kind != "issue":
        room = max(budget - len(text) - 200, 1_000)
        text += "\n\n" + _diff(item, room, max_diff_lines, withhold)
    return text


def _checks(checks: Sequence[Check], note: str | None) -> str:
    if not checks:
        return note or "No CI status reported."
    counts: dict[str, int] = {}
    for check in checks:
        counts[check.status] = counts.get(check.status, 0) + 1
    summary = ", ".join(f"{n} {_CHECK_MARK.get(s, s)}" for s, n in sorted(counts.items()))
    order = {"failure": 0, "error": 0, "cancelled": 1, "running": 2, "pending": 2}
    rows = [
        f"- {_CHECK_MARK.get(c.status, c.status)}: {c.name}" + (f" ({c.url})" if c.url else "")
        for c in sorted(checks, key=lambda c: (order.get(c.status, 3), c.name))[:30]
    ]
    more = [f"- ... and {len(checks) - 30} more"] if len(checks) > 30 else []
    return "\n".join([f"Overall: {summary}", *rows, *more])


def _comment_list(comments: Sequence[Comment], budget: int) -> str:
    out: list[str] = []
    used = 0
    for index, comment in enumerate(comments):
        verdict = f" [{comment.state}]" if comment.state else ""
        body = clip(comment.body, COMMENT_CHARS, "comment") or "(no text)"
        entry = f"- @{comment.author} ({_when(comment.created)}){verdict}:\n" + _indent(body)
        if used + len(entry) > budget and out:
            out.append(f"- ... {len(comments) - index} more not shown (budget)")
            break
        out.append(entry)
        used += len(entry)
    return "\n".join(out)


def _review_comments(
    comments: Sequence[Comment], budget: int, withhold: Callable[[str], bool] | None = None
) -> str:
    out: list[str] = []
    used = 0
    for index, comment in enumerate(comments):
        where = comment.path or "(general)"
        if comment.line is not None:
            where += f":{comment.line}"
        elif comment.old_line is not None:
            where += f" (old line {comment.old_line})"
        state = f" [{comment.state}]" if comment.state else ""
        body = clip(comment.body, COMMENT_CHARS, "comment") or "(no text)"
        if comment.path is not None and withhold is not None and withhold(comment.path):
            # A comment on a secrets file may quote it (a suggestion block does).
            body = "(comment withheld: it is on a secrets file)"
        lead = "  - reply " if comment.reply else "- "
        entry = f"{lead}`{where}` @{comment.author} ({_when(comment.created)}){state}:\n"
        entry += _indent(body, "    " if comment.reply else "  ")
        if used + len(entry) > budget and out:
            out.append(f"- ... {len(comments) - index} more review comments not shown (budget)")
            break
        out.append(entry)
        used += len(entry)
    return "\n".join(out)


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())


def _diff(
    item: WorkItem, budget: int, max_lines: int, withhold: Callable[[str], bool] | None
) -> str:
    total = item.files_total if item.files_total is not None else len(item.files)
    head = (
        f"## Diff ({total} files; each file's diff capped at {max_lines} lines, "
        "[hosting] max_diff_lines)"
    )
    if item.files_total is not None and item.files_total > len(item.files):
        head += f"\n\nOnly the first {len(item.files)} of {item.files_total} files were fetched."
    parts = [head]
    used = len(head)
    for index, file in enumerate(item.files):
        secret = withhold is not None and (
            withhold(file.path) or (file.old_path is not None and withhold(file.old_path))
        )
        block = _file_block(file, max_lines, secret)
        if used + len(block) > budget:
            remaining = item.files[index:]
            listing = "\n".join(
                f"- {f.path} ({f.status}, +{f.additions} -{f.deletions})" for f in remaining[:200]
            )
            parts.append(
                f"Diff budget reached: {len(remaining)} more files not shown "
                f"(fetch the pull request alone, or read the files):\n{listing}"
            )
            break
        parts.append(block)
        used += len(block) + 2
    return "\n\n".join(parts)


def _file_block(file: FileDiff, max_lines: int, secret: bool = False) -> str:
    moved = f" (from {file.old_path})" if file.old_path and file.old_path != file.path else ""
    title = f"### {file.path}{moved} ({file.status}, +{file.additions} -{file.deletions})"
    if secret:
        return f"{title}\n\n(diff withheld: this looks like a secrets file)"
    if file.patch is None:
        return f"{title}\n\n(no textual diff: binary, or too large for the host to show)"
    lines = file.patch.splitlines()
    if len(lines) > max_lines:
        shown = "\n".join(lines[:max_lines])
        note = f"\n\n[diff cut: first {max_lines} of {len(lines)} lines shown]"
        return f"{title}\n\n{fence(shown, 'diff')}{note}"
    return f"{title}\n\n{fence(file.patch, 'diff')}"


def jira_issue(issue: JiraIssue, budget: int) -> str:
    lines = [f"# {issue.key}: {issue.summary}", ""]
    lines += [f"- {name}: {value}" for name, value in issue.fields if value]
    if issue.labels:
        lines.append("- Labels: " + ", ".join(issue.labels))
    lines.append(f"- URL: {issue.url}")
    if issue.links:
        lines += ["", "## Links", "", *(f"- {link}" for link in issue.links)]
    if issue.subtasks:
        lines += ["", "## Subtasks", "", *(f"- {task}" for task in issue.subtasks)]
    lines += ["", "## Description", "", clip(issue.description, budget // 2) or "(none)"]
    for name, body in issue.sections:
        lines += ["", f"## {name}", "", clip(body, budget // 8)]
    text = "\n".join(lines)
    if issue.comments:
        shown = _comment_list(issue.comments, max(budget - len(text) - 100, 1_000))
        if issue.omitted_comments:
            shown = f"({issue.omitted_comments} earlier comments not shown)\n\n" + shown
        text += "\n\n## Comments\n\n" + shown
    return text


def page(item: Page, budget: int) -> str:
    trail = " > ".join([item.space, *item.breadcrumbs, item.title])
    lines = [f"# {item.title}", "", f"- Breadcrumbs: {trail}"]
    if item.author:
        lines.append(f"- Last updated by: {item.author}")
    if item.updated or item.version is not None:
        version = f" (version {item.version})" if item.version is not None else ""
        lines.append(f"- Updated: {_when(item.updated)}{version}")
    if item.labels:
        lines.append("- Labels: " + ", ".join(item.labels))
    lines.append(f"- URL: {item.url}")
    head = "\n".join(lines)
    return head + "\n\n" + (clip(item.body, max(budget - len(head), 1_000), "page") or "(empty)")


def search_results(hits: Sequence[SearchHit], what: str, total: int | None = None) -> str:
    if not hits:
        return f"No results for {what}."
    count = f"{len(hits)} of {total}" if total is not None and total > len(hits) else len(hits)
    lines = [f"{count} results for {what}:", ""]
    for hit in hits:
        extra = f" [{', '.join(hit.extra)}]" if hit.extra else ""
        by = f" by @{hit.author}" if hit.author else ""
        when = f", updated {_when(hit.updated)}" if hit.updated else ""
        lines.append(f"- {hit.ref} ({hit.kind}, {hit.state}): {hit.title}{extra}{by}{when}")
        lines.append(f"  {hit.url}")
    return "\n".join(lines)
