"""What the index needs from an embedding backend, and nothing more.

``indexer`` knows no provider: the daemon builds a backend (``providers.embeddings`` holds
the ones we ship: OpenAI, Gemini, any OpenAI-compatible ``/v1/embeddings`` server, and the
in-process MiniLM model of the ``local`` extra) and hands it to the index.  The index is the
one place that retries a failed batch (``retryable``, ``retry_after``), at most
``index.embeddings.max_attempts`` times.

    vectors = await embedder.embed(["def parse(...)", ...], purpose="document")

A vector is cached by ``(content hash, embedder.key)``: two backends that would give different
vectors for the same text must have different keys (model name, dimensions, prefixes).

A chunk is embedded as ``document_text``: its file's path, then its text.  The path says
what the code is part of (``calendar.py``, ``tempfile.py``, ``http/cookiejar.py``) in words
its first lines rarely repeat.  With it, MiniLM alone (``bench/hybrid.py``, recall@10 /
MRR@10) went from 0.550 / 0.360 to 0.725 / 0.479 on the 40 public retrieval questions and
from 0.727 / 0.434 to 0.739 / 0.492 on the 88 held-out ones, and hybrid search's MRR@10
from 0.516 to 0.563 and from 0.574 to 0.594 (recall@10 0.925 and 0.841 both ways).  The
index stores vectors under ``vector_key``, which names that framing, so vectors made
without it are made again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from indexer.errors import IndexerError

Purpose = Literal["document", "query"]

# How ``document_text`` frames a chunk; part of ``vector_key``.
DOCUMENT_FRAMING = "path"


def document_text(path: str, text: str) -> str:
    """What is embedded for a chunk: its path (relative to the root), then its text."""
    return f"{path}\n{text}"


class EmbeddingFailed(IndexerError):
    """A batch could not be embedded.

    ``retryable`` says whether the same batch may succeed later (throttled, server down,
    dropped connection); ``retry_after`` is the server's hint in seconds, when it gave one.
    A non-retryable failure (bad key, unknown model) stops embedding until the settings change.
    """

    def __init__(
        self, message: str, *, retryable: bool, retry_after: float | None = None, **data: object
    ) -> None:
        super().__init__(message, retryable=retryable, retry_after=retry_after, **data)
        self.retryable = retryable
        self.retry_after = retry_after


class Embedder(Protocol):
    @property
    def key(self) -> str:
        """Identity of the vectors this backend makes, e.g. ``"openai:text-embedding-3-small"``."""
        ...

    @property
    def dimensions(self) -> int | None:
        """Length of each vector, or None until the first call has shown it."""
        ...

    @property
    def max_batch(self) -> int:
        """How many texts one ``embed`` call may take."""
        ...

    async def embed(self, texts: Sequence[str], *, purpose: Purpose) -> list[list[float]]:
        """One vector per text, in order. Raises :class:`EmbeddingFailed`."""
        ...

    async def aclose(self) -> None: ...


class SharedVectors(Protocol):
    """Vectors beyond this machine (a team's cache), asked before embedding.

    The index asks :meth:`fetch` for the content hashes it lacks locally and embeds only
    the misses; it records each vector it computed for a chunk that :meth:`shares` in its
    outbox (``Index.outbox``), in the transaction that stores the vector, for an uploader
    to send and acknowledge. ``indexer`` knows nothing of where the vectors live.
    """

    def shares(self, path: str, text: str) -> bool:
        """Whether this chunk's hash and vector may leave the machine (not a secret file,
        nothing redaction would hide)."""
        ...

    async def fetch(self, embedder: str, hashes: Sequence[str]) -> dict[str, bytes]:
        """The vectors known for these hashes (packed float32); {} when unreachable.
        Never raises: the index then embeds as if the cache were empty."""
        ...

    def offered(self) -> None:
        """New rows wait in an index's outbox."""
        ...


def vector_key(embedder: Embedder) -> str:
    """Identity of the vectors the index stores and caches for ``embedder``'s chunks."""
    return f"{embedder.key}+{DOCUMENT_FRAMING}"
