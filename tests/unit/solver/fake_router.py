"""An in-process router that streams scripted providers.base events and records requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from providers.base import (
    CallRecord,
    ChatRequest,
    Event,
    Finished,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    Usage,
)

Script = list[Event] | Callable[[ChatRequest], AsyncIterator[Event]]


@dataclass(frozen=True)
class Spec:
    name: str
    model_id: str
    context_window: int = 100_000
    max_output_tokens: int = 4_000
    images: bool = True


@dataclass
class FakeRouter:
    scripts: list[Script] = field(default_factory=list)
    requests: list[ChatRequest] = field(default_factory=list)
    models: list[str | None] = field(default_factory=list)
    context_window: int = 100_000
    cheap: Callable[[ChatRequest], str] | None = None

    def resolve(self, name: str | None) -> Spec:
        name = name or "main"
        return Spec(name, f"{name}-id", self.context_window)

    def stream(
        self,
        request: ChatRequest,
        *,
        model: str | None = None,
        fallbacks: Sequence[str] | None = None,
    ) -> AsyncIterator[Event]:
        return self._stream(request, model)

    async def _stream(self, request: ChatRequest, model: str | None) -> AsyncIterator[Event]:
        if model == "cheap":
            assert self.cheap is not None
            yield TextDelta(self.cheap(request))
            return
        self.requests.append(request)
        self.models.append(model)
        script = self.scripts.pop(0)
        if callable(script):
            async for event in script(request):
                yield event
            return
        for event in script:
            await asyncio.sleep(0)
            yield event


def reply(text: str, *, cost: float = 0.01) -> list[Event]:
    return [
        TextDelta(text),
        Finished("stop", Usage(10, 5)),
        CallRecord("main", "fake", "main-id", Usage(10, 5), cost, 1.0, 2.0),
    ]


def calls(*tool_calls: tuple[str, str, dict[str, object]]) -> list[Event]:
    events: list[Event] = [
        ToolCallEvent(ToolCall(cid, name, args)) for cid, name, args in tool_calls
    ]
    return [*events, Finished("tool_use", Usage(10, 5))]
