"""Findings: the ``report_finding`` tool the reviewers call, and the validation pass.

A reviewer reports each finding by calling ``report_finding``; the tool checks it against
the change at once (a path outside the diff, lines outside the file, a start after the end
are refused with a message the model can act on) and hands it to a sink that streams it.

:func:`screen` is the deterministic part of validation: findings below the confidence
threshold, outside the changed lines (unless severe enough) or outside the file are
dropped, and duplicates across reviewers (same file, overlapping lines, same category or
much the same words) are merged into the strongest one. :func:`judge` is the model's
part: the cheap model sees the surviving findings with their code and names those the
code contradicts, and writes the summary.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from pydantic import Field

from daemon.review.diff import Change, normalise_path
from daemon.tools.base import Args, Tool, ToolContext, ToolError

log = logging.getLogger(__name__)

Severity = Literal["error", "warning", "info"]
RANK: dict[str, int] = {"error": 3, "warning": 2, "info": 1, "none": 99}


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    start_line: int
    end_line: int
    severity: Severity
    category: str
    message: str
    confidence: float
    reviewers: tuple[str, ...]
    suggestion: str | None = None
    reasoning: str | None = None
    id: str = ""

    def key(self) -> str:
        """Stable across reruns of the same review: file, category and first line."""
        raw = f"{self.path}\0{self.category.lower()}\0{self.start_line}"
        return hashlib.sha256(raw.encode()).hexdigest()[:12]

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "path": self.path,
            "startLine": self.start_line,
            "endLine": self.end_line,
            "severity": self.severity,
            "category": self.category,
            "message": self.message,
            "suggestion": self.suggestion,
            "confidence": self.confidence,
            "reviewers": list(self.reviewers),
            "reasoning": self.reasoning,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Finding:
        return cls(
            path=str(data["path"]),
            start_line=int(data["startLine"]),  # type: ignore[call-overload]
            end_line=int(data["endLine"]),  # type: ignore[call-overload]
            severity=data["severity"],  # type: ignore[arg-type]
            category=str(data["category"]),
            message=str(data["message"]),
            confidence=float(data["confidence"]),  # type: ignore[arg-type]
            reviewers=tuple(data.get("reviewers") or ()),  # type: ignore[arg-type]
            suggestion=data.get("suggestion"),  # type: ignore[arg-type]
            reasoning=data.get("reasoning"),  # type: ignore[arg-type]
            id=str(data.get("id") or ""),
        )


Sink = Callable[[Finding], Awaitable[None]]


class ReportArgs(Args):
    path: str = Field(min_length=1, description="The file, relative to the repository root.")
    start_line: int = Field(alias="startLine", ge=1, description="First line (new side, 1-based).")
    end_line: int = Field(alias="endLine", ge=1, description="Last line (inclusive).")
    severity: Severity = Field(
        description="error: a bug, vulnerability or data loss; warning: likely a problem; "
        "info: worth knowing."
    )
    category: str = Field(
        min_length=1, max_length=60, description="A short kebab-case kind, e.g. sql-injection."
    )
    message: str = Field(min_length=1, max_length=2000, description="What is wrong and why.")
    suggestion: str | None = Field(
        default=None,
        description="The replacement text for lines startLine..endLine (whole lines, no diff "
        "markers), when there is a concrete fix.",
    )
    confidence: float = Field(ge=0.0, le=1.0, description="How sure you are, 0 to 1.")
    reasoning: str | None = Field(
        default=None, max_length=2000, description="What you checked (callers, definitions)."
    )


class ReportFinding(Tool):
    """One instance per reviewer: it knows the change, the reviewer and where findings go."""

    name = "report_finding"
    description = (
        "Report one finding about the change under review. Call it once per finding; report "
        "only what you checked in the code."
    )
    Arguments = ReportArgs

    def __init__(self, reviewer: str, change: Change, sink: Sink) -> None:
        self.reviewer = reviewer
        self.change = change
        self.sink = sink
        self._lengths: dict[str, int | None] = {}
        self.count = 0

    async def line_count(self, path: str) -> int | None:
        if path not in self._lengths:
            text = await self.change.new_text(path)
            self._lengths[path] = None if text is None else len(text.splitlines())
        return self._lengths[path]

    async def run(self, args: ReportArgs, ctx: ToolContext) -> str:
        path = normalise_path(args.path)
        changed = self.change.file(path)
        if changed is None:
            known = ", ".join(f.path for f in self.change.files[:20])
            raise ToolError(
                f"path {args.path!r} is not part of the change under review; report findings "
                f"on its files: {known}"
            )
        if changed.status == "deleted":
            raise ToolError(f"{path} is deleted by the change; there are no lines to point at")
        if args.end_line < args.start_line:
            raise ToolError(f"endLine {args.end_line} is before startLine {args.start_line}")
        length = await self.line_count(path)
        if length is not None and args.end_line > length:
            raise ToolError(
                f"lines {args.start_line}-{args.end_line} are outside {path}, which has "
                f"{length} lines; the finding was dropped"
            )
        finding = Finding(
            path=path,
            start_line=args.start_line,
            end_line=args.end_line,
            severity=args.severity,
            category=args.category.strip().lower().replace(" ", "-"),
            message=args.message.strip(),
            confidence=round(args.confidence, 3),
            reviewers=(self.reviewer,),
            suggestion=args.suggestion,
            reasoning=args.reasoning,
        )
        self.count += 1
        await self.sink(finding)
        return f"recorded finding {self.count} ({finding.severity}, {path}:{finding.start_line})"


# --------------------------------------------------------------------------- validation


@dataclass(slots=True)
class Screened:
    kept: list[Finding] = field(default_factory=list)
    dropped: list[tuple[Finding, str]] = field(default_factory=list)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9_]+", text.lower()) if len(w) > 2}


def _similar(a: Finding, b: Finding) -> bool:
    if a.path != b.path or a.start_line > b.end_line or b.start_line > a.end_line:
        return False
    if a.category == b.category:
        return True
    wa, wb = _words(a.message), _words(b.message)
    return bool(wa and wb) and len(wa & wb) / len(wa | wb) >= 0.5


def _stronger(a: Finding, b: Finding) -> Finding:
    score_a = (RANK[a.severity], a.confidence, a.suggestion is not None)
    score_b = (RANK[b.severity], b.confidence, b.suggestion is not None)
    best, other = (a, b) if score_a >= score_b else (b, a)
    reviewers = tuple(dict.fromkeys((*best.reviewers, *other.reviewers)))
    return replace(best, reviewers=reviewers, confidence=max(a.confidence, b.confidence))


async def screen(
    findings: Sequence[Finding],
    change: Change,
    *,
    min_confidence: float,
    keep_outside: str,
    line_count: Callable[[str], Awaitable[int | None]],
) -> Screened:
    out = Screened()
    candidates: list[Finding] = []
    for f in findings:
        changed = change.file(f.path)
        if changed is None:
            out.dropped.append((f, "not a file of the change"))
            continue
        length = await line_count(f.path)
        if length is not None and (f.end_line > length or f.start_line < 1):
            out.dropped.append((f, f"lines outside the file ({length} lines)"))
            continue
        if f.confidence < min_confidence:
            out.dropped.append((f, f"confidence {f.confidence:g} below {min_confidence:g}"))
            continue
        touched = changed.changed_lines()
        inside = any(line in touched for line in range(f.start_line, f.end_line + 1))
        if not inside and RANK[f.severity] < RANK[keep_outside]:
            out.dropped.append((f, "outside the changed lines"))
            continue
        candidates.append(f)
    for f in candidates:
        for i, kept in enumerate(out.kept):
            if _similar(kept, f):
                out.dropped.append((f, "duplicate"))
                out.kept[i] = _stronger(kept, f)
                break
        else:
            out.kept.append(f)
    out.kept.sort(key=lambda f: (f.path, f.start_line, -RANK[f.severity]))
    out.kept = [replace(f, id=f"F{i}") for i, f in enumerate(out.kept, 1)]
    return out


@dataclass(slots=True)
class Verdict:
    drop: dict[str, str]  # finding id -> why the code contradicts it
    summary: str | None
    # Groups of ids that are one problem (the screen's heuristics missed them).
    duplicates: list[list[str]] = field(default_factory=list)

    def apply(self, findings: Sequence[Finding]) -> tuple[list[Finding], list[tuple[Finding, str]]]:
        """The findings kept (duplicates merged into the first of their group), and those
        dropped with why."""
        by_id = {f.id: f for f in findings}
        dropped: list[tuple[Finding, str]] = []
        for group in self.duplicates:
            ids = [i for i in dict.fromkeys(group) if i in by_id and i not in self.drop]
            if len(ids) < 2:
                continue
            merged = by_id[ids[0]]
            for other in ids[1:]:
                merged = replace(_stronger(merged, by_id[other]), id=ids[0])
                dropped.append((by_id.pop(other), f"duplicate of {ids[0]}"))
            by_id[ids[0]] = merged
        kept = []
        for f in findings:
            if f.id in self.drop:
                dropped.append((f, self.drop[f.id]))
            elif f.id in by_id:
                kept.append(by_id[f.id])
        return kept, dropped


def judge_prompt(findings: Sequence[Finding], code: Mapping[str, str], label: str) -> str:
    items = []
    for f in findings:
        snippet = code.get(f.id, "")
        items.append(
            f"[{f.id}] {f.path}:{f.start_line}-{f.end_line} {f.severity} {f.category} "
            f"(by {', '.join(f.reviewers)}, confidence {f.confidence:g})\n{f.message}"
            + (f"\nSuggested replacement:\n{f.suggestion}" if f.suggestion else "")
            + (f"\nThe code:\n{snippet}" if snippet else "")
        )
    listing = "\n\n".join(items) or "(no findings)"
    return (
        f"You validate the findings of an automated code review of {label}. For each finding, "
        "look at the code shown with it: if the code contradicts the finding (the problem "
        "is not there, or is already handled), list its id to drop, with the reason. If "
        "several findings are one problem, list their ids together as duplicates. Then "
        "write a summary of the review for the author in at most 80 words.\n"
        'Reply with JSON only: {"drop": [{"id": "F1", "reason": "..."}], '
        '"duplicates": [["F2", "F4"]], "summary": "..."}'
        f"\n\nFindings:\n\n{listing}"
    )


def parse_verdict(reply: str, ids: Sequence[str]) -> Verdict | None:
    match = re.search(r"\{.*\}", reply, re.DOTALL)
    if match is None:
        return None
    try:
        data = json.loads(match.group(0))
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    drop: dict[str, str] = {}
    for item in data.get("drop") or []:
        if isinstance(item, dict) and item.get("id") in ids:
            drop[str(item["id"])] = str(item.get("reason") or "contradicted by the code")
        elif isinstance(item, str) and item in ids:
            drop[item] = "contradicted by the code"
    summary = data.get("summary")
    groups = [
        [str(i) for i in g if i in ids] for g in data.get("duplicates") or [] if isinstance(g, list)
    ]
    return Verdict(
        drop,
        summary.strip() if isinstance(summary, str) and summary.strip() else None,
        [g for g in groups if len(g) > 1],
    )


async def code_of(findings: Sequence[Finding], change: Change, around: int = 3) -> dict[str, str]:
    """The numbered lines of each finding, with a few around them, for the judge."""
    texts: dict[str, str | None] = {}
    out: dict[str, str] = {}
    for f in findings:
        if f.path not in texts:
            texts[f.path] = await change.new_text(f.path)
        text = texts[f.path]
        if text is None:
            continue
        lines = text.splitlines()
        first, last = max(f.start_line - around, 1), min(f.end_line + around, len(lines))
        out[f.id] = "\n".join(f"{n:>5}  {lines[n - 1]}" for n in range(first, last + 1))
        await asyncio.sleep(0)
    return out
