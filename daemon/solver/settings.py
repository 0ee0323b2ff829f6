"""Settings of daemon/solver (nested in the daemon's settings tree as `solver`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

# Files whose content is a secret more often than not; the model cannot read them unless
# ``tools.allowSecretFiles`` says so. Matched against the file name and the relative path.
DEFAULT_SECRET_PATTERNS: tuple[str, ...] = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "id_rsa*",
    "id_ed25519*",
    "*.keystore",
    ".netrc",
    ".pgpass",
    "credentials.json",
    "secrets.*",
    ".aws/credentials",
)


class _Section(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )


class ToolSettings(_Section):
    max_output_chars: int = Field(default=20_000, ge=1_000)
    allow_secret_files: bool = False
    secret_patterns: tuple[str, ...] = DEFAULT_SECRET_PATTERNS
    command_timeout_s: float = Field(default=60.0, gt=0)
    # How long any other tool call may work (waiting on the user aside) before it is stopped.
    timeout_s: float = Field(default=30.0, gt=0, le=3600)
    # grep_search's engine: ripgrep (linear time, in its own process) when installed, else a
    # Python process that is killed at the time limit; "python" forces the latter.
    grep_engine: Literal["auto", "ripgrep", "python"] = "auto"
    # Commands (first word) that run without asking; everything else asks the editor.
    command_allow: tuple[str, ...] = ()
    # Write files directly when the editor cannot apply edits itself (no applyEdit).
    direct_write: bool = False


class AgentSettings(_Section):
    """A user's own agent, under ``[solver.agents.NAME]``."""

    description: str
    prompt: str
    tools: tuple[str, ...] | None = None
    model: str | None = None


class SolverSettings(_Section):
    max_steps: int = Field(default=30, ge=1, le=500)
    # Reasoning level when the query sets none: none, low, medium or high.
    reasoning: Literal["none", "low", "medium", "high"] = "none"
    # How long the cheap model may take to pick an agent or a title before the default wins.
    choice_timeout_s: float = Field(default=2.0, gt=0, le=30)
    agents: dict[str, AgentSettings] = {}
    tools: ToolSettings = ToolSettings()
