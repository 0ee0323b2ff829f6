"""Fill-in-the-middle wire formats for the fake provider server (``tests.fakes.llm_server``).

- ``render_completions``: OpenAI's legacy ``/v1/completions`` stream, as Ollama, llama.cpp,
  vLLM, LM Studio and DeepSeek's beta endpoint send it for ``prompt`` + ``suffix``:
  ``text_completion`` chunks with ``choices[0].text``, a last chunk with the finish reason,
  the usage chunk when ``stream_options.include_usage`` asks for it, then ``[DONE]``.
- ``render_mistral_fim``: Mistral's ``/v1/fim/completions`` (Codestral) stream: chat
  completion chunks (``choices[0].delta.content``), the usage in the last one, ``[DONE]``.

Only :class:`~tests.fakes.llm_server.Text` steps are sent; a completion has no tools.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from tests.fakes.llm_server import Reply, Text, sse


def _model(body: Any) -> str:
    return str(body.get("model", "fake")) if isinstance(body, Mapping) else "fake"


def _usage(reply: Reply) -> dict[str, int]:
    prompt = reply.tokens("input") + reply.tokens("cache_read")
    return {
        "prompt_tokens": prompt,
        "completion_tokens": reply.tokens("output"),
        "total_tokens": prompt + reply.tokens("output"),
    }


def render_completions(reply: Reply, body: Any) -> Iterator[bytes]:
    created = int(time.time())
    model = _model(body)

    def chunk(text: str, finish: str | None = None) -> bytes:
        choice = {"text": text, "index": 0, "logprobs": None, "finish_reason": finish}
        return sse(
            {
                "id": "cmpl-fake",
                "object": "text_completion",
                "created": created,
                "model": model,
                "choices": [choice],
            }
        )

    for step in reply.steps:
        if isinstance(step, Text):
            yield chunk(step.text)
    yield chunk("", reply.finish or "stop")
    options = body.get("stream_options") if isinstance(body, Mapping) else None
    if isinstance(options, Mapping) and options.get("include_usage"):
        yield sse(
            {
                "id": "cmpl-fake",
                "object": "text_completion",
                "created": created,
                "model": model,
                "choices": [],
                "usage": _usage(reply),
            }
        )
    yield b"data: [DONE]\n\n"


def render_mistral_fim(reply: Reply, body: Any) -> Iterator[bytes]:
    created = int(time.time())
    model = _model(body)

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        return sse(
            {
                "id": "fim-fake",
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
        )

    yield chunk({"role": "assistant", "content": ""})
    for step in reply.steps:
        if isinstance(step, Text):
            yield chunk({"content": step.text})
    yield chunk({"content": ""}, reply.finish or "stop", usage=_usage(reply))
    yield b"data: [DONE]\n\n"
