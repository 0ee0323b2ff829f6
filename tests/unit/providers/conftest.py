"""Fixtures for provider tests: the fake provider server, and SDK settings pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.llm_server import LLMServer


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture
def server(llm_server: LLMServer) -> LLMServer:
    return llm_server
