"""Fill-in-the-middle: code completion calls, through the model's own FIM where it has one,
else through a chat prompt.

How a model fills the middle is its registry entry's ``fim`` (``[providers.models.NAME]
fim = ...`` overrides it):

- ``suffix``: the OpenAI-compatible ``/v1/completions`` with ``prompt`` and ``suffix``
  (Ollama, DeepSeek's beta base URL). The server applies the model's FIM template.
- ``mistral``: Mistral's ``/v1/fim/completions`` (Codestral), whose stream is made of chat
  completion chunks.
- ``qwen``, ``starcoder``, ``deepseek``, ``codellama``, ``codestral``: the model's FIM tokens
  written into the prompt of ``/v1/completions`` (:data:`TEMPLATES`), for servers that take
  no ``suffix`` (llama.cpp, vLLM, LM Studio).
- ``chat``: any chat model, asked to write what belongs at a marked hole
  (:func:`chat_request`); a code fence or an echo of the cursor's line is taken off its answer
  as it streams (:class:`ChatCleaner`).

The native formats go through ``httpx`` (:class:`Wire`: one pooled client per server, kept
alive between keystrokes), with the base URL and key the provider's SDK would use; the chat
prompt goes through the provider itself. Anthropic and Gemini models always go through the
chat prompt.

:class:`Completer` makes one attempt per call: no retries and no fallback, because a late
completion is useless (the next keystroke asks again). Each call ends with a
:class:`~providers.base.CallRecord` handed to ``on_record``, also when the caller stops reading
early (status ``ok``) or cancels (``cancelled``); the usage is the server's when it sent one,
else an estimate (4 characters a token) of what was sent and received, marked
``extra["estimated"]``.

    completer = Completer(router, on_record=print)
    async for event in completer.complete(FimRequest(model="", prefix=..., suffix=...), "local"):
        ...
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from providers.base import (
    CallRecord,
    ChatRequest,
    Event,
    FimRequest,
    Finished,
    FinishReason,
    TextDelta,
    Usage,
    UsageEvent,
    UserMessage,
)
from providers.errors import (
    AuthenticationError,
    BadRequest,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    StreamInterrupted,
    TokenLimitExceeded,
)
from providers.settings import Fim

if TYPE_CHECKING:
    import httpx

    from providers.openai import OpenAIProvider
    from providers.registry import ModelSpec
    from providers.router import Router

# The OpenAI API accepts at most four stop sequences; the rest are applied by the caller.
MAX_STOPS = 4
OPENAI_URL = "https://api.openai.com/v1"


@dataclass(frozen=True, slots=True)
class Template:
    """A model's FIM prompt: ``prefix_first`` orders the two parts (Codestral puts the suffix
    first), ``stops`` are its end and separator tokens."""

    before_prefix: str
    before_suffix: str
    middle: str
    stops: tuple[str, ...]
    prefix_first: bool = True

    def prompt(self, prefix: str, suffix: str) -> str:
        if self.prefix_first:
            return f"{self.before_prefix}{prefix}{self.before_suffix}{suffix}{self.middle}"
        return f"{self.before_suffix}{suffix}{self.before_prefix}{prefix}{self.middle}"


_BAR, _LOW = "\uff5c", "\u2581"
TEMPLATES: dict[str, Template] = {
    # Qwen2.5-Coder
    "qwen": Template(
        "<|fim_prefix|>",
        "<|fim_suffix|>",
        "<|fim_middle|>",
        ("<|endoftext|>", "<|file_sep|>", "<|fim_prefix|>", "<|fim_pad|>", "<|im_end|>"),
    ),
    # StarCoder, StarCoder2
    "starcoder": Template(
        "<fim_prefix>",
        "<fim_suffix>",
        "<fim_middle>",
        ("<|endoftext|>", "<file_sep>", "<fim_prefix>", "<fim_suffix>"),
    ),
    # DeepSeek-Coder (the open weights; DeepSeek's API takes a suffix instead). Its tokens
    # are spelled with a full-width bar and a lower one-eighth block.
    "deepseek": Template(
        f"<{_BAR}fim{_LOW}begin{_BAR}>",
        f"<{_BAR}fim{_LOW}hole{_BAR}>",
        f"<{_BAR}fim{_LOW}end{_BAR}>",
        (
            f"<{_BAR}end{_LOW}of{_LOW}sentence{_BAR}>",
            "<|EOT|>",
            f"<{_BAR}fim{_LOW}begin{_BAR}>",
            f"<{_BAR}fim{_LOW}hole{_BAR}>",
        ),
    ),
    # Code Llama
    "codellama": Template("<PRE> ", " <SUF>", " <MID>", ("<EOT>", "<PRE>", "<SUF>", "<MID>")),
    # Codestral's open weights (Mistral's API has its own endpoint, style "mistral")
    "codestral": Template(
        "[PREFIX]", "[SUFFIX]", "", ("</s>", "[PREFIX]", "[SUFFIX]", "[INST]"), prefix_first=False
    ),
}


def native(spec: ModelSpec) -> Fim:
    """The style a call to ``spec`` uses: its own, or ``chat`` where its provider has no FIM."""
    if spec.provider in ("openai", "compatible"):
        return spec.fim
    return "chat"


def stops_for(style: Fim) -> tuple[str, ...]:
    """What ends a completion in ``style`` besides the caller's stops (the template's
    tokens, the chat answer's closing fence)."""
    template = TEMPLATES.get(style)
    if template is not None:
        return template.stops
    return ()


