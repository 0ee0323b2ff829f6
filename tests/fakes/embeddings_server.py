"""A fake embeddings service on 127.0.0.1, speaking the OpenAI and Gemini wire formats.

It answers what the real SDKs send, so backends are tested through their SDK and HTTP stack:

- ``POST /v1/embeddings`` (OpenAI, and every OpenAI-compatible server):
  ``{"model", "input": str | [str], "dimensions"?, "encoding_format"?: "float" | "base64"}``
  -> ``{"object": "list", "data": [{"object": "embedding", "index", "embedding"}], ...}``;
- ``POST /v1beta/models/{model}:batchEmbedContents`` (Gemini):
  ``{"requests": [{"model", "content": {"parts": [{"text"}]}, "taskType"?,
  "outputDimensionality"?}]}`` -> ``{"embeddings": [{"values": [...]}]}``;
- ``POST /v1beta/models/{model}:embedContent``: one ``content`` -> ``{"embedding": {...}}``.

Vectors are deterministic: a hashed bag of the text's lowercase words and identifier parts,
L2-normalised, so texts sharing words are close and a test can rank by them.  Every request
is recorded (path, headers, JSON body) and counted with its texts.  ``fail(status, ...)``
scripts the next answers (401, 429 with ``Retry-After``, 500...), and ``api_key`` makes
every request without that key a 401.

In process (a thread)::

    with EmbeddingsServer() as server:
        client = AsyncOpenAI(base_url=server.openai_base_url, api_key="k")

For a daemon subprocess, start it in the test and pass ``server.openai_base_url`` (or
``server.url`` for Gemini) through the environment or a config file; or run it alone with
``python -m tests.fakes.embeddings_server`` (prints its URL, serves until killed).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.threaded import ThreadedServer

DEFAULT_DIMENSIONS = 64
_WORD = re.compile(r"[A-Za-z][a-z]*|[A-Z]+(?![a-z])|\d+")
_GEMINI = re.compile(r"^/v1(?:beta|alpha)?/models/(?P<model>[^:/]+):(?P<method>\w+)$")


def fake_vector(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """The vector the fake gives ``text``: hashed words (and identifier parts), normalised."""
    values = [0.0] * dimensions
    words = [w.lower() for w in re.findall(r"\w+", text)]
    words += [part.lower() for w in re.findall(r"\w+", text) for part in _WORD.findall(w)]
    for word in words:
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        slot = int.from_bytes(digest[:4], "little") % dimensions
        values[slot] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in values))
    if norm == 0:
        values[0], norm = 1.0, 1.0
    return [v / norm for v in values]


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass(frozen=True)
class Failure:
    status: int
    retry_after: str | None = None
    message: str = "scripted failure"


@dataclass
class _State:
    dimensions: int
    api_key: str | None
    requests: list[Recorded] = field(default_factory=list)
    texts: int = 0
    failures: deque[Failure] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)


class EmbeddingsServer(ThreadedServer):
    def __init__(self, *, dimensions: int = DEFAULT_DIMENSIONS, api_key: str | None = None):
        self.state = _State(dimensions=dimensions, api_key=api_key)
        state = self.state

        class Handler(_Handler):
            pass

        Handler.state = state
        super().__init__(Handler, name="fake-embeddings")

    # --- what tests use -------------------------------------------------------------------

    @property
    def openai_base_url(self) -> str:
        return self.url + "/v1"

    @property
    def requests(self) -> list[Recorded]:
        with self.state.lock:
            return list(self.state.requests)

    @property
    def request_count(self) -> int:
        with self.state.lock:
            return len(self.state.requests)

    @property
    def text_count(self) -> int:
        """Texts embedded by successful requests."""
        with self.state.lock:
            return self.state.texts

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: float | str | None = None,
        message: str = "scripted failure",
    ) -> None:
        """Answer the next ``times`` requests with ``status`` (and a Retry-After header)."""
        header = None if retry_after is None else str(retry_after)
        with self.state.lock:
            for _ in range(times):
                self.state.failures.append(Failure(status, header, message))

    def reset(self) -> None:
        with self.state.lock:
            self.state.requests.clear()
            self.state.texts = 0
            self.state.failures.clear()


_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class _Handler(BaseHTTPRequestHandler):
    state: _State
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read records
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw or b"null")
        except ValueError:
            body = None
        path = self.path.split("?", 1)[0]
        state = self.state
        with state.lock:
            state.requests.append(
                Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            failure = state.failures.popleft() if state.failures else None
        gemini = _GEMINI.match(path)
        if failure is not None:
            self._error(failure.status, failure.message, gemini is not None, failure.retry_after)
            return
        if state.api_key is not None and self._key() != state.api_key:
            self._error(401, "Incorrect API key provided", gemini is not None)
            return
        if path == "/v1/embeddings" and isinstance(body, dict):
            self._openai(body)
        elif gemini and isinstance(body, dict):
            self._gemini(gemini["model"], gemini["method"], body)
        else:
            self._error(404, f"no route for POST {path}", gemini is not None)

    def _key(self) -> str | None:
        bearer = self.headers.get("Authorization", "")
        if bearer.startswith("Bearer "):
            return bearer.removeprefix("Bearer ")
        return self.headers.get("x-goog-api-key")

    def _openai(self, body: dict[str, Any]) -> None:
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            self._error(400, "'input' must be a string or a non-empty list of strings", False)
            return
        if any(t == "" for t in texts):
            self._error(400, "'input' cannot contain an empty string", False)
            return
        dims = body.get("dimensions") or self.state.dimensions
        base64_out = body.get("encoding_format", "float") == "base64"
        data = []
        for index, text in enumerate(texts):
            vector = fake_vector(text, dims)
            encoded: Any = (
                base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
                if base64_out
                else vector
            )
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        self._count(len(texts))
        tokens = sum(len(t.split()) for t in texts)
        self._json(
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model", ""),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    def _gemini(self, model: str, method: str, body: dict[str, Any]) -> None:
        if method == "batchEmbedContents":
            requests = body.get("requests")
            if not isinstance(requests, list) or not requests:
                self._error(400, "'requests' must be a non-empty list", True)
                return
        elif method == "embedContent":
            requests = [body]
        else:
            self._error(404, f"unknown method {method}", True)
            return
        embeddings = []
        for request in requests:
            parts = (request.get("content") or {}).get("parts") or []
            text = "".join(p.get("text", "") for p in parts)
            dims = request.get("outputDimensionality") or self.state.dimensions
            embeddings.append({"values": fake_vector(text, dims)})
        self._count(len(embeddings))
        if method == "embedContent":
            self._json(200, {"embedding": embeddings[0]})
        else:
            self._json(200, {"embeddings": embeddings})

    def _count(self, texts: int) -> None:
        with self.state.lock:
            self.state.texts += texts

    def _error(
        self, status: int, message: str, gemini: bool, retry_after: str | None = None
    ) -> None:
        if gemini:
            payload: dict[str, Any] = {
                "error": {
                    "code": status,
                    "message": message,
                    "status": _STATUS_NAMES.get(status, "UNKNOWN"),
                }
            }
        else:
            kind = {401: "invalid_request_error", 429: "rate_limit_exceeded"}.get(status, "error")
            payload = {"error": {"message": message, "type": kind, "code": str(status)}}
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self._json(status, payload, headers)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    server = EmbeddingsServer().start()
    print(server.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
