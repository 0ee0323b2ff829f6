"""Inline completions: the standard ``textDocument/inlineCompletion`` (LSP 3.18), plus what
``deputydev/status`` says of them. No custom method: editors use their own client."""

from __future__ import annotations

from protocol.base import WireModel


class CompletionDay(WireModel):
    """A day's counts (local date), over every model and every daemon on the machine."""

    day: str | None = None  # YYYY-MM-DD (in ``days``)
    requests: int = 0
    suggestions: int = 0
    cache_hits: int = 0
    model_calls: int = 0
    cancelled: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


class CompletionStatus(WireModel):
    model: str | None = None  # [completion] model; None: inline completions are off
    style: str | None = None  # how the model fills in the middle (suffix, mistral, chat, ...)
    today: CompletionDay = CompletionDay()
    days: list[CompletionDay] = []  # the last 7 days with completions, newest first
    daily_budget_usd: float | None = None
    budget_reached: bool = False
    last_error: str | None = None
