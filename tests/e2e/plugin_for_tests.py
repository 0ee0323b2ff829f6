"""A plugin the e2e tests load through DEPUTYDEV_PLUGINS: handlers that misbehave on purpose."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from daemon.server import DeputyServer


def register(server: DeputyServer) -> None:
    @server.feature("test/print")
    def noisy(params: Any) -> dict[str, str]:
        print("a stray print from a handler")
        sys.stdout.write("Content-Length: 5\r\n\r\nhello")
        sys.stdout.flush()
        os.write(1, b"raw bytes on fd 1\n")
        return {"answer": "still framed"}

    @server.feature("test/document")
    def document(params: Any) -> dict[str, Any]:
        from pathlib import Path

        return {"text": server.document_text(Path(params.path))}

    @server.feature("test/explode")
    def explode(params: Any) -> None:
        raise RuntimeError("boom in a notification handler")
