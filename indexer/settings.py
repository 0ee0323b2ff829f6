"""Settings of the indexer package (owned by indexer; the daemon nests it in its tree).

    [index.embeddings]
    backend = "compatible"            # auto | none | openai | compatible | gemini | local
    model = "nomic-embed-text"        # else the backend's default
    base_url = "http://127.0.0.1:11434/v1"
    api_key_env = "OLLAMA_API_KEY"    # name of the variable holding the key, if any
    dimensions = 256                  # ask the server for shorter vectors (openai, gemini)
    batch_size = 64                   # texts per request
    concurrency = 2                   # requests in flight
    runtime = "auto"                  # local only: onnx (default when installed) | torch

Without a ``[index.embeddings]`` section the backend is ``auto``: ``local`` when the
``local`` extra (ONNX Runtime, the tokenizer, the MiniLM weights) is installed, so a new
workspace has hybrid search about a minute after it is opened; else none, lexical only.
``[index]`` in config.toml, ``DEPUTYDEV_INDEX__<KEY>`` in the environment, ``index`` in the
editor's settings (camelCase).  See docs/CONFIGURATION.md.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic.alias_generators import to_camel

EmbeddingBackend = Literal["auto", "none", "openai", "compatible", "gemini", "local"]
LocalRuntime = Literal["auto", "onnx", "torch"]
SearchMode = Literal["auto", "hybrid", "lexical", "semantic", "symbol"]


class _Section(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )


class EmbeddingSettings(_Section):
    """Which backend embeds chunks for semantic search, and how hard it may be pushed.

    Unset fields take the backend's defaults (``providers.embeddings``). The key is looked up
    as ``api_key``, then the variable named by ``api_key_env``, then the backend's own
    variable (``OPENAI_API_KEY``; ``GOOGLE_API_KEY``, else ``GEMINI_API_KEY``).
    """

    backend: EmbeddingBackend = "auto"
    model: str | None = None
    base_url: str | None = None
    api_key: SecretStr | None = None
    api_key_env: str | None = None
    dimensions: int | None = Field(default=None, ge=1)
    batch_size: int | None = Field(default=None, ge=1, le=2048)
    concurrency: int = Field(default=2, ge=1, le=32)
    # Seconds for one request, and attempts for one batch on 429/5xx before giving up.
    timeout_s: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=3, ge=1, le=10)
    # The ``local`` backend's runtime: ONNX Runtime (int8, no torch in the daemon; the
    # default when onnxruntime is installed) or sentence-transformers on torch.
    runtime: LocalRuntime = "auto"

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        # A typo is a configuration error naming this key, not a failure of the first
        # batch; the message never repeats the URL, which may hold a key.
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


class IndexSettings(_Section):
    # Index the workspace roots at all (the daemon's background indexing and watcher).
    enabled: bool = True
    max_file_bytes: int = Field(default=1024 * 1024, ge=1)
    max_chunk_lines: int = Field(default=80, ge=5, le=1000)
    # Load sqlite-vec for semantic search; false forces lexical only.
    vectors: bool = True
    # Watch the roots for changes (watchfiles) and re-index changed files.
    watch: bool = True
    # Milliseconds the watcher waits for more changes before indexing a batch.
    debounce_ms: int = Field(default=50, ge=0, le=10_000)
    # Processes that chunk files on a cold index of many files (0: one per core, at most 4).
    workers: int = Field(default=0, ge=0, le=32)
    default_mode: SearchMode = "auto"
    embeddings: EmbeddingSettings = EmbeddingSettings()
