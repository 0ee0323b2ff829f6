"""Inline completions through the real daemon over stdio, on the stdlib corpus with its index
warm: the daemon's own overhead, the typed-through cache, and the keystrokes that cost no
model call.

The daemon (``python -m daemon serve``, a fresh ``DEPUTYDEV_HOME``, lexical index, embeddings
off) opens the retrieval corpus (``../shared/retrieval``, 734 files) as its workspace, with
``[completion] model = "local"`` (``/v1/completions`` with a suffix) pointed at the fake
model server (``tests.fakes.llm_server``, in this process, answering at once). Once the
first index run is done:

1. **Overhead**: ``--files`` files are opened one after the other, as an editor does, and in
   each, ``--per-file`` automatic requests are sent with the cursor at the end of a line of
   a function body (so the model is called). The overhead is from the moment the request is
   written to the daemon's stdin to the moment the fake server has the model request's
   body, both read from this process's monotonic clock: prompt building (definitions of the
   names near the cursor from the index, callers, neighbour windows of the open buffers,
   imports) and the HTTP request included. The first ``--warm-up`` requests are left out
   (and printed apart): the daemon's first request imports httpx and opens the connection.
   Requests are ``--pause-ms`` apart (50 ms: faster than anyone types; Neovim waits 200 ms
   after a key), so background work the daemon leaves for idle moments (index lookups
   for farther names, windows of large buffers) is not counted against the next request.
2. **Typed-through cache**: at ``--cache-positions`` places a new line is started and a
   suggestion asked for; then its first characters are typed one by one, each keystroke a
   ``didChange`` and a request answered from the cache. Printed: the round trip of a hit
   (request written to response read) against the round trip of a request served by the
   (instant) model.
3. **Replayed session**: ``--functions`` function bodies of the corpus are deleted and typed
   again character by character (a new line's indentation comes with its newline, as with
   autoindent), one automatic request per keystroke, each answered before the next key. The
   fake model is right (it answers the true rest of the line and the next line) for a share
   ``--accuracy`` of its calls and wrong otherwise; the suggestion is never accepted, every
   character is typed. Printed per accuracy: keystrokes, model calls, cache hits, and the
   share of keystrokes that cost no model call.

    python bench/completion.py [--files 40] [--per-file 5] [--accuracy 0 0.5 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.retrieval import corpus  # noqa: E402
from bench.search_latency import pct, wait_indexed  # noqa: E402
from tests.e2e.harness import DaemonClient, start_daemon  # noqa: E402
from tests.fakes.llm_server import LLMServer, Recorded, Reply, Text  # noqa: E402

WRONG = "WRONG_GUESS = None"  # what a wrong model says (no line of the corpus starts so)


def summary(values: Sequence[float]) -> str:
    return f"p50 {statistics.median(values):.2f} ms, p95 {pct(values, 95):.2f} ms"


@dataclass
class Buffer:
    """The editor's copy of one open document, with its cursor."""

    uri: str
    text: str
    version: int = 1
    line: int = 0
    character: int = 0

    def offset(self) -> int:
        lines = self.text.split("\n")
        return sum(len(x) + 1 for x in lines[: self.line]) + self.character

    def rest(self, length: int) -> str:
        return self.text[self.offset() : self.offset() + length]


class Editor:
    def __init__(self, client: DaemonClient, llm: LLMServer) -> None:
        self.client = client
        self.llm = llm

    def open(self, path: Path, text: str) -> Buffer:
        buffer = Buffer(path.as_uri(), text)
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(buffer.uri, "python", 1, text))
        )
        return buffer

    def close(self, buffer: Buffer) -> None:
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(buffer.uri))
        )

    def type(self, buffer: Buffer, text: str) -> None:
        """Insert ``text`` (ASCII) at the cursor, which moves past it."""
        at = types.Position(buffer.line, buffer.character)
        buffer.version += 1
        offset = buffer.offset()
        buffer.text = buffer.text[:offset] + text + buffer.text[offset:]
        lines = text.split("\n")
        if len(lines) > 1:
            buffer.line += len(lines) - 1
            buffer.character = len(lines[-1])
        else:
            buffer.character += len(text)
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(buffer.version, buffer.uri),
                [types.TextDocumentContentChangePartial(range=types.Range(at, at), text=text)],
            )
        )

    async def complete(self, buffer: Buffer) -> tuple[float, float, list[str]]:
        """Ask at the cursor: (monotonic time the request was written, round trip in ms,
        the items' texts)."""
        params = types.InlineCompletionParams(
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic
            ),
            text_document=types.TextDocumentIdentifier(buffer.uri),
            position=types.Position(buffer.line, buffer.character),
        )
        sent = time.monotonic()
        result = await self.client.text_document_inline_completion_async(params)
        took = (time.monotonic() - sent) * 1000
        items = result.items if isinstance(result, types.InlineCompletionList) else result or []
        return sent, took, [i.insert_text for i in items if isinstance(i.insert_text, str)]


