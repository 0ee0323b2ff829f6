"""Anthropic's Messages stream on the fake server's wire: named SSE events, as documented.

    event: message_start         the message, with input and cache usage
    event: ping
    event: content_block_start   text | thinking | redacted_thinking | tool_use
    event: content_block_delta   text_delta | thinking_delta | signature_delta | input_json_delta
    event: content_block_stop
    event: message_delta         stop_reason and the cumulative output usage
    event: message_stop

Consecutive :class:`Text` steps share one text block (one delta each); every other step is a
block of its own. A reply with ``status == 200`` and an ``error`` body ends with an ``error``
event instead of ``message_delta``/``message_stop``: Anthropic's mid-stream failure (for
example ``{"type": "overloaded_error", "message": "Overloaded"}``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tests.fakes.llm_server import Call, Redacted, Reply, Text, Thinking, split_arguments, sse


def render(reply: Reply, body: Any) -> Iterator[bytes]:
    model = body.get("model", "claude-fake") if isinstance(body, Mapping) else "claude-fake"
    yield sse(
        {
            "type": "message_start",
            "message": {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": reply.tokens("input"),
                    "output_tokens": 1,
                    "cache_creation_input_tokens": reply.tokens("cache_write"),
                    "cache_read_input_tokens": reply.tokens("cache_read"),
                },
            },
        },
        event="message_start",
    )
    yield sse({"type": "ping"}, event="ping")

    index = -1
    open_text = False
    for step in reply.steps:
        if open_text and not isinstance(step, Text):
            yield _stop(index)
            open_text = False
        match step:
            case Text(text=text):
                if not open_text:
                    index += 1
                    open_text = True
                    yield _start(index, {"type": "text", "text": ""})
                yield _delta(index, {"type": "text_delta", "text": text})
            case Thinking(text=text, signature=signature):
                index += 1
                yield _start(index, {"type": "thinking", "thinking": "", "signature": ""})
                yield _delta(index, {"type": "thinking_delta", "thinking": text})
                yield _delta(index, {"type": "signature_delta", "signature": signature})
                yield _stop(index)
            case Redacted(data=data):
                index += 1
                yield _start(index, {"type": "redacted_thinking", "data": data})
                yield _stop(index)
            case Call():
                index += 1
                yield _start(
                    index, {"type": "tool_use", "id": step.id, "name": step.name, "input": {}}
                )
                for part in split_arguments(step.raw_arguments):
                    yield _delta(index, {"type": "input_json_delta", "partial_json": part})
                yield _stop(index)
    if open_text:
        yield _stop(index)

    if reply.error is not None:
        yield sse({"type": "error", "error": reply.error}, event="error")
        return
    finish = reply.finish or ("tool_use" if reply.calls else "end_turn")
    usage: dict[str, Any] = {"output_tokens": reply.tokens("output")}
    if reply.tokens("reasoning"):
        usage["output_tokens_details"] = {"thinking_tokens": reply.tokens("reasoning")}
    yield sse(
        {
            "type": "message_delta",
            "delta": {"stop_reason": finish, "stop_sequence": None},
            "usage": usage,
        },
        event="message_delta",
    )
    yield sse({"type": "message_stop"}, event="message_stop")


def _start(index: int, block: dict[str, Any]) -> bytes:
    return sse(
        {"type": "content_block_start", "index": index, "content_block": block},
        event="content_block_start",
    )


def _delta(index: int, delta: dict[str, Any]) -> bytes:
    return sse(
        {"type": "content_block_delta", "index": index, "delta": delta},
        event="content_block_delta",
    )


def _stop(index: int) -> bytes:
    return sse({"type": "content_block_stop", "index": index}, event="content_block_stop")
