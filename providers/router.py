"""The router: one entry point that picks the provider for a model name and makes calls safe.

``Router(settings).stream(request, model="claude-sonnet", fallbacks=["gpt", "local"])``

1. **Limits before sending.** The request is counted (:mod:`providers.tokens`) and refused
   with :class:`TokenLimitExceeded` (``count``, ``limit``, ``betterModels``) when it cannot
   fit the model's context window with its output reserved.
2. **Retries.** Throttling (429), 5xx, overload (529), timeouts and dropped connections are
   retried up to ``max_retries`` times with exponential back-off and jitter, or after exactly
   the server's ``Retry-After``, but never once output has started: a failure then is
   :class:`StreamInterrupted`, so the user never sees a reply twice. Authentication errors
   and bad requests are not retried.
3. **Fallbacks.** When a model stays throttled, overloaded or down, the next model of the
   chain is tried and a :class:`ModelFallback` event says which model answers.
4. **Accounting.** Every model tried ends with a :class:`CallRecord` event (model, tokens by
   kind, cost, time to first token, total), also handed to ``on_record``; a cancelled call
   cannot yield any more, so its record goes to ``on_record`` only.
5. **Cancellation.** Cancelling the consuming task unwinds through the provider's
   ``async with`` around the SDK stream, which closes the HTTP response at once.

Provider objects (and their SDK clients) are created on first use, one per provider kind
(one per server for OpenAI-compatible servers), and closed by :meth:`Router.aclose`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from providers.base import (
    CallRecord,
    ChatRequest,
    Event,
    Finished,
    Message,
    ModelFallback,
    Provider,
    Usage,
    UsageEvent,
    UserMessage,
)
from providers.errors import (
    BadRequest,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    StreamInterrupted,
    TokenLimitExceeded,
    UnknownModel,
    interrupted,
)
from providers.keys import key_variable
from providers.registry import ModelSpec, Registry
from providers.settings import ConnectionSettings, ProvidersSettings, server_settings
from providers.tokens import count_request

if TYPE_CHECKING:
    from providers.openrouter import Catalogue

log = logging.getLogger(__name__)


def key_env() -> dict[str, tuple[str, ...]]:
    """Where each provider kind's key may come from: the ``key_env_vars`` its class declares,
    in the order its SDK reads them."""
    from providers.anthropic import AnthropicProvider
    from providers.cloud import BedrockProvider, VertexProvider
    from providers.gemini import GeminiProvider
    from providers.openai import OpenAIProvider
    from providers.openrouter import OpenRouterProvider

    kinds = (
        OpenAIProvider,
        AnthropicProvider,
        GeminiProvider,
        OpenRouterProvider,
        BedrockProvider,
        VertexProvider,
    )
    return {kind.name: kind.key_env_vars for kind in kinds}


# resolve(None) without a default_model: the first of these whose provider is usable.
PREFERRED = ("claude-sonnet", "gpt", "gemini", "local")
# Above this share of the limit, an estimated count is checked with the provider's own
# count endpoint when it has one.
EXACT_COUNT_ABOVE = 0.8
REACHABLE_TIMEOUT_S = 0.5

Sleep = Callable[[float], Awaitable[None]]


def key_source(settings: ProvidersSettings, kind: str) -> str | None:
    """Where provider ``kind``'s key comes from: "config", "env:NAME", "vertex", "none
    needed: URL" (OpenAI models sent to a server of the user's own), or None."""
    if kind in ("bedrock", "vertex"):
        from providers.cloud import bedrock_source, vertex_source

        if kind == "bedrock":
            return bedrock_source(settings.bedrock)
        return vertex_source(settings.vertex)
    connection: ConnectionSettings = getattr(settings, kind)
    if connection.api_key is not None:
        return "config"
    if kind == "gemini" and connection.vertex:
        return "vertex"
    variable = key_variable(key_env()[kind])
    found = f"env:{variable}" if variable is not None else None
    if found is None and kind == "openai":
        from providers.openai import own_server

        base = own_server(connection)
        if base is not None:
            return f"none needed: {base} is not OpenAI's API"
    return found


