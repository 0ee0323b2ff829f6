"""How fast the Neovim plugin's chat buffer keeps up with a streamed answer.

Two figures, in a real headless Neovim with the plugin:

- end to end: ``:DeputyAsk`` against the real daemon, the fake model streaming ``--deltas``
  text deltas as fast as it can. Each ``$/progress`` text event is timed as the plugin
  receives it, and each buffer change as it happens: the arrival rate (events/s), how
  many buffer changes rendered them, and the lag from the last event to the buffer
  holding the whole answer. A lag of about one event-loop tick means the plugin kept up
  with everything the daemon sent;
- the plugin alone: ``--synthetic`` text events, each delivered in its own scheduled
  callback (as Neovim's RPC layer delivers each message), into a running turn: the
  highest rate the chat renders, which is what it could absorb from a faster daemon.

    python -m bench.chat_render [--deltas 3000] [--synthetic 50000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.llm_server import LLMServer, Reply, Text  # noqa: E402
from tests.nvim.harness import PLUGIN_DIR, start_nvim  # noqa: E402

INSTRUMENT = """
local chat = require("deputydev.chat")
_G.bench = { arrivals = {}, changes = {} }
local on_event = chat.on_event
chat.on_event = function(token, value)
  if value.kind == "text" then table.insert(_G.bench.arrivals, vim.uv.hrtime()) end
  return on_event(token, value)
end
"""

ATTACH = """
local chat = require("deputydev.chat")
vim.api.nvim_buf_attach(chat.state.buf, false, {
  on_lines = function() table.insert(_G.bench.changes, vim.uv.hrtime()) end,
})
"""

LINES = """
local buf = require("deputydev.chat").state.buf
return vim.api.nvim_buf_get_lines(buf, 0, -1, false)
"""

SYNTHETIC = """
local n, piece = ...
local chat = require("deputydev.chat")
local token = chat.state.turn.token
local started = vim.uv.hrtime()
for _ = 1, n do
  vim.schedule(function() chat.on_event(token, { kind = "text", text = piece }) end)
end
local done = vim.wait(120000, function()
  return chat.state.turn.events >= n and chat.state.turn.pending == ""
end, 1)
return { done, (vim.uv.hrtime() - started) / 1e6 }
"""


def run(deltas: int, synthetic: int) -> None:
    piece = "word " * 2  # ten characters a delta, a line break every 8 deltas
    with tempfile.TemporaryDirectory() as tmp, LLMServer() as llm:
        tmp_path = Path(tmp)
        os.environ["DEPUTYDEV_HOME"] = str(tmp_path / "home")
        workspace = tmp_path / "workspace"
        (workspace / ".deputydev").mkdir(parents=True)
        (workspace / "hello.py").write_text("def greet(name):\n    return name\n")
        env = {
            "OPENAI_BASE_URL": f"{llm.url}/v1",
            "OPENAI_API_KEY": "sk-bench",
            "DEPUTYDEV_PROVIDERS__DEFAULT_MODEL": "gpt-4.1",
        }
        texts = [piece + ("\n" if i % 8 == 7 else "") for i in range(deltas)]
        llm.script(Reply([Text(t) for t in texts], {"input": 10, "output": deltas}))
        with start_nvim(tmp_path, cwd=workspace, env=env, rtp=[PLUGIN_DIR]) as nvim:
            nvim.lua('require("deputydev").setup({})')
            nvim.command("edit hello.py")
            nvim.wait(
                'local c = vim.lsp.get_clients({ bufnr = 0, name = "deputydev" })[1]'
                " return c and c.initialized",
                what="the daemon",
            )
            nvim.lua(INSTRUMENT)
            nvim.lua('require("deputydev.chat").open()')
            nvim.lua(ATTACH)
            nvim.command("DeputyAsk stream a long answer")
            nvim.wait(
                'return require("deputydev.chat").state.turn == nil',
                timeout=120,
                what="the answer",
            )
            arrivals = nvim.lua("return _G.bench.arrivals")
            changes = nvim.lua("return _G.bench.changes")
            text = "\n".join(nvim.lua(LINES))
            assert "".join(texts).strip().splitlines()[-1].strip() in text, "answer incomplete"
            first, last = arrivals[0], arrivals[-1]
            # The change that rendered the last event (the footer comes later, after the
            # response).
            rendered = min(c for c in changes if c >= last)
            span = (last - first) / 1e9
            print(f"chat buffer while streaming, {len(arrivals)} text events through the daemon")
            print(f"  arrival rate        {len(arrivals) / span:9.0f} events/s over {span:.2f} s")
            print(f"  buffer changes      {sum(1 for c in changes if first <= c <= rendered):9d}")
            print(f"  lag after the last  {(rendered - last) / 1e6:9.2f} ms")

            # The plugin alone: a turn that waits (stalled model), fed synthetic events.
            llm.script(Reply([Text("x")], stall_after=2))
            nvim.command("DeputyAsk wait")
            nvim.wait('return require("deputydev.chat").state.turn ~= nil', what="a turn")
            done, elapsed_ms = nvim.lua(SYNTHETIC, synthetic, piece, timeout=180)
            assert done, "the synthetic events were not all rendered"
            print(f"plugin alone, {synthetic} events each in its own scheduled callback")
            print(f"  rendered            {synthetic / (elapsed_ms / 1000):9.0f} events/s")
            nvim.command("DeputyCancel")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deltas", type=int, default=3000)
    parser.add_argument("--synthetic", type=int, default=50000)
    args = parser.parse_args()
    run(args.deltas, args.synthetic)


if __name__ == "__main__":
    main()
