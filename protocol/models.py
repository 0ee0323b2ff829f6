"""``deputydev/models``: the model registry, and which models can be called now."""

from __future__ import annotations

from typing import Any

from protocol.base import WireModel

MODELS = "deputydev/models"


class ModelsParams(WireModel):
    # Check local servers (GET /models, half a second at most); false answers at once.
    check_servers: bool = True


class ModelPrices(WireModel):
    """US dollars per million tokens."""

    input: float
    output: float
    cache_read: float
    cache_write: float


class ModelCapabilities(WireModel):
    tools: bool
    images: bool
    reasoning: list[str]  # the levels it accepts: none, low, medium, high
    prompt_caching: bool
    # How it fills in the middle for inline completions: its own FIM endpoint (suffix,
    # mistral) or FIM tokens (qwen, starcoder, deepseek, codellama, codestral), else chat
    # (a fill-in-the-middle prompt through its chat API).
    fim: str = "chat"


class ModelEntry(WireModel):
    name: str
    provider: str  # openai | anthropic | gemini | compatible | openrouter | bedrock | vertex
    model_id: str
    server: str | None = None  # compatible: the [providers.servers] entry
    api: str = "chat"  # OpenAI: chat | responses
    context_window: int
    max_output_tokens: int
    prices: ModelPrices
    capabilities: ModelCapabilities
    usable: bool
    reason: str | None = None  # why it is not usable (never a key)


class ModelsResult(WireModel):
    models: list[ModelEntry]
    default_model: str | None = None
    fallbacks: list[str] = []
    issues: list[str] = []  # config entries left out of the registry, and why


METHODS: dict[str, tuple[type[Any] | None, type[Any] | None]] = {
    MODELS: (ModelsParams, ModelsResult),
}