@dataclass(frozen=True, slots=True)
class ModelStatus:
    spec: ModelSpec
    usable: bool
    reason: str | None = None


class Router:
    """Routes calls by model name; satisfies ``daemon.solver.ports.ModelRouter``.

    ``sleep`` and ``rng`` are the back-off's clock and dice (tests pass their own).
    """

    def __init__(
        self,
        settings: ProvidersSettings,
        *,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        on_record: Callable[[CallRecord], None] | None = None,
        catalogue_path: Path | None = None,
    ) -> None:
        self.settings = settings
        self.catalogue: Catalogue | None = None
        if key_source(settings, "openrouter") is not None:
            from providers.openrouter import Catalogue

            self.catalogue = Catalogue(settings.openrouter, catalogue_path)
        self.registry = self._registry()
        self.on_record = on_record
        self._sleep = sleep
        self._rng = rng
        self._providers: dict[str, Provider] = {}

    # -- models ------------------------------------------------------------------------------

    def _registry(self) -> Registry:
        catalogue = self.catalogue.specs() if self.catalogue is not None else []
        return Registry.from_settings(self.settings, catalogue)

    async def refresh_catalogue(self, force: bool = False) -> None:
        """Fetch OpenRouter's model catalogue when it is stale (OpenRouter configured only)."""
        catalogue = self.catalogue
        if catalogue is None or not (force or catalogue.stale):
            return
        if await catalogue.refresh():
            self.registry = self._registry()

    def resolve(self, name: str | None) -> ModelSpec:
        if name is None:
            name = self.settings.default_model or self._first_with_key()
        try:
            return self.registry.resolve(name)
        except UnknownModel:
            from providers.openrouter import PREFIX, unknown_spec

            if name.startswith(PREFIX) and len(name) > len(PREFIX):
                return unknown_spec(name)
            raise

    def _first_with_key(self) -> str:
        for name in PREFERRED:
            spec = self.registry.get(name)
            if spec is not None and self.key_problem(spec) is None:
                return name
        return PREFERRED[0]

    def connection(self, kind: str) -> ConnectionSettings:
        found: ConnectionSettings = getattr(self.settings, kind)
        return found

    def key_problem(self, spec: ModelSpec) -> str | None:
        """Why ``spec`` cannot be called for lack of a key (None: a key is there, or none is
        needed). Never the key itself."""
        if spec.provider == "compatible":
            server = server_settings(self.settings, spec.server or "ollama")
            env = server.api_key_env
            if server.api_key is None and env and not os.environ.get(env):
                return f"no key: set {env} or api_key under [providers.servers.{spec.server}]"
            return None
        if key_source(self.settings, spec.provider) is not None:
            return None
        if spec.provider in ("bedrock", "vertex"):
            from providers.cloud import AWS_HINT, GOOGLE_HINT

            return "no credentials: " + (AWS_HINT if spec.provider == "bedrock" else GOOGLE_HINT)
        variables = key_env()[spec.provider]
        return (
            f"no key: set {' or '.join(variables)} or api_key under "
            f"[providers.{spec.provider}] in config.toml"
        )

    async def models(self) -> list[ModelStatus]:
        """Every registry entry, with whether it can be called now: a key for hosted models,
        a server that answers ``GET /models`` within half a second for compatible ones.
        OpenRouter's catalogue is fetched first when it is stale."""
        await self.refresh_catalogue()
        # Only servers some model could use (no key missing): a hosted one is never probed
        # for nothing.
        servers = {
            s.server or "ollama"
            for s in self.registry
            if s.provider == "compatible" and self.key_problem(s) is None
        }
        names = sorted(servers)
        answers = await asyncio.gather(*(self.reachable(n) for n in names))
        reach = dict(zip(names, answers, strict=True))
        out = []
        for spec in self.registry:
            problem = self.key_problem(spec)
            if problem is None and spec.provider == "compatible":
                problem = reach.get(spec.server or "ollama")
            out.append(ModelStatus(spec, problem is None, problem))
        return out

    async def reachable(self, server: str) -> str | None:
        """None when the server answers; else why not."""
        import httpx

        settings = server_settings(self.settings, server)
        if settings.base_url is None:
            return f"no base_url under [providers.servers.{server}]"
        url = settings.base_url.rstrip("/") + "/models"
        headers = {}
        key = settings.api_key.get_secret_value() if settings.api_key else None
        if key is None and settings.api_key_env:
            key = os.environ.get(settings.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        try:
            async with httpx.AsyncClient(timeout=REACHABLE_TIMEOUT_S, trust_env=False) as client:
                response = await client.get(url, headers=headers)
        except httpx.InvalidURL as exc:
            return f"server {server} has an unusable base_url ({exc}): fix it under " + (
                f"[providers.servers.{server}]"
            )
        except httpx.HTTPError as exc:
            return f"server {server} at {settings.base_url} is not reachable ({type(exc).__name__})"
        if response.status_code in (401, 403):
            return (
                f"server {server} at {settings.base_url} refused the key ({response.status_code})"
            )
        if response.status_code >= 500:
            return f"server {server} at {settings.base_url} answered {response.status_code}"
        return None

    # -- providers ---------------------------------------------------------------------------

    def provider(self, spec: ModelSpec) -> Provider:
        key = f"compatible:{spec.server}" if spec.provider == "compatible" else spec.provider
        found = self._providers.get(key)
        if found is None:
            found = self._providers[key] = self._make_provider(spec)
        return found

    def _make_provider(self, spec: ModelSpec) -> Provider:
        if spec.provider == "openai":
            from providers.openai import OpenAIProvider

            openai = [s for s in self.registry if s.provider == "openai"]
            return OpenAIProvider(
                self.settings.openai,
                responses_models=frozenset(s.model_id for s in openai if s.api == "responses"),
                reasoning_models=frozenset(s.model_id for s in openai if "none" in s.reasoning),
            )
        if spec.provider == "compatible":
            from providers.compatible import CompatibleProvider

            name = spec.server or "ollama"
            return CompatibleProvider(name, server_settings(self.settings, name))
        if spec.provider in ("bedrock", "vertex"):
            from providers.cloud import BedrockProvider, VertexProvider

            if spec.provider == "bedrock":
                return BedrockProvider(self.settings.bedrock)
            return VertexProvider(self.settings.vertex)
        if spec.provider == "openrouter":
            from providers.openrouter import OpenRouterProvider

            return OpenRouterProvider(self.settings.openrouter)
        if spec.provider == "anthropic":
            from providers.anthropic import (
                AnthropicProvider,
            )

            made: Provider = AnthropicProvider(self.settings.anthropic)
            return made
        from providers.gemini import GeminiProvider

        made = GeminiProvider(self.settings.gemini)
        return made

    async def aclose(self) -> None:
        providers, self._providers = list(self._providers.values()), {}
        for provider in providers:
            try:
                await provider.aclose()
            except Exception:
                log.exception("closing provider %s failed", provider.name)

    # -- limits ------------------------------------------------------------------------------

    def _reserved_output(self, request: ChatRequest, spec: ModelSpec) -> int:
        return min(request.max_output_tokens or 0, spec.max_output_tokens)

    def input_limit(self, request: ChatRequest, spec: ModelSpec) -> int:
        return spec.context_window - self._reserved_output(request, spec)

    async def count(self, request: ChatRequest, spec: ModelSpec) -> int:
        """Input tokens of ``request`` for ``spec``: tiktoken or the estimate, confirmed with
        the provider's count endpoint when it has one and the estimate is near the limit."""
        counted = await asyncio.to_thread(count_request, request, spec.provider, spec.model_id)
        if counted < EXACT_COUNT_ABOVE * self.input_limit(request, spec):
            return counted
        count_tokens = getattr(self.provider(spec), "count_tokens", None)
        if count_tokens is None:
            return counted
        try:
            exact: int = await count_tokens(dataclasses.replace(request, model=spec.model_id))
        except ProviderError as exc:
            log.info("exact count for %s failed (%s); using the estimate", spec.name, exc)
            return counted
        return exact

    def _fits(self, count: int, request: ChatRequest) -> list[str]:
        fitting = [s for s in self.registry if count <= self.input_limit(request, s)]
        fitting.sort(key=lambda s: (self.key_problem(s) is not None, s.context_window, s.name))
        return [s.name for s in fitting]

    async def check_limit(self, request: ChatRequest, spec: ModelSpec) -> None:
        count = await self.count(request, spec)
        limit = self.input_limit(request, spec)
        if count > limit:
            better = [n for n in self._fits(count, request) if n != spec.name]
            hint = f"; models that fit: {', '.join(better)}" if better else ""
            raise TokenLimitExceeded(
                f"the request has {count} input tokens but {spec.name} accepts {limit} "
                f"({spec.context_window} context, {self._reserved_output(request, spec)} "
                f"reserved for output){hint}",
                model=spec.name,
                count=count,
                limit=limit,
                betterModels=better,
            )

    # -- calls -------------------------------------------------------------------------------

    def stream(
        self,
        request: ChatRequest,
        *,
        model: str | None = None,
        fallbacks: Sequence[str] | None = None,
    ) -> AsyncIterator[Event]:
        return self._stream(request, model, fallbacks)

    async def _stream(
        self, request: ChatRequest, model: str | None, fallbacks: Sequence[str] | None
    ) -> AsyncIterator[Event]:
        primary = self.resolve(model)
        if primary.provider == "openrouter" and self.catalogue is not None:
            await self.refresh_catalogue()  # limits and prices, once a day at most
            primary = self.resolve(model)
        chain = [primary]
        for name in self.settings.fallbacks if fallbacks is None else fallbacks:
            try:
                spec = self.resolve(name)
            except UnknownModel:
                log.warning("fallback model %r is not in the registry; skipped", name)
                continue
            if spec.name not in {s.name for s in chain}:
                chain.append(spec)
        images = has_images(request.messages)
        if images and not primary.images:
            raise BadRequest(
                f"{primary.name} does not accept images; pick a model whose "
                "capabilities.images is true in deputydev/models",
                model=primary.name,
            )
        await self.check_limit(request, primary)

        failed: ModelSpec | None = None
        error: ProviderError | None = None
        for spec in chain:
            if failed is not None:
                if images and not spec.images:
                    log.info("fallback %s skipped: it does not accept images", spec.name)
                    continue
                try:
                    await self.check_limit(request, spec)
                except TokenLimitExceeded as exc:
                    log.info("fallback %s skipped: %s", spec.name, exc)
                    continue
                if self.key_problem(spec) is not None:
                    log.info("fallback %s skipped: %s", spec.name, self.key_problem(spec))
                    continue
                yield ModelFallback(failed.name, spec.name, str(error))
            try:
                async for event in self._call(request, spec):
                    yield event
                return
            except StreamInterrupted:
                raise
            except (RateLimited, ProviderUnavailable) as exc:
                log.warning("%s failed: %s", spec.name, exc)
                failed, error = spec, exc
        assert error is not None
        raise error

    def _delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry number ``attempt + 1``; None: do not wait that long."""
        cap = self.settings.retry_max_s
        if retry_after is not None:
            return retry_after if retry_after <= cap else None
        backoff: float = min(cap, self.settings.retry_base_s * 2**attempt)
        return backoff * (0.5 + 0.5 * self._rng())  # jitter: spread retries of many clients

    async def _call(self, request: ChatRequest, spec: ModelSpec) -> AsyncIterator[Event]:
        """One model, with its retries; ends with a CallRecord, or raises after one."""
        provider = self.provider(spec)
        messages = request.messages
        if has_images(messages):
            messages = await asyncio.to_thread(fit_images, messages, spec.provider)
        sent = dataclasses.replace(
            request,
            messages=messages,
            model=spec.model_id,
            reasoning=request.reasoning if spec.reasoning else "none",
            max_output_tokens=(
                min(request.max_output_tokens, spec.max_output_tokens)
                if request.max_output_tokens is not None
                else None
            ),
        )
        start = time.perf_counter()
        first: float | None = None
        usage = Usage()
        attempts = 0
        status: Literal["ok", "error", "cancelled"] = "cancelled"
        failure: ProviderError | None = None

        def record() -> CallRecord:
            end = time.perf_counter()
            return CallRecord(
                model=spec.name,
                provider=provider.name,
                model_id=spec.model_id,
                usage=usage,
                cost_usd=spec.cost(usage),
                ttft_ms=None if first is None else (first - start) * 1000,
                total_ms=(end - start) * 1000,
                status=status,
                error=None if failure is None else str(failure),
                extra={"attempts": attempts},
            )

        try:
            while True:
                attempts += 1
                try:
                    async for event in provider.stream(sent):
                        if first is None:
                            first = time.perf_counter()
                        if isinstance(event, UsageEvent | Finished) and event.usage is not None:
                            usage = event.usage
                        yield event
                    status = "ok"
                    break
                except (RateLimited, ProviderUnavailable) as exc:
                    if first is not None or isinstance(exc, StreamInterrupted):
                        raise interrupted(exc) from exc
                    delay = (
                        self._delay(attempts - 1, exc.retry_after)
                        if attempts <= self.settings.max_retries
                        else None
                    )
                    if delay is None:
                        raise
                    log.info("%s: %s; retrying in %.2fs", spec.name, exc, delay)
                    await self._sleep(delay)
        except ProviderError as exc:
            status, failure = "error", exc
            exc.data.setdefault("model", spec.name)
            done = record()
            self._emit(done)
            yield done
            raise
        except BaseException:  # cancelled, or the consumer closed the stream: no more yields
            self._emit(record())
            raise
        done = record()
        self._emit(done)
        yield done

    def _emit(self, record: CallRecord) -> None:
        log.info(
            "call %s (%s) %s: %d in, %d out, %d cached, $%.6f, ttft %s ms, total %.0f ms",
            record.model,
            record.model_id,
            record.status,
            record.usage.input_tokens,
            record.usage.output_tokens,
            record.usage.cache_read_tokens,
            record.cost_usd,
            "-" if record.ttft_ms is None else f"{record.ttft_ms:.0f}",
            record.total_ms,
        )
        if self.on_record is not None:
            self.on_record(record)


def has_images(messages: Sequence[Message]) -> bool:
    return any(isinstance(m, UserMessage) and m.images for m in messages)


def fit_images(messages: tuple[Message, ...], provider: str) -> tuple[Message, ...]:
    """Every image within ``provider``'s limits (downscaled only when over them)."""
    from providers.images import DEFAULT_LIMITS, LIMITS, ImageError, fit

    limits = LIMITS.get(provider, DEFAULT_LIMITS)
    out: list[Message] = []
    for message in messages:
        if isinstance(message, UserMessage) and message.images:
            try:
                fitted = tuple(fit(image, limits) for image in message.images)
            except ImageError as exc:
                raise BadRequest(f"an attached image cannot be sent: {exc}") from None
            message = dataclasses.replace(message, images=fitted)
        out.append(message)
    return tuple(out)
