"""What the provider tests share: tool definitions, and cancelling a stream mid-answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from providers.base import Event, TextDelta, ToolSpec

READ = ToolSpec(
    "read_file",
    "Read a file",
    {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)
GREP = ToolSpec("grep", "Search", {"type": "object", "properties": {"q": {"type": "string"}}})


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
