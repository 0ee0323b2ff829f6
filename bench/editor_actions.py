"""Code actions through the real daemon over stdio, the model faked on the wire.

Prints, over ``--runs`` choices of "DeputyDev: Explain" on a selection (p50 / p95):

- listing: ``textDocument/codeAction`` round trip (no model call: it should be instant);
- choosing -> ``begin``: from sending ``workspace/executeCommand`` to the progress
  ``begin`` (titled ``DeputyDev: Explain hello.py:1-2``) arriving at the client, which is
  the first progress message an editor shows;
- choosing -> first step: to the first ``report`` ("thinking"), after the session is
  opened and the focus read;
- choosing -> answer: to the command's response, with a three-chunk fake answer.

    python -m bench.editor_actions [--runs 30]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lsprotocol import types  # noqa: E402

from tests.e2e.harness import start_daemon  # noqa: E402
from tests.fakes.llm_server import LLMServer, Reply, Text  # noqa: E402

SOURCE = 'def greet(name):\n    return f"hello {name}"\n'


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def line(name: str, values: list[float]) -> str:
    return f"  {name:<26} p50 {statistics.median(values):7.1f} ms   p95 {pct(values, 95):7.1f} ms"


async def run(runs: int) -> None:
    logging.getLogger("pygls").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp, LLMServer() as llm:
        os.environ["DEPUTYDEV_HOME"] = str(Path(tmp) / "home")
        workspace = Path(tmp) / "workspace"
        workspace.mkdir()
        (workspace / "hello.py").write_text(SOURCE)
        caps = types.ClientCapabilities(
            workspace=types.WorkspaceClientCapabilities(apply_edit=True),
            window=types.WindowClientCapabilities(
                work_done_progress=True,
                show_document=types.ShowDocumentClientCapabilities(support=True),
            ),
        )
        client = await start_daemon(
            workspace,
            stderr_path=Path(tmp) / "daemon.stderr",
            env={
                "OPENAI_BASE_URL": f"{llm.url}/v1",
                "OPENAI_API_KEY": "sk-bench",
                "DEPUTYDEV_PROVIDERS__DEFAULT_MODEL": "gpt-4.1",
            },
            capabilities=caps,
        )
        client.on_request(
            types.WINDOW_SHOW_DOCUMENT, lambda params: types.ShowDocumentResult(success=True)
        )
        stamps: list[tuple[float, Any]] = []
        record = client._record

        async def stamped(target: list[Any], value: Any) -> None:
            stamps.append((time.perf_counter(), value))
            await record(target, value)

        client._record = stamped  # type: ignore[method-assign]
        uri = (workspace / "hello.py").as_uri()
        selection = types.Range(types.Position(0, 0), types.Position(2, 0))
        listing: list[float] = []
        begin: list[float] = []
        first_step: list[float] = []
        answer: list[float] = []
        try:
            for run_index in range(runs + 3):  # the first three warm up
                t0 = time.perf_counter()
                actions = await client.protocol.send_request_async(
                    types.TEXT_DOCUMENT_CODE_ACTION,
                    types.CodeActionParams(
                        text_document=types.TextDocumentIdentifier(uri=uri),
                        range=selection,
                        context=types.CodeActionContext(diagnostics=[]),
                    ),
                )
                listed = (time.perf_counter() - t0) * 1000
                assert actions, "no code actions"
                llm.script(Reply([Text("greet "), Text("says "), Text("hello.")], {"input": 9}))
                stamps.clear()
                t0 = time.perf_counter()
                await client.protocol.send_request_async(
                    types.WORKSPACE_EXECUTE_COMMAND,
                    types.ExecuteCommandParams(
                        command="deputydev.explain",
                        arguments=[
                            {
                                "uri": uri,
                                "range": {
                                    "start": {"line": 0, "character": 0},
                                    "end": {"line": 2, "character": 0},
                                },
                            }
                        ],
                    ),
                )
                done = time.perf_counter()
                kinds = [(t, _kind(v)) for t, v in stamps if _kind(v) in ("begin", "report")]
                if run_index < 3:
                    continue
                listing.append(listed)
                begin.append((next(t for t, k in kinds if k == "begin") - t0) * 1000)
                first_step.append((next(t for t, k in kinds if k == "report") - t0) * 1000)
                answer.append((done - t0) * 1000)
        finally:
            await client.stop_daemon()
    print(f"code actions over stdio, fake model, {runs} runs")
    print(line("listing (codeAction)", listing))
    print(line("choosing -> begin", begin))
    print(line("choosing -> first step", first_step))
    print(line("choosing -> answer", answer))


def _kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("kind")
    return getattr(value, "kind", None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    asyncio.run(run(parser.parse_args().runs))


if __name__ == "__main__":
    main()
