"""What the provider tests share: tool definitions, a request and its events, and
cancelling a stream mid-answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from providers.base import ChatRequest, Event, Provider, TextDelta, ToolSpec, UserMessage

READ = ToolSpec(
    "read_file",
    "Read a file",
    {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)
GREP = ToolSpec("grep", "Search", {"type": "object", "properties": {"q": {"type": "string"}}})


def asking(model: str) -> Callable[..., ChatRequest]:
    """``ask(text="hi", **fields)``: a one-message request to ``model``."""

    def ask(text: str = "hi", **fields: Any) -> ChatRequest:
        return ChatRequest(model=model, messages=(UserMessage(text),), **fields)

    return ask


async def collect(provider: Provider, request: ChatRequest) -> list[Event]:
    """Every event of one call, in order."""
    return [event async for event in provider.stream(request)]


async def cancel_after_first_text(stream: AsyncIterator[Event]) -> None:
    """Consume ``stream`` in a task and cancel it as soon as the first text arrives."""
    first = asyncio.Event()

    async def consume() -> None:
        async for event in stream:
            if isinstance(event, TextDelta):
                first.set()

    task = asyncio.create_task(consume())
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
