"""``deputydev serve``: the daemon, on stdio (default) or on a TCP port for debugging."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

NAME = "serve"
HELP = "Run the daemon, speaking JSON-RPC (LSP base protocol) on stdin/stdout."

log = logging.getLogger("daemon.serve")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tcp",
        metavar="HOST:PORT",
        help="listen on TCP instead of stdio (for debugging; HOST defaults to 127.0.0.1)",
    )
    parser.add_argument("--stdio", action="store_true", help="use stdio (the default)")
    parser.add_argument("--log-level", choices=["debug", "info", "warning", "error"])


def _own_stdio() -> tuple[int, int]:
    """Take the real stdin/stdout for the protocol and point fds 0/1 elsewhere.

    After this, a stray ``print`` (ours or a library's, Python or C) and a child process's
    output go to stderr, and a child cannot read the protocol's input.
    """
    proto_in = os.dup(0)
    proto_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    return proto_in, proto_out


def run(args: argparse.Namespace) -> int:
    from daemon import logs
    from daemon.config import load_settings

    level = (
        args.log_level
        or os.environ.get("DEPUTYDEV_LOG_LEVEL")
        or load_settings().settings.log_level
    )
    logs.setup(level)

    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        code = asyncio.run(_serve_tcp(host or "127.0.0.1", int(port)))
    else:
        proto_in, proto_out = _own_stdio()
        code = asyncio.run(_serve_stdio(proto_in, proto_out))
    logging.shutdown()
    # Threads blocked in a read (stdin, a tool's subprocess) must not keep a dead daemon
    # alive; everything worth keeping was written by the services' aclose.
    os._exit(code)


def _build() -> object:
    from daemon.handlers import register_all
    from daemon.server import DeputyServer

    server = DeputyServer()
    register_all(server)
    return server


async def _run_until_stopped(server: object, read_chunk: object, writer: object) -> int:
    from daemon.server import DeputyServer
    from daemon.transport import Framer, MessageReader

    assert isinstance(server, DeputyServer)
    server.protocol.set_writer(writer, include_headers=True)  # type: ignore[arg-type]
    reader = MessageReader(server.protocol, Framer(read_chunk))  # type: ignore[arg-type]
    read_task = asyncio.ensure_future(reader.run())
    stop_task = asyncio.ensure_future(server.stopping.wait())
    await asyncio.wait({read_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    for task in (read_task, stop_task):
        task.cancel()
    await server.close_services()
    if server.exit_code is not None:
        return server.exit_code
    # Input closed without exit: fine after shutdown, an abnormal end otherwise.
    return 0 if server.protocol._shutdown else 1


async def _serve_stdio(proto_in: int, proto_out: int) -> int:
    from daemon.transport import FdWriter, stdin_chunks

    server = _build()
    log.info("serving on stdio (pid %d)", os.getpid())
    return await _run_until_stopped(server, stdin_chunks(proto_in), FdWriter(proto_out))


def _address(sockname: tuple[str, int] | tuple[str, int, int, int]) -> str:
    """``127.0.0.1:7781`` or ``[::1]:7781``, as a user types it."""
    host, port = sockname[0], sockname[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def _serve_tcp(host: str, port: int) -> int:
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        class _Writer:
            def write(self, data: bytes) -> None:
                writer.write(data)

            def close(self) -> None:
                writer.close()

        async def read_chunk() -> bytes:
            return await reader.read(1 << 16)

        server = _build()
        code = await _run_until_stopped(server, read_chunk, _Writer())
        writer.close()
        if not done.done():
            done.set_result(code)

    tcp = await asyncio.start_server(connection, host, port)
    addresses = ", ".join(_address(s.getsockname()) for s in tcp.sockets)
    log.info("listening on %s", addresses)
    print(f"deputydev listening on {addresses}", file=sys.stderr, flush=True)
    async with tcp:
        return await done