# --------------------------------------------------------------------------- requests


def completion_params(request: FimRequest, style: Fim) -> dict[str, Any]:
    """The body of an OpenAI-compatible ``/v1/completions`` call in ``style``."""
    prefix = request.context + request.prefix
    template = TEMPLATES.get(style)
    params: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_output_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if template is not None:
        params["prompt"] = template.prompt(prefix, request.suffix)
    else:
        params["prompt"] = prefix
        params["suffix"] = request.suffix
    stops = list(dict.fromkeys((*request.stop, *stops_for(style))))[:MAX_STOPS]
    if stops:
        params["stop"] = stops
    if request.temperature is not None:
        params["temperature"] = request.temperature
    return params


def mistral_body(request: FimRequest) -> dict[str, Any]:
    """The body of Mistral's ``/v1/fim/completions``: only fields its API documents (it
    refuses unknown ones)."""
    body: dict[str, Any] = {
        "model": request.model,
        "prompt": request.context + request.prefix,
        "suffix": request.suffix,
        "max_tokens": request.max_output_tokens,
        "stream": True,
    }
    if request.stop:
        body["stop"] = list(request.stop)
    if request.temperature is not None:
        body["temperature"] = request.temperature
    return body


HOLE = "<|HOLE|>"
CHAT_SYSTEM = (
    "You are a code completion engine inside an editor. You are shown a file with one hole, "
    f"marked {HOLE}, where the cursor is. Reply with exactly the text that belongs in the "
    "hole: no explanation, no markdown code fence, and nothing of the code before or after "
    "the hole. The text may be empty, or span several lines; keep the file's indentation. "
    "Stop where the code after the hole takes over."
)


def chat_request(request: FimRequest) -> ChatRequest:
    """The completion as a chat: context first (it changes least, so a prompt cache can keep
    it), then the file with its hole."""
    parts = []
    if request.context.strip():
        parts.append(f"Code from the workspace that may help:\n{request.context.rstrip()}\n")
    name = request.path or "the file"
    language = f" ({request.language})" if request.language else ""
    parts.append(f"{name}{language}:\n{request.prefix}{HOLE}{request.suffix}")
    return ChatRequest(
        model=request.model,
        messages=(UserMessage("\n".join(parts)),),
        system=CHAT_SYSTEM,
        max_output_tokens=request.max_output_tokens,
        temperature=request.temperature,
        reasoning="none",
        timeout_s=request.timeout_s,
    )


# --------------------------------------------------------------------------- responses


def usage_of(raw: Any) -> Usage | None:
    """A ``usage`` object of the OpenAI shape (Mistral's too) as ours; cached prompt tokens
    (``prompt_tokens_details.cached_tokens``, DeepSeek's ``prompt_cache_hit_tokens``) apart."""
    if not isinstance(raw, dict):
        return None
    prompt = int(raw.get("prompt_tokens") or 0)
    details = raw.get("prompt_tokens_details")
    cached = int(
        (details.get("cached_tokens") if isinstance(details, dict) else None)
        or raw.get("prompt_cache_hit_tokens")
        or 0
    )
    return Usage(max(0, prompt - cached), int(raw.get("completion_tokens") or 0), cached)


