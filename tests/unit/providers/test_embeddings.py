"""Each embedding backend against the fake server on the wire, through its real SDK.

Backends do not retry (the index does, tests/unit/indexer/test_index.py): a failure is a
typed provider error that says whether to try again, and when.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator

import pytest

from indexer.settings import EmbeddingSettings
from providers.embeddings import CompatibleEmbedder, GeminiEmbedder, OpenAIEmbedder
from providers.errors import ProviderError, ProviderUnavailable, RateLimited
from tests.fakes.embeddings_server import EmbeddingsServer, fake_vector

KEY = "sk-test-abcdef123456"


@pytest.fixture
def server() -> Iterator[EmbeddingsServer]:
    with EmbeddingsServer(api_key=KEY) as running:
        yield running


def openai(server: EmbeddingsServer, **settings: object) -> OpenAIEmbedder:
    config = EmbeddingSettings.model_validate(
        {"backend": "openai", "base_url": server.openai_base_url, **settings}
    )
    return OpenAIEmbedder(config, env={"OPENAI_API_KEY": KEY})


def gemini(server: EmbeddingsServer, **settings: object) -> GeminiEmbedder:
    config = EmbeddingSettings.model_validate(
        {"backend": "gemini", "base_url": server.url, **settings}
    )
    return GeminiEmbedder(config, env={"GEMINI_API_KEY": KEY})


def close(a: list[float], b: list[float]) -> bool:
    return all(math.isclose(x, y, abs_tol=1e-6) for x, y in zip(a, b, strict=True))


# --- OpenAI ----------------------------------------------------------------------------------


async def test_openai_splits_a_call_into_batches_and_keeps_order(
    server: EmbeddingsServer,
) -> None:
    embedder = openai(server, batch_size=2)
    texts = ["def parse(args)", "class Popen", "walk the tree", "quote a string", "x"]
    vectors = await embedder.embed(texts, purpose="document")
    await embedder.aclose()

    assert server.request_count == 3
    assert server.text_count == 5
    sent = sorted(tuple(r.body["input"]) for r in server.requests)
    assert sent == sorted([tuple(texts[0:2]), tuple(texts[2:4]), tuple(texts[4:])])
    assert all(close(v, fake_vector(t)) for v, t in zip(vectors, texts, strict=True))
    assert embedder.dimensions == 64
    assert embedder.key == "openai:text-embedding-3-small"
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"


async def test_a_429_is_rate_limited_with_the_servers_retry_after_and_not_retried(
    server: EmbeddingsServer,
) -> None:
    server.fail(429, retry_after=60)
    embedder = openai(server)
    with pytest.raises(RateLimited) as failed:
        await embedder.embed(["parse the arguments"], purpose="query")
    await embedder.aclose()
    assert failed.value.retryable
    assert failed.value.retry_after == 60
    assert server.request_count == 1


async def test_a_server_error_is_retryable_and_keeps_the_servers_message(
    server: EmbeddingsServer,
) -> None:
    server.fail(500, message="upstream exploded")
    embedder = openai(server)
    with pytest.raises(ProviderUnavailable) as failed:
        await embedder.embed(["a"], purpose="document")
    await embedder.aclose()
    assert failed.value.retryable
    assert "server error 500" in str(failed.value)
    assert "upstream exploded" in str(failed.value)
    assert server.request_count == 1


async def test_a_refused_key_names_the_variable_and_never_the_key(
    server: EmbeddingsServer,
) -> None:
    config = EmbeddingSettings(backend="openai", base_url=server.openai_base_url)
    embedder = OpenAIEmbedder(config, env={"OPENAI_API_KEY": "sk-wrong-key-987654"})
    server.fail(401, message="Incorrect API key provided: sk-wron**********7654")
    with pytest.raises(ProviderError) as failed:
        await embedder.embed(["a"], purpose="document")
    await embedder.aclose()
    message = str(failed.value)
    assert not failed.value.retryable
    assert "401" in message
    assert "OPENAI_API_KEY" in message
    assert "sk-wrong-key-987654" not in message
    assert "7654" not in message  # not even the server's masked quote of it
    assert server.request_count == 1  # an auth error is not retried


async def test_a_missing_key_fails_before_any_request(server: EmbeddingsServer) -> None:
    config = EmbeddingSettings(backend="openai", base_url=server.openai_base_url)
    embedder = OpenAIEmbedder(config, env={})
    with pytest.raises(ProviderError, match="OPENAI_API_KEY") as failed:
        await embedder.embed(["a"], purpose="document")
    assert not failed.value.retryable
    assert server.request_count == 0


async def test_the_key_can_come_from_a_variable_named_in_settings(
    server: EmbeddingsServer,
) -> None:
    config = EmbeddingSettings(
        backend="openai", base_url=server.openai_base_url, api_key_env="TEAM_EMBED_KEY"
    )
    embedder = OpenAIEmbedder(config, env={"TEAM_EMBED_KEY": KEY, "OPENAI_API_KEY": "other"})
    await embedder.embed(["a"], purpose="document")
    await embedder.aclose()
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"


async def test_dimensions_are_asked_for_and_part_of_the_key(server: EmbeddingsServer) -> None:
    embedder = openai(server, dimensions=16)
    vectors = await embedder.embed(["a b c"], purpose="document")
    await embedder.aclose()
    assert server.requests[0].body["dimensions"] == 16
    assert len(vectors[0]) == 16
    assert embedder.dimensions == 16
    assert embedder.key == "openai:text-embedding-3-small@16"


async def test_vectors_of_the_wrong_length_are_a_settings_error() -> None:
    # A server that ignores `dimensions` (many compatible ones do) answers 64 for 16.
    with EmbeddingsServer() as plain:
        config = EmbeddingSettings(backend="compatible", base_url=plain.openai_base_url)
        embedder = CompatibleEmbedder(config, env={})
        await embedder.embed(["a"], purpose="document")
        assert embedder.dimensions == 64
        plain.state.dimensions = 32
        with pytest.raises(ProviderError, match="32 dimensions, expected 64") as failed:
            await embedder.embed(["b"], purpose="document")
        await embedder.aclose()
    assert not failed.value.retryable


async def test_vectors_are_normalised_and_empty_texts_still_embed(
    server: EmbeddingsServer,
) -> None:
    embedder = openai(server)
    vectors = await embedder.embed(["", "   ", "word"], purpose="document")
    await embedder.aclose()
    assert len(vectors) == 3
    for vector in vectors:
        assert math.isclose(sum(v * v for v in vector), 1.0, rel_tol=1e-6)
    assert "" not in server.requests[0].body["input"]


# --- OpenAI-compatible servers ------------------------------------------------------------


async def test_compatible_server_needs_no_key_and_gets_floats() -> None:
    with EmbeddingsServer() as local:
        config = EmbeddingSettings(
            backend="compatible", base_url=local.openai_base_url, model="nomic-embed-text"
        )
        embedder = CompatibleEmbedder(config, env={"OPENAI_API_KEY": KEY})
        vectors = await embedder.embed(["hello world"], purpose="query")
        await embedder.aclose()
        (request,) = local.requests
    assert request.body["model"] == "nomic-embed-text"
    assert request.body["encoding_format"] == "float"
    assert KEY not in request.headers.get("authorization", "")  # OpenAI's key stays home
    assert close(vectors[0], fake_vector("hello world"))
    assert embedder.key == "compatible:nomic-embed-text"


async def test_compatible_without_a_url_names_the_setting() -> None:
    embedder = CompatibleEmbedder(EmbeddingSettings(backend="compatible"), env={})
    with pytest.raises(ProviderError, match=r"index\.embeddings\.base_url") as failed:
        await embedder.embed(["a"], purpose="document")
    assert not failed.value.retryable


async def test_an_unreachable_server_is_retryable() -> None:
    with EmbeddingsServer() as gone:
        url = gone.openai_base_url
    config = EmbeddingSettings(backend="compatible", base_url=url)
    embedder = CompatibleEmbedder(config, env={})
    with pytest.raises(ProviderError, match="cannot reach") as failed:
        await embedder.embed(["a"], purpose="document")
    await embedder.aclose()
    assert failed.value.retryable


async def test_an_unreachable_gemini_endpoint_is_retryable() -> None:
    with EmbeddingsServer() as gone:
        url = gone.url
    config = EmbeddingSettings(backend="gemini", base_url=url)
    embedder = GeminiEmbedder(config, env={"GEMINI_API_KEY": KEY})
    with pytest.raises(ProviderError, match="cannot reach") as failed:
        await embedder.embed(["a"], purpose="document")
    await embedder.aclose()
    assert failed.value.retryable


# --- Gemini -----------------------------------------------------------------------------------


async def test_gemini_batches_with_task_types_and_dimensions(server: EmbeddingsServer) -> None:
    embedder = gemini(server, dimensions=32, batch_size=2)
    documents = await embedder.embed(["def parse()", "class Popen", "walk"], purpose="document")
    query = await embedder.embed(["how are arguments parsed"], purpose="query")
    await embedder.aclose()

    paths = [r.path for r in server.requests]
    assert len(paths) == 3
    assert all(p.endswith("/models/gemini-embedding-001:batchEmbedContents") for p in paths)
    # The two document batches run concurrently: find the one with two texts.
    (first,) = [r.body["requests"] for r in server.requests[:2] if len(r.body["requests"]) == 2]
    assert [r["content"]["parts"][0]["text"] for r in first] == ["def parse()", "class Popen"]
    assert {r["taskType"] for r in first} == {"RETRIEVAL_DOCUMENT"}
    assert server.requests[2].body["requests"][0]["taskType"] == "CODE_RETRIEVAL_QUERY"
    assert {r["outputDimensionality"] for r in first} == {32}
    assert server.requests[0].headers["x-goog-api-key"] == KEY
    assert close(documents[2], fake_vector("walk", 32))
    assert len(query[0]) == 32
    assert embedder.key == "gemini:gemini-embedding-001@32"


async def test_gemini_429_carries_retry_after(server: EmbeddingsServer) -> None:
    server.fail(429, retry_after=7)
    embedder = gemini(server)
    with pytest.raises(RateLimited) as failed:
        await embedder.embed(["a"], purpose="document")
    await embedder.aclose()
    assert failed.value.retry_after == 7
    assert server.request_count == 1


async def test_gemini_refused_key_names_both_variables(server: EmbeddingsServer) -> None:
    config = EmbeddingSettings(backend="gemini", base_url=server.url)
    embedder = GeminiEmbedder(config, env={"GOOGLE_API_KEY": "wrong-key-000000"})
    with pytest.raises(ProviderError) as failed:
        await embedder.embed(["a"], purpose="document")
    await embedder.aclose()
    assert not failed.value.retryable
    assert "GOOGLE_API_KEY or GEMINI_API_KEY" in str(failed.value)
    assert "wrong-key-000000" not in str(failed.value)


async def test_gemini_server_error_is_retryable(server: EmbeddingsServer) -> None:
    server.fail(503)
    embedder = gemini(server)
    with pytest.raises(ProviderUnavailable, match="server error 503") as failed:
        await embedder.embed(["a"], purpose="document")
    await embedder.aclose()
    assert failed.value.retryable
    assert server.request_count == 1


async def test_backends_can_run_side_by_side_on_one_loop(server: EmbeddingsServer) -> None:
    a, b = openai(server), gemini(server)
    first, second = await asyncio.gather(
        a.embed(["x y"], purpose="document"), b.embed(["x y"], purpose="document")
    )
    await a.aclose()
    await b.aclose()
    assert close(first[0], second[0])
