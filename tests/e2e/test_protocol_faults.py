"""The LSP lifecycle and framing faults an editor (or an attacker) can produce, over raw bytes.

Requests before ``initialize`` get ServerNotInitialized and run nothing; an id sent with a
notification method gets an error instead of silence; a ``Content-Length`` a few bytes too
long loses only its own message.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from protocol import errors as codes
from tests.e2e.harness import daemon_env
from tests.e2e.test_garbage import RawDaemon, frame

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"processId": None, "rootUri": None, "capabilities": {}},
}


@pytest.fixture
async def fresh(tmp_path: Path) -> AsyncIterator[RawDaemon]:
    """A daemon that has not been initialized."""
    with open(tmp_path / "stderr", "wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "daemon",
            "serve",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env=daemon_env(),
        )
    yield RawDaemon(process)
    if process.returncode is None:
        process.kill()
        await process.wait()


async def initialize(daemon: RawDaemon) -> None:
    await daemon.send(frame(INITIALIZE))
    assert "result" in await daemon.read_response(1)
    await daemon.send(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))


def did_open(uri: str, **extra: Any) -> bytes:
    document = {"uri": uri, "languageId": "python", "version": 1, "text": "x = 1\n"}
    return frame(
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didOpen",
            "params": {"textDocument": document},
            **extra,
        }
    )


async def open_documents(daemon: RawDaemon) -> int:
    daemon.next_id += 1
    await daemon.send(frame({"jsonrpc": "2.0", "id": daemon.next_id, "method": "deputydev/status"}))
    count: int = (await daemon.read_response(daemon.next_id))["result"]["openDocuments"]
    return count


async def test_requests_before_initialize_are_refused_and_run_nothing(
    fresh: RawDaemon, tmp_path: Path
) -> None:
    query = {"query": "what is here?", "partialResultToken": "early"}
    await fresh.send(
        frame({"jsonrpc": "2.0", "id": 7, "method": "deputydev/query", "params": query})
    )
    await fresh.send(did_open((tmp_path / "early.py").as_uri()))
    await fresh.send(frame({"jsonrpc": "2.0", "id": 8, "method": "deputydev/status"}))

    refused = await fresh.read()
    assert refused["id"] == 7
    assert refused["error"]["code"] == codes.SERVER_NOT_INITIALIZED == -32002
    assert "initialize" in refused["error"]["message"]
    status = await fresh.read()  # nothing in between: no progress, no session, no answer
    assert status["id"] == 8 and status["error"]["code"] == -32002

    await initialize(fresh)
    assert await open_documents(fresh) == 0  # the early didOpen was dropped
    await fresh.send(did_open((tmp_path / "later.py").as_uri()))
    assert await open_documents(fresh) == 1


async def test_exit_before_initialize_stops_the_daemon(fresh: RawDaemon) -> None:
    await fresh.send(frame({"jsonrpc": "2.0", "method": "exit"}))
    assert await asyncio.wait_for(fresh.process.wait(), 30) == 1


async def test_an_id_sent_to_a_notification_method_is_answered_with_an_error(
    fresh: RawDaemon,
) -> None:
    await initialize(fresh)
    notifications = [
        ("initialized", {}),
        ("$/cancelRequest", {"id": 99}),
        ("workspace/didChangeConfiguration", {"settings": {}}),
    ]
    for msg_id, (method, params) in enumerate(notifications, start=21):
        await fresh.send(
            frame({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        )
        response = await fresh.read_response(msg_id)
        assert response["error"]["code"] == codes.INVALID_REQUEST, method
        assert f"{method} is a notification" in response["error"]["message"]
    await fresh.status_works()


async def test_did_open_with_an_id_is_refused_and_not_run(fresh: RawDaemon, tmp_path: Path) -> None:
    await initialize(fresh)
    await fresh.send(did_open((tmp_path / "a.py").as_uri(), id="open-1"))
    response = await fresh.read_response("open-1")
    assert response["error"]["code"] == codes.INVALID_REQUEST
    assert "textDocument/didOpen is a notification" in response["error"]["message"]
    assert await open_documents(fresh) == 0


async def test_a_content_length_a_few_bytes_too_long_loses_only_its_message(
    fresh: RawDaemon,
) -> None:
    await initialize(fresh)
    for msg_id, (extra, together) in enumerate(
        [(1, True), (3, True), (7, True), (1, False), (3, False), (7, False)], start=100
    ):
        body = json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": "deputydev/status"})
        broken = b"Content-Length: %d\r\n\r\n%s" % (len(body) + extra, body.encode())
        following = frame({"jsonrpc": "2.0", "id": -msg_id, "method": "deputydev/status"})
        if together:
            await fresh.send(broken + following)
        else:
            await fresh.send(broken)
            # Not a wait for a result: it lets the daemon read the broken message alone, as
            # when an editor sends it and the next message only later.
            await asyncio.sleep(0.05)
            await fresh.send(following)

        first = await fresh.read()
        assert first["id"] == msg_id, (extra, together)
        assert first["error"]["code"] == codes.PARSE_ERROR
        assert "Content-Length" in first["error"]["message"]
        second = await fresh.read()
        assert second["id"] == -msg_id and "version" in second["result"], (extra, together)
    await fresh.status_works()
