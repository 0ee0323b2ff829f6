"""A review's findings as text (grouped by file, with the code lines), JSON, SARIF 2.1.0
(for code-scanning uploads) and Markdown (the session's answer and the pull request's
summary comment)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from daemon import __version__

if TYPE_CHECKING:
    from daemon.review.engine import ReviewOutcome
    from daemon.review.findings import Finding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
_ICON = {"error": "✖", "warning": "▲", "info": "•"}


def _by_file(findings: Sequence[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        out.setdefault(f.path, []).append(f)
    return out


def text(outcome: ReviewOutcome, sources: Mapping[str, str | None]) -> str:
    """For a terminal: each file, its findings in line order with the lines they point at."""
    n = len(outcome.findings)
    out: list[str] = [
        f"Review of {outcome.label}: {n} finding{'s' if n != 1 else ''} in {outcome.files} "
        f"file(s) by {', '.join(outcome.reviewers)}"
    ]
    for path, found in _by_file(outcome.findings).items():
        out.append("")
        out.append(path)
        lines = (sources.get(path) or "").splitlines()
        for f in found:
            where = f"{f.start_line}" + (f"-{f.end_line}" if f.end_line != f.start_line else "")
            out.append(
                f"  {_ICON[f.severity]} {f.severity} {path}:{where} [{f.category}] {f.message}"
                f"  ({', '.join(f.reviewers)}, {f.confidence:.0%})"
            )
            for n in range(f.start_line, min(f.end_line, f.start_line + 7) + 1):
                if 0 < n <= len(lines):
                    out.append(f"    {n:>5} | {lines[n - 1]}")
            if f.suggestion is not None:
                out.append("    suggestion:")
                out += [f"      {line}" for line in f.suggestion.splitlines() or [""]]
    out.append("")
    out.append(outcome.summary)
    return "\n".join(out) + "\n"


def as_json(outcome: ReviewOutcome) -> str:
    return json.dumps(result_dict(outcome), indent=2) + "\n"


def result_dict(outcome: ReviewOutcome) -> dict[str, Any]:
    u = outcome.usage
    return {
        "sessionId": outcome.session_id,
        "scope": outcome.scope,
        "label": outcome.label,
        "findings": [f.as_dict() for f in outcome.findings],
        "summary": outcome.summary,
        "files": outcome.files,
        "batches": outcome.batches,
        "reviewers": outcome.reviewers,
        "failed": [{"reviewer": n, "error": e} for n, e in outcome.failed.items()],
        "skipped": [{"path": p, "reason": r} for p, r in outcome.skipped],
        "dropped": len(outcome.dropped),
        "usage": {
            "inputTokens": u.input_tokens,
            "outputTokens": u.output_tokens,
            "cacheReadTokens": u.cache_read_tokens,
            "cacheWriteTokens": u.cache_write_tokens,
            "reasoningTokens": u.reasoning_tokens,
        },
        "costUsd": round(outcome.cost_usd, 6),
        "modelCalls": len(outcome.calls),
        "wallMs": round(outcome.wall_s * 1000, 1),
        "modelMs": round(outcome.model_s * 1000, 1),
        "posted": outcome.posted,
    }


def sarif(outcome: ReviewOutcome) -> str:
    """SARIF 2.1.0: one run, a rule per category, a result per finding (with its fix)."""
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    for f in outcome.findings:
        rule_id = f.category
        if rule_id not in rules:
            rules[rule_id] = {
                "id": rule_id,
                "name": "".join(w.capitalize() for w in rule_id.replace("_", "-").split("-")),
                "shortDescription": {"text": rule_id.replace("-", " ")},
                "defaultConfiguration": {"level": _SARIF_LEVEL[f.severity]},
            }
        region = {"startLine": f.start_line, "endLine": f.end_line}
        location = {
            "physicalLocation": {
                "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
                "region": region,
            }
        }
        result: dict[str, Any] = {
            "ruleId": rule_id,
            "ruleIndex": list(rules).index(rule_id),
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f.message},
            "locations": [location],
            "partialFingerprints": {"deputydevFinding/v1": f.key()},
            "properties": {"confidence": f.confidence, "reviewers": list(f.reviewers)},
        }
        if f.suggestion is not None:
            result["fixes"] = [
                {
                    "description": {"text": "Suggested by DeputyDev"},
                    "artifactChanges": [
                        {
                            "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
                            "replacements": [
                                {
                                    "deletedRegion": {
                                        "startLine": f.start_line,
                                        "endLine": f.end_line,
                                    },
                                    "insertedContent": {"text": _lines(f.suggestion)},
                                }
                            ],
                        }
                    ],
                }
            ]
        results.append(result)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "DeputyDev",
                        "version": __version__,
                        "informationUri": "https://github.com/deputydev",
                        "rules": list(rules.values()),
                    }
                },
                "automationDetails": {"id": f"deputydev/review/{outcome.scope}/"},
                "results": results,
                "invocations": [
                    {
                        "executionSuccessful": not outcome.failed,
                        "toolExecutionNotifications": [
                            {"level": "error", "message": {"text": f"reviewer {n} failed: {e}"}}
                            for n, e in outcome.failed.items()
                        ]
                        + [
                            {"level": "note", "message": {"text": f"skipped {p}: {r}"}}
                            for p, r in outcome.skipped
                        ],
                    }
                ],
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


def _lines(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def finding_markdown(f: Finding, host: str = "") -> str:
    """A finding in Markdown; on a host its suggestion in the host's own syntax (a block
    GitHub offers to commit; GitLab's counts the lines above the commented one)."""
    where = f"{f.start_line}" + (f"-{f.end_line}" if f.end_line != f.start_line else "")
    out = [
        f"**{f.severity}** · `{f.category}` · `{f.path}:{where}` · "
        f"{', '.join(f.reviewers)} ({f.confidence:.0%})",
        "",
        f.message,
    ]
    if f.reasoning:
        out += ["", f"_Checked:_ {f.reasoning}"]
    if f.suggestion is not None:
        fence = {
            "github": "```suggestion",
            "gitlab": f"```suggestion:-{f.end_line - f.start_line}+0",
        }.get(host, "```")
        label = [] if host in ("github", "gitlab") else ["Suggested replacement:", ""]
        out += ["", *label, fence, f.suggestion.rstrip("\n"), "```"]
    return "\n".join(out)


def markdown(outcome: ReviewOutcome) -> str:
    out = [f"## Review of {outcome.label}", "", outcome.summary, ""]
    if not outcome.findings:
        out.append("No findings.")
    for f in outcome.findings:
        out += [f"### {f.id}. {f.message.splitlines()[0][:100]}", "", finding_markdown(f), ""]
    return "\n".join(out).rstrip() + "\n"