class ChunkState:
    """Streamed JSON chunks in, events out (pure). ``text_completion`` chunks carry
    ``choices[0].text``; Mistral's FIM chunks (chat completion chunks) ``delta.content``."""

    def __init__(self) -> None:
        self.reason: FinishReason | None = None
        self.usage: Usage | None = None

    def feed(self, chunk: Any) -> Iterator[Event]:
        if not isinstance(chunk, dict):
            return
        error = chunk.get("error")
        if error:
            message = error.get("message") if isinstance(error, dict) else error
            raise ProviderUnavailable(f"the stream reported an error: {message}")
        usage = usage_of(chunk.get("usage"))
        if usage is not None:
            self.usage = usage
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            text = delta.get("content") if isinstance(delta, dict) else choice.get("text")
            if isinstance(text, str) and text:
                yield TextDelta(text)
            finish = choice.get("finish_reason")
            if finish:
                self.reason = "length" if finish == "length" else "stop"

    def end(self, where: str, done: bool) -> Iterator[Event]:
        """The closing event; a body that ended with neither a finish reason nor ``[DONE]``
        is a stream cut short (a backend that died behind a proxy), not a completion."""
        if self.reason is None and not done:
            raise ProviderUnavailable(
                f"{where}: the stream ended before a finish_reason", provider=where
            )
        yield Finished(self.reason or "stop", self.usage)


class ChatCleaner:
    """A chat model's answer as the hole's text, while it streams.

    A leading code fence line is dropped, and the answer ends at a closing fence. A chat
    model also often starts by repeating the cursor's line up to the cursor (or, on a line
    of indentation only, that indentation): that echo is dropped. Text that could still
    turn out to be one of these is held back until it is clear.
    """

    def __init__(self, line_before_cursor: str) -> None:
        self._echo = line_before_cursor.lstrip()
        # On a line of indentation only, the answer often starts by indenting again.
        self._indent = line_before_cursor if not self._echo else ""
        self._head = ""  # the start of the answer, until it is known to be no fence/echo
        self._started = False
        self._tail = ""  # held back: it may be the start of a closing fence
        self.closed = False

    def feed(self, text: str) -> str:
        if self.closed:
            return ""
        if not self._started:
            self._head += text
            head = self._decide()
            if head is None:
                return ""
            self._started = True
            text = head
        return self._body(text)

    def _decide(self, final: bool = False) -> str | None:
        """The answer without its fence and echo, once known; None while undecided
        (``final``: the answer is complete, decide with what there is)."""
        body = self._head
        start = body.lstrip("\n")
        if start.startswith("```") or (start and "```".startswith(start)):
            if "\n" not in start:
                return None if not final else ""  # the fence line is not complete yet
            body = start.split("\n", 1)[1]
        elif not start and len(body) < 3 and not final:
            return None
        indent = self._indent
        if indent and not body.startswith("\n"):
            if len(body) < len(indent) and indent.startswith(body) and not final:
                return None  # could still be the indentation again
            if body.startswith(indent):
                return body[len(indent) :]
        echo = self._echo
        if echo and not body.startswith("\n"):
            probe = body.lstrip(" \t")
            if len(probe) < len(echo) and echo.startswith(probe) and not final:
                return None  # could still be the echo
            core = echo.rstrip()
            if core and probe.startswith(core):
                rest = probe[len(core) :]
                # The line already ends in the space the echo had.
                return rest.lstrip(" \t") if core != echo else rest
        return body

    def _body(self, text: str) -> str:
        text = self._tail + text
        self._tail = ""
        end = text.find("```")
        if end >= 0:
            self.closed = True
            return text[:end].rstrip(" \t")
        # Hold back a trailing run of backticks: it may become the closing fence.
        keep = len(text) - len(text.rstrip("`"))
        if keep:
            self._tail = text[-keep:]
            text = text[:-keep]
        return text

    def end(self) -> str:
        if not self._started:
            self._started = True
            return self._body(self._decide(final=True) or "")
        tail, self._tail = self._tail, ""
        return "" if self.closed else tail


# --------------------------------------------------------------------------- calls


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a provider's FIM requests go, and with which key (never logged)."""

    name: str  # the provider's name, for messages
    base_url: str
    key: str | None
    key_env: str
    config_key: str
    timeout_s: float
    connect_timeout_s: float


