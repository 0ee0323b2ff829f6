"""The agent loop: model -> tool calls -> results -> model, until it stops or runs out of steps.

One :class:`Solver` runs one turn. Every step is saved as it completes, and a cancelled or
failed turn saves what it had produced before it ends, so the session on disk is always a
faithful record: what the user saw streaming is what they find when they reopen it.

Independent read-only tools of one step (searches, reads) run concurrently; a tool that
changes something or waits on the user runs alone, in the order the model asked.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, assert_never

from pydantic import BaseModel

from daemon.errors import DaemonError
from daemon.sessions.store import Session, SessionStore, Turn, TurnStatus
from daemon.solver import agents as agent_mod
from daemon.solver.agents import Agent
from daemon.solver.context import (
    SAFETY,
    PastTurn,
    budget_history,
    fit_current,
    message_tokens,
    read_rules,
    tools_tokens,
    turn_messages,
)
from daemon.solver.focus import render_focus
from daemon.solver.ports import ModelInfo, ModelRouter
from daemon.solver.settings import SolverSettings
from daemon.solver.steps import call_target
from daemon.tools.base import Tool, ToolContext, ToolError, invoke
from protocol import query as wire
from providers.base import (
    AssistantMessage,
    CallRecord,
    ChatRequest,
    Event,
    Finished,
    FinishReason,
    ImagePart,
    MalformedToolCall,
    Message,
    ModelFallback,
    Reasoning,
    RedactedThinking,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolCall,
    ToolCallEvent,
    ToolCallOpened,
    ToolResult,
    ToolResults,
    ToolSpec,
    Usage,
    UsageEvent,
    UserMessage,
)

if TYPE_CHECKING:
    from daemon.config import Settings

log = logging.getLogger(__name__)

Emit = Callable[[BaseModel], Awaitable[None]]
SUMMARY_TIMEOUT_S = 60.0
REVIEWER_PREFIX = "review/"


class Background:
    """Work that outlives a turn (summaries), referenced until done so it is not collected.

    The query service holds one for all its solvers and cancels it at shutdown.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    async def wait(self) -> None:
        """Wait for the summaries still being written (tests, and a clean shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


class UnknownAgent(DaemonError):
    pass


@dataclass(slots=True)
class ToolCallRecord:
    call_id: str
    name: str
    arguments: Mapping[str, Any]
    result: str | None = None
    is_error: bool = False


@dataclass(slots=True)
class TurnOutcome:
    session_id: str
    query_id: str
    text: str
    stop_reason: wire.StopReason
    model: str | None = None
    agent: str | None = None
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    steps: int = 0
    calls: list[CallRecord] = field(default_factory=list)


@dataclass(slots=True)
class _Step:
    """What one model call produced so far (kept when the call is cut short)."""

    number: int = 0
    text: list[str] = field(default_factory=list)
    thinking: list[ThinkingBlock] = field(default_factory=list)
    thinking_text: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    # call id -> why its arguments could not be used (the call stays in stream order)
    malformed: dict[str, str] = field(default_factory=dict)
    reason: FinishReason = "stop"
    usage: Usage | None = None
    record: CallRecord | None = None

    def close_thinking(self, signature: str | None = None) -> None:
        # A signature alone is kept too: Claude's omitted thinking and Gemini's signed function
        # calls have no text, yet the API wants the signature back on the next call.
        if self.thinking_text or signature:
            self.thinking.append(ThinkingBlock("".join(self.thinking_text), signature))
            self.thinking_text.clear()

    def message(self) -> AssistantMessage:
        self.close_thinking()
        return AssistantMessage("".join(self.text), tuple(self.thinking), tuple(self.calls))


def _call_dict(record: CallRecord) -> dict[str, Any]:
    """One model call as the session keeps it: who answered, tokens, cost and latency."""
    return {
        "model": record.model,
        "provider": record.provider,
        "model_id": record.model_id,
        "usage": record.usage.as_dict(),
        "cost_usd": round(record.cost_usd, 6),
        "ttft_ms": record.ttft_ms,
        "total_ms": record.total_ms,
        "status": record.status,
        **({"error": record.error} if record.error else {}),
    }


def result_summary(content: str, width: int = 120) -> str:
    """One line that stands for a tool's output in a collapsed view."""
    lines = content.splitlines()
    first = lines[0].strip() if lines else "(no output)"
    more = f" (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
    if len(first) + len(more) > width:
        first = first[: max(width - len(more) - 1, 10)] + "…"
    return first + more


def _assistant_content(message: AssistantMessage, model: str | None) -> dict[str, Any]:
    return {
        "text": message.text,
        "thinking": [
            {"text": t.text, "signature": t.signature, "redacted": t.redacted}
            for t in message.thinking
        ],
        "tool_calls": [
            {"id": c.call_id, "name": c.name, "arguments": dict(c.arguments)}
            for c in message.tool_calls
        ],
        "model": model,
    }


