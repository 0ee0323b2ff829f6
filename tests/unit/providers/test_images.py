"""Images: their format read from the header, fitted to each provider's limits, and sent on
the wire in each provider's own format (OpenAI chat and Responses, Anthropic, Gemini)."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image
from pydantic import SecretStr

from providers.base import ChatRequest, ImagePart, UserMessage
from providers.errors import BadRequest, ProviderUnavailable
from providers.images import LIMITS, ImageError, ImageLimits, fit, sniff
from providers.router import Router
from providers.settings import ConnectionSettings, ModelSettings, ProvidersSettings, ServerSettings
from tests.fakes.llm_server import LLMServer, Reply, Text


def picture(fmt: str, size: tuple[int, int], *, noise: bool = False, frames: int = 1) -> bytes:
    """An image made here: a gradient (compresses well) or noise (does not)."""
    import random

    width, height = size
    image = Image.new("RGB", size)
    if noise:
        rng = random.Random(7)
        image.frombytes(bytes(rng.getrandbits(8) for _ in range(width * height * 3)))
    else:
        image.putdata(
            [
                ((x * 255) // width, (y * 255) // height, 90)
                for y in range(height)
                for x in range(width)
            ]
        )
    buffer = io.BytesIO()
    if frames > 1:
        more = [Image.new("RGB", size, (255, 0, 0)) for _ in range(frames - 1)]
        image.save(buffer, fmt, save_all=True, append_images=more)
    else:
        image.save(buffer, fmt)
    return buffer.getvalue()


def part(data: bytes, media_type: str) -> ImagePart:
    return ImagePart(media_type, base64.b64encode(data).decode())


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp")],
)
def test_the_header_tells_format_and_size(fmt: str, media_type: str) -> None:
    info = sniff(picture(fmt, (321, 123)))
    assert (info.media_type, info.width, info.height) == (media_type, 321, 123)


def test_anything_else_is_not_an_image() -> None:
    for data in (b"%PDF-1.7 ...", b"", b"<svg xmlns=...>", b"\x89PNG\r\n"):
        with pytest.raises(ImageError, match="not a PNG, JPEG, GIF or WebP"):
            sniff(data)


def test_an_image_within_the_limits_is_sent_as_it_is() -> None:
    image = part(picture("PNG", (200, 100)), "image/png")
    assert fit(image, LIMITS["anthropic"]) is image


def test_a_large_image_is_downscaled_to_the_longest_edge_allowed() -> None:
    image = part(picture("PNG", (3000, 1500)), "image/png")
    fitted = fit(image, LIMITS["anthropic"])
    info = sniff(base64.b64decode(fitted.data_base64))
    assert (fitted.media_type, info.width, info.height) == ("image/png", 1568, 784)


def test_an_image_over_the_byte_limit_becomes_a_smaller_jpeg() -> None:
    noisy = picture("PNG", (600, 600), noise=True)  # about 1 MB of incompressible pixels
    fitted = fit(part(noisy, "image/png"), ImageLimits(max_bytes=200_000, max_edge=2000))
    data = base64.b64decode(fitted.data_base64)
    assert fitted.media_type == "image/jpeg" and len(data) <= 200_000
    assert sniff(data).media_type == "image/jpeg"


def test_an_animated_gif_keeps_its_first_frame() -> None:
    gif = picture("GIF", (2000, 100), frames=3)
    fitted = fit(part(gif, "image/gif"), LIMITS["anthropic"])
    assert fitted.media_type == "image/png"
    with Image.open(io.BytesIO(base64.b64decode(fitted.data_base64))) as out:
        assert out.size == (1568, 78)
        assert getattr(out, "n_frames", 1) == 1


# --------------------------------------------------------------------------- on the wire

BIG = picture("PNG", (2600, 1300))


def image_sent(body: dict[str, Any], route: str) -> tuple[str, bytes]:
    """The media type and bytes of the image in a request body, in the provider's format."""
    if route == "openai-chat":
        url = body["messages"][-1]["content"][1]["image_url"]["url"]
        head, data = url.split(",", 1)
        return head.removeprefix("data:").removesuffix(";base64"), base64.b64decode(data)
    if route == "openai-responses":
        url = body["input"][-1]["content"][1]["image_url"]
        head, data = url.split(",", 1)
        return head.removeprefix("data:").removesuffix(";base64"), base64.b64decode(data)
    if route == "anthropic":
        source = body["messages"][-1]["content"][0]["source"]
        assert source["type"] == "base64"
        return source["media_type"], base64.b64decode(source["data"])
    inline = body["contents"][-1]["parts"][0]["inlineData"]
    mime = inline.get("mimeType", inline.get("mime_type"))
    return mime, base64.b64decode(inline["data"])


@pytest.mark.parametrize(
    ("model", "route", "edge"),
    [
        ("gpt-4.1", "openai-chat", 2048),
        ("gpt-codex", "openai-responses", 2048),
        ("claude-sonnet", "anthropic", 1568),
        ("gemini-flash", "gemini", 2600),
    ],
)
async def test_an_image_reaches_each_provider_in_its_format_and_within_its_limits(
    model: str, route: str, edge: int
) -> None:
    with LLMServer() as server:
        key = SecretStr("k-test")
        router = Router(
            ProvidersSettings(
                openai=ConnectionSettings(api_key=key, base_url=server.url + "/v1"),
                anthropic=ConnectionSettings(api_key=key, base_url=server.url),
                gemini=ConnectionSettings(api_key=key, base_url=server.url),
            )
        )
        server.script(Reply([Text("a gradient")], usage={"input": 10, "output": 2}))
        request = ChatRequest(
            model="", messages=(UserMessage("what is it?", (part(BIG, "image/png"),)),)
        )
        try:
            texts = [
                e.text async for e in router.stream(request, model=model) if hasattr(e, "text")
            ]
        finally:
            await router.aclose()
        assert "".join(texts) == "a gradient"
        [body] = server.bodies(route)
        media_type, data = image_sent(body, route)
        info = sniff(data)
        assert media_type == info.media_type == "image/png"
        assert max(info.width, info.height) == edge  # downscaled only where the limit says


async def test_a_model_without_images_refuses_them_and_fallbacks_without_are_skipped() -> None:
    with LLMServer() as server:
        settings = ProvidersSettings(
            openai=ConnectionSettings(api_key=SecretStr("k"), base_url=server.url + "/v1"),
            servers={"fake": ServerSettings(base_url=server.url + "/v1")},
            models={"local": ModelSettings(server="fake", model_id="qwen")},
            max_retries=0,
        )
        router = Router(settings)
        request = ChatRequest(model="", messages=(UserMessage("hi", (part(BIG, "image/png"),)),))
        with pytest.raises(BadRequest, match="local does not accept images"):
            async for _ in router.stream(request, model="local"):
                pass
        assert server.requests == []

        server.script(Reply(status=503))
        with pytest.raises(ProviderUnavailable, match="503"):
            async for _ in router.stream(request, model="gpt-4.1", fallbacks=["local"]):
                pass
        assert [b["model"] for b in server.bodies("openai-chat")] == ["gpt-4.1"]
        await router.aclose()