def python_files(root: Path) -> list[Path]:
    files = sorted(p for p in root.rglob("*.py") if p.stat().st_size > 4000)
    return [p for p in files if p.read_text(errors="replace").isascii()]


def body_lines(text: str) -> list[int]:
    """Lines of function bodies: indented, code, not a decorator or comment."""
    lines = text.split("\n")
    out = []
    for number, line in enumerate(lines):
        stripped = line.strip()
        if (
            line.startswith("        ")
            and len(stripped) > 12
            and not stripped.startswith(("#", "@", '"', "'"))
            and not stripped.endswith(("\\", ",", "("))
        ):
            out.append(number)
    return out


async def overhead(editor: Editor, files: list[Path], args: argparse.Namespace) -> None:
    rng = random.Random(7)
    editor.llm.responder = lambda recorded: Reply([Text("  # fine")])
    chosen = rng.sample(files, min(args.files, len(files)))
    delays: list[float] = []
    trips: list[float] = []
    first: list[float] = []
    for path in chosen:
        text = path.read_text()
        buffer = editor.open(path, text)
        lines = text.split("\n")
        candidates = body_lines(text)
        for number in sorted(rng.sample(candidates, min(args.per_file, len(candidates)))):
            buffer.line, buffer.character = number, len(lines[number])
            before = len(editor.llm.requests)
            sent, took, _ = await editor.complete(buffer)
            requests = editor.llm.requests[before:]
            if not requests:
                continue  # nothing asked (the cache, or a blank line): not an overhead
            delay = (requests[0].at - sent) * 1000
            await asyncio.sleep(args.pause_ms / 1000)  # the typist's pace, not the machine's
            if len(first) < args.warm_up:
                first.append(delay)
                continue
            delays.append(delay)
            trips.append(took)
    print(
        f"overhead, request written -> model request received ({len(delays)} requests in "
        f"{len(chosen)} files opened one by one, index warm): {summary(delays)}, "
        f"max {max(delays):.2f} ms"
    )
    print(f"  round trip of those requests (instant model): {summary(trips)}")
    print(f"  first {len(first)} requests (left out): " + ", ".join(f"{d:.1f}" for d in first))


async def cache_hits(editor: Editor, files: list[Path], args: argparse.Namespace) -> None:
    suggestion = "result = self.compute(value, default=None)"
    editor.llm.responder = lambda recorded: Reply([Text(suggestion)])
    rng = random.Random(11)
    hits: list[float] = []
    misses: list[float] = []
    calls_before = len(editor.llm.requests)
    asked = 0
    for path in rng.sample(files, min(args.cache_positions, len(files))):
        text = path.read_text()
        buffer = editor.open(path, text)
        lines = text.split("\n")
        number = rng.choice(body_lines(text))
        indent = lines[number][: len(lines[number]) - len(lines[number].lstrip())]
        buffer.line, buffer.character = number, len(lines[number])
        editor.type(buffer, "\n" + indent)
        _, took, items = await editor.complete(buffer)
        asked += 1
        if not items:
            continue
        misses.append(took)
        for char in suggestion[:12]:
            editor.type(buffer, char)
            _, took, items = await editor.complete(buffer)
            hits.append(took)
        editor.close(buffer)
    calls = len(editor.llm.requests) - calls_before
    print(
        f"typed-through cache: {len(hits)} keystrokes answered {summary(hits)} "
        f"(request written -> items read); {calls} model calls for {asked + len(hits)} "
        f"requests; a request served by the instant model: {summary(misses)}"
    )


@dataclass
class Function:
    path: Path
    start: int  # the offset where its body starts (after the def line's newline)
    body: str


