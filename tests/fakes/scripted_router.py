"""A daemon plugin (DEPUTYDEV_PLUGINS) that answers queries from a script, in process.

The solver talks to a router; until the providers' router and its on-the-wire fake server
are available, end-to-end tests of the query path give the daemon this router instead. It
reads its steps from the JSON file named by ``DEPUTYDEV_TEST_SCRIPT`` and appends each
request it receives, as JSON, to ``DEPUTYDEV_TEST_RECORD``, so a test can assert on what
the model was sent.

Script: a list of steps, each a list of actions: ``{"text": "..."}``,
``{"call": [id, name, {arguments}]}``, ``{"hang": true}`` (stream forever after what came
before, until cancelled), ``{"fail": "RateLimited", "message": ..., **data}`` (raise that
``providers.errors`` class). A step that does not hang ends with Finished and a CallRecord.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from providers.base import (
    AssistantMessage,
    CallRecord,
    ChatRequest,
    Event,
    Finished,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    ToolResults,
    Usage,
    UserMessage,
)

if TYPE_CHECKING:
    from daemon.server import DeputyServer

SCRIPT_ENV = "DEPUTYDEV_TEST_SCRIPT"
RECORD_ENV = "DEPUTYDEV_TEST_RECORD"


@dataclass(frozen=True)
class Spec:
    name: str
    model_id: str
    context_window: int = 200_000
    max_output_tokens: int = 8_000


def _message(message: Any) -> dict[str, Any]:
    if isinstance(message, UserMessage):
        return {"role": "user", "text": message.text}
    if isinstance(message, AssistantMessage):
        return {
            "role": "assistant",
            "text": message.text,
            "tool_calls": [[c.call_id, c.name, dict(c.arguments)] for c in message.tool_calls],
        }
    assert isinstance(message, ToolResults)
    return {
        "role": "tool",
        "results": [[r.call_id, r.name, r.content, r.is_error] for r in message.results],
    }


class ScriptedRouter:
    def __init__(self, script: Path, record: Path) -> None:
        self.script = script
        self.record = record
        self.step = 0

    def resolve(self, name: str | None) -> Spec:
        name = name or "scripted"
        return Spec(name, f"{name}-v1")

    def stream(
        self,
        request: ChatRequest,
        *,
        model: str | None = None,
        fallbacks: Sequence[str] | None = None,
    ) -> AsyncIterator[Event]:
        return self._stream(request, model or "scripted")

    async def _stream(self, request: ChatRequest, model: str) -> AsyncIterator[Event]:
        steps = json.loads(self.script.read_text())
        actions: list[dict[str, Any]] = (
            steps[self.step] if self.step < len(steps) else [{"text": "(script ended)"}]
        )
        self.step += 1
        entry = {
            "model": model,
            "system": request.system,
            "tools": [t.name for t in request.tools],
            "messages": [_message(m) for m in request.messages],
        }
        with self.record.open("a") as out:
            out.write(json.dumps(entry) + "\n")
        calls = False
        for action in actions:
            await asyncio.sleep(0)
            if "text" in action:
                yield TextDelta(action["text"])
            elif "call" in action:
                call_id, name, arguments = action["call"]
                calls = True
                yield ToolCallEvent(ToolCall(call_id, name, arguments))
            elif action.get("hang"):
                await asyncio.Event().wait()
            elif "fail" in action:
                from providers import errors

                data = {k: v for k, v in action.items() if k not in ("fail", "message")}
                raise getattr(errors, action["fail"])(action.get("message", "failed"), **data)
        usage = Usage(100, 20)
        yield Finished("tool_use" if calls else "stop", usage)
        yield CallRecord(model, "scripted", f"{model}-v1", usage, 0.001, 5.0, 10.0)


def register(server: DeputyServer) -> None:
    from daemon.solver.service import QueryService

    script = Path(os.environ[SCRIPT_ENV])
    record = Path(os.environ[RECORD_ENV])
    server.service(QueryService).router_factory = lambda: ScriptedRouter(script, record)
