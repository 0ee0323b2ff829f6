"""The Anthropic and Gemini providers against the fake server, each beside its bare SDK.

In one run, for each provider: time to first token through ``providers/`` and by a direct
SDK call (medians of alternating runs, and the difference: target under 5 ms added), then
events per second through the provider on a long reply, with the SDK's own chunks per second
beside it (the provider cannot beat its SDK; target over 20,000/s).

    python -m bench.claude_gemini [--runs 40] [--events 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from pydantic import SecretStr

from providers.anthropic import AnthropicProvider
from providers.base import ChatRequest, TextDelta, UserMessage
from providers.gemini import GeminiProvider
from providers.settings import ConnectionSettings
from tests.fakes.llm_server import LLMServer, Reply, Text

MODEL = "bench-model"
REQUEST = ChatRequest(model=MODEL, messages=(UserMessage("hi"),), max_output_tokens=64)


async def first_via_provider(provider: Any) -> None:
    events: AsyncIterator[Any] = provider.stream(REQUEST)
    async for event in events:
        if isinstance(event, TextDelta):
            break
    await events.aclose()  # type: ignore[attr-defined]


def direct_anthropic(provider: AnthropicProvider) -> Callable[[], Awaitable[int]]:
    client = provider._get_client()

    async def first() -> int:
        stream = await client.messages.create(
            model=MODEL,
            max_tokens=64,
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
        )
        async with stream:
            count = 0
            async for chunk in stream:
                count += 1
                if chunk.type == "content_block_delta":
                    return count
        return count

    return first


def direct_gemini(provider: GeminiProvider) -> Callable[[], Awaitable[int]]:
    client = provider._get_client()

    async def first() -> int:
        stream = await client.aio.models.generate_content_stream(model=MODEL, contents="hi")
        async for chunk in stream:
            if chunk.text:
                break
        await stream.aclose()  # type: ignore[attr-defined]
        return 1

    return first


async def ttft(
    server: LLMServer, provider: Any, direct: Callable[[], Awaitable[int]], runs: int
) -> tuple[float, float]:
    ours: list[float] = []
    bare: list[float] = []
    for _ in range(runs):
        for kind in ("ours", "bare"):
            server.script(Reply([Text("first"), Text("second")]))
            start = time.perf_counter()
            if kind == "ours":
                await first_via_provider(provider)
                ours.append(time.perf_counter() - start)
            else:
                await direct()
                bare.append(time.perf_counter() - start)
    return statistics.median(ours) * 1000, statistics.median(bare) * 1000


async def rate(server: LLMServer, provider: Any, events: int) -> float:
    server.script(Reply([Text("tok ") for _ in range(events)]))
    start = time.perf_counter()
    seen = 0
    async for _ in provider.stream(REQUEST):
        seen += 1
    return seen / (time.perf_counter() - start)


async def rate_direct_anthropic(server: LLMServer, provider: AnthropicProvider, n: int) -> float:
    server.script(Reply([Text("tok ") for _ in range(n)]))
    client = provider._get_client()
    start = time.perf_counter()
    seen = 0
    stream = await client.messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "hi"}], stream=True
    )
    async with stream:
        async for _ in stream:
            seen += 1
    return seen / (time.perf_counter() - start)


async def rate_direct_gemini(server: LLMServer, provider: GeminiProvider, n: int) -> float:
    server.script(Reply([Text("tok ") for _ in range(n)]))
    client = provider._get_client()
    start = time.perf_counter()
    seen = 0
    async for _ in await client.aio.models.generate_content_stream(model=MODEL, contents="hi"):
        seen += 1
    return seen / (time.perf_counter() - start)


async def main(runs: int, events: int) -> None:
    with LLMServer() as server:
        connection = ConnectionSettings(api_key=SecretStr("bench-key-0123"), base_url=server.url)
        anthropic = AnthropicProvider(connection)
        gemini = GeminiProvider(connection)
        try:
            # Warm both paths (imports, connection pools) before measuring.
            await ttft(server, anthropic, direct_anthropic(anthropic), 3)
            await ttft(server, gemini, direct_gemini(gemini), 3)
            cases: list[tuple[str, Any, Callable[[], Awaitable[int]], Any]] = [
                ("anthropic", anthropic, direct_anthropic(anthropic), rate_direct_anthropic),
                ("gemini", gemini, direct_gemini(gemini), rate_direct_gemini),
            ]
            for name, provider, direct, bare_rate in cases:
                ours, bare = await ttft(server, provider, direct, runs)
                per_s = await rate(server, provider, events)
                sdk_per_s = await bare_rate(server, provider, events)
                print(
                    f"{name:9} ttft: provider {ours:.2f} ms, direct SDK {bare:.2f} ms, "
                    f"added {ours - bare:+.2f} ms (target < 5) | events/s: provider "
                    f"{per_s:,.0f}, bare SDK chunks/s {sdk_per_s:,.0f} (target > 20,000)"
                )
        finally:
            await anthropic.aclose()
            await gemini.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.events))
