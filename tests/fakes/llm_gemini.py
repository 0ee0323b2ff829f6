"""Gemini's ``streamGenerateContent?alt=sse`` on the fake server's wire.

Each chunk is ``data: {GenerateContentResponse}``: one candidate whose content holds the
step's part (``text``; ``text`` with ``thought: true`` and a base64 ``thoughtSignature``;
``functionCall``). The last chunk carries ``finishReason`` and ``usageMetadata``, spelled as
Gemini does: ``promptTokenCount`` includes the cached tokens, and ``thoughtsTokenCount`` is
counted apart from ``candidatesTokenCount``.

Consecutive :class:`Call` steps share one chunk, as Gemini sends parallel calls. A call with
an empty id is sent without one (the Gemini API usually omits it). Arguments that are not
valid JSON cannot occur on this wire (Gemini sends objects); they are sent as ``{}``.
:class:`Redacted` has no Gemini form and is skipped. A reply with ``status == 200`` and an
``error`` body ends with a ``data: {"error": ...}`` chunk, Gemini's mid-stream failure.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from typing import Any

from tests.fakes.llm_server import Call, Redacted, Reply, Text, Thinking, sse


def render(reply: Reply, body: Any) -> Iterator[bytes]:
    calls: list[dict[str, Any]] = []
    for step in reply.steps:
        if calls and not isinstance(step, Call):
            yield _chunk(calls)
            calls = []
        match step:
            case Text(text=text):
                yield _chunk([{"text": text}])
            case Thinking(text=text, signature=signature):
                signed = base64.b64encode(signature.encode()).decode("ascii")
                yield _chunk([{"text": text, "thought": True, "thoughtSignature": signed}])
            case Redacted():
                pass
            case Call():
                call: dict[str, Any] = {"name": step.name, "args": _arguments(step)}
                if step.id:
                    call["id"] = step.id
                calls.append({"functionCall": call})
    if calls:
        yield _chunk(calls)
    if reply.error is not None:
        yield sse({"error": reply.error})
        return
    cached = reply.tokens("cache_read")
    prompt = reply.tokens("input") + cached
    thoughts = reply.tokens("reasoning")
    candidates = reply.tokens("output") - thoughts
    usage: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates + thoughts,
    }
    if cached:
        usage["cachedContentTokenCount"] = cached
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    yield _chunk([{"text": ""}], finish=reply.finish or "STOP", usage=usage)


def _arguments(call: Call) -> dict[str, Any]:
    if isinstance(call.arguments, Mapping):
        return dict(call.arguments)
    try:
        parsed = json.loads(call.arguments)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _chunk(
    parts: list[dict[str, Any]], finish: str | None = None, usage: dict[str, Any] | None = None
) -> bytes:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish is not None:
        candidate["finishReason"] = finish
    response: dict[str, Any] = {
        "candidates": [candidate],
        "modelVersion": "gemini-fake",
        "responseId": "fake-response",
    }
    if usage is not None:
        response["usageMetadata"] = usage
    return sse(response)
