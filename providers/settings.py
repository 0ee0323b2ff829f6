"""Settings of the providers package (owned by providers; the daemon nests it in its tree).

    [providers]
    default_model = "claude-sonnet"
    fallbacks = ["gpt", "gemini", "local"]

    [providers.anthropic]          # one ConnectionSettings per provider kind
    api_key = "..."                # else ANTHROPIC_API_KEY
    base_url = "..."               # else ANTHROPIC_BASE_URL

Keys given here are ``SecretStr`` so that no repr or log shows them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, SecretStr
from pydantic.alias_generators import to_camel


class _Section(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )


class ConnectionSettings(_Section):
    """How to reach one provider. Unset fields fall back to the SDK's own environment."""

    api_key: SecretStr | None = None
    base_url: str | None = None
    # Seconds: the whole request, and the connection alone.
    timeout_s: float = 600.0
    connect_timeout_s: float = 10.0
    # Gemini only: Vertex AI instead of the Gemini API key.
    vertex: bool = False
    project: str | None = None
    location: str | None = None


class ProvidersSettings(_Section):
    default_model: str | None = None
    cheap_model: str | None = None
    fallbacks: tuple[str, ...] = ()
    openai: ConnectionSettings = ConnectionSettings()
    anthropic: ConnectionSettings = ConnectionSettings()
    gemini: ConnectionSettings = ConnectionSettings()
