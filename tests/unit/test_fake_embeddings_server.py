"""The fake embeddings server itself: the wire formats the backends' tests rely on."""

from __future__ import annotations

import base64
import math
import struct

import httpx
import pytest

from tests.fakes.embeddings_server import EmbeddingsServer, fake_vector


def test_similar_texts_get_closer_vectors_than_unrelated_ones() -> None:
    def cos(a: str, b: str) -> float:
        return sum(x * y for x, y in zip(fake_vector(a), fake_vector(b), strict=True))

    assert cos("parse the config file", "parseConfigFile") > cos("parse the config file", "ok")
    assert math.isclose(cos("same text", "same text"), 1.0, rel_tol=1e-9)


def test_openai_format_in_floats_and_base64() -> None:
    with EmbeddingsServer(dimensions=8) as server:
        floats = httpx.post(
            server.openai_base_url + "/embeddings", json={"model": "m", "input": ["a b", "c"]}
        ).json()
        packed = httpx.post(
            server.openai_base_url + "/embeddings",
            json={"model": "m", "input": "a b", "encoding_format": "base64", "dimensions": 4},
        ).json()
    assert [d["index"] for d in floats["data"]] == [0, 1]
    assert floats["data"][0]["embedding"] == fake_vector("a b", 8)
    decoded = struct.unpack("<4f", base64.b64decode(packed["data"][0]["embedding"]))
    expected = fake_vector("a b", 4)
    assert all(math.isclose(x, y, rel_tol=1e-6) for x, y in zip(decoded, expected, strict=True))
    assert server.text_count == 3


def test_gemini_single_and_batch_methods() -> None:
    with EmbeddingsServer(dimensions=8) as server:
        url = server.url + "/v1beta/models/gemini-embedding-001"
        one = httpx.post(url + ":embedContent", json={"content": {"parts": [{"text": "hi"}]}})
        many = httpx.post(
            url + ":batchEmbedContents",
            json={
                "requests": [
                    {"content": {"parts": [{"text": "a"}]}, "outputDimensionality": 4},
                    {"content": {"parts": [{"text": "b"}]}},
                ]
            },
        )
    assert one.json() == {"embedding": {"values": fake_vector("hi", 8)}}
    values = [e["values"] for e in many.json()["embeddings"]]
    assert (len(values[0]), len(values[1])) == (4, 8)


@pytest.mark.parametrize("gemini", [False, True])
def test_scripted_failures_then_the_key_check(gemini: bool) -> None:
    with EmbeddingsServer(api_key="sk-right-123456") as server:
        url = (
            server.url + "/v1beta/models/m:batchEmbedContents"
            if gemini
            else server.openai_base_url + "/embeddings"
        )
        body = (
            {"requests": [{"content": {"parts": [{"text": "a"}]}}]}
            if gemini
            else {"model": "m", "input": ["a"]}
        )
        server.fail(429, retry_after=7)
        server.fail(500)
        throttled = httpx.post(url, json=body)
        broken = httpx.post(url, json=body)
        unauthorised = httpx.post(url, json=body, headers={"x-goog-api-key": "wrong-key"})
    assert (throttled.status_code, throttled.headers["retry-after"]) == (429, "7")
    assert broken.status_code == 500
    assert unauthorised.status_code == 401
    error = unauthorised.json()["error"]
    assert (error.get("status") == "UNAUTHENTICATED") if gemini else ("message" in error)
    assert server.request_count == 3
    assert server.text_count == 0
