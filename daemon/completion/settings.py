"""``[completion]``: inline completions as you type (``textDocument/inlineCompletion``).

    [completion]
    model = "codestral"          # a model name of [providers]; unset: no inline completions
    daily_budget_usd = 1.0       # stop for the day once completions cost this much

    [completion.shares]          # each part's share of context_tokens
    prefix = 0.5
    definitions = 0.12

Naming a model turns the feature on: the capability is advertised at ``initialize``. The
model's registry entry says how it fills in the middle (``providers.fim``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel


class _Section(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )


class ContextShares(_Section):
    """Each part's weight in the prompt's token budget; the weights are taken relative to
    their sum, and 0 leaves a part out. What a part does not use goes to the text before
    and after the cursor, in their ratio."""

    prefix: float = Field(default=0.50, ge=0, le=100)  # the file before the cursor
    suffix: float = Field(default=0.15, ge=0, le=100)  # and after it
    definitions: float = Field(default=0.12, ge=0, le=100)  # of names used near the cursor
    callers: float = Field(default=0.05, ge=0, le=100)  # signatures calling this function
    neighbours: float = Field(default=0.12, ge=0, le=100)  # similar code in open buffers
    imports: float = Field(default=0.06, ge=0, le=100)  # the file's, when its top is cut

    @model_validator(mode="after")
    def _some_file_text(self) -> ContextShares:
        if self.prefix + self.suffix <= 0:
            raise ValueError("prefix and suffix cannot both be 0")
        return self

    def fraction(self, part: str) -> float:
        total = (
            self.prefix
            + self.suffix
            + self.definitions
            + self.callers
            + self.neighbours
            + self.imports
        )
        return float(getattr(self, part)) / total


class CompletionSettings(_Section):
    model: str | None = None
    max_output_tokens: int = Field(default=128, ge=1, le=4096)
    max_lines: int = Field(default=16, ge=1, le=500)
    temperature: float = Field(default=0.0, ge=0, le=2)
    # More stop sequences, after the model's own.
    stop: tuple[str, ...] = ()
    # The prompt's budget, in tokens (4 characters each), and how it is shared.
    context_tokens: int = Field(default=2048, ge=64, le=200_000)
    shares: ContextShares = ContextShares()
    # How long a request waits for the index (definitions, callers) before it goes without;
    # lookups still running finish in the background for the next keystroke.
    context_timeout_ms: int = Field(default=5, ge=0, le=5_000)
    # Wait this long for more typing before an automatic request calls the model.
    debounce_ms: int = Field(default=0, ge=0, le=5_000)
    # The whole model call.
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    # Stop completions for the day once they cost this much (US dollars, local date).
    daily_budget_usd: float | None = Field(default=None, ge=0)
    # Language ids (as the editor names them) never completed.
    exclude_languages: tuple[str, ...] = ()
