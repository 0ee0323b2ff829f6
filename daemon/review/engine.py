"""A review: the change read, reviewers run on the solver, findings validated, kept.

One :class:`Review` serves the terminal and the daemon alike (each passes its own router,
session store, index and event sink). For each batch of the diff the reviewers run
concurrently as solver turns of one session, each with the read tools and
``report_finding``; the first reviewer of a batch starts alone and the others follow as
soon as its first model event arrives, so that the provider has cached the shared prefix
(tools, system prompt, diff) by the time they send it. A reviewer that fails is reported
and the others go on.

Then validation: :func:`daemon.review.findings.screen` (threshold, changed lines,
duplicates), and the cheap model judging the survivors against their code and writing the
summary. The review is kept as a last turn of the session whose answer is the report, its
findings in the turn's content, so ``sessions list`` shows it, export writes it, and a
follow-up question in the session discusses it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from daemon.review import agents as reviewers_mod
from daemon.review import findings as fmod
from daemon.review.diff import Batch, Change, ReviewError, batches, collect
from daemon.review.findings import Finding, ReportFinding
from daemon.solver.agents import Agent
from daemon.solver.context import SAFETY
from protocol import review as wire
from providers.base import CallRecord, ChatRequest, Event, TextDelta, Usage, UserMessage

if TYPE_CHECKING:
    from daemon.config import Settings
    from daemon.sessions.store import SessionStore
    from daemon.solver.ports import ModelInfo, ModelRouter
    from daemon.tools.base import CodeIndex
    from hosting.service import Hosting

log = logging.getLogger(__name__)

Emit = Callable[[BaseModel], Awaitable[None]]
JUDGE_TIMEOUT_S = 120.0
# Room kept in each model window for the reviewers' own tool calls and their results.
TOOL_ROOM = 0.45


@dataclass(slots=True)
class ReviewRequest:
    scope: str = "uncommitted"
    base: str | None = None
    commits: str | None = None  # "A..B" for scope "range"
    url: str | None = None  # scope "pr"
    agents: Sequence[str] | None = None


@dataclass(slots=True)
class ReviewOutcome:
    session_id: str | None
    scope: str
    label: str
    findings: list[Finding]
    summary: str
    reviewers: list[str]
    files: int = 0
    batches: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    dropped: list[tuple[Finding, str]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    calls: list[CallRecord] = field(default_factory=list)
    wall_s: float = 0.0
    model_s: float = 0.0  # time during which at least one model call was in flight
    change: Change | None = None
    posted: str | None = None


class _Watch:
    """The router, watched: when each call is in flight, and a first event per prefix."""

    def __init__(self, router: ModelRouter) -> None:
        self.router = router
        self.intervals: list[tuple[float, float]] = []
        # Every call's accounting, a failed reviewer's included (its turn is lost to us).
        self.records: list[CallRecord] = []

    def resolve(self, name: str | None) -> ModelInfo:
        return self.router.resolve(name)

    def stream(
        self,
        request: ChatRequest,
        *,
        model: str | None = None,
        fallbacks: Sequence[str] | None = None,
        first: asyncio.Event | None = None,
    ) -> AsyncIterator[Event]:
        return self._stream(request, model, fallbacks, first)

    async def _stream(
        self,
        request: ChatRequest,
        model: str | None,
        fallbacks: Sequence[str] | None,
        first: asyncio.Event | None,
    ) -> AsyncIterator[Event]:
        started = time.monotonic()
        try:
            async for event in self.router.stream(request, model=model, fallbacks=fallbacks):
                if first is not None:
                    first.set()
                if isinstance(event, CallRecord):
                    self.records.append(event)
                yield event
        finally:
            if first is not None:
                first.set()
            self.intervals.append((started, time.monotonic()))

    def busy_s(self) -> float:
        total, end = 0.0, float("-inf")
        for a, b in sorted(self.intervals):
            if b <= end:
                continue
            total += b - max(a, end)
            end = b
        return total


class _Gated:
    """One reviewer's view of the router: its calls signal ``first`` (the batch leader's)."""

    def __init__(self, watch: _Watch, first: asyncio.Event | None) -> None:
        self.watch = watch
        self.first = first

    def resolve(self, name: str | None) -> ModelInfo:
        return self.watch.resolve(name)

    def stream(
        self,
        request: ChatRequest,
        *,
        model: str | None = None,
        fallbacks: Sequence[str] | None = None,
    ) -> AsyncIterator[Event]:
        return self.watch.stream(request, model=model, fallbacks=fallbacks, first=self.first)


class Review:
    def __init__(
        self,
        *,
        router: ModelRouter,
        store: SessionStore,
        settings: Settings,
        root: Path,
        index: CodeIndex | None = None,
        hosting: Hosting | None = None,
        document_text: Callable[[Path], str | None] | None = None,
        emit: Emit | None = None,
    ) -> None:
        self.watch = _Watch(router)
        self.store = store
        self.settings = settings
        self.root = root
        self.index = index
        self.hosting = hosting
        self.document_text = document_text
        self._emit = emit

    async def emit(self, event: BaseModel) -> None:
        if self._emit is not None:
            await self._emit(event)

    # -- the change ----------------------------------------------------------------------

    async def change(self, request: ReviewRequest) -> Change:
        review = self.settings.review
        tools = self.settings.solver.tools
        if request.scope == "pr":
            if not request.url:
                raise ReviewError("a pull request review needs its URL", field="url")
            if self.hosting is None:
                raise ReviewError("source hosting is not available here", field="url")
            from daemon.review.pr import pull_change

            return await pull_change(self.hosting, request.url, tools, self.root)
        return await collect(
            self.root,
            request.scope,
            settings=tools,
            base=request.base or (review.base if request.scope == "branch" else None),
            commits=request.commits,
            context=review.context_lines,
        )

    # -- the review ----------------------------------------------------------------------

    async def run(self, request: ReviewRequest) -> ReviewOutcome:
        started = time.monotonic()
        review = self.settings.review
        try:
            chosen = reviewers_mod.chosen(review, request.agents)
        except reviewers_mod.UnknownReviewer as exc:
            raise ReviewError(str(exc), field="agents") from None
        if not chosen:
            raise ReviewError("no reviewers to run (review.builtin is empty)", field="agents")
        change = await self.change(request)
        names = [r.name for r in chosen]
        outcome = ReviewOutcome(
            session_id=None,
            scope=request.scope,
            label=change.label,
            findings=[],
            summary="",
            reviewers=names,
            files=len(change.files),
            skipped=list(change.skipped),
            change=change,
        )
        if not change.files:
            skipped = f" ({len(change.skipped)} file(s) skipped)" if change.skipped else ""
            outcome.summary = f"Nothing to review: {change.label} hold no text changes{skipped}."
            outcome.wall_s = time.monotonic() - started
            await self.emit(wire.ReviewDone(findings=0, dropped=0, summary=outcome.summary))
            return outcome
        model_name = review.model or self.settings.providers.default_model
        info = self.watch.resolve(model_name)
        groups, past_limit = batches(change.files, self._diff_budget(info), review.max_batches)
        outcome.skipped += past_limit
        outcome.batches = len(groups)
        session = await self.store.create_session(
            workspace=str(self.root), title=f"Review: {change.label}"[:80]
        )
        outcome.session_id = session.id
        await self.emit(
            wire.ReviewStarted(
                session_id=session.id,
                files=len(change.files),
                batches=len(groups),
                reviewers=names,
                skipped=[wire.SkippedFile(path=p, reason=r) for p, r in outcome.skipped],
            )
        )
        raw: list[Finding] = []

        async def sink(finding: Finding) -> None:
            raw.append(finding)
            await self.emit(
                wire.FindingReported(
                    reviewer=finding.reviewers[0],
                    path=finding.path,
                    start_line=finding.start_line,
                    end_line=finding.end_line,
                    severity=finding.severity,
                    category=finding.category,
                    message=finding.message,
                    suggestion=finding.suggestion,
                    confidence=finding.confidence,
                )
            )

        await self._reviewers(session, change, groups, chosen, sink, outcome, model_name)
        await self._validate(raw, change, outcome)
        outcome.calls = list(self.watch.records)
        for record in outcome.calls:
            outcome.usage = outcome.usage + record.usage
            outcome.cost_usd += record.cost_usd
        outcome.wall_s = time.monotonic() - started
        outcome.model_s = self.watch.busy_s()
        await self._keep(session.id, outcome)
        await self.emit(
            wire.ReviewDone(
                findings=len(outcome.findings),
                dropped=len(outcome.dropped),
                summary=outcome.summary,
            )
        )
        return outcome

    def _diff_budget(self, info: ModelInfo) -> int:
        window = int(info.context_window * (1 - SAFETY))
        output = min(info.max_output_tokens, max(window // 4, 1))
        room = window - output - 4000  # the system prompt's rules and the tools' schemas
        return max(int(room * (1 - TOOL_ROOM)), 500)

    async def _reviewers(
        self,
        session: Any,
        change: Change,
        groups: Sequence[Batch],
        chosen: Sequence[reviewers_mod.Reviewer],
        sink: fmod.Sink,
        outcome: ReviewOutcome,
        model_name: str | None,
    ) -> None:
        from daemon.solver.loop import REVIEWER_PREFIX, Solver
        from daemon.tools.base import ToolContext
        from daemon.tools.registry import make_tools

        review = self.settings.review
        gate = asyncio.Semaphore(review.parallel)
        leaders: dict[str, asyncio.Event] = {}

        async def one(batch: Batch, reviewer: reviewers_mod.Reviewer) -> None:
            part = batch.only(reviewer.globs)
            if part is None:
                return
            prompt = reviewers_mod.system(part.render(), change.label)
            first = leaders.get(prompt)
            leader = first is None
            if first is None:
                first = leaders[prompt] = asyncio.Event()
            else:
                await first.wait()
            async with gate:
                tools = make_tools([t for t in reviewers_mod.TOOLS if t != "report_finding"])
                reporter = ReportFinding(reviewer.name, change, sink)
                agent_name = f"{REVIEWER_PREFIX}{reviewer.name}"
                solver = Solver(
                    router=_Gated(self.watch, first if leader else None),
                    store=self.store,
                    tools=[*tools, reporter],
                    tool_context=ToolContext(
                        roots=[change.root or self.root],
                        settings=self.settings.solver.tools,
                        index=self.index,
                        document_text=self.document_text,
                    ),
                    settings=self.settings.solver.model_copy(
                        update={"max_steps": review.max_steps}
                    ),
                    default_model=model_name,
                    fallbacks=self.settings.providers.fallbacks or None,
                    user_agents={
                        agent_name: Agent(
                            agent_name, f"reviews for {reviewer.name}", prompt, reviewers_mod.TOOLS
                        )
                    },
                )
                try:
                    await solver.run(
                        query=reviewers_mod.brief(reviewer, part.paths),
                        session=session,
                        agent=agent_name,
                        model=reviewer.model,
                    )
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    message = _one_line(exc)
                    log.warning(
                        "reviewer %s failed on batch %d: %s", reviewer.name, batch.number, message
                    )
                    outcome.failed.setdefault(reviewer.name, message)
                    first.set()
                    await self.emit(
                        wire.ReviewerFinished(
                            reviewer=reviewer.name,
                            batch=batch.number,
                            status="failed",
                            findings=reporter.count,
                            error=message,
                        )
                    )
                    return
                await self.emit(
                    wire.ReviewerFinished(
                        reviewer=reviewer.name,
                        batch=batch.number,
                        status="ok",
                        findings=reporter.count,
                    )
                )

        await asyncio.gather(*(one(b, r) for b in groups for r in chosen))

    async def _validate(
        self, raw: Sequence[Finding], change: Change, outcome: ReviewOutcome
    ) -> None:
        review = self.settings.review
        lengths: dict[str, int | None] = {}

        async def line_count(path: str) -> int | None:
            if path not in lengths:
                text = await change.new_text(path)
                lengths[path] = None if text is None else len(text.splitlines())
            return lengths[path]

        screened = await fmod.screen(
            raw,
            change,
            min_confidence=review.min_confidence,
            keep_outside=review.keep_outside,
            line_count=line_count,
        )
        outcome.dropped += screened.dropped
        kept = screened.kept
        model_summary: str | None = None
        judge = (
            review.validation_model
            or self.settings.providers.cheap_model
            or review.model
            or self.settings.providers.default_model
        )
        if kept:
            code = await fmod.code_of(kept, change)
            prompt = fmod.judge_prompt(kept, code, change.label)
            try:
                reply = await asyncio.wait_for(self._complete(prompt, judge), JUDGE_TIMEOUT_S)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("the validation pass failed, findings kept as screened: %s", exc)
                reply = ""
            verdict = fmod.parse_verdict(reply, [f.id for f in kept])
            if verdict is not None:
                model_summary = verdict.summary
                kept, dropped = verdict.apply(kept)
                outcome.dropped += dropped
                kept = [replace(f, id=f"F{n}") for n, f in enumerate(kept, 1)]
        outcome.findings = kept
        outcome.summary = summary_text(outcome, model_summary)

    async def _complete(self, prompt: str, model: str | None) -> str:
        info = self.watch.resolve(model)
        request = ChatRequest(
            model=info.model_id,
            messages=(UserMessage(prompt),),
            max_output_tokens=min(2000, info.max_output_tokens),
        )
        parts: list[str] = []
        async for event in self.watch.stream(request, model=model):
            if isinstance(event, TextDelta):
                parts.append(event.text)
        return "".join(parts)

    async def _keep(self, session_id: str, outcome: ReviewOutcome) -> None:
        from daemon.review.render import markdown
        from daemon.solver.loop import _call_dict

        turn = await self.store.start_turn(
            session_id, query=f"Review of {outcome.label}", agent="review", model=None
        )
        await self.store.add_message(
            turn.id,
            role="user",
            content={
                "text": f"Review the {outcome.label} with the reviewers "
                f"{', '.join(outcome.reviewers)}."
            },
        )
        await self.store.add_message(
            turn.id,
            role="assistant",
            content={
                "text": markdown(outcome),
                "tool_calls": [],
                "thinking": [],
                "review": {
                    "scope": outcome.scope,
                    "label": outcome.label,
                    "findings": [f.as_dict() for f in outcome.findings],
                    "summary": outcome.summary,
                    "failed": outcome.failed,
                    "skipped": [{"path": p, "reason": r} for p, r in outcome.skipped],
                    "dropped": len(outcome.dropped),
                },
            },
        )
        await self.store.finish_turn(
            turn.id,
            status="complete",
            usage=outcome.usage.as_dict(),
            cost_usd=outcome.cost_usd,
            timings={
                "total_ms": round(outcome.wall_s * 1000, 1),
                "model_ms": round(outcome.model_s * 1000, 1),
                "calls": [_call_dict(c) for c in outcome.calls],
            },
        )


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


def summary_text(outcome: ReviewOutcome, model_summary: str | None) -> str:
    """The model's summary (or counts), then what failed and what was skipped: always said."""
    counts: dict[str, int] = {}
    for f in outcome.findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    tally = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items()) or "no findings"
    lines = [model_summary or f"{tally} in {outcome.label} ({outcome.files} file(s))."]
    if model_summary:
        lines.append(f"Findings: {tally}.")
    if outcome.failed:
        lines.append(
            "Failed reviewers (their findings are missing): "
            + "; ".join(f"{n}: {e}" for n, e in outcome.failed.items())
        )
    if outcome.skipped:
        lines.append(
            "Skipped: "
            + "; ".join(f"{p} ({r})" for p, r in outcome.skipped[:20])
            + (f"; and {len(outcome.skipped) - 20} more" if len(outcome.skipped) > 20 else "")
        )
    return "\n".join(lines)