def endpoint(provider: OpenAIProvider) -> Endpoint:
    """The provider's base URL and key, as its SDK client would use them."""
    from providers.compatible import CompatibleProvider

    base = provider.connection.base_url
    if base is None and not isinstance(provider, CompatibleProvider):
        base = os.environ.get("OPENAI_BASE_URL") or OPENAI_URL
    if base is None:
        raise BadRequest(
            f"server {provider.name!r} has no base_url: set base_url under "
            f"[providers.servers.{provider.name}] in config.toml",
            provider=provider.name,
            configKey=f"providers.servers.{provider.name}.base_url",
        )
    key = provider.api_key()
    if key is None:
        raise AuthenticationError(
            f"no API key for {provider.name}: set {provider.key_env} or "
            f"{provider.config_key} in config.toml",
            provider=provider.name,
            envVar=provider.key_env or None,
            configKey=provider.config_key,
        )
    return Endpoint(
        provider.name,
        base.rstrip("/"),
        key,
        provider.key_env,
        provider.config_key,
        provider.connection.timeout_s,
        provider.connection.connect_timeout_s,
    )


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        for name in ("message", "detail", "error"):
            if isinstance(body.get(name), str):
                return str(body[name])
    return str(body)[:300]


def status_error(where: Endpoint, response: httpx.Response) -> ProviderError:
    """An HTTP error answer as ours, as :meth:`OpenAIProvider.map_error` maps the SDK's."""
    from providers.errors import retry_after

    status = response.status_code
    message = _message(response)
    data: dict[str, Any] = {"provider": where.name, "status": status}
    if status in (401, 403):
        return AuthenticationError(
            f"{where.name} rejected the API key ({status}: {message}); check "
            f"{where.key_env or where.config_key} in config.toml",
            envVar=where.key_env or None,
            configKey=where.config_key,
            **data,
        )
    if status == 429:
        return RateLimited(
            f"{where.name} is rate limiting requests (429: {message})",
            retryAfter=retry_after(response.headers),
            **data,
        )
    if status >= 500:
        return ProviderUnavailable(f"{where.name} is unavailable ({status}: {message})", **data)
    if "context" in message.lower() and "length" in message.lower():
        return TokenLimitExceeded(f"{where.name} refused the prompt as too long: {message}", **data)
    return BadRequest(f"{where.name} rejected the request ({status}: {message})", **data)


class Wire:
    """The HTTP side of native FIM: one ``httpx.AsyncClient`` (a connection pool kept
    alive between keystrokes) per base URL and key.

    FIM goes through httpx rather than the ``openai`` SDK: from the call to the request on
    the wire, the SDK took 1.2-1.9 ms at the median and 5.5 ms at p95, httpx 0.55 ms and
    0.7 ms (80 streamed calls to the fake server in another process, bench figures in the
    commit), and httpx imports in 78 ms against the SDK's 565 ms.
    """

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str | None], httpx.AsyncClient] = {}

    def client(self, where: Endpoint) -> httpx.AsyncClient:
        import httpx

        found = self._clients.get((where.base_url, where.key))
        if found is None:
            headers = {"user-agent": "deputydev"}
            if where.key:
                headers["authorization"] = f"Bearer {where.key}"
            found = httpx.AsyncClient(
                base_url=where.base_url,
                headers=headers,
                timeout=httpx.Timeout(where.timeout_s, connect=where.connect_timeout_s),
            )
            self._clients[(where.base_url, where.key)] = found
        return found

    async def stream(
        self, where: Endpoint, path: str, body: dict[str, Any], timeout_s: float | None
    ) -> AsyncGenerator[Event, None]:
        """POST ``body`` and relay its server-sent events; closing the iterator (or
        cancelling its consumer) closes the response."""
        import httpx

        state = ChunkState()
        started = done = False
        timeout: Any = httpx.USE_CLIENT_DEFAULT if timeout_s is None else timeout_s
        try:
            request = self.client(where).build_request("POST", path, json=body, timeout=timeout)
            response = await self.client(where).send(request, stream=True)
            try:
                if response.status_code >= 400:
                    await response.aread()
                    raise status_error(where, response)
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        done = True
                        break
                    try:
                        chunk = json.loads(data)
                    except ValueError as exc:
                        raise ProviderUnavailable(
                            f"{where.name} sent a malformed event: {data[:100]!r}",
                            provider=where.name,
                        ) from exc
                    for event in state.feed(chunk):
                        started = True
                        yield event
                for event in state.end(where.name, done):
                    yield event
            finally:
                await response.aclose()
        except ProviderError as exc:
            if started and isinstance(exc, ProviderUnavailable):
                raise StreamInterrupted(str(exc), **exc.data) from exc
            raise
        except httpx.TimeoutException as exc:
            error: ProviderError = ProviderUnavailable(
                f"{where.name} timed out", timeout=True, provider=where.name
            )
            raise (StreamInterrupted(str(error), **error.data) if started else error) from exc
        except httpx.HTTPError as exc:
            error = ProviderUnavailable(
                f"{where.name} connection failed ({type(exc).__name__}: {exc})",
                provider=where.name,
            )
            raise (StreamInterrupted(str(error), **error.data) if started else error) from exc

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()


