"""What the model sees: system prompt, workspace rules, focus items and budgeted history.

Token counts are estimated at four characters a token. A real tokenizer (tiktoken) would
need its encodings downloaded, and each provider counts differently anyway; the estimate
errs on the large side for code, and a safety margin covers the rest.

When the history does not fit, the oldest turns go first: a turn is replaced by its stored
summary (or, lacking one, a short account built from its question and answer), and when even
that does not fit, it is left out. A message is never cut in the middle, so a tool call is
always followed by its result.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from providers.base import (
    AssistantMessage,
    ImagePart,
    Message,
    ThinkingBlock,
    ToolCall,
    ToolResult,
    ToolResults,
    ToolSpec,
    UserMessage,
)

RULES_FILES = (".deputydevrules", "AGENTS.md")
MAX_RULES_CHARS = 20_000
# The share of the window kept free for estimation error.
SAFETY = 0.1
INTERRUPTED_RESULT = "(not run: the turn ended before this tool could finish)"


def estimate_tokens(text: str) -> int:
    return len(text) // 4 + 1


def message_tokens(message: Message) -> int:
    match message:
        case UserMessage():
            return estimate_tokens(message.text) + 4
        case AssistantMessage():
            calls = sum(estimate_tokens(json.dumps(c.arguments)) + 8 for c in message.tool_calls)
            thinking = sum(estimate_tokens(t.text or t.redacted or "") for t in message.thinking)
            return estimate_tokens(message.text) + calls + thinking + 4
        case ToolResults():
            return sum(estimate_tokens(r.content) + 8 for r in message.results)
    return 0


def tools_tokens(tools: Sequence[ToolSpec]) -> int:
    return sum(estimate_tokens(t.name + t.description + json.dumps(t.parameters)) for t in tools)


def read_rules(roots: Sequence[Path]) -> str:
    """The first rules file found at each root, so a team's conventions reach every agent."""
    parts: list[str] = []
    for root in roots:
        for name in RULES_FILES:
            path = root / name
            if path.is_file():
                text = path.read_text(encoding="utf-8", errors="replace")[:MAX_RULES_CHARS]
                parts.append(f"Rules from {root.name}/{name}:\n{text.strip()}")
                break
    return "\n\n".join(parts)


@dataclass(frozen=True, slots=True)
class PastTurn:
    """A finished turn as the model will see it again."""

    query: str
    messages: tuple[Message, ...]
    summary: str | None
    final_text: str


def turn_messages(stored: Sequence[Any]) -> tuple[Message, ...]:
    """Stored message rows (daemon.sessions.store.Message) back into provider messages.

    A turn cut short may end with tool calls that have no results; they get an error result
    so that every provider accepts the history.
    """
    out: list[Message] = []
    pending: list[ToolCall] = []

    def close_pending() -> None:
        if pending:
            out.append(
                ToolResults(
                    tuple(
                        ToolResult(c.call_id, c.name, INTERRUPTED_RESULT, is_error=True)
                        for c in pending
                    )
                )
            )
            pending.clear()

    for row in stored:
        content = row.content
        if row.role == "user":
            close_pending()
            out.append(
                UserMessage(
                    text=content.get("text", ""),
                    # A synced copy keeps no pixels (``daemon.sync.pusher``): skip those.
                    images=tuple(
                        ImagePart(i["media_type"], i["data"])
                        for i in content.get("images", ())
                        if isinstance(i, dict) and i.get("data")
                    ),
                )
            )
        elif row.role == "assistant":
            close_pending()
            calls = tuple(
                ToolCall(c["id"], c["name"], c.get("arguments") or {})
                for c in content.get("tool_calls", [])
            )
            thinking = tuple(
                ThinkingBlock(t.get("text", ""), t.get("signature"), t.get("redacted"))
                for t in content.get("thinking", [])
            )
            if content.get("text") or calls or thinking:
                out.append(AssistantMessage(content.get("text", ""), thinking, calls))
            pending.extend(calls)
        elif row.role == "tool":
            results = {
                r["call_id"]: ToolResult(
                    r["call_id"], r["name"], r["content"], bool(r.get("is_error"))
                )
                for r in content.get("results", [])
            }
            if pending:
                out.append(
                    ToolResults(
                        tuple(
                            results.get(c.call_id)
                            or ToolResult(c.call_id, c.name, INTERRUPTED_RESULT, True)
                            for c in pending
                        )
                    )
                )
                pending.clear()
    close_pending()
    # A turn must end with the assistant speaking, so the next user message alternates.
    if out and not isinstance(out[-1], AssistantMessage):
        out.append(AssistantMessage(text="(this turn ended without an answer)"))
    return tuple(out)


def fallback_summary(turn: PastTurn) -> str:
    answer = " ".join(turn.final_text.split())[:400]
    return f"Earlier the user asked: {turn.query[:400]}\nThe answer was: {answer or '(none)'}"


def budget_history(past: Sequence[PastTurn], budget: int) -> tuple[list[Message], int]:
    """Newest turns in full while they fit, then summaries, then nothing; returns the
    messages (oldest first) and how many turns were summarised or dropped."""
    kept: list[tuple[Message, ...]] = []
    reduced = 0
    remaining = budget
    full = True
    for turn in reversed(past):
        cost = sum(message_tokens(m) for m in turn.messages)
        if full and turn.messages and cost <= remaining:
            kept.append(turn.messages)
            remaining -= cost
            continue
        full = False  # once one turn is reduced, every older one is too: no holes
        reduced += 1
        summary = turn.summary or fallback_summary(turn)
        pair = (
            UserMessage(text=f"(summary of an earlier exchange)\n{summary}"),
            AssistantMessage(text="Understood."),
        )
        cost = sum(message_tokens(m) for m in pair)
        if cost <= remaining:
            kept.append(pair)
            remaining -= cost
    messages = [m for group in reversed(kept) for m in group]
    return messages, reduced


def fit_current(messages: list[Message], budget: int) -> list[Message]:
    """Within the running turn, shrink the oldest tool results first when over budget."""
    total = sum(message_tokens(m) for m in messages)
    if total <= budget:
        return messages
    out = list(messages)
    for i, message in enumerate(out[:-1]):
        if total <= budget:
            break
        if isinstance(message, ToolResults):
            shrunk = ToolResults(
                tuple(
                    ToolResult(
                        r.call_id,
                        r.name,
                        f"[result of {len(r.content)} characters omitted to fit the context;"
                        " call the tool again if needed]",
                        r.is_error,
                    )
                    for r in message.results
                )
            )
            total -= message_tokens(message) - message_tokens(shrunk)
            out[i] = shrunk
    return out