def image_dict(image: ImagePart) -> dict[str, str]:
    """An image as the session keeps it (and :func:`~daemon.solver.context.turn_messages`
    reads it back)."""
    return {"media_type": image.media_type, "data": image.data_base64}


class Solver:
    def __init__(
        self,
        *,
        router: ModelRouter,
        store: SessionStore,
        tools: Sequence[Tool],
        tool_context: ToolContext,
        settings: SolverSettings | None = None,
        emit: Emit | None = None,
        default_model: str | None = None,
        cheap_model: str | None = None,
        fallbacks: Sequence[str] | None = None,
        user_agents: Mapping[str, Agent] | None = None,
        choice_timeout_s: float = 2.0,
        background: Background | None = None,
    ) -> None:
        self.router = router
        self.store = store
        self.tools = {t.name: t for t in tools}
        self.ctx = tool_context
        if self.ctx.on_edit is None:
            self.ctx.on_edit = self._on_edit
        self.settings = settings or SolverSettings()
        self._emit = emit
        self.default_model = default_model
        self.cheap_model = cheap_model
        self.fallbacks = fallbacks
        self.agents = agent_mod.all_agents(user_agents or {})
        self.choice_timeout_s = choice_timeout_s
        self.background = background or Background()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        router: ModelRouter,
        store: SessionStore,
        tools: Sequence[Tool],
        tool_context: ToolContext,
        emit: Emit | None = None,
        background: Background | None = None,
    ) -> Solver:
        """A solver as the settings ask for: their models, fallbacks, limits and agents (the
        daemon's queries and ``deputydev ask`` alike)."""
        return cls(
            router=router,
            store=store,
            tools=tools,
            tool_context=tool_context,
            settings=settings.solver,
            emit=emit,
            default_model=settings.providers.default_model,
            cheap_model=settings.providers.cheap_model,
            fallbacks=settings.providers.fallbacks or None,
            user_agents={
                name: Agent(name, a.description, a.prompt, a.tools, a.model)
                for name, a in settings.solver.agents.items()
            },
            choice_timeout_s=settings.solver.choice_timeout_s,
            background=background,
        )

    async def _on_edit(self, path: str, status: wire.EditStatus, added: int, removed: int) -> None:
        await self.emit(wire.FileEdit(path=path, status=status, added=added, removed=removed))

    async def emit(self, event: BaseModel) -> None:
        if self._emit is not None:
            await self._emit(event)

    # -- the turn -------------------------------------------------------------------------------

    async def open_session(self, session_id: str | None, query: str, workspace: str) -> Session:
        if session_id is not None:
            return await self.store.get_session(session_id)
        return await self.store.create_session(
            workspace=workspace, title=agent_mod.first_words(query)
        )

    async def run(
        self,
        *,
        query: str,
        session: Session,
        model: str | None = None,
        agent: str | None = None,
        focus_items: Sequence[wire.FocusItem] = (),
        new_session: bool = False,
        reasoning: Reasoning | None = None,
        images: Sequence[ImagePart] = (),
    ) -> TurnOutcome:
        if agent is not None and agent not in self.agents:
            raise UnknownAgent(
                f"unknown agent {agent!r}; known: {', '.join(sorted(self.agents))}",
                field="agent",
                known=sorted(self.agents),
            )
        title_task = asyncio.ensure_future(self._retitle(session, query)) if new_session else None
        chosen = agent or await agent_mod.pick_agent(
            self.router,
            query,
            self.agents,
            cheap_model=self.cheap_model,
            timeout_s=self.choice_timeout_s,
        )
        spec = self.agents[chosen]
        model_name = model or spec.model or self.default_model
        info = self.router.resolve(model_name)
        if images and not info.images:
            from daemon.solver.attachments import ImagesNotSupported

            raise ImagesNotSupported(
                f"{info.name} does not accept images: pick a model that does "
                "(deputydev/models lists capabilities.images), or send the query without "
                "attachments",
                field="attachments",
                model=info.name,
            )
        # A review's reviewer turns are its record, not conversation: their prompt (the diff)
        # was a system prompt that is not stored; the review's own last turn stands for them.
        past = [
            t
            for t in await self.store.get_turns(session.id)
            if not (t.agent or "").startswith(REVIEWER_PREFIX)
        ]
        turn = await self.store.start_turn(
            session.id,
            query=query,
            focus_items=[f.model_dump(by_alias=True, exclude_none=True) for f in focus_items],
            agent=chosen,
            model=info.name,
        )
        outcome = TurnOutcome(
            session_id=session.id, query_id=turn.id, text="", stop_reason="stop", agent=chosen
        )
        outcome.model = info.name
        await self.emit(
            wire.SessionStarted(session_id=session.id, query_id=turn.id, title=session.title)
        )
        await self.emit(wire.AgentChosen(agent=chosen, model=info.name))
        started = time.monotonic()
        try:
            await self._loop(
                turn, past, query, focus_items, spec, info, outcome, reasoning, tuple(images)
            )
        except asyncio.CancelledError:
            outcome.stop_reason = "cancelled"
            await asyncio.shield(self._finish(turn, outcome, "cancelled", started))
            raise
        except Exception as exc:
            outcome.stop_reason = "error"
            await asyncio.shield(self._finish(turn, outcome, "failed", started, error=str(exc)))
            raise
        finally:
            if title_task is not None and not title_task.done():
                title_task.cancel()
        await self._finish(turn, outcome, "complete", started)
        if self.cheap_model is not None and outcome.text:
            self.background.spawn(self._summarise(turn, query, outcome, self.cheap_model))
        return outcome

    async def _summarise(
        self, turn: Turn, query: str, outcome: TurnOutcome, cheap_model: str
    ) -> None:
        summary = await agent_mod.make_summary(
            self.router,
            query,
            outcome.text,
            [call.name for call in outcome.tool_calls],
            cheap_model=cheap_model,
            timeout_s=SUMMARY_TIMEOUT_S,
        )
        if summary is not None:
            await self.store.set_turn_summary(turn.id, summary)

    async def _retitle(self, session: Session, query: str) -> None:
        title = await agent_mod.make_title(
            self.router, query, cheap_model=self.cheap_model, timeout_s=self.choice_timeout_s
        )
        if title != session.title:
            await self.store.rename(session.id, title)

    async def _finish(
        self,
        turn: Turn,
        outcome: TurnOutcome,
        status: TurnStatus,
        started: float,
        error: str | None = None,
    ) -> None:
        await self.store.finish_turn(
            turn.id,
            status=status,
            usage=outcome.usage.as_dict(),
            cost_usd=outcome.cost_usd,
            timings={
                "total_ms": round((time.monotonic() - started) * 1000, 1),
                "calls": [_call_dict(record) for record in outcome.calls],
            },
            error=error,
            model=outcome.model,
        )

    async def _loop(
        self,
        turn: Turn,
        past: Sequence[Turn],
        query: str,
        focus_items: Sequence[wire.FocusItem],
        agent: Agent,
        info: ModelInfo,
        outcome: TurnOutcome,
        reasoning: Reasoning | None = None,
        images: tuple[ImagePart, ...] = (),
    ) -> None:
        names = agent_mod.tool_names(agent, list(self.tools))
        tools = [self.tools[n] for n in names]
        specs = tuple(ToolSpec(t.name, t.description, t.parameters()) for t in tools)
        rules = await asyncio.to_thread(read_rules, self.ctx.roots)
        system = agent.prompt + (f"\n\n{rules}" if rules else "")
        user_text = query + await render_focus(focus_items, self.ctx)
        await self.store.add_message(
            turn.id,
            role="user",
            content={
                "text": user_text,
                "focus_items": [
                    f.model_dump(by_alias=True, exclude_none=True) for f in focus_items
                ],
                **({"images": [image_dict(i) for i in images]} if images else {}),
            },
        )
        window = int(info.context_window * (1 - SAFETY))
        output = min(info.max_output_tokens, max(window // 4, 1))
        budget = window - output - message_tokens(UserMessage(system)) - tools_tokens(specs)
        current: list[Message] = [UserMessage(user_text, images)]
        history, reduced = budget_history(
            [
                PastTurn(
                    t.query,
                    turn_messages(t.messages),
                    t.summary,
                    next(
                        (
                            m.content.get("text", "")
                            for m in reversed(t.messages)
                            if m.role == "assistant"
                        ),
                        "",
                    ),
                )
                for t in past
            ],
            max(budget - message_tokens(current[0]), 0),
        )
        if reduced:
            log.info("turn %s: %d earlier turn(s) summarised or left out", turn.id, reduced)
        model_name = info.name
        for step in range(1, self.settings.max_steps + 1):
            outcome.steps = step
            await self.emit(wire.StepStarted(step=step))
            current_budget = budget - sum(message_tokens(m) for m in history)
            request = ChatRequest(
                model=info.model_id,
                messages=(*history, *fit_current(current, max(current_budget, 0))),
                system=system,
                tools=specs,
                max_output_tokens=output,
                reasoning=reasoning or self.settings.reasoning,
            )
            result = _Step(number=step)
            message_id: str | None = None
            try:
                async for event in self.router.stream(
                    request, model=model_name, fallbacks=self.fallbacks
                ):
                    await self._on_event(event, result, outcome)
                if result.text:
                    await self.emit(wire.TextEnded(step=step, text="".join(result.text)))
            finally:
                message = result.message()
                if message.text or message.tool_calls or message.thinking:
                    saved = await asyncio.shield(
                        self.store.add_message(
                            turn.id,
                            role="assistant",
                            content=_assistant_content(message, outcome.model),
                        )
                    )
                    message_id = saved.id
                self._account(result, outcome)
            assert message_id is not None or not message.tool_calls
            current.append(message)
            if message.text:
                outcome.text = message.text
            outcome.stop_reason = result.reason
            if not message.tool_calls:
                return
            results = await self._run_tools(result, outcome)
            current.append(ToolResults(tuple(results)))
            await self.store.add_message(
                turn.id,
                role="tool",
                content={
                    "results": [
                        {
                            "call_id": r.call_id,
                            "name": r.name,
                            "content": r.content,
                            "is_error": r.is_error,
                        }
                        for r in results
                    ]
                },
            )
        outcome.stop_reason = "step_limit"

    async def _on_event(self, event: Event, step: _Step, outcome: TurnOutcome) -> None:
        match event:
            case TextDelta(text=text):
                step.close_thinking()
                if not step.text:
                    await self.emit(wire.TextStarted(step=step.number))
                step.text.append(text)
                await self.emit(wire.TextChunk(text=text))
            case ThinkingDelta(text=text, signature=signature):
                if text:
                    step.thinking_text.append(text)
                    await self.emit(wire.ThinkingChunk(text=text))
                if signature is not None:
                    step.close_thinking(signature)
            case RedactedThinking(data=data):
                step.close_thinking()
                step.thinking.append(ThinkingBlock(redacted=data))
            case ToolCallOpened():
                pass
            case ToolCallEvent(call=call):
                step.calls.append(call)
            case MalformedToolCall(call_id=call_id, name=name, error=error):
                step.calls.append(ToolCall(call_id, name, {}))
                step.malformed[call_id] = (
                    f"the arguments of {name} were not valid JSON ({error}); try again"
                )
            case UsageEvent(usage=usage):
                step.usage = usage
            case Finished(reason=reason, usage=usage):
                step.reason = reason
                if usage is not None:
                    step.usage = usage
            case ModelFallback(from_model=old, to_model=new, reason=why):
                outcome.model = new
                await self.emit(wire.ModelSwitched(from_model=old, to_model=new, reason=why))
            case CallRecord():
                step.record = event
                outcome.model = event.model
            case _:
                assert_never(event)

    def _account(self, step: _Step, outcome: TurnOutcome) -> None:
        usage = step.record.usage if step.record is not None else step.usage
        if usage is not None:
            outcome.usage = outcome.usage + usage
        if step.record is not None:
            outcome.cost_usd += step.record.cost_usd
            outcome.calls.append(step.record)

    async def _run_tools(self, step: _Step, outcome: TurnOutcome) -> list[ToolResult]:
        calls = list(step.calls)
        errors = step.malformed
        results: dict[str, ToolResult] = {}
        for call in calls:
            await self.emit(
                wire.ToolCallStarted(
                    call_id=call.call_id,
                    name=call.name,
                    arguments=dict(call.arguments),
                    summary=call_target(call.name, call.arguments),
                )
            )

        async def one(call: ToolCall) -> None:
            if call.call_id in errors:
                content, is_error = errors[call.call_id], True
            else:
                content, is_error = await self._call_tool(call)
            results[call.call_id] = ToolResult(call.call_id, call.name, content, is_error)
            outcome.tool_calls.append(
                ToolCallRecord(call.call_id, call.name, call.arguments, content, is_error)
            )
            await self.emit(
                wire.ToolCallFinished(
                    call_id=call.call_id,
                    name=call.name,
                    status="error" if is_error else "ok",
                    summary=result_summary(content),
                    content=content,
                    is_error=is_error,
                )
            )

        batch: list[ToolCall] = []
        for call in calls:
            tool = self.tools.get(call.name)
            if tool is not None and tool.read_only:
                batch.append(call)
                continue
            await asyncio.gather(*(one(c) for c in batch))
            batch = []
            await one(call)
        await asyncio.gather(*(one(c) for c in batch))
        return [results[c.call_id] for c in calls]

    async def _call_tool(self, call: ToolCall) -> tuple[str, bool]:
        tool = self.tools.get(call.name)
        if tool is None:
            return f"there is no tool named {call.name!r}; use one of {sorted(self.tools)}", True
        try:
            return await invoke(tool, call.arguments, self.ctx), False
        except ToolError as exc:
            return str(exc), True
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in a tool must not end the turn
            log.exception("tool %s failed", call.name)
            return f"{call.name} failed: {type(exc).__name__}: {exc}", True
