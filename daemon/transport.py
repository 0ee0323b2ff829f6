"""The LSP base protocol on a byte stream: framing, validation, and recovery from garbage.

pygls's own reader loop logs and drops a message it cannot parse, so the editor never hears
about it, and a wrong ``Content-Length`` desynchronises the stream for good. This reader
answers every broken message the way JSON-RPC 2.0 says (``-32700`` for bytes that are not
JSON or not framed, ``-32600`` for JSON that is not a request, ``-32602`` naming the
offending field for params that do not validate), then finds the next ``Content-Length``
header and carries on. Valid messages go to pygls's protocol unchanged.

Recovery works on one buffer: a body that fails to parse but contains the start of another
header (the sender's length was too long, or the message was truncated) is cut there and
the rest goes back into the buffer. A length a few bytes too long takes only the first bytes
of the next header: the body is then a whole JSON object followed by them, and they go back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from cattrs.errors import ClassValidationError
from lsprotocol.types import EXIT
from pydantic import ValidationError
from pygls.exceptions import JsonRpcInvalidParams

from protocol import errors as codes

if TYPE_CHECKING:
    from pygls.protocol import JsonRPCProtocol

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 512 * 1024 * 1024
MAX_JUNK_BYTES = 64 * 1024  # junk kept while looking for a header; older junk is dropped
_HEADER_END = b"\r\n\r\n"
_CONTENT_LENGTH = re.compile(rb"Content-Length:[ \t]*(\d+)[ \t]*\r\n", re.IGNORECASE)
_HEADER_LINE = re.compile(rb"^[A-Za-z][A-Za-z0-9\-]*:[^\r\n]*$")

ReadChunk = Callable[[], Awaitable[bytes]]


class Framer:
    """Turns a stream of chunks into message bodies, reporting what it had to skip."""

    def __init__(self, read_chunk: ReadChunk) -> None:
        self._read_chunk = read_chunk
        self._buffer = bytearray()
        self._eof = False

    def push_back(self, data: bytes) -> None:
        self._buffer[:0] = data

    async def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = await self._read_chunk()
        if not chunk:
            self._eof = True
            return False
        self._buffer += chunk
        return True

    async def next_body(self, on_junk: Callable[[str], None]) -> bytes | None:
        """The next body, or None at the end of the stream."""
        while True:
            end = self._buffer.find(_HEADER_END)
            if end < 0:
                if len(self._buffer) > MAX_JUNK_BYTES:
                    # Keep the tail: a header may be arriving across the cut.
                    dropped = len(self._buffer) - 1024
                    del self._buffer[:dropped]
                    on_junk(f"discarded {dropped} bytes that are not a message header")
                if not await self._fill():
                    return None
                continue

            block = bytes(self._buffer[: end + 2])  # header lines, each ending in \r\n
            matches = list(_CONTENT_LENGTH.finditer(block))
            if not matches:
                del self._buffer[: end + 4]
                on_junk("a header block without a valid Content-Length was discarded")
                continue
            match = matches[-1]
            junk = block[: match.start()]
            if junk and not all(_HEADER_LINE.match(x) for x in junk.split(b"\r\n") if x):
                on_junk(f"discarded {len(junk)} bytes before a Content-Length header")
            length = int(match.group(1))
            del self._buffer[: end + 4]
            if length > MAX_BODY_BYTES:
                on_junk(f"Content-Length {length} is over the limit of {MAX_BODY_BYTES} bytes")
                continue
            while len(self._buffer) < length:
                if not await self._fill():
                    return None
            body = bytes(self._buffer[:length])
            del self._buffer[:length]
            return body


class MessageReader:
    """Reads frames, validates them, answers broken ones and hands good ones to pygls."""

    def __init__(self, protocol: JsonRPCProtocol, framer: Framer) -> None:
        self._protocol = protocol
        self._framer = framer

    def _send_error(self, msg_id: Any, code: int, message: str, data: Any = None) -> None:
        error: dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            error["data"] = data
        self._protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "error": error})

    def _junk(self, what: str) -> None:
        log.warning("protocol: %s", what)
        self._send_error(None, codes.PARSE_ERROR, f"Parse error: {what}")

    async def run(self, stop: threading.Event | None = None) -> None:
        while stop is None or not stop.is_set():
            body = await self._framer.next_body(self._junk)
            if body is None:
                log.info("input closed")
                return
            self._handle_body(body)
            # Let the tasks the message started run before reading on.
            await asyncio.sleep(0)

    def _handle_body(self, body: bytes) -> None:
        try:
            data = json.loads(body)
        except ValueError as exc:
            self._unparsable(body, exc)
            return

        if not isinstance(data, dict):
            kind = "a batch (array)" if isinstance(data, list) else type(data).__name__
            self._send_error(
                None,
                codes.INVALID_REQUEST,
                f"Invalid Request: expected a JSON object, got {kind}; batches are not "
                "supported by the Language Server Protocol",
            )
            return

        msg_id = data.get("id")
        if msg_id is not None and not isinstance(msg_id, int | str):
            self._send_error(
                None, codes.INVALID_REQUEST, "Invalid Request: id must be a number or string"
            )
            return
        problem = _envelope_problem(data)
        if problem is not None:
            if msg_id is not None or "method" not in data:
                self._send_error(msg_id, codes.INVALID_REQUEST, f"Invalid Request: {problem}")
            else:
                log.warning("dropped notification: %s", problem)
            return

        if "method" in data:
            data.setdefault("params", None)  # pygls's untyped messages need the key
        try:
            message = self._protocol.structure_message(data)
        except JsonRpcInvalidParams as exc:
            fields = _field_errors(exc)
            summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
            if msg_id is not None and "method" in data:
                self._send_error(
                    msg_id,
                    codes.INVALID_PARAMS,
                    f"Invalid params for {data['method']}: {summary}",
                    {"errors": fields},
                )
            else:
                log.warning("invalid %s: %s", data.get("method", "message"), summary)
            return
        except Exception:
            log.exception("cannot structure message")
            if msg_id is not None and "method" in data:
                self._send_error(msg_id, codes.INTERNAL_ERROR, "Internal error reading message")
            return
        if msg_id is not None and not hasattr(message, "id") and data.get("method") != EXIT:
            # pygls took it for a notification (its method is one) and would run it with no
            # answer, leaving the sender waiting for ever. exit still exits.
            self._send_error(
                msg_id,
                codes.INVALID_REQUEST,
                f"Invalid Request: {data['method']} is a notification, which takes no id; "
                "it was not run",
            )
            return
        try:
            self._protocol.handle_message(message)
        except Exception:
            log.exception("unhandled error dispatching %s", data.get("method"))

    def _unparsable(self, body: bytes, exc: ValueError) -> None:
        """Answer a body that is not JSON, and give back what belongs to the next message.

        A ``Content-Length`` a few bytes too long swallows the start of the next header: the
        body is then one whole JSON value followed by those bytes, which go back to the
        framer so that the next message is read whole. A truncated body, or one that ran
        into the next message further, is cut at the next header it contains.
        """
        value, end = _first_value(body)
        if value is not None:
            self._framer.push_back(body[end:])
            msg_id = value.get("id")
            self._send_error(
                msg_id if isinstance(msg_id, int | str) else None,
                codes.PARSE_ERROR,
                f"Parse error: Content-Length was {len(body)} but the message ends after "
                f"{end} bytes; the message was not run",
            )
            return
        cut = body.find(b"Content-Length:", 1)
        if cut > 0:
            self._framer.push_back(body[cut:])
        self._send_error(None, codes.PARSE_ERROR, f"Parse error: body is not JSON ({exc})")


def _first_value(body: bytes) -> tuple[dict[str, Any] | None, int]:
    """The JSON object ``body`` starts with and the byte where it ends, or (None, 0)."""
    # surrogateescape: the bytes after the value may be cut inside a character.
    text = body.decode("utf-8", "surrogateescape")
    try:
        value, end = json.JSONDecoder().raw_decode(text, len(text) - len(text.lstrip()))
    except ValueError:
        return None, 0
    if not isinstance(value, dict):
        return None, 0
    return value, len(text[:end].encode("utf-8", "surrogateescape"))


def _envelope_problem(data: dict[str, Any]) -> str | None:
    if data.get("jsonrpc") != "2.0":
        return '"jsonrpc" must be "2.0"'
    if "method" in data:
        if not isinstance(data["method"], str) or not data["method"]:
            return '"method" must be a non-empty string'
        params = data.get("params")
        if params is not None and not isinstance(params, dict | list):
            return '"params" must be an object or an array'
        return None
    if "id" not in data:
        return 'a message needs "method" or "id"'
    if "result" not in data and "error" not in data:
        return 'a response needs "result" or "error"'
    return None


def _field_errors(exc: BaseException) -> list[dict[str, str]]:
    """Dig the field paths out of cattrs' and pydantic's nested validation errors."""
    out: list[dict[str, str]] = []

    def walk(err: BaseException, prefix: str) -> None:
        if isinstance(err, ValidationError):
            for e in err.errors():
                loc = ".".join(str(p) for p in e["loc"])
                out.append({"field": f"{prefix}{loc}".strip("."), "message": e["msg"]})
            return
        if isinstance(err, ClassValidationError):
            for sub in err.exceptions:
                note = next(iter(getattr(sub, "__notes__", []) or []), "")
                match = re.search(r"attribute (\w+)", str(note))
                walk(sub, f"{prefix}{match.group(1)}." if match else prefix)
            return
        if isinstance(err, BaseExceptionGroup):
            for child in err.exceptions:
                walk(child, prefix)
            return
        if err.__cause__ is not None and err.__cause__ is not err:
            walk(err.__cause__, prefix)
            return
        out.append(
            {"field": prefix.strip(".") or "params", "message": str(err) or type(err).__name__}
        )

    walk(exc.__cause__ or exc, "")
    # The envelope's own field is "params"; drop the attrs wrapper's prefix noise.
    return out or [{"field": "params", "message": "invalid"}]


def stdin_chunks(fd: int) -> ReadChunk:
    """Read the protocol's input on a daemon thread, so that neither the event loop nor the
    interpreter's exit ever waits on a blocked ``read``."""
    queue: asyncio.Queue[bytes] | None = None

    def pump(loop: asyncio.AbstractEventLoop, q: asyncio.Queue[bytes]) -> None:
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                chunk = b""
            try:
                loop.call_soon_threadsafe(q.put_nowait, chunk)
            except RuntimeError:  # the loop is closed
                return
            if not chunk:
                return

    async def read_chunk() -> bytes:
        nonlocal queue
        if queue is None:
            queue = asyncio.Queue()
            loop = asyncio.get_running_loop()
            threading.Thread(target=pump, args=(loop, queue), name="stdin", daemon=True).start()
        return await queue.get()

    return read_chunk


class FdWriter:
    """Writes whole messages to a file descriptor; a lock keeps threads from interleaving."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self._lock:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]

    def close(self) -> None:
        try:
            os.close(self._fd)
        except OSError:
            pass
