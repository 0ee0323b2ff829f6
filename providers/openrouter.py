"""OpenRouter: hundreds of models behind one OpenAI-compatible API, and its model catalogue.

:class:`OpenRouterProvider` is the OpenAI provider pointed at ``https://openrouter.ai/api/v1``
with the headers OpenRouter asks apps to send (``HTTP-Referer`` and ``X-Title``, which
attribute the traffic to the app), the key from ``OPENROUTER_API_KEY`` or
``[providers.openrouter] api_key``, and reasoning as OpenRouter's own ``reasoning.effort``.

:class:`Catalogue` is ``GET /models``: every model with its context length, output limit,
prices per token, input modalities and supported parameters. It becomes registry entries
named ``openrouter/<id>`` (``openrouter/anthropic/claude-sonnet-4.5``), so that
``deputydev/models`` lists them with limits and prices and a query may name any of them.
The catalogue is cached in a JSON file (the daemon's data folder) and fetched again when it
is older than ``catalogue_ttl_s``; while it cannot be fetched the cached one is used.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from providers.base import ChatRequest, Reasoning
from providers.keys import get_key
from providers.openai import OpenAIProvider
from providers.registry import ModelSpec
from providers.settings import OpenRouterSettings

log = logging.getLogger(__name__)

KEY_ENV = "OPENROUTER_API_KEY"
PREFIX = "openrouter/"
CATALOGUE_TIMEOUT_S = 10.0
_MILLION = 1_000_000
_EFFORTS: tuple[Reasoning, ...] = ("none", "low", "medium", "high")


class OpenRouterProvider(OpenAIProvider):
    name = "openrouter"
    key_env_vars = (KEY_ENV,)
    config_key = "providers.openrouter.api_key"

    def __init__(self, settings: OpenRouterSettings) -> None:
        super().__init__(settings)
        self.settings = settings

    def default_headers(self) -> dict[str, str]:
        return headers(self.settings)

    def chat_params(self, request: ChatRequest) -> dict[str, Any]:
        params = super().chat_params(request)
        limit = params.pop("max_completion_tokens", None)
        if limit is not None:
            params["max_tokens"] = limit
        effort = params.pop("reasoning_effort", None)
        if effort is not None and effort != "none":
            # OpenRouter's unified reasoning setting, mapped onto each model's own.
            params["extra_body"] = {"reasoning": {"effort": effort}}
        return params


def headers(settings: OpenRouterSettings) -> dict[str, str]:
    out = {}
    if settings.referer:
        out["HTTP-Referer"] = settings.referer
    if settings.title:
        out["X-Title"] = settings.title
    return out


def api_key(settings: OpenRouterSettings) -> str | None:
    return get_key(settings.api_key, OpenRouterProvider.key_env_vars)


# --------------------------------------------------------------------------- the catalogue


def spec_of(entry: Mapping[str, Any]) -> ModelSpec | None:
    """A registry entry for one model of ``GET /models`` (None when it cannot chat)."""
    model_id = entry.get("id")
    if not isinstance(model_id, str) or not model_id:
        return None
    architecture = entry.get("architecture") or {}
    outputs = architecture.get("output_modalities") or ["text"]
    if "text" not in outputs:
        return None
    inputs = architecture.get("input_modalities") or ["text"]
    parameters = entry.get("supported_parameters") or []
    pricing = entry.get("pricing") or {}
    top = entry.get("top_provider") or {}
    context = _int(entry.get("context_length")) or _int(top.get("context_length")) or 8192
    output = _int(top.get("max_completion_tokens")) or min(context // 4, 32_768)
    return ModelSpec(
        name=PREFIX + model_id,
        provider="openrouter",
        model_id=model_id,
        context_window=context,
        max_output_tokens=min(output, context),
        input_price=_per_million(pricing.get("prompt")),
        output_price=_per_million(pricing.get("completion")),
        cache_read_price=_per_million(pricing.get("input_cache_read")),
        cache_write_price=_per_million(pricing.get("input_cache_write")),
        tools="tools" in parameters,
        images="image" in inputs,
        reasoning=_EFFORTS if "reasoning" in parameters else (),
        prompt_caching=bool(pricing.get("input_cache_read")),
    )


def unknown_spec(name: str) -> ModelSpec:
    """An ``openrouter/<id>`` the catalogue does not list (yet): sent as asked, with modest
    limits and no prices, for OpenRouter to accept or refuse."""
    return ModelSpec(name, "openrouter", name.removeprefix(PREFIX), 128_000, 16_384, images=True)


def _int(value: Any) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


def _per_million(value: Any) -> float:
    """OpenRouter's prices are US dollars per token, as strings; ours are per million."""
    try:
        price = float(value)
    except (TypeError, ValueError):
        return 0.0
    # "-1" marks a variable price (routers): unknown. Rounded: 2e-7 * 1e6 is 0.19999...
    return round(max(price, 0.0) * _MILLION, 6)


class Catalogue:
    """The models OpenRouter serves, cached in ``path`` (None: in memory only)."""

    def __init__(self, settings: OpenRouterSettings, path: Path | None) -> None:
        self.settings = settings
        self.path = path
        self.fetched_at: float | None = None
        self.entries: list[dict[str, Any]] = []
        self.error: str | None = None
        self._load()

    def _load(self) -> None:
        if self.path is None or not self.path.exists():
            return
        try:
            saved = json.loads(self.path.read_text(encoding="utf-8"))
            if saved.get("base_url") != self.settings.base_url:
                return  # another server's catalogue
            self.entries = list(saved["data"])
            self.fetched_at = float(saved["fetched_at"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("the cached OpenRouter catalogue %s is unreadable: %s", self.path, exc)

    @property
    def stale(self) -> bool:
        return (
            self.fetched_at is None or time.time() - self.fetched_at > self.settings.catalogue_ttl_s
        )

    def specs(self) -> list[ModelSpec]:
        return [s for s in (spec_of(e) for e in self.entries) if s is not None]

    async def refresh(self) -> bool:
        """Fetch ``GET /models`` again; False (with ``error``) when it could not be."""
        import httpx

        url = (self.settings.base_url or "").rstrip("/") + "/models"
        request_headers = headers(self.settings)
        key = api_key(self.settings)
        if key:
            request_headers["Authorization"] = f"Bearer {key}"
        try:
            async with httpx.AsyncClient(timeout=CATALOGUE_TIMEOUT_S, trust_env=False) as client:
                response = await client.get(url, headers=request_headers)
            response.raise_for_status()
            data = response.json()["data"]
            if not isinstance(data, list):
                raise ValueError("'data' is not a list")
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            self.error = f"the OpenRouter catalogue at {url} could not be fetched ({exc})"
            log.warning("%s; using the cached one", self.error)
            return False
        self.entries = [e for e in data if isinstance(e, dict)]
        self.fetched_at = time.time()
        self.error = None
        self._save()
        return True

    def _save(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(
                json.dumps(
                    {
                        "base_url": self.settings.base_url,
                        "fetched_at": self.fetched_at,
                        "data": self.entries,
                    }
                ),
                encoding="utf-8",
            )
            temporary.replace(self.path)
        except OSError as exc:
            log.warning("the OpenRouter catalogue could not be cached in %s: %s", self.path, exc)
