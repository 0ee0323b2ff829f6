"""Settings of daemon/review (nested in the daemon's settings tree as ``review``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class _Section(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )


class ReviewAgentSettings(_Section):
    """A reviewer of your own, under ``[review.agents.NAME]``."""

    prompt: str = Field(min_length=1)
    description: str = ""
    model: str | None = None
    # Only files whose path matches one of these (fnmatch, e.g. "src/**/*.py"); all if empty.
    globs: tuple[str, ...] = ()
    # Runs when a review names no agents; false keeps it for reviews that name it.
    default: bool = True


class ReviewSettings(_Section):
    # The built-in reviewers that run when a review names none (custom ones are added).
    builtin: tuple[str, ...] = (
        "security",
        "correctness",
        "performance",
        "maintainability",
        "tests",
    )
    agents: dict[str, ReviewAgentSettings] = {}
    # The reviewers' model (default: providers.defaultModel) and the validation pass's
    # (default: providers.cheapModel, else the reviewers').
    model: str | None = None
    validation_model: str | None = None
    # Findings below this confidence are dropped.
    min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    # Findings outside the changed lines are dropped unless at least this severe.
    keep_outside: Literal["error", "warning", "info", "none"] = "error"
    # Lines of surrounding code in the diff each reviewer reads.
    context_lines: int = Field(default=10, ge=0, le=200)
    # Tool-using steps each reviewer may take per batch.
    max_steps: int = Field(default=12, ge=1, le=100)
    # At most this many batches (model windows) per review; files beyond are skipped, and
    # the result says which.
    max_batches: int = Field(default=12, ge=1, le=200)
    # Reviewers that run at the same time.
    parallel: int = Field(default=5, ge=1, le=32)
    # The base branch of "branch" reviews (default: the remote's default branch).
    base: str | None = None
