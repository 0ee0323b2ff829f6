"""``deputydev/review``: reviewer agents over a diff, their findings streamed as they come.

The editor passes a ``partialResultToken``; each finding a reviewer reports arrives as
``$/progress {token, value: {kind: "finding", ...}}`` (before validation), each reviewer's
end as ``reviewer``, and the validated findings as ``textDocument/publishDiagnostics``
(source ``deputydev``, code = category) once the review is done. The response carries the
validated findings, the summary, what failed and what was skipped.

Scopes: ``uncommitted`` (working tree and index against HEAD, new untracked files
included), ``staged`` (the index against HEAD), ``branch`` (HEAD against its merge-base
with ``base``, by default the remote's default branch), ``range`` (``range``: ``A..B`` or
``A...B``) and ``pr`` (``url``: a pull or merge request, its diff read from the host).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from protocol.base import WireModel
from protocol.query import UsageInfo

REVIEW = "deputydev/review"

Scope = Literal["uncommitted", "staged", "branch", "range", "pr"]
Severity = Literal["error", "warning", "info"]


class ReviewParams(WireModel):
    scope: Scope = "uncommitted"
    base: str | None = None
    range: str | None = None
    url: str | None = None
    agents: list[str] | None = None
    # Which workspace root (a path or its folder name); the first by default.
    root: str | None = None
    # Post the findings on the pull request (scope "pr" only; opt-in).
    post: bool = False
    partial_result_token: int | str | None = None


class Finding(WireModel):
    """One validated finding; lines are 1-based and inclusive, on the new side of the diff."""

    id: str
    path: str
    start_line: int
    end_line: int
    severity: Severity
    category: str
    message: str
    suggestion: str | None = None
    confidence: float
    reviewers: list[str]
    reasoning: str | None = None


class SkippedFile(WireModel):
    path: str
    reason: str


class FailedReviewer(WireModel):
    reviewer: str
    error: str


class ReviewResult(WireModel):
    session_id: str | None  # None when there was nothing to review
    scope: str
    findings: list[Finding]
    summary: str
    files: int
    batches: int
    reviewers: list[str]
    failed: list[FailedReviewer] = []
    skipped: list[SkippedFile] = []
    dropped: int = 0
    usage: UsageInfo = UsageInfo()
    cost_usd: float = 0.0
    model_calls: int = 0
    # The review's wall time, and the part of it during which a model call was in flight.
    wall_ms: float = 0.0
    model_ms: float = 0.0
    posted: str | None = None  # the pull request's URL when the findings were posted


# --- the streamed events (the ``value`` of each ``$/progress``) ---------------------------


class ReviewStarted(WireModel):
    kind: Literal["reviewStart"] = "reviewStart"
    session_id: str
    files: int
    batches: int
    reviewers: list[str]
    skipped: list[SkippedFile] = []


class FindingReported(WireModel):
    """A reviewer reported a finding (not yet validated: it may be merged or dropped)."""

    kind: Literal["finding"] = "finding"
    reviewer: str
    path: str
    start_line: int
    end_line: int
    severity: Severity
    category: str
    message: str
    suggestion: str | None = None
    confidence: float


class ReviewerFinished(WireModel):
    kind: Literal["reviewer"] = "reviewer"
    reviewer: str
    batch: int
    status: Literal["ok", "failed"]
    findings: int
    error: str | None = None


class ReviewDone(WireModel):
    kind: Literal["reviewDone"] = "reviewDone"
    findings: int
    dropped: int
    summary: str


class ReviewFailed(WireModel):
    kind: Literal["error"] = "error"
    code: int
    message: str
    data: dict[str, Any] = {}


ReviewEvent = Annotated[
    ReviewStarted | FindingReported | ReviewerFinished | ReviewDone | ReviewFailed,
    Field(discriminator="kind"),
]

METHODS: dict[str, tuple[type[Any] | None, type[Any] | None]] = {
    REVIEW: (ReviewParams, ReviewResult),
}
