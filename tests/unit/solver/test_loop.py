"""The agent loop against a real sessions store, real tools and a scripted router."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from daemon.sessions.store import SessionStore
from daemon.solver.context import PastTurn, budget_history
from daemon.solver.loop import Solver, UnknownAgent
from daemon.solver.settings import SolverSettings
from daemon.tools.base import Tool, ToolContext
from daemon.tools.registry import make_tools
from providers.base import (
    AssistantMessage,
    ChatRequest,
    Event,
    MalformedToolCall,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolResults,
    UserMessage,
)
from tests.unit.solver.fake_router import FakeRouter, calls, reply


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (root / "AGENTS.md").write_text("Always answer in haiku.\n")
    return root.resolve()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SessionStore]:
    opened = await SessionStore.open(tmp_path / "sessions.db")
    yield opened
    await opened.close()


def solver(
    router: FakeRouter,
    store: SessionStore,
    root: Path,
    events: list[BaseModel] | None = None,
    tools: list[Tool] | None = None,
    **kwargs: Any,
) -> Solver:
    async def emit(event: BaseModel) -> None:
        if events is not None:
            events.append(event)

    return Solver(
        router=router,
        store=store,
        tools=tools if tools is not None else make_tools(),
        tool_context=ToolContext(roots=[root]),
        emit=emit,
        **kwargs,
    )


async def ask(s: Solver, query: str, session_id: str | None = None, **kw: Any) -> Any:
    session = await s.open_session(session_id, query, "/ws")
    outcome = await s.run(query=query, session=session, new_session=session_id is None, **kw)
    await s.background.wait()
    return outcome


async def test_tool_results_reach_the_next_request_and_the_turn_is_saved(
    root: Path, store: SessionStore
) -> None:
    router = FakeRouter(
        scripts=[
            calls(("c1", "read_file", {"path": "calc.py"})),
            reply("add returns a + b"),
        ]
    )
    events: list[BaseModel] = []
    outcome = await ask(solver(router, store, root, events), "what does add do?")

    assert outcome.text == "add returns a + b" and outcome.stop_reason == "stop"
    assert outcome.steps == 2 and outcome.cost_usd == pytest.approx(0.01)
    assert outcome.usage.input_tokens == 20  # Finished usage of step 1 + CallRecord of step 2
    first, second = router.requests
    assert "Always answer in haiku." in first.system
    assert {t.name for t in first.tools} >= {"read_file", "grep_search"}
    assert "write_file" not in {t.name for t in first.tools}
    results = second.messages[-1]
    assert isinstance(results, ToolResults)
    assert "return a + b" in results.results[0].content and not results.results[0].is_error
    kinds = [getattr(e, "kind", None) for e in events]
    assert kinds[:3] == ["session", "agent", "step"]
    assert "toolCall" in kinds and "toolResult" in kinds and kinds.count("text") == 1

    [turn] = await store.get_turns(outcome.session_id)
    assert turn.status == "complete" and turn.agent == "general"
    assert [m.role for m in turn.messages] == ["user", "assistant", "tool", "assistant"]
    assert turn.messages[1].content["tool_calls"][0]["name"] == "read_file"
    [call] = turn.timings["calls"]  # step 1 had no CallRecord; step 2's is kept whole
    assert call["model"] == "main" and call["provider"] == "fake"
    assert call["cost_usd"] == 0.01 and call["ttft_ms"] == 1.0 and call["total_ms"] == 2.0
    assert call["usage"]["input_tokens"] == 10 and turn.timings["total_ms"] > 0


async def test_a_signature_without_thinking_text_goes_back(root: Path, store: SessionStore) -> None:
    signed = calls(("c1", "read_file", {"path": "calc.py"}))
    router = FakeRouter(
        scripts=[[ThinkingDelta("", signature="gemini:c2ln"), *signed], reply("ok")]
    )
    await ask(solver(router, store, root), "what does add do?")
    assistant = router.requests[1].messages[1]
    assert isinstance(assistant, AssistantMessage)
    assert assistant.thinking == (ThinkingBlock("", "gemini:c2ln"),)


async def test_a_follow_up_carries_the_history(root: Path, store: SessionStore) -> None:
    router = FakeRouter(scripts=[reply("It is 4."), reply("Then 6.")])
    s = solver(router, store, root)
    first = await ask(s, "what is 2+2?")
    await ask(s, "and 3+3?", session_id=first.session_id)
    messages = router.requests[1].messages
    assert [type(m) for m in messages] == [UserMessage, AssistantMessage, UserMessage]
    assert isinstance(messages[1], AssistantMessage) and messages[1].text == "It is 4."


async def test_path_escapes_become_error_results(root: Path, store: SessionStore) -> None:
    router = FakeRouter(
        scripts=[calls(("c1", "read_file", {"path": "../secret"})), reply("cannot")]
    )
    await ask(solver(router, store, root), "read ../secret")
    [result] = router.requests[1].messages[-1].results  # type: ignore[union-attr]
    assert result.is_error and "'..'" in result.content


async def test_malformed_and_unknown_tool_calls_are_reported_to_the_model(
    root: Path, store: SessionStore
) -> None:
    router = FakeRouter(
        scripts=[
            [
                MalformedToolCall("c1", "grep_search", '{"pattern": ', "unexpected end"),
                *calls(("c2", "no_such_tool", {})),
            ],
            reply("ok"),
        ]
    )
    await ask(solver(router, store, root), "q")
    results = router.requests[1].messages[-1].results  # type: ignore[union-attr]
    assert [r.is_error for r in results] == [True, True]
    assert "not valid JSON" in results[0].content and "no tool named" in results[1].content


async def test_the_step_limit_stops_a_model_that_never_stops(
    root: Path, store: SessionStore
) -> None:
    router = FakeRouter(scripts=[calls((f"c{i}", "list_directory", {})) for i in range(3)])
    s = solver(router, store, root, settings=SolverSettings(max_steps=3))
    outcome = await ask(s, "loop forever")
    assert outcome.stop_reason == "step_limit" and len(router.requests) == 3


class Slow(Tool):
    """A read-only tool that waits for its siblings, proving they run concurrently."""

    name = "slow"
    description = "waits"
    Arguments = make_tools(["list_directory"])[0].Arguments
    read_only = True
    arrived = 0
    both = asyncio.Event()

    async def run(self, args: Any, ctx: ToolContext) -> str:
        Slow.arrived += 1
        if Slow.arrived == 2:
            Slow.both.set()
        await asyncio.wait_for(Slow.both.wait(), 5)
        return "done"


async def test_read_only_tools_of_one_step_run_concurrently(
    root: Path, store: SessionStore
) -> None:
    Slow.arrived, Slow.both = 0, asyncio.Event()
    router = FakeRouter(scripts=[calls(("a", "slow", {}), ("b", "slow", {})), reply("ok")])
    outcome = await ask(solver(router, store, root, tools=[Slow()]), "q")
    assert [c.result for c in outcome.tool_calls] == ["done", "done"]


async def test_cancelling_mid_stream_saves_the_partial_answer(
    root: Path, store: SessionStore
) -> None:
    streaming = asyncio.Event()

    async def endless(request: ChatRequest) -> AsyncIterator[Event]:
        yield TextDelta("partial ")
        streaming.set()
        await asyncio.sleep(60)
        yield TextDelta("never")

    router = FakeRouter(scripts=[endless])
    s = solver(router, store, root)
    session = await s.open_session(None, "q", "/ws")
    task = asyncio.ensure_future(s.run(query="q", session=session))
    await asyncio.wait_for(streaming.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [turn] = await store.get_turns(session.id)
    assert turn.status == "cancelled"
    assert turn.messages[-1].content["text"] == "partial "


async def test_agents_are_chosen_by_the_cheap_model_or_named(
    root: Path, store: SessionStore
) -> None:
    router = FakeRouter(scripts=[reply("x"), reply("y")], cheap=lambda r: "explainer")
    s = solver(router, store, root, cheap_model="cheap")
    outcome = await ask(s, "explain the parser")
    assert outcome.agent == "explainer"
    assert "replace_in_file" not in {t.name for t in router.requests[0].tools}
    session = await store.get_session(outcome.session_id)
    assert session.title == "explainer"  # the cheap model's title
    with pytest.raises(UnknownAgent, match="known: code_writer"):
        await ask(s, "q", agent="nobody")


async def test_a_slow_cheap_model_never_blocks_the_answer(root: Path, store: SessionStore) -> None:
    def hang(request: ChatRequest) -> str:
        raise TimeoutError

    router = FakeRouter(scripts=[reply("x")], cheap=hang)
    outcome = await ask(solver(router, store, root, cheap_model="cheap"), "fix the bug in add")
    assert outcome.agent == "general"
    assert (await store.get_session(outcome.session_id)).title == "fix the bug in add"


async def test_a_finished_turn_is_summarised_and_the_summary_stands_in_later(
    root: Path, store: SessionStore
) -> None:
    def cheap(request: ChatRequest) -> str:
        prompt = request.messages[0].text  # type: ignore[union-attr]
        return "SUMMARY: parse() splits on commas" if "Summarise" in prompt else "general"

    long_answer = "parse splits the text on commas. " * 300  # ~2,400 tokens
    router = FakeRouter(scripts=[reply(long_answer), reply("ok")], cheap=cheap)
    s = solver(router, store, root, cheap_model="cheap")
    first = await ask(s, "how does parse work?")
    [turn] = await store.get_turns(first.session_id)
    assert turn.summary == "SUMMARY: parse() splits on commas"
    router.context_window = 3_000  # the full first turn no longer fits
    await ask(s, "and the quotes?", session_id=first.session_id)
    sent = [getattr(m, "text", "") for m in router.requests[-1].messages]
    assert any("SUMMARY: parse() splits on commas" in t for t in sent)
    assert not any(long_answer in t for t in sent)


def test_history_is_summarised_oldest_first_when_tight() -> None:
    def turn(n: int, size: int) -> PastTurn:
        return PastTurn(
            f"q{n}",
            (UserMessage("u" * size), AssistantMessage(f"a{n}")),
            f"summary {n}" if n == 0 else None,
            f"a{n}",
        )

    past = [turn(0, 4000), turn(1, 4000), turn(2, 400)]
    messages, reduced = budget_history(past, budget=600)
    assert reduced == 2
    texts = [m.text for m in messages]  # type: ignore[union-attr]
    assert texts[-2:] == ["u" * 400, "a2"]
    assert "summary 0" in texts[0] and "Earlier the user asked: q1" in texts[2]
    # never a cut message: every message is whole or a summary
    assert all(len(t) in (400, 2) or "summary" in t or t == "Understood." for t in texts)


def test_a_solver_from_settings_takes_their_models_limits_and_agents(
    root: Path, store: SessionStore
) -> None:
    from daemon.config import Settings

    settings = Settings.model_validate(
        {
            "providers": {"default_model": "m1", "cheap_model": "cheap", "fallbacks": ["m2"]},
            "solver": {
                "max_steps": 7,
                "choice_timeout_s": 0.5,
                "agents": {"reviewer": {"description": "reviews", "prompt": "Be strict."}},
            },
        }
    )
    s = Solver.from_settings(
        settings,
        router=FakeRouter(scripts=[]),
        store=store,
        tools=make_tools(),
        tool_context=ToolContext(roots=[root]),
    )
    assert (s.default_model, s.cheap_model, list(s.fallbacks or ())) == ("m1", "cheap", ["m2"])
    assert (s.settings.max_steps, s.choice_timeout_s) == (7, 0.5)
    assert s.agents["reviewer"].prompt == "Be strict."
    assert "general" in s.agents


def test_a_stored_image_without_its_bytes_is_left_out_of_the_history() -> None:
    from types import SimpleNamespace

    from daemon.solver.context import turn_messages

    kept = {"media_type": "image/png", "data": "iVBORw0KGgo="}
    synced = {"media_type": "image/png", "bytes": 9, "omitted": "images are not synced"}
    messages = turn_messages(
        [SimpleNamespace(role="user", content={"text": "see", "images": [kept, synced]})]
    )
    message = messages[0]
    assert isinstance(message, UserMessage)
    assert [(i.media_type, i.data_base64) for i in message.images] == [
        ("image/png", "iVBORw0KGgo=")
    ]
