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

    @server.feature("test/forever")
    async def forever(params: Any) -> None:
        import asyncio

        await asyncio.Event().wait()

    @server.feature("test/progress")
    async def progress(params: Any) -> dict[str, str]:
        from daemon.progress import WorkDone

        async with WorkDone(server, "Testing progress") as work:
            for i in range(3):
                work.report(f"step {i}", percentage=i * 50, force=True)
        return {"done": "yes"}

    @server.feature("test/stuck_service")
    async def stuck_service(params: Any) -> dict[str, str]:
        """A service whose close takes 20 s and will not be cancelled."""
        import asyncio
        import threading

        class Stuck:
            def __init__(self, server: DeputyServer) -> None:
                self.release = threading.Event()

            async def start(self) -> None:
                pass

            async def aclose(self) -> None:
                # A close that will not be cancelled: it swallows the cancellation and
                # carries on until released, as a hung flush under a shield would.
                while not self.release.is_set():
                    try:
                        await asyncio.sleep(0.2)
                    except asyncio.CancelledError:
                        continue

        service = server.service(Stuck)
        timer = threading.Timer(20, service.release.set)  # the process can end after all
        timer.daemon = True
        timer.start()
        return {"service": "stuck"}
