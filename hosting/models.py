"""The work items the API clients return: plain frozen values, rendered by ``markdown``.

Every client fills the same few shapes, so one renderer serves GitHub, GitLab and Bitbucket
pull requests alike. Text fields are Markdown already (Jira's ADF and Confluence's storage
format are converted by the clients).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Comment:
    author: str
    created: str  # ISO 8601 as the host sent it
    body: str
    # A review comment's place in the diff: the file and the line (new side when it has one).
    path: str | None = None
    line: int | None = None
    old_line: int | None = None
    # A review's verdict (APPROVED, CHANGES_REQUESTED...), or "resolved" for a thread.
    state: str | None = None
    reply: bool = False  # an answer in a thread, shown under its parent


@dataclass(frozen=True, slots=True)
class FileDiff:
    path: str
    status: str  # added, modified, removed, renamed
    additions: int
    deletions: int
    patch: str | None  # the unified diff hunks; None when the host sent none (binary, huge)
    old_path: str | None = None


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: str  # success, failure, pending, running, skipped, cancelled, neutral, error
    url: str | None = None


@dataclass(frozen=True, slots=True)
class WorkItem:
    """A pull/merge request or an issue on a source host."""

    kind: str  # "pull request", "merge request", "issue"
    ref: str  # o/r#7, group/p!7
    host: str
    url: str
    title: str
    state: str
    author: str
    body: str
    created: str = ""
    updated: str = ""
    labels: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    milestone: str | None = None
    draft: bool = False
    source_branch: str | None = None
    target_branch: str | None = None
    head_sha: str | None = None
    additions: int | None = None
    deletions: int | None = None
    changed_files: int | None = None
    comments: tuple[Comment, ...] = ()
    review_comments: tuple[Comment, ...] = ()
    reviews: tuple[Comment, ...] = ()
    files: tuple[FileDiff, ...] = ()
    files_total: int | None = None  # when the host has more files than were fetched
    checks: tuple[Check, ...] = ()
    checks_note: str | None = None  # why CI status is missing, when it is
    omitted_comments: int = 0


@dataclass(frozen=True, slots=True)
class JiraIssue:
    key: str
    host: str
    url: str
    summary: str
    fields: tuple[tuple[str, str], ...]  # (name, value) in display order
    description: str
    labels: tuple[str, ...] = ()
    comments: tuple[Comment, ...] = ()
    omitted_comments: int = 0
    links: tuple[str, ...] = ()  # "blocks PROJ-2: title"
    subtasks: tuple[str, ...] = ()
    sections: tuple[tuple[str, str], ...] = ()  # rich-text custom fields: (name, Markdown)


@dataclass(frozen=True, slots=True)
class Page:
    """A Confluence page."""

    id: str
    host: str
    url: str
    title: str
    space: str
    breadcrumbs: tuple[str, ...]  # ancestors' titles, root first
    body: str
    author: str = ""
    updated: str = ""
    version: int | None = None
    labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SearchHit:
    ref: str  # o/r#7, PROJ-1
    title: str
    state: str
    url: str
    kind: str = "issue"
    author: str = ""
    updated: str = ""
    extra: tuple[str, ...] = field(default=())  # labels, assignee, type...
