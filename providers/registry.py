"""The model registry: names a user picks, mapped to a provider, a model id, limits and prices.

Shipped entries (:data:`DEFAULTS`) cover current OpenAI, Anthropic and Gemini models with
their list prices, plus ``local``: whatever model an Ollama server on 127.0.0.1:11434 serves.
``[providers.models.NAME]`` in config.toml adds entries or overrides fields of a shipped one
(see :mod:`providers.settings`). Prices are US dollars per million tokens, as the providers
publish them; :meth:`ModelSpec.cost` prices a :class:`~providers.base.Usage`.

    registry = Registry.from_settings(settings)
    spec = registry.resolve("claude-sonnet")
    spec.cost(Usage(input_tokens=1000, output_tokens=200))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from providers.base import Reasoning, Usage
from providers.errors import UnknownModel
from providers.settings import Api, Fim, ModelSettings, ProviderKind, ProvidersSettings

_MILLION = 1_000_000


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    provider: ProviderKind
    model_id: str
    context_window: int
    max_output_tokens: int
    input_price: float = 0.0
    output_price: float = 0.0
    cache_read_price: float = 0.0
    cache_write_price: float = 0.0
    tools: bool = True
    images: bool = False
    reasoning: tuple[Reasoning, ...] = ()
    prompt_caching: bool = False
    api: Api = "chat"
    server: str | None = None  # compatible: the [providers.servers] entry
    fim: Fim = "chat"  # how it fills in the middle for completions (providers.fim)

    def cost(self, usage: Usage) -> float:
        """US dollars. ``input_tokens`` excludes cache reads and writes, which are priced
        apart; ``output_tokens`` includes reasoning tokens, which are billed as output."""
        return (
            usage.input_tokens * self.input_price
            + usage.output_tokens * self.output_price
            + usage.cache_read_tokens * self.cache_read_price
            + usage.cache_write_tokens * self.cache_write_price
        ) / _MILLION

    def merged(self, entry: ModelSettings) -> ModelSpec:
        changes = {k: v for k, v in entry.model_dump().items() if v is not None}
        return dataclasses.replace(self, **changes)


_EFFORTS: tuple[Reasoning, ...] = ("none", "low", "medium", "high")

# List prices as published in November 2026, for prompts in the standard tier (OpenAI and
# Gemini charge more above 272k / 200k input tokens; that uplift is not modelled).
DEFAULTS: tuple[ModelSpec, ...] = (
    # OpenAI: 1.05M context of which 128k output; cached input is 0.05-0.1x.
    ModelSpec("gpt", "openai", "gpt-6.1-sol", 1_050_000, 128_000, 2.0, 10.0, 0.10, 0.0,
              images=True, reasoning=_EFFORTS, prompt_caching=True),
    ModelSpec("gpt-astra", "openai", "gpt-6-astra", 1_050_000, 128_000, 10.0, 50.0, 1.0, 0.0,
              images=True, reasoning=_EFFORTS, prompt_caching=True),
    ModelSpec("gpt-luna", "openai", "gpt-6-luna", 1_050_000, 128_000, 0.10, 0.50, 0.01, 0.125,
              images=True, reasoning=_EFFORTS, prompt_caching=True),
    ModelSpec("gpt-codex", "openai", "gpt-5.1-codex", 400_000, 128_000, 1.25, 10.0, 0.125, 0.0,
              images=True, reasoning=_EFFORTS[1:], prompt_caching=True, api="responses"),
    ModelSpec("gpt-4.1", "openai", "gpt-4.1", 1_047_576, 32_768, 2.0, 8.0, 0.5, 0.0,
              images=True, prompt_caching=True),
    ModelSpec("gpt-4.1-mini", "openai", "gpt-4.1-mini", 1_047_576, 32_768, 0.4, 1.6, 0.1, 0.0,
              images=True, prompt_caching=True),
    # Anthropic: cache writes (5-minute) cost 1.25x input, reads 0.1x.
    ModelSpec("claude-sonnet", "anthropic", "claude-sonnet-5-5", 1_000_000, 128_000,
              2.0, 10.0, 0.20, 2.50, images=True, reasoning=_EFFORTS, prompt_caching=True),
    ModelSpec("claude-opus", "anthropic", "claude-opus-5-5", 1_000_000, 128_000,
              4.0, 20.0, 0.40, 5.0, images=True, reasoning=_EFFORTS, prompt_caching=True),
    ModelSpec("claude-haiku", "anthropic", "claude-haiku-4-5", 200_000, 64_000,
              1.0, 5.0, 0.10, 1.25, images=True, reasoning=_EFFORTS, prompt_caching=True),
    # Gemini: implicit caching, so no write price.
    ModelSpec("gemini", "gemini", "gemini-3.1-pro-preview", 1_048_576, 65_536,
              2.0, 12.0, 0.20, 0.0, images=True, reasoning=_EFFORTS, prompt_caching=True),
    ModelSpec("gemini-flash", "gemini", "gemini-3.5-flash", 1_000_000, 64_000,
              1.5, 9.0, 0.15, 0.0, images=True, reasoning=_EFFORTS, prompt_caching=True),
    ModelSpec("gemini-flash-lite", "gemini", "gemini-3.1-flash-lite", 1_048_576, 65_536,
              0.25, 1.5, 0.025, 0.0, images=True, reasoning=_EFFORTS, prompt_caching=True),
    # Anthropic on AWS Bedrock (global cross-region inference profiles) and on Vertex AI,
    # at Anthropic's list prices; other models: [providers.models.NAME] with their model_id.
    ModelSpec("bedrock-claude-sonnet", "bedrock",
              "global.anthropic.claude-sonnet-4-5-20250929-v1:0", 200_000, 64_000,
              3.0, 15.0, 0.30, 3.75, images=True, reasoning=_EFFORTS, prompt_caching=True),
    ModelSpec("bedrock-claude-haiku", "bedrock",
              "global.anthropic.claude-haiku-4-5-20251001-v1:0", 200_000, 64_000,
              1.0, 5.0, 0.10, 1.25, images=True, reasoning=_EFFORTS, prompt_caching=True),
    ModelSpec("vertex-claude-sonnet", "vertex", "claude-sonnet-4-5@20250929", 200_000, 64_000,
              3.0, 15.0, 0.30, 3.75, images=True, reasoning=_EFFORTS, prompt_caching=True),
    ModelSpec("vertex-claude-haiku", "vertex", "claude-haiku-4-5@20251001", 200_000, 64_000,
              1.0, 5.0, 0.10, 1.25, images=True, reasoning=_EFFORTS, prompt_caching=True),
    # A local model through Ollama's OpenAI-compatible API: free, no key, no internet.
    # Ollama fills in the middle through /v1/completions with a suffix.
    ModelSpec("local", "compatible", "qwen2.5-coder:7b", 32_768, 8_192, server="ollama",
              fim="suffix"),
    # Code completion models with native fill-in-the-middle.
    ModelSpec("codestral", "compatible", "codestral-latest", 256_000, 8_192, 0.30, 0.90,
              server="codestral", fim="mistral"),
    ModelSpec("deepseek", "compatible", "deepseek-chat", 128_000, 8_192, 0.28, 0.42, 0.028,
              server="deepseek", prompt_caching=True, fim="suffix"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RegistryIssue:
    name: str
    message: str


class Registry:
    """Shipped entries overlaid with the user's, by name."""

    def __init__(self, specs: list[ModelSpec], issues: list[RegistryIssue] | None = None) -> None:
        self._specs = {spec.name: spec for spec in specs}
        self.issues = issues or []

    @classmethod
    def from_settings(
        cls, settings: ProvidersSettings, catalogue: Sequence[ModelSpec] = ()
    ) -> Registry:
        """Shipped entries, then a provider's ``catalogue`` (OpenRouter's models), then the
        user's ``[providers.models]`` over both."""
        from providers.settings import SHIPPED_SERVERS

        specs = {spec.name: spec for spec in DEFAULTS}
        for spec in catalogue:
            specs.setdefault(spec.name, spec)
        listed = {(s.provider, s.model_id): s for s in catalogue}
        issues: list[RegistryIssue] = []
        for name, entry in settings.models.items():
            base = specs.get(name)
            if base is None and entry.provider is not None and entry.model_id is not None:
                found = listed.get((entry.provider, entry.model_id))
                base = dataclasses.replace(found, name=name) if found is not None else None
            if base is None:
                if entry.provider is None or entry.model_id is None:
                    issues.append(
                        RegistryIssue(
                            name,
                            f"[providers.models.{name}] needs provider and model_id "
                            "(it is not a shipped model); left out",
                        )
                    )
                    continue
                base = ModelSpec(name, entry.provider, entry.model_id, 128_000, 8_192)
            spec = base.merged(entry)
            if spec.provider == "compatible":
                server = spec.server or "ollama"
                if server not in settings.servers and server not in SHIPPED_SERVERS:
                    issues.append(
                        RegistryIssue(
                            name,
                            f"[providers.models.{name}] names server {server!r} but there is "
                            f"no [providers.servers.{server}] section; left out",
                        )
                    )
                    continue
                spec = dataclasses.replace(spec, server=server)
            specs[name] = spec
        return cls(list(specs.values()), issues)

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def get(self, name: str) -> ModelSpec | None:
        found = self._specs.get(name)
        if found is None:  # a provider's model id works too ("gpt-5" for "gpt")
            found = next((s for s in self._specs.values() if s.model_id == name), None)
        return found

    def resolve(self, name: str) -> ModelSpec:
        found = self.get(name)
        if found is None:
            known = sorted(self._specs)
            raise UnknownModel(
                f"unknown model {name!r}: pick one of {', '.join(known)} or add "
                f"[providers.models.{name}] to config.toml",
                model=name,
                known=known,
            )
        return found
