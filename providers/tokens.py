"""Counting a request's tokens before it is sent, to refuse one that cannot fit.

OpenAI models are counted with tiktoken (``o200k_base`` for current models, ``cl100k_base``
for older ones) when the encoding is available offline, that is, already in tiktoken's
cache (``TIKTOKEN_CACHE_DIR``, else ``$TMPDIR/data-gym-cache``): tiktoken would otherwise
download it at first use, and the daemon must not hang on a network it may not have.

Everything else (and OpenAI models without a cached encoding) gets the documented estimate:
one token per 4 characters of text, rounded up, plus 4 tokens of framing per message, 8 per
tool call, the JSON of each tool definition counted the same way, and 800 tokens per image.
It is the same rule the solver budgets history with, so the router does not refuse what the
solver deemed to fit. Anthropic and Gemini providers may also offer an exact count through
their count-tokens endpoints; the router asks them only when the estimate is close to the
limit.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from providers.base import AssistantMessage, ChatRequest, ToolResults, UserMessage

IMAGE_TOKENS = 800
MESSAGE_TOKENS = 4
CALL_TOKENS = 8

_ENCODING_URLS = {
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
}


def estimate(text: str) -> int:
    return (len(text) + 3) // 4


def encoding_name(model_id: str) -> str:
    older = ("gpt-4-", "gpt-4", "gpt-3.5")
    if model_id.startswith(older) and not model_id.startswith(("gpt-4o", "gpt-4.1", "gpt-4.5")):
        return "cl100k_base"
    return "o200k_base"


def _cache_dir() -> Path:
    found = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    return Path(found) if found else Path(tempfile.gettempdir()) / "data-gym-cache"


def encoding_cached(name: str) -> bool:
    url = _ENCODING_URLS.get(name)
    if url is None:
        return False
    return (_cache_dir() / hashlib.sha1(url.encode()).hexdigest()).is_file()


@functools.cache
def _tiktoken_counter(name: str) -> Callable[[str], int] | None:
    if not encoding_cached(name):
        return None
    try:
        import tiktoken

        encoding = tiktoken.get_encoding(name)
    except Exception:
        return None
    return lambda text: len(encoding.encode(text, disallowed_special=()))


def counter_for(provider: str, model_id: str) -> tuple[Callable[[str], int], str]:
    """The text counter for a model, and its method's name ("tiktoken:o200k_base"/"estimate")."""
    if provider == "openai":
        name = encoding_name(model_id)
        exact = _tiktoken_counter(name)
        if exact is not None:
            return exact, f"tiktoken:{name}"
    return estimate, "estimate"


def count_request(request: ChatRequest, provider: str, model_id: str) -> int:
    """Input tokens of ``request`` as ``provider`` would count them (exactly or estimated)."""
    count, _ = counter_for(provider, model_id)
    total = count(request.system) + MESSAGE_TOKENS if request.system else 0
    for tool in request.tools:
        total += count(tool.name + tool.description + json.dumps(dict(tool.parameters)))
    for message in request.messages:
        total += MESSAGE_TOKENS
        match message:
            case UserMessage(text=text, images=images):
                total += count(text) + IMAGE_TOKENS * len(images)
            case AssistantMessage(text=text, thinking=thinking, tool_calls=calls):
                total += count(text)
                total += sum(count(t.text or t.redacted or "") for t in thinking)
                total += sum(
                    count(c.name + json.dumps(dict(c.arguments))) + CALL_TOKENS for c in calls
                )
            case ToolResults(results=results):
                total += sum(count(r.content) + MESSAGE_TOKENS for r in results)
    return total
