"""Framing: bodies out of a byte stream, with recovery from junk."""

from __future__ import annotations

from collections.abc import Iterable

from daemon.transport import Framer


def chunks(parts: Iterable[bytes]) -> Framer:
    queue = list(parts)

    async def read() -> bytes:
        return queue.pop(0) if queue else b""

    return Framer(read)


async def test_bodies_split_across_reads() -> None:
    framer = chunks([b"Content-Len", b"gth: 2\r\n\r\n{", b"}Content-Length: 2\r\n", b"\r\n[]"])
    junk: list[str] = []
    assert await framer.next_body(junk.append) == b"{}"
    assert await framer.next_body(junk.append) == b"[]"
    assert await framer.next_body(junk.append) is None
    assert junk == []


async def test_other_headers_are_allowed() -> None:
    framer = chunks([b"Content-Type: application/vscode-jsonrpc\r\nContent-Length: 2\r\n\r\n{}"])
    junk: list[str] = []
    assert await framer.next_body(junk.append) == b"{}"
    assert junk == []


async def test_junk_before_a_header_is_reported_and_skipped() -> None:
    framer = chunks([b"\x00\xffgarbage", b"Content-Length: 2\r\n\r\n{}"])
    junk: list[str] = []
    assert await framer.next_body(junk.append) == b"{}"
    assert len(junk) == 1


async def test_header_block_without_length_is_reported() -> None:
    framer = chunks([b"X-Nothing: 1\r\n\r\nContent-Length: 2\r\n\r\n{}"])
    junk: list[str] = []
    assert await framer.next_body(junk.append) == b"{}"
    assert "Content-Length" in junk[0]