async def fill(
    wire: Wire, provider: OpenAIProvider, request: FimRequest, style: Fim
) -> AsyncIterator[Event]:
    """A native FIM call in ``style`` (anything but ``chat``)."""
    where = endpoint(provider)
    if style == "mistral":
        path, body = "/fim/completions", mistral_body(request)
    else:
        path, body = "/completions", completion_params(request, style)
    async with contextlib.aclosing(wire.stream(where, path, body, request.timeout_s)) as events:
        async for event in events:
            yield event


Status = Literal["ok", "error", "cancelled"]


class Completer:
    """Completion calls by model name. ``on_record`` receives every call's record."""

    def __init__(
        self, router: Router, *, on_record: Callable[[CallRecord], None] | None = None
    ) -> None:
        self.router = router
        self.on_record = on_record
        self.wire = Wire()

    async def aclose(self) -> None:
        """Close the FIM connections and the router's providers."""
        await self.wire.aclose()
        await self.router.aclose()

    def style(self, model: str) -> Fim:
        return native(self.router.resolve(model))

    def complete(self, request: FimRequest, model: str) -> AsyncIterator[Event]:
        """TextDelta events of the hole's text, then Finished. Raises ProviderError."""
        return self._complete(request, model)

    async def _complete(self, request: FimRequest, model: str) -> AsyncIterator[Event]:
        from providers.openai import OpenAIProvider

        spec = self.router.resolve(model)
        provider = self.router.provider(spec)
        style = native(spec) if isinstance(provider, OpenAIProvider) else "chat"
        sent = dataclasses.replace(
            request,
            model=spec.model_id,
            max_output_tokens=min(request.max_output_tokens, spec.max_output_tokens),
        )
        cleaner: ChatCleaner | None = None
        if style == "chat" or not isinstance(provider, OpenAIProvider):
            chat = chat_request(sent)
            cleaner = ChatCleaner(sent.prefix.rsplit("\n", 1)[-1])
            stream = provider.stream(chat)
            prompt_chars = len(chat.system) + sum(
                len(m.text) for m in chat.messages if isinstance(m, UserMessage)
            )
        else:
            stream = fill(self.wire, provider, sent, style)
            prompt_chars = len(sent.context) + len(sent.prefix) + len(sent.suffix)

        start = time.perf_counter()
        first: float | None = None
        received = 0
        usage: Usage | None = None
        status: Status = "ok"
        failure: ProviderError | None = None

        def record() -> CallRecord:
            counted = usage or Usage((prompt_chars + 3) // 4, (received + 3) // 4)
            return CallRecord(
                model=spec.name,
                provider=provider.name,
                model_id=spec.model_id,
                usage=counted,
                cost_usd=spec.cost(counted),
                ttft_ms=None if first is None else (first - start) * 1000,
                total_ms=(time.perf_counter() - start) * 1000,
                status=status,
                error=None if failure is None else str(failure),
                extra={"fim": style, "estimated": usage is None},
            )

        try:
            reason: FinishReason = "stop"
            async for event in stream:
                if isinstance(event, UsageEvent | Finished) and event.usage is not None:
                    usage = event.usage
                if isinstance(event, TextDelta):
                    if first is None:
                        first = time.perf_counter()
                    received += len(event.text)
                    text = cleaner.feed(event.text) if cleaner is not None else event.text
                    if text:
                        yield TextDelta(text)
                    if cleaner is not None and cleaner.closed:
                        break  # the answer's closing fence: the rest is not code
                elif isinstance(event, Finished):
                    reason = event.reason
            if cleaner is not None and (rest := cleaner.end()):
                yield TextDelta(rest)
            yield Finished(reason, usage)
        except ProviderError as exc:
            status, failure = "error", exc
            exc.data.setdefault("model", spec.name)
            raise
        except GeneratorExit:
            raise  # the caller stopped reading: it has what it wanted, the call is done
        except BaseException:
            status = "cancelled"
            raise
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
            if self.on_record is not None:
                self.on_record(record())
