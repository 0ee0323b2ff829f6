"""A pull/merge request as the change under review, and the review posted back on it.

The diff comes from the host's API (``hosting``): each file's patch, rebuilt as a git diff
and parsed like a local one. Files the host sent no patch for (binary, too large) and files
past ``[hosting] max_diff_files`` are listed as skipped; secret files are dropped unread.

Posting turns each finding into an inline comment on its lines when they are in the diff
(a host refuses comments elsewhere); a finding outside the diff goes into the summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from daemon.review.diff import Change, drop_secrets, parse
from daemon.review.render import finding_markdown

if TYPE_CHECKING:
    from daemon.review.engine import ReviewOutcome
    from daemon.solver.settings import ToolSettings
    from hosting.service import Hosting


async def pull_change(hosting: Hosting, url: str, settings: ToolSettings, root: Path) -> Change:
    ref, item = await hosting.pull_request(url)
    parts: list[str] = []
    skipped: list[tuple[str, str]] = []
    for f in item.files:
        if f.patch is None or not f.patch.strip():
            if f.status not in ("removed", "deleted"):
                skipped.append((f.path, "the host sent no diff for it (binary or too large)"))
            continue
        old = f.old_path or f.path
        minus = "/dev/null" if f.status == "added" else f"a/{old}"
        plus = "/dev/null" if f.status in ("removed", "deleted") else f"b/{f.path}"
        parts.append(f"diff --git a/{old} b/{f.path}\n--- {minus}\n+++ {plus}\n{f.patch}")
    total = item.files_total or item.changed_files
    if total is not None and total > len(item.files):
        skipped.append(
            (
                f"({total - len(item.files)} more files)",
                "past [hosting] max_diff_files: not fetched, not reviewed",
            )
        )
    files, binary = parse("\n".join(parts))
    files, secret = drop_secrets(files, settings)
    return Change(
        scope="pr",
        label=f"{ref.noun} {ref.repo}{'!' if ref.host.kind == 'gitlab' else '#'}{ref.number}",
        files=files,
        skipped=[*secret, *binary, *skipped],
        root=root,
        head_sha=item.head_sha,
    )


async def post_review(hosting: Hosting, url: str, outcome: ReviewOutcome) -> str:
    """Post the findings and the summary on the request; its web URL."""
    from hosting.review import InlineComment

    change = outcome.change
    host = hosting.pull_ref(url).host.kind
    inline: list[InlineComment] = []
    elsewhere = []
    for f in outcome.findings:
        changed = change.file(f.path) if change is not None else None
        if changed is not None and changed.in_hunks(f.start_line) and changed.in_hunks(f.end_line):
            inline.append(
                InlineComment(
                    f.key(),
                    f.path,
                    f.start_line,
                    f.end_line,
                    finding_markdown(f, host),
                    changed.old_line(f.end_line),
                )
            )
        else:
            elsewhere.append(f)
    lines = [f"## DeputyDev review of {outcome.label}", "", outcome.summary]
    if outcome.findings:
        lines += ["", "| | where | finding |", "| --- | --- | --- |"]
        for f in outcome.findings:
            first = " ".join(f.message.split())[:120].replace("|", "\\|")
            lines.append(f"| {f.severity} | `{f.path}:{f.start_line}` | {first} |")
    if elsewhere:
        lines += ["", "Outside the diff:", ""]
        lines += [finding_markdown(f, host) + "\n" for f in elsewhere]
    summary = "\n".join(lines)
    posted = await hosting.post_review(url, inline, summary)
    return posted.url or url
