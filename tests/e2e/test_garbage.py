"""Garbage on stdin gets the right JSON-RPC error, and the next valid request is answered."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import daemon_env


def frame(payload: Any) -> bytes:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


class RawDaemon:
    """The daemon with nothing between the test and its bytes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        assert process.stdin is not None and process.stdout is not None
        self.stdin = process.stdin
        self.stdout = process.stdout
        self.next_id = 1000

    async def send(self, data: bytes) -> None:
        self.stdin.write(data)
        await self.stdin.drain()

    async def read(self, timeout: float = 30) -> dict[str, Any]:
        async def read_one() -> dict[str, Any]:
            length = None
            while True:
                line = await self.stdout.readline()
                assert line, "the daemon closed its output"
                if line == b"\r\n":
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            assert length is not None
            message: dict[str, Any] = json.loads(await self.stdout.readexactly(length))
            return message

        return await asyncio.wait_for(read_one(), timeout)

    async def read_response(self, msg_id: Any) -> dict[str, Any]:
        while True:
            message = await self.read()
            if "method" not in message and message.get("id") == msg_id:
                return message

    async def status_works(self) -> None:
        self.next_id += 1
        await self.send(frame({"jsonrpc": "2.0", "id": self.next_id, "method": "deputydev/status"}))
        response = await self.read_response(self.next_id)
        assert "version" in response["result"], response


@pytest.fixture
async def raw(tmp_path: Path) -> AsyncIterator[RawDaemon]:
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
    daemon = RawDaemon(process)
    await daemon.send(
        frame(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {"processId": None, "rootUri": None, "capabilities": {}},
            }
        )
    )
    assert "result" in await daemon.read_response(1)
    await daemon.send(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
    yield daemon
    if process.returncode is None:
        process.kill()
        await process.wait()


async def test_body_that_is_not_json_gets_parse_error(raw: RawDaemon) -> None:
    await raw.send(frame(b'{"jsonrpc": "2.0", "id": 5, "method": '))
    response = await raw.read_response(None)
    assert response["error"]["code"] == -32700
    await raw.status_works()


async def test_random_bytes_then_a_valid_request(raw: RawDaemon) -> None:
    await raw.send(os.urandom(4096).replace(b"\r\n\r\n", b"xxxx") + b"\r\n\r\n")
    response = await raw.read_response(None)
    assert response["error"]["code"] == -32700
    await raw.status_works()


async def test_truncated_message_followed_by_a_valid_one(raw: RawDaemon) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "deputydev/status"}).encode()
    await raw.send(b"Content-Length: %d\r\n\r\n%s" % (len(body) + 40, body[:-10]))
    # The next request's bytes complete the truncated body; the reader answers the broken
    # message with a parse error, then recovers the request from inside it.
    raw.next_id += 1
    await raw.send(frame({"jsonrpc": "2.0", "id": raw.next_id, "method": "deputydev/status"}))
    codes = []
    while True:
        message = await raw.read()
        if message.get("id") == raw.next_id:
            break
        codes.append(message.get("error", {}).get("code"))
    assert codes == [-32700]
    assert "version" in message["result"]


async def test_content_length_too_short_recovers(raw: RawDaemon) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 8, "method": "deputydev/status"}).encode()
    await raw.send(b"Content-Length: %d\r\n\r\n%s" % (len(body) - 5, body))
    response = await raw.read_response(None)
    assert response["error"]["code"] == -32700
    await raw.status_works()


async def test_json_array_is_an_invalid_request(raw: RawDaemon) -> None:
    await raw.send(frame([{"jsonrpc": "2.0", "id": 9, "method": "deputydev/status"}]))
    response = await raw.read_response(None)
    assert response["error"]["code"] == -32600
    assert "batch" in response["error"]["message"]
    await raw.status_works()


async def test_missing_jsonrpc_version_is_an_invalid_request(raw: RawDaemon) -> None:
    await raw.send(frame({"id": 10, "method": "deputydev/status"}))
    response = await raw.read_response(10)
    assert response["error"]["code"] == -32600
    await raw.status_works()


async def test_unknown_method_is_method_not_found(raw: RawDaemon) -> None:
    await raw.send(frame({"jsonrpc": "2.0", "id": 11, "method": "deputydev/noSuchThing"}))
    response = await raw.read_response(11)
    assert response["error"]["code"] == -32601
    await raw.status_works()


async def test_invalid_params_name_the_field(raw: RawDaemon) -> None:
    await raw.send(
        frame(
            {
                "jsonrpc": "2.0",
                "id": 12,
                "method": "textDocument/hover",
                "params": {"textDocument": {"uri": "file:///x.py"}},
            }
        )
    )
    response = await raw.read_response(12)
    assert response["error"]["code"] == -32602
    assert "position" in response["error"]["message"]
    await raw.status_works()


async def test_ten_megabytes_of_json_is_answered(raw: RawDaemon) -> None:
    blob = "x" * (10 * 1024 * 1024)
    await raw.send(
        frame(
            {"jsonrpc": "2.0", "id": 13, "method": "deputydev/noSuchThing", "params": {"b": blob}}
        )
    )
    response = await raw.read_response(13)
    assert response["error"]["code"] == -32601
    await raw.status_works()


async def test_request_after_shutdown_is_refused_and_exit_is_zero(raw: RawDaemon) -> None:
    await raw.send(frame({"jsonrpc": "2.0", "id": 14, "method": "shutdown"}))
    assert (await raw.read_response(14))["result"] is None
    await raw.send(frame({"jsonrpc": "2.0", "id": 15, "method": "deputydev/status"}))
    assert (await raw.read_response(15))["error"]["code"] == -32600
    await raw.send(frame({"jsonrpc": "2.0", "method": "exit"}))
    assert await asyncio.wait_for(raw.process.wait(), 30) == 0
