"""Agents: a system prompt, the tools it may use and, optionally, its own model.

Four are built in; users add their own under ``[solver.agents.NAME]``. When a query names
none, the cheap model picks one from their descriptions, within a short timeout, and the
general agent answers otherwise: choosing must never delay the answer by more than that.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from daemon.solver.ports import ModelRouter
from providers.base import ChatRequest, TextDelta, UserMessage

log = logging.getLogger(__name__)

READ_TOOLS = (
    "code_search",
    "team_code_search",
    "symbol_search",
    "grep_search",
    "file_path_search",
    "read_file",
    "list_directory",
    "git",
    "fetch_work_item",
    "search_issues",
    "list_pull_requests",
)

BASE_PROMPT = (
    "You are DeputyDev, a coding assistant working inside the user's workspace. "
    "Use the tools to look at the code before you answer; cite files as path:line. "
    "Paths are relative to the workspace root. Be concise and exact."
)


@dataclass(frozen=True, slots=True)
class Agent:
    name: str
    description: str
    prompt: str
    tools: tuple[str, ...] | None = None  # None: every tool
    model: str | None = None


BUILTIN_AGENTS: dict[str, Agent] = {
    a.name: a
    for a in (
        Agent(
            "general",
            "Answers questions about the code and does small tasks.",
            BASE_PROMPT,
        ),
        Agent(
            "code_writer",
            "Writes or changes code: features, fixes, refactors.",
            BASE_PROMPT
            + " You change code: read the relevant files first, then make focused edits with"
            " replace_in_file or write_file, and say what you changed.",
        ),
        Agent(
            "explainer",
            "Explains how code works, without changing it.",
            BASE_PROMPT
            + " You explain: trace the code paths involved and explain them step by step."
            " Never edit files.",
            tools=READ_TOOLS,
        ),
        Agent(
            "test_writer",
            "Writes and runs tests for existing code.",
            BASE_PROMPT
            + " You write tests: find the code under test and the project's test conventions,"
            " write tests in that style, and run them with execute_command.",
        ),
    )
}
DEFAULT_AGENT = "general"


def all_agents(user: Mapping[str, Agent]) -> dict[str, Agent]:
    return {**BUILTIN_AGENTS, **user}


async def pick_agent(
    router: ModelRouter,
    query: str,
    agents: Mapping[str, Agent],
    *,
    cheap_model: str | None,
    timeout_s: float,
) -> str:
    """The agent the cheap model names for this query, else the default."""
    if cheap_model is None or len(agents) < 2:
        return DEFAULT_AGENT
    menu = "\n".join(f"{a.name}: {a.description}" for a in agents.values())
    prompt = (
        f"Pick the assistant best suited to this request. Reply with its name only.\n\n"
        f"{menu}\n\nRequest: {query[:2000]}"
    )
    try:
        reply = await asyncio.wait_for(_complete(router, prompt, cheap_model), timeout_s)
    except Exception as exc:  # the choice is a nicety: any failure means the default
        log.info("agent choice fell back to %s: %r", DEFAULT_AGENT, exc)
        return DEFAULT_AGENT
    words = reply.strip().strip("`'\".").lower().split()
    return words[0] if words and words[0] in agents else DEFAULT_AGENT


async def make_title(
    router: ModelRouter, query: str, *, cheap_model: str | None, timeout_s: float
) -> str:
    """A short title for a new session: the cheap model's, else the query's first words."""
    fallback = first_words(query)
    if cheap_model is None:
        return fallback
    prompt = f"Write a title of at most six words for this request. Reply with it only.\n\n{query}"
    try:
        reply = await asyncio.wait_for(_complete(router, prompt[:4000], cheap_model), timeout_s)
    except Exception as exc:
        log.info("session title fell back to the query: %r", exc)
        return fallback
    title = " ".join(reply.strip().strip("\"'").split())[:80]
    return title or fallback


def first_words(text: str, count: int = 8) -> str:
    words = text.split()
    title = " ".join(words[:count])
    return (title + ("…" if len(words) > count else ""))[:80] or "New session"


async def make_summary(
    router: ModelRouter,
    query: str,
    answer: str,
    tools_used: Sequence[str],
    *,
    cheap_model: str,
    timeout_s: float,
) -> str | None:
    """A few sentences that can stand for a finished turn when the history must shrink.

    None when the cheap model fails or times out: the turn then keeps the summary built from
    its question and answer (``context.fallback_summary``).
    """
    used = f"\nTools used: {', '.join(sorted(set(tools_used)))}" if tools_used else ""
    prompt = (
        "Summarise this exchange between a developer and a coding assistant in at most 120 "
        "words, so that it can replace it later in the conversation. Keep file paths, symbol "
        "names, decisions and open questions. Reply with the summary only.\n\n"
        f"Question: {query[:6000]}\n\nAnswer: {answer[:12000]}{used}"
    )
    try:
        reply = await asyncio.wait_for(
            _complete(router, prompt, cheap_model, max_tokens=300), timeout_s
        )
    except Exception as exc:
        log.info("turn summary left to the fallback: %r", exc)
        return None
    return reply.strip() or None


async def _complete(router: ModelRouter, prompt: str, model: str, max_tokens: int = 30) -> str:
    spec = router.resolve(model)
    request = ChatRequest(
        model=spec.model_id, messages=(UserMessage(prompt),), max_output_tokens=max_tokens
    )
    parts: list[str] = []
    async for event in router.stream(request, model=model):
        if isinstance(event, TextDelta):
            parts.append(event.text)
    return "".join(parts)


def tool_names(agent: Agent, available: Sequence[str]) -> list[str]:
    """The tools ``agent`` may use; ``SERVER__*`` in its list names every tool of that MCP
    server."""
    if agent.tools is None:
        return list(available)
    out: list[str] = []
    for name in agent.tools:
        if name.endswith("__*"):
            out += [a for a in available if a.startswith(name[:-1]) and a not in out]
        elif name in available and name not in out:
            out.append(name)
    return out
