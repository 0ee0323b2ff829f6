"""OpenAI through the whole provider layer (Router -> OpenAIProvider -> SDK) against the fake
server, beside a direct SDK call, in one run.

Prints, for Chat Completions and for the Responses API: time to first token through
``providers/`` (the router's limit check, retry and accounting wrappers included) and by a
direct ``openai`` SDK call (medians of alternating runs, and the difference: target under
5 ms added); then events per second through the router on a long reply, with the bare SDK's
chunks per second beside it (target over 20,000/s). The fake server runs in a thread of this
process, so both sides share its cost equally.

Over the wire, the SDK's own parsing (SSE decoding and a pydantic model per chunk) bounds
what any layer above it can reach, so the layer's own rate is printed too: the SDK chunks
of the same long reply, recorded once, replayed through the provider's translation and the
router's wrappers with no network and no SDK parsing.

    python -m bench.providers [--runs 60] [--events 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from pydantic import SecretStr

from providers.base import ChatRequest, Event, TextDelta, UserMessage
from providers.openai import ChatState, ResponsesState
from providers.router import Router
from providers.settings import ConnectionSettings, ProvidersSettings
from tests.fakes.llm_server import LLMServer, Reply, Text

REQUEST = ChatRequest(model="", messages=(UserMessage("hi"),), max_output_tokens=64)


async def first_via_router(router: Router, model: str) -> None:
    events: AsyncIterator[Event] = router.stream(REQUEST, model=model, fallbacks=[])
    async for event in events:
        if isinstance(event, TextDelta):
            break
    await events.aclose()  # type: ignore[attr-defined]


def direct(client: Any, api: str, model_id: str) -> Callable[[], Awaitable[None]]:
    async def first() -> None:
        if api == "chat":
            stream = await client.chat.completions.create(
                model=model_id,
                messages=[{"role": "user", "content": "hi"}],
                max_completion_tokens=64,
                stream=True,
                stream_options={"include_usage": True},
            )
            async with stream:
                async for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        return
        else:
            stream = await client.responses.create(
                model=model_id, input="hi", max_output_tokens=64, stream=True
            )
            async with stream:
                async for item in stream:
                    if item.type == "response.output_text.delta":
                        return

    return first


async def ttft(
    server: LLMServer, router: Router, model: str, bare: Callable[[], Awaitable[None]], runs: int
) -> tuple[float, float]:
    ours: list[float] = []
    sdk: list[float] = []
    for _ in range(runs):
        for kind in ("ours", "sdk"):
            server.script(Reply([Text("first"), Text("second")]))
            start = time.perf_counter()
            if kind == "ours":
                await first_via_router(router, model)
                ours.append(time.perf_counter() - start)
            else:
                await bare()
                sdk.append(time.perf_counter() - start)
    return statistics.median(ours) * 1000, statistics.median(sdk) * 1000


async def rate_router(server: LLMServer, router: Router, model: str, events: int) -> float:
    server.script(Reply([Text("tok ") for _ in range(events)]))
    start = time.perf_counter()
    seen = 0
    async for _ in router.stream(REQUEST, model=model, fallbacks=[]):
        seen += 1
    return seen / (time.perf_counter() - start)


async def rate_sdk(server: LLMServer, client: Any, api: str, model_id: str, events: int) -> float:
    server.script(Reply([Text("tok ") for _ in range(events)]))
    start = time.perf_counter()
    seen = 0
    if api == "chat":
        stream = await client.chat.completions.create(
            model=model_id, messages=[{"role": "user", "content": "hi"}], stream=True
        )
    else:
        stream = await client.responses.create(model=model_id, input="hi", stream=True)
    async with stream:
        async for _ in stream:
            seen += 1
    return seen / (time.perf_counter() - start)


class Replay:
    """A provider that replays recorded SDK chunks through the real translation code."""

    name = "openai"

    def __init__(self, chunks: list[Any], api: str) -> None:
        self.chunks = chunks
        self.api = api

    async def _events(self, request: ChatRequest) -> AsyncIterator[Event]:
        state = ChatState() if self.api == "chat" else ResponsesState()
        for chunk in self.chunks:
            for event in state.feed(chunk):
                yield event
        for event in state.end():
            yield event

    def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        return self._events(request)

    async def aclose(self) -> None:
        pass


async def record(server: LLMServer, client: Any, api: str, model_id: str, n: int) -> list[Any]:
    server.script(Reply([Text("tok ") for _ in range(n)]))
    if api == "chat":
        stream = await client.chat.completions.create(
            model=model_id,
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    else:
        stream = await client.responses.create(model=model_id, input="hi", stream=True)
    async with stream:
        return [chunk async for chunk in stream]


async def rate_layer(router: Router, model: str, chunks: list[Any], api: str) -> float:
    layer = Router(router.settings)
    layer._providers["openai"] = Replay(chunks, api)
    start = time.perf_counter()
    seen = 0
    async for _ in layer.stream(REQUEST, model=model, fallbacks=[]):
        seen += 1
    return seen / (time.perf_counter() - start)


async def main(runs: int, events: int) -> None:
    import openai

    with LLMServer() as server:
        base_url = server.url + "/v1"
        settings = ProvidersSettings(
            openai=ConnectionSettings(api_key=SecretStr("sk-bench-key-0123"), base_url=base_url)
        )
        router = Router(settings)
        client = openai.AsyncOpenAI(api_key="sk-bench-key-0123", base_url=base_url, max_retries=0)
        cases = [("chat", "gpt-4.1", "gpt-4.1"), ("responses", "gpt-codex", "gpt-5.1-codex")]
        try:
            for api, model, model_id in cases:  # warm imports and connection pools
                await ttft(server, router, model, direct(client, api, model_id), 3)
                await rate_router(server, router, model, events)
                await rate_sdk(server, client, api, model_id, events)
            for api, model, model_id in cases:
                ours, sdk = await ttft(server, router, model, direct(client, api, model_id), runs)
                per_s = await rate_router(server, router, model, events)
                sdk_per_s = await rate_sdk(server, client, api, model_id, events)
                chunks = await record(server, client, api, model_id, events)
                layer_per_s = await rate_layer(router, model, chunks, api)
                print(
                    f"openai {api:9} ttft: providers/ {ours:.2f} ms, direct SDK {sdk:.2f} ms, "
                    f"added {ours - sdk:+.2f} ms (target < 5)\n"
                    f"{'':17}events/s over the wire: providers/ {per_s:,.0f}, bare SDK chunks/s "
                    f"{sdk_per_s:,.0f}; the layer alone (replayed chunks): {layer_per_s:,.0f} "
                    f"(target > 20,000)"
                )
        finally:
            await router.aclose()
            await client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.events))
