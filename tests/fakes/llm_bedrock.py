"""Anthropic on AWS Bedrock, on the fake server's wire: ``invoke-with-response-stream``.

Bedrock does not stream SSE. Its response (``application/vnd.amazon.eventstream``) is a
sequence of binary event-stream messages, each framed as AWS documents it:

    total length (4) | headers length (4) | prelude CRC32 (4) | headers | payload | CRC32 (4)

with string headers ``:event-type: chunk``, ``:content-type: application/json`` and
``:message-type: event``, and a payload ``{"bytes": "<base64 of one Messages API event>"}``.
The events inside are Anthropic's own (``tests.fakes.llm_anthropic``), so the SDK's
Bedrock client decodes this with botocore's real parser and then reads the same events.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Iterator
from typing import Any

from tests.fakes.llm_anthropic import render as render_anthropic
from tests.fakes.llm_server import Reply

CONTENT_TYPE = "application/vnd.amazon.eventstream"


def render(reply: Reply, body: Any) -> Iterator[bytes]:
    for event in render_anthropic(reply, body):
        data = _sse_data(event)
        if data is None:
            continue
        payload = json.dumps({"bytes": base64.b64encode(data.encode()).decode()}).encode()
        yield message(
            {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"},
            payload,
        )


def _sse_data(event: bytes) -> str | None:
    for line in event.decode().splitlines():
        if line.startswith("data: "):
            return line[len("data: ") :]
    return None


def message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message with string headers (value type 7)."""
    encoded = b"".join(
        bytes([len(name)])
        + name.encode()
        + b"\x07"
        + struct.pack(">H", len(value))
        + value.encode()
        for name, value in headers.items()
    )
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + encoded + payload
    return body + struct.pack(">I", zlib.crc32(body))
