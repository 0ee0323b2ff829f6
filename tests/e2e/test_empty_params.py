"""Methods whose params are all optional accept ``[]``, ``{}``, ``null`` and no params alike.

Neovim encodes an empty Lua table as ``[]``, other clients send ``null`` or leave
``params`` out; each spelling must get the method's answer, not ``-32602``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from protocol.methods import METHOD_TYPES
from tests.e2e.harness import daemon_env

SPELLINGS: dict[str, dict[str, Any]] = {
    "[]": {"params": []},
    "{}": {"params": {}},
    "null": {"params": None},
    "absent": {},
}


def all_optional() -> list[str]:
    out = []
    for method, (params, _) in sorted(METHOD_TYPES.items()):
        if params is None:
            continue
        try:
            params.model_validate({})
        except ValidationError:
            continue
        out.append(method)
    return out


class Raw:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self.stdin = process.stdin
        self.stdout = process.stdout
        self.next_id = 0
        self.notifications: list[dict[str, Any]] = []

    async def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        await self.stdin.drain()

    async def read(self) -> dict[str, Any]:
        length = 0
        while True:
            line = await self.stdout.readline()
            assert line, "the daemon closed its output"
            if line == b"\r\n":
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        message: dict[str, Any] = json.loads(await self.stdout.readexactly(length))
        return message

    async def call(self, method: str, extra: dict[str, Any]) -> dict[str, Any]:
        self.next_id += 1
        msg_id = self.next_id
        await self.send({"id": msg_id, "method": method, **extra})

        async def response() -> dict[str, Any]:
            while True:
                message = await self.read()
                if message.get("id") == msg_id and "method" not in message:
                    return message
                if "method" in message and "id" in message:  # a request to the editor
                    await self.send({"id": message["id"], "result": None})
                elif "method" in message:
                    self.notifications.append(message)

        return await asyncio.wait_for(response(), 30)


@pytest.fixture
async def raw(workspace: Path, tmp_path: Path) -> AsyncIterator[Raw]:
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
    daemon = Raw(process)
    init = await daemon.call(
        "initialize",
        {"params": {"processId": None, "rootUri": workspace.as_uri(), "capabilities": {}}},
    )
    assert "result" in init, init
    await daemon.send({"method": "initialized", "params": {}})
    yield daemon
    process.kill()
    await process.wait()


async def test_every_all_optional_method_accepts_each_spelling_of_no_params(raw: Raw) -> None:
    methods = all_optional()
    assert "deputydev/status" in methods and "deputydev/sessions/list" in methods
    for method in methods:
        for spelling, extra in SPELLINGS.items():
            answer = await raw.call(method, extra)
            if method == "deputydev/review":  # this workspace is no git repository: its error
                assert answer["error"]["code"] == -32091, answer  # is about that, not params
                continue
            assert "result" in answer, f"{method} with params {spelling}: {answer.get('error')}"
            if method == "deputydev/index/pause":  # or the next rebuild would wait for good
                await raw.call("deputydev/index/resume", {})


async def test_a_required_field_is_still_named_when_params_are_empty(raw: Raw) -> None:
    answer = await raw.call("deputydev/search", {"params": []})
    assert answer["error"]["code"] == -32602
    assert "query" in answer["error"]["message"]


async def test_empty_settings_from_neovim_are_empty_settings(raw: Raw) -> None:
    await raw.send({"method": "workspace/didChangeConfiguration", "params": {"settings": []}})
    status = await raw.call("deputydev/status", {})
    assert status["result"]["configErrors"] == []
    shown = [
        n["params"]["message"] for n in raw.notifications if n["method"] == "window/showMessage"
    ]
    assert not any("not an object" in m for m in shown), shown
