"""Settings of the providers package (owned by providers; the daemon nests it in its tree).

    [providers]
    default_model = "claude-sonnet"
    fallbacks = ["gpt", "gemini", "local"]
    max_retries = 2                # per model, before the next fallback is tried

    [providers.anthropic]          # one ConnectionSettings per provider kind
    api_key = "..."                # else ANTHROPIC_API_KEY
    base_url = "..."               # else ANTHROPIC_BASE_URL

    [providers.servers.openrouter] # an OpenAI-compatible server, by name
    base_url = "https://openrouter.ai/api/v1"
    api_key_env = "OPENROUTER_API_KEY"

    [providers.models.qwen]        # a model: a shipped name's fields are overridden,
    provider = "compatible"        # a new name needs provider and model_id
    server = "openrouter"
    model_id = "qwen/qwen3-coder"
    context_window = 262144

An entry that cannot be completed (a new name without provider or model_id, an unknown
server) is left out of the registry and reported by ``deputydev doctor`` and
``deputydev/models``; the rest of the section still applies. Model entries live under
``[providers.models.NAME]`` (not a top-level ``[models]``) so that the whole provider
configuration is one section this package owns. Keys given here are ``SecretStr`` so that
no repr or log shows them.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic.alias_generators import to_camel

from providers.base import Reasoning

ProviderKind = Literal[
    "openai", "anthropic", "gemini", "compatible", "openrouter", "bedrock", "vertex"
]
Api = Literal["chat", "responses"]
# How a model fills in the middle (code completion): see providers.fim.
Fim = Literal[
    "chat", "suffix", "mistral", "qwen", "starcoder", "deepseek", "codellama", "codestral"
]


class _Section(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )


def http_url(url: str | None) -> str | None:
    """``url`` if an HTTP client can use it: http(s), a host, a numeric port. Checked with
    the settings, so that a typo is a configuration error naming its key rather than a
    failure of the first call; the message never repeats the URL, which may hold a key."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ValueError(f"is not a valid URL ({exc})") from None
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        port = parts.netloc.rpartition("@")[2].rpartition(":")[2]
        raise ValueError(f"the port {port!r} is not a number from 0 to 65535") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return url


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

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        return http_url(url)


class ServerSettings(ConnectionSettings):
    """An OpenAI-compatible server (Ollama, vLLM, LM Studio, llama.cpp, OpenRouter).

    No key is needed for a local server; ``api_key_env`` names the variable to read one from.
    """

    base_url: str | None = None
    api_key_env: str | None = None


class OpenRouterSettings(ConnectionSettings):
    """OpenRouter (``openrouter/<id>`` models). The key: ``api_key``, else OPENROUTER_API_KEY.

    ``referer`` and ``title`` are sent as ``HTTP-Referer`` and ``X-Title``, which OpenRouter
    asks apps to send to attribute their traffic; an empty string sends none.
    """

    base_url: str | None = "https://openrouter.ai/api/v1"
    referer: str = "https://deputydev.ai"
    title: str = "DeputyDev"
    # Seconds before the model catalogue (GET /models) is fetched again.
    catalogue_ttl_s: float = Field(default=86_400.0, ge=0)


class BedrockSettings(_Section):
    """Anthropic models on AWS Bedrock. Unset fields fall back to the standard AWS chain:
    AWS_REGION / AWS_DEFAULT_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
    (+ AWS_SESSION_TOKEN), ~/.aws/config and ~/.aws/credentials, SSO and instance roles;
    or a Bedrock API key (``api_key``, else AWS_BEARER_TOKEN_BEDROCK)."""

    region: str | None = None
    profile: str | None = None
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None
    api_key: SecretStr | None = None
    base_url: str | None = None  # else ANTHROPIC_BEDROCK_BASE_URL, else the region's endpoint
    timeout_s: float = 600.0
    connect_timeout_s: float = 10.0


class VertexSettings(_Section):
    """Anthropic models on Google Vertex AI, with Application Default Credentials
    (``gcloud auth application-default login``, GOOGLE_APPLICATION_CREDENTIALS, or the
    machine's service account)."""

    project: str | None = None  # else ANTHROPIC_VERTEX_PROJECT_ID, else the credentials'
    region: str | None = None  # else CLOUD_ML_REGION, else "global"
    base_url: str | None = None  # else ANTHROPIC_VERTEX_BASE_URL, else the region's endpoint
    timeout_s: float = 600.0
    connect_timeout_s: float = 10.0


class ModelSettings(_Section):
    """One model entry; unset fields keep the shipped entry's value of the same name."""

    provider: ProviderKind | None = None
    model_id: str | None = None
    server: str | None = None  # compatible only: a name under [providers.servers]
    api: Api | None = None  # OpenAI only: Chat Completions or the Responses API
    context_window: int | None = Field(default=None, gt=0)
    max_output_tokens: int | None = Field(default=None, gt=0)
    # US dollars per million tokens.
    input_price: float | None = Field(default=None, ge=0)
    output_price: float | None = Field(default=None, ge=0)
    cache_read_price: float | None = Field(default=None, ge=0)
    cache_write_price: float | None = Field(default=None, ge=0)
    tools: bool | None = None
    images: bool | None = None
    reasoning: tuple[Reasoning, ...] | None = None
    prompt_caching: bool | None = None
    fim: Fim | None = None


class ProvidersSettings(_Section):
    default_model: str | None = None
    cheap_model: str | None = None
    fallbacks: tuple[str, ...] = ()
    openai: ConnectionSettings = ConnectionSettings()
    anthropic: ConnectionSettings = ConnectionSettings()
    gemini: ConnectionSettings = ConnectionSettings()
    openrouter: OpenRouterSettings = OpenRouterSettings()
    bedrock: BedrockSettings = BedrockSettings()
    vertex: VertexSettings = VertexSettings()
    servers: dict[str, ServerSettings] = {}
    models: dict[str, ModelSettings] = {}
    # Retries of one model before the next fallback: exponential back-off from
    # retry_base_s with full jitter, never waiting longer than retry_max_s (a longer
    # Retry-After moves on to the next model at once).
    max_retries: int = Field(default=2, ge=0, le=10)
    retry_base_s: float = Field(default=0.5, ge=0)
    retry_max_s: float = Field(default=30.0, ge=0)


# Servers every install knows; [providers.servers.NAME] of the same name overrides them.
SHIPPED_SERVERS = {
    "ollama": "http://127.0.0.1:11434/v1",
    # Mistral's Codestral endpoint (FIM at /fim/completions), and DeepSeek's beta base URL,
    # the one that serves FIM at /completions (its chat works there too).
    "codestral": "https://codestral.mistral.ai/v1",
    "deepseek": "https://api.deepseek.com/beta",
}
# The variable a shipped server's key is read from, unless its section names another.
SHIPPED_KEY_ENV = {"codestral": "CODESTRAL_API_KEY", "deepseek": "DEEPSEEK_API_KEY"}


def server_settings(settings: ProvidersSettings, name: str) -> ServerSettings:
    found = settings.servers.get(name) or ServerSettings()
    shipped: dict[str, str] = {}
    if found.base_url is None and name in SHIPPED_SERVERS:
        shipped["base_url"] = SHIPPED_SERVERS[name]
    if found.api_key is None and found.api_key_env is None and name in SHIPPED_KEY_ENV:
        shipped["api_key_env"] = SHIPPED_KEY_ENV[name]
    return found.model_copy(update=shipped) if shipped else found
