"""Settings of daemon/solver (nested in the daemon's settings tree as `solver`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

# Files whose content is a secret more often than not: never indexed, never shown to the
# model (daemon/tools/secrets.py has the rules: gitignore-style, in order, the last match
# wins, "!" negates; a pattern without "/" matches the file name, one with "/" the path or
# any tail of it). Files holding a private key block or a service-account key are secret
# by their content as well, whatever their name.
_DATA_EXTENSIONS = ("yaml", "yml", "json", "toml", "ini", "env", "txt", "conf", "properties")
DEFAULT_SECRET_PATTERNS: tuple[str, ...] = (
    ".env",
    ".env.*",
    "*.env",
    ".envrc",
    # keys and certificate stores
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.ppk",
    "*.kdbx",
    "*.gpg",
    # SSH keys: id_* without an extension (id_rsa, id_ed25519, id_work), never the .pub
    "id_*",
    "!id_*.*",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "!*.pub",
    # credentials of tools
    ".netrc",
    "_netrc",
    ".pgpass",
    ".git-credentials",
    ".npmrc",
    ".yarnrc.yml",
    ".pypirc",
    ".htpasswd",
    ".aws/credentials",
    ".docker/config.json",
    ".kube/config",
    ".ssh/*",
    "!.ssh/*.pub",
    "!.ssh/known_hosts",
    "!.ssh/config",
    "credentials",
    "credentials.json",
    "client_secret*.json",
    "*service-account*.json",
    "*service_account*.json",
    "*serviceaccount*.json",
    # secrets.yaml and the like (data files; secrets.py is code)
    *(f"{stem}.{ext}" for stem in ("secrets", "secret") for ext in _DATA_EXTENSIONS),
    "*.tfstate",
    "*.tfstate.*",
    "*.tfvars",
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
    # Argv prefixes ("pytest", "git status") of commands that run without asking, when
    # nothing beyond the prefix can run code (daemon.tools.shell.approval); the rest asks.
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
