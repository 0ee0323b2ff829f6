"""Images attached to deputydev/query: through the real daemon to the fake model on the wire,
kept with the session, and refused with the field named when they should be."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException

from tests.e2e.test_query import Daemon, text
from tests.fakes.llm_server import LLMServer
from tests.unit.providers.test_images import picture


@pytest.fixture
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture
async def daemon(workspace: Path, tmp_path: Path, llm: LLMServer) -> AsyncIterator[Daemon]:
    made = Daemon(workspace, tmp_path, llm)
    yield made
    await made.close()


def data_urls(body: dict[str, object]) -> list[str]:
    urls = []
    for message in body["messages"]:  # type: ignore[attr-defined]
        content = message["content"]
        if isinstance(content, list):
            urls += [p["image_url"]["url"] for p in content if p["type"] == "image_url"]
    return urls


async def test_images_reach_the_model_stay_with_the_session_and_are_checked(
    daemon: Daemon,
) -> None:
    (daemon.workspace / "shots").mkdir()
    (daemon.workspace / "shots" / "bug.png").write_bytes(picture("PNG", (3000, 1000)))
    # Under .ssh/, secret by the one policy whatever the file's type.
    (daemon.workspace / ".ssh").mkdir()
    (daemon.workspace / ".ssh" / "screen.png").write_bytes(picture("PNG", (10, 10)))
    jpeg = picture("JPEG", (64, 32))
    client = await daemon.start(text("A red error banner."), text("Still the banner."))

    first = await client.request(
        "deputydev/query",
        {
            "query": "what do these show?",
            "attachments": [
                {"kind": "image", "path": str(daemon.workspace / "shots" / "bug.png")},
                {
                    "kind": "image",
                    "mediaType": "image/jpeg",
                    "data": base64.b64encode(jpeg).decode(),
                },
            ],
        },
    )
    assert first["text"] == "A red error banner."
    [png_url, jpeg_url] = data_urls(daemon.requests()[0])
    assert png_url.startswith("data:image/png;base64,")
    assert jpeg_url == "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()

    # A follow-up carries the earlier turn's images in its history.
    second = await client.request(
        "deputydev/query", {"query": "and now?", "sessionId": first["sessionId"]}
    )
    assert second["text"] == "Still the banner."
    assert len(data_urls(daemon.requests()[1])) == 2
    got = await client.request("deputydev/sessions/get", {"sessionId": first["sessionId"]})
    user = next(m for m in got["turns"][0]["messages"] if m["role"] == "user")
    assert [i["media_type"] for i in user["content"]["images"]] == ["image/png", "image/jpeg"]

    async def refused(attachment: dict[str, object], model: str | None = None) -> str:
        params: dict[str, object] = {"query": "look", "attachments": [attachment]}
        if model:
            params["model"] = model
        with pytest.raises(JsonRpcException) as caught:
            await client.request("deputydev/query", params)
        assert caught.value.code == -32602
        return str(caught.value.message)

    outside = daemon.workspace.parent / "outside.png"
    outside.write_bytes(picture("PNG", (10, 10)))
    assert "attachments[0].path" in await refused({"path": str(outside)})
    assert "'..'" in await refused({"path": "../outside.png"})
    assert "secrets file" in await refused({"path": ".ssh/screen.png"})
    assert "mediaType says image/png but the image is image/jpeg" in await refused(
        {"mediaType": "image/png", "data": base64.b64encode(jpeg).decode()}
    )
    assert "not valid base64" in await refused({"mediaType": "image/png", "data": "%%%"})
    assert "not a PNG, JPEG, GIF or WebP" in await refused(
        {"mediaType": "image/png", "data": base64.b64encode(b"GIF? no, text").decode()}
    )
    assert "local does not accept images" in await refused({"path": "shots/bug.png"}, "local")
    assert len(daemon.requests()) == 2  # no refused query reached the model
