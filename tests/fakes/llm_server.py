"""A fake model provider on the wire: a real HTTP/1.1 server on 127.0.0.1 with a random port.

It speaks each provider's streaming format (OpenAI SSE ending in ``data: [DONE]``, OpenAI's
Responses events, Anthropic's named events, Gemini's ``streamGenerateContent?alt=sse``) so
that the official SDKs, pointed at it by base URL, run their real parsing code. It runs in a
background thread with its own event loop, so in-process tests and a daemon subprocess (given
``server.url`` through ``OPENAI_BASE_URL`` or a config file) can both call it.

    with LLMServer() as server:
        server.script(Reply([Text("Hel"), Text("lo")], usage={"input": 10, "output": 2}))
        ...  # point an SDK at server.url + "/v1"
        server.requests[0].body["messages"]

Script model: a :class:`Reply` is a list of steps (:class:`Text`, :class:`Thinking`,
:class:`Redacted`, :class:`Call`) plus usage, the finish reason, and failure knobs: an HTTP
``status`` with ``headers`` and an ``error`` body, ``stall_after`` (send that many chunks, then
hang until the client disconnects), ``cut_after`` (send that many chunks, then drop the
connection) and ``end_after`` (send that many chunks, then end the response cleanly: no
finish reason, no ``[DONE]``, as a server that stops early does). Replies are served in
order to whichever provider route is called; each route's renderer turns the reply into that
provider's bytes, one item per chunk (an SSE event).

Usage keys: ``input`` (input tokens not read from a cache), ``output`` (all output tokens,
reasoning included), ``cache_read``, ``cache_write``, ``reasoning`` (the part of ``output``
spent reasoning). Renderers spell them as their provider does (OpenAI's ``prompt_tokens``
includes cached tokens, for instance).

Renderers: ``RENDERERS[key](reply, request_body) -> Iterable[bytes]``. The OpenAI ones live
here; ``anthropic`` and ``gemini`` are looked up lazily as ``render`` in
``tests.fakes.llm_anthropic`` and ``tests.fakes.llm_gemini`` (a missing module answers 501).
Count-token routes answer ``server.token_count`` (default: request body bytes / 4).
Fill-in-the-middle routes (``/v1/completions``, Mistral's ``/v1/fim/completions``) render in
``tests.fakes.llm_fim``. With no scripted reply left, ``server.responder(recorded)`` answers
if set (a benchmark's model).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

# --------------------------------------------------------------------------- the script


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Thinking:
    text: str
    signature: str = "sig"


@dataclass(frozen=True)
class Redacted:
    data: str


@dataclass(frozen=True)
class Call:
    id: str
    name: str
    arguments: dict[str, Any] | str  # a str is sent raw (possibly invalid JSON)

    @property
    def raw_arguments(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


Step = Text | Thinking | Redacted | Call


@dataclass(frozen=True)
class Reply:
    steps: list[Step] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    finish: str | None = None  # the provider's own spelling; default: stop, or tool calls
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    error: dict[str, Any] | None = None  # the JSON body of an error answer
    stall_after: int | None = None
    cut_after: int | None = None
    end_after: int | None = None
    delay_s: float = 0.0  # wait this long before the answer (a model thinking)

    def tokens(self, key: str) -> int:
        return int(self.usage.get(key, 0))

    @property
    def calls(self) -> list[Call]:
        return [s for s in self.steps if isinstance(s, Call)]


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str  # with the query string
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON, or None
    at: float = 0.0  # time.monotonic() when its body had arrived


Renderer = Callable[[Reply, Any], Iterable[bytes]]


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent event; ``data`` is JSON-encoded unless it is already a string."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def split_arguments(raw: str) -> list[str]:
    """Arguments streamed in two fragments, as real servers split them."""
    if len(raw) < 2:
        return [raw]
    middle = len(raw) // 2
    return [raw[:middle], raw[middle:]]


# --------------------------------------------------------------------------- OpenAI renderers


def render_openai_chat(reply: Reply, body: Any) -> Iterator[bytes]:
    """Chat Completions chunks; the usage chunk only when ``stream_options.include_usage``."""
    created = int(time.time())
    model = body.get("model", "fake") if isinstance(body, Mapping) else "fake"

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )

    yield chunk({"role": "assistant", "content": ""})
    index = 0
    for step in reply.steps:
        match step:
            case Text(text=text):
                yield chunk({"content": text})
            case Thinking(text=text):
                # What OpenAI-compatible servers (vLLM, DeepSeek, OpenRouter) send.
                yield chunk({"reasoning_content": text})
            case Redacted():
                pass
            case Call():
                yield chunk(
                    {
                        "tool_calls": [
                            {
                                "index": index,
                                "id": step.id,
                                "type": "function",
                                "function": {"name": step.name, "arguments": ""},
                            }
                        ]
                    }
                )
                for part in split_arguments(step.raw_arguments):
                    yield chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
                index += 1
    finish = reply.finish or ("tool_calls" if reply.calls else "stop")
    yield chunk({}, finish)
    options = body.get("stream_options") if isinstance(body, Mapping) else None
    if isinstance(options, Mapping) and options.get("include_usage"):
        yield sse(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": {
                    "prompt_tokens": reply.tokens("input") + reply.tokens("cache_read"),
                    "completion_tokens": reply.tokens("output"),
                    "total_tokens": reply.tokens("input")
                    + reply.tokens("cache_read")
                    + reply.tokens("output"),
                    "prompt_tokens_details": {"cached_tokens": reply.tokens("cache_read")},
                    "completion_tokens_details": {"reasoning_tokens": reply.tokens("reasoning")},
                },
            }
        )
    yield b"data: [DONE]\n\n"


def render_openai_responses(reply: Reply, body: Any) -> Iterator[bytes]:
    """Responses API events, from ``response.created`` to ``response.completed``."""
    model = body.get("model", "fake") if isinstance(body, Mapping) else "fake"
    seq = itertools.count()
    response: dict[str, Any] = {
        "id": "resp_fake",
        "object": "response",
        "created_at": int(time.time()),
        "model": model,
        "status": "in_progress",
        "output": [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }

    def event(kind: str, **fields: Any) -> bytes:
        return sse({"type": kind, "sequence_number": next(seq), **fields}, event=kind)

    yield event("response.created", response=response)
    output: list[dict[str, Any]] = []
    message: dict[str, Any] | None = None  # the open message item: consecutive texts share it
    texts: list[str] = []

    def close_message() -> Iterator[bytes]:
        nonlocal message
        if message is None:
            return
        done = {
            **message,
            "status": "completed",
            "content": [{"type": "output_text", "text": "".join(texts), "annotations": []}],
        }
        output.append(done)
        yield event("response.output_item.done", output_index=len(output) - 1, item=done)
        message = None
        texts.clear()

    for index, step in enumerate(reply.steps):
        if not isinstance(step, Text):
            yield from close_message()
        position = len(output)
        match step:
            case Text(text=text):
                if message is None:
                    message = {
                        "id": f"msg_{index}",
                        "type": "message",
                        "role": "assistant",
                        "status": "in_progress",
                        "content": [],
                    }
                    yield event("response.output_item.added", output_index=position, item=message)
                texts.append(text)
                yield event(
                    "response.output_text.delta",
                    item_id=message["id"],
                    output_index=position,
                    content_index=0,
                    delta=text,
                    logprobs=[],
                )
            case Thinking(text=text):
                item_id = f"rs_{index}"
                item: dict[str, Any] = {"id": item_id, "type": "reasoning", "summary": []}
                yield event("response.output_item.added", output_index=position, item=item)
                yield event(
                    "response.reasoning_summary_text.delta",
                    item_id=item_id,
                    output_index=position,
                    summary_index=0,
                    delta=text,
                )
                done = {**item, "summary": [{"type": "summary_text", "text": text}]}
                output.append(done)
                yield event("response.output_item.done", output_index=position, item=done)
            case Redacted():
                pass
            case Call():
                item_id = f"fc_{index}"
                item = {
                    "id": item_id,
                    "type": "function_call",
                    "call_id": step.id,
                    "name": step.name,
                    "arguments": "",
                    "status": "in_progress",
                }
                yield event("response.output_item.added", output_index=position, item=item)
                for part in split_arguments(step.raw_arguments):
                    yield event(
                        "response.function_call_arguments.delta",
                        item_id=item_id,
                        output_index=position,
                        delta=part,
                    )
                done = {**item, "arguments": step.raw_arguments, "status": "completed"}
                output.append(done)
                yield event("response.output_item.done", output_index=position, item=done)
    yield from close_message()
    status = "incomplete" if reply.finish == "max_output_tokens" else "completed"
    final = {
        **response,
        "status": status,
        "output": output,
        "incomplete_details": {"reason": reply.finish} if status == "incomplete" else None,
        "usage": {
            "input_tokens": reply.tokens("input") + reply.tokens("cache_read"),
            "input_tokens_details": {"cached_tokens": reply.tokens("cache_read")},
            "output_tokens": reply.tokens("output"),
            "output_tokens_details": {"reasoning_tokens": reply.tokens("reasoning")},
            "total_tokens": reply.tokens("input")
            + reply.tokens("cache_read")
            + reply.tokens("output"),
        },
    }
    yield event(f"response.{status}", response=final)


RENDERERS: dict[str, Renderer] = {
    "openai-chat": render_openai_chat,
    "openai-responses": render_openai_responses,
}
# Renderers in other modules: "module" (its ``render``) or "module:function".
_LAZY_RENDERERS = {
    "anthropic": "tests.fakes.llm_anthropic",
    "gemini": "tests.fakes.llm_gemini",
    "openai-completions": "tests.fakes.llm_fim:render_completions",
    "mistral-fim": "tests.fakes.llm_fim:render_mistral_fim",
    "bedrock": "tests.fakes.llm_bedrock",
}
# Routes whose stream is not server-sent events.
_CONTENT_TYPES = {"bedrock": "application/vnd.amazon.eventstream"}


def renderer(key: str) -> Renderer | None:
    found = RENDERERS.get(key)
    if found is None and key in _LAZY_RENDERERS:
        name, _, function = _LAZY_RENDERERS[key].partition(":")
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            return None
        found = RENDERERS[key] = getattr(module, function or "render")
    return found


def route(method: str, path: str) -> str | None:
    """The route key of a request path (without its query string)."""
    if method == "GET" and path.rstrip("/").endswith("/models"):
        return "models"
    if path.endswith("/token"):
        return "oauth-token"  # Google's OAuth token endpoint (Vertex AI credentials)
    if path.startswith("/model/") and path.endswith("/invoke-with-response-stream"):
        return "bedrock"  # AWS Bedrock's InvokeModelWithResponseStream
    if "/publishers/anthropic/models/" in path:
        # Anthropic on Vertex AI: the Messages stream at :streamRawPredict
        return "anthropic-count" if "count-tokens:" in path else "anthropic"
    if path.endswith("/chat/completions"):
        return "openai-chat"
    if path.endswith("/fim/completions"):
        return "mistral-fim"
    if path.endswith("/completions"):
        return "openai-completions"
    if path.endswith("/responses"):
        return "openai-responses"
    if path.endswith("/messages/count_tokens"):
        return "anthropic-count"
    if path.endswith("/messages"):
        return "anthropic"
    if ":streamGenerateContent" in path or ":generateContent" in path:
        return "gemini"
    if ":countTokens" in path:
        return "gemini-count"
    return None


# --------------------------------------------------------------------------- the server


async def _finish_pending() -> None:
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not current]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    await asyncio.sleep(0)


class LLMServer:
    """The fake provider; use as a context manager (or ``start()``/``stop()``)."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.token_count: int | None = None
        # Answers a request when no scripted reply is left (a model for benchmarks).
        self.responder: Callable[[Recorded], Reply] | None = None
        # What GET .../models answers (a catalogue such as OpenRouter's); None: one "fake".
        self.models: dict[str, Any] | None = None
        # What the OAuth token endpoint (POST .../token) hands out.
        self.oauth_token = "ya29.fake-access-token"
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._disconnects = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    # -- scripting and inspection ------------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._replies)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def disconnects(self) -> int:
        """Responses the client abandoned before their end (closed the connection)."""
        with self._lock:
            return self._disconnects

    async def wait_disconnects(self, count: int = 1, timeout: float = 10.0) -> int:
        """Wait until at least ``count`` client disconnects were seen; returns the count."""

        def wait() -> int:
            with self._changed:
                self._changed.wait_for(lambda: self._disconnects >= count, timeout)
                return self._disconnects

        return await asyncio.to_thread(wait)

    async def wait_requests(self, count: int = 1, timeout: float = 10.0) -> list[Recorded]:
        def wait() -> list[Recorded]:
            with self._changed:
                self._changed.wait_for(lambda: len(self.requests) >= count, timeout)
                return list(self.requests)

        return await asyncio.to_thread(wait)

    def bodies(self, key: str | None = None) -> list[Any]:
        """The JSON bodies received, optionally only those of one route key."""
        return [
            r.body
            for r in list(self.requests)
            if key is None or route(r.method, urlsplit(r.path).path) == key
        ]

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> LLMServer:
        started = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._server = loop.run_until_complete(
                asyncio.start_server(self._serve, "127.0.0.1", 0)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            started.set()
            loop.run_forever()
            # Whatever is still pending (a handler mid-stream) is cancelled and awaited, and
            # the loop turns once more so that aborted transports close their sockets: a
            # socket left for the garbage collector fails the run (filterwarnings=error).
            try:
                loop.run_until_complete(_finish_pending())
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="fake-llm-server", daemon=True)
        self._thread.start()
        started.wait()
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            return

        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            await self._server.wait_closed()
            await asyncio.sleep(0)  # the aborted transports' connection_lost runs

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)
        self._loop = None

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- HTTP --------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        line = await reader.readline()
        if not line:
            return False
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            raw = await reader.readline()
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        data = await reader.readexactly(length) if length else b""
        try:
            body = json.loads(data) if data else None
        except ValueError:
            body = None
        recorded = Recorded(method, target, headers, body, time.monotonic())
        with self._changed:
            self.requests.append(recorded)
            self._changed.notify_all()

        path = unquote(urlsplit(target).path)
        key = route(method, path)
        if key == "models":
            models = self.models or {"object": "list", "data": [{"id": "fake"}]}
            await self._json(writer, 200, models)
            return True
        if key == "oauth-token":
            await self._json(
                writer,
                200,
                {"access_token": self.oauth_token, "expires_in": 3600, "token_type": "Bearer"},
            )
            return True
        if key in ("anthropic-count", "gemini-count"):
            count = self.token_count if self.token_count is not None else max(1, length // 4)
            payload = (
                {"input_tokens": count} if key == "anthropic-count" else {"totalTokens": count}
            )
            await self._json(writer, 200, payload)
            return True
        render = renderer(key) if key else None
        if render is None:
            await self._json(
                writer, 501 if key else 404, _error(f"fake server: no renderer for {path}", 501)
            )
            return True
        with self._lock:
            reply = self._replies.popleft() if self._replies else None
        if reply is None and self.responder is not None:
            reply = self.responder(recorded)
        if reply is None:
            await self._json(writer, 400, _error("fake server: no scripted reply left", 400))
            return True
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.status != 200:
            await self._json(
                writer, reply.status, reply.error or _error("scripted", reply.status), reply.headers
            )
            return True
        return await self._stream(
            reader, writer, reply, render(reply, body), _CONTENT_TYPES.get(key or "")
        )

    async def _json(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        payload: Any,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        data = json.dumps(payload).encode()
        head = {"content-type": "application/json", "content-length": str(len(data))}
        writer.write(_head(status, {**head, **(extra or {})}) + data)
        await writer.drain()

    async def _stream(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        reply: Reply,
        chunks: Iterable[bytes],
        content_type: str | None = None,
    ) -> bool:
        head = {
            "content-type": content_type or "text/event-stream",
            "transfer-encoding": "chunked",
            "cache-control": "no-cache",
        }
        writer.write(_head(200, {**head, **reply.headers}))
        # Chunks go out one by one while a stall or a cut is coming (so the client sees
        # exactly those before it); otherwise in batches, as a busy server's kernel would
        # coalesce them, so that the client's parsing is what a benchmark measures.
        knobs = (reply.cut_after, reply.stall_after, reply.end_after)
        batch = 64 if knobs == (None, None, None) else 1
        pending: list[bytes] = []
        try:
            for sent, chunk in enumerate(chunks):
                if reply.end_after is not None and sent >= reply.end_after:
                    break  # the body ends properly, its last events never sent
                if reply.cut_after is not None and sent >= reply.cut_after:
                    await writer.drain()
                    writer.transport.abort()  # drop the connection mid-stream
                    return False
                if reply.stall_after is not None and sent >= reply.stall_after:
                    await writer.drain()
                    await reader.read()  # returns at EOF: the client went away
                    self._count_disconnect()
                    return False
                pending.append(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                if len(pending) >= batch:
                    writer.write(b"".join(pending))
                    pending.clear()
                    await writer.drain()
            pending.append(b"0\r\n\r\n")
            writer.write(b"".join(pending))
            await writer.drain()
        except ConnectionError:
            self._count_disconnect()
            return False
        return True

    def _count_disconnect(self) -> None:
        with self._changed:
            self._disconnects += 1
            self._changed.notify_all()


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many"}


def _head(status: int, headers: Mapping[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _error(message: str, status: int) -> dict[str, Any]:
    """An error body every SDK reads: OpenAI's shape, with Gemini's ``code``/``status`` too."""
    kind = {401: "invalid_api_key", 429: "rate_limit_exceeded"}.get(status, "server_error")
    return {"error": {"message": message, "type": kind, "code": status, "status": kind}}


@contextlib.contextmanager
def serving() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server