def functions(files: list[Path], count: int) -> list[Function]:
    """Function bodies of 4 to 30 lines, at most one per file."""
    rng = random.Random(3)
    out: list[Function] = []
    for path in rng.sample(files, len(files)):
        text = path.read_text()
        lines = text.split("\n")
        starts = [n for n, line in enumerate(lines) if line.lstrip().startswith("def ")]
        rng.shuffle(starts)
        for n in starts:
            if not lines[n].rstrip().endswith(":"):
                continue
            indent = len(lines[n]) - len(lines[n].lstrip())
            end = n + 1
            while end < len(lines) and (
                not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent
            ):
                end += 1
            while end > n + 1 and not lines[end - 1].strip():
                end -= 1
            if 4 <= end - n - 1 <= 30:
                start = sum(len(x) + 1 for x in lines[: n + 1])
                body = "\n".join(lines[n + 1 : end])
                out.append(Function(path, start, body))
                break
        if len(out) >= count:
            break
    return out


def keystrokes(body: str) -> list[str]:
    """The body as typed: a character a key, a newline with the next line's indentation
    (autoindent) and a line's first indentation as one key each."""
    keys: list[str] = []
    for number, line in enumerate(body.split("\n")):
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if number == 0:
            if indent:
                keys.append(indent)
        else:
            keys.append("\n" + indent)
        keys.extend(stripped)
    return keys


async def session(
    editor: Editor, status: Any, chosen: list[Function], accuracy: float
) -> tuple[int, int, int]:
    """Replay ``chosen`` with a model right for ``accuracy`` of its calls: (keystrokes, model
    calls, cache hits)."""
    truth = {"rest": ""}
    counter = {"calls": 0}

    def respond(recorded: Recorded) -> Reply:
        counter["calls"] += 1
        right = (counter["calls"] * 0.6180339887) % 1 < accuracy
        if not right:
            return Reply([Text(WRONG)])
        rest = truth["rest"]
        first = rest.find("\n")
        second = rest.find("\n", first + 1) if first >= 0 else -1
        return Reply([Text(rest if second < 0 else rest[:second])])

    editor.llm.responder = respond
    before = (await status())["cacheHits"]
    typed = 0
    for function in chosen:
        text = function.path.read_text()
        document = text[: function.start] + text[function.start + len(function.body) :]
        buffer = editor.open(function.path, document)
        buffer.line = document[: function.start].count("\n")
        buffer.character = 0
        done = ""
        for key in keystrokes(function.body):
            editor.type(buffer, key)
            done += key
            truth["rest"] = function.body[len(done) :]
            await editor.complete(buffer)
            typed += 1
        editor.close(buffer)
    hits = (await status())["cacheHits"] - before
    return typed, counter["calls"], hits


async def run(args: argparse.Namespace) -> None:
    logging.getLogger("pygls").setLevel(logging.ERROR)
    source = corpus()
    files = python_files(source)
    with tempfile.TemporaryDirectory(prefix="deputydev-completion-") as tmp, LLMServer() as llm:
        os.environ["DEPUTYDEV_HOME"] = str(Path(tmp) / "home")
        env = {
            "DEPUTYDEV_COMPLETION__MODEL": "local",
            "DEPUTYDEV_PROVIDERS__SERVERS": json.dumps({"ollama": {"base_url": f"{llm.url}/v1"}}),
        }
        started = time.perf_counter()
        client = await start_daemon(source, stderr_path=Path(tmp) / "daemon.stderr", env=env)
        try:
            indexed = await wait_indexed(client, vectors=False, limit_s=600)
            print(
                f"stdlib corpus indexed {time.perf_counter() - started:.1f} s after spawn "
                f"({indexed['chunks']} chunks), {len(files)} ASCII Python files to complete in"
            )
            editor = Editor(client, llm)

            async def today() -> Any:
                return (await client.request("deputydev/status"))["completion"]["today"]

            await overhead(editor, files, args)
            await cache_hits(editor, files, args)
            chosen = functions(files, args.functions)
            for accuracy in args.accuracy:
                typed, calls, hits = await session(editor, today, chosen, accuracy)
                print(
                    f"replayed session, model right {accuracy:.0%} of calls: {typed} keystrokes "
                    f"in {len(chosen)} function bodies, {calls} model calls, {hits} cache hits: "
                    f"{(typed - calls) / typed:.1%} of keystrokes cost no model call"
                )
        finally:
            await client.stop_daemon()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--per-file", type=int, default=5)
    parser.add_argument("--warm-up", type=int, default=5)
    parser.add_argument("--pause-ms", type=float, default=50, help="between overhead requests")
    parser.add_argument("--cache-positions", type=int, default=20)
    parser.add_argument("--functions", type=int, default=12)
    parser.add_argument("--accuracy", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
