"""Inline completions in a real Neovim 0.12: ``vim.lsp.inline_completion`` asks the daemon as
the user types, shows the ghost text, keeps showing it from the daemon's cache while the
user types through it, and accepts it into the buffer. The README's snippets are run as
written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.fakes.llm_server import LLMServer, Reply, Text
from tests.nvim.harness import PLUGIN_DIR, ROOT, Nvim, start_nvim

MAIN = 'def greet(name):\n    return f"hello {name}"\n\n\ndef shout(name):\n    \n'
SHOWN = """
    local ns = vim.api.nvim_get_namespaces()["nvim.lsp.inline_completion"]
    if not ns then return nil end
    local shown = {}
    for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })) do
      for _, chunk in ipairs(mark[4].virt_text or {}) do table.insert(shown, chunk[1]) end
    end
    local text = table.concat(shown)
    return text ~= "" and text or nil
"""

# Counts the inline completion requests Neovim got an answer to.
ANSWERED = """
    _G.answered = 0
    vim.api.nvim_create_autocmd("LspRequest", {
      callback = function(args)
        local request = args.data.request
        if request.method == "textDocument/inlineCompletion" and request.type == "complete" then
          _G.answered = _G.answered + 1
        end
      end,
    })
"""


@pytest.fixture
def nvim_env(llm: LLMServer) -> dict[str, str]:
    return {
        "DEPUTYDEV_COMPLETION__MODEL": "local",
        "DEPUTYDEV_PROVIDERS__SERVERS": json.dumps({"ollama": {"base_url": f"{llm.url}/v1"}}),
        "DEPUTYDEV_INDEX__ENABLED": "false",
    }


def readme_blocks(section: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    part = text[text.index(f"## {section}") :]
    part = part[: part.index("\n## ", 4)]
    return re.findall(r"```lua\n(.*?)```", part, flags=re.S)


def test_a_suggestion_is_shown_typed_through_and_accepted(
    nvim: Nvim, workspace: Path, llm: LLMServer
) -> None:
    (workspace / "main.py").write_text(MAIN)
    llm.script(Reply([Text('return f"{greet(name).upper()}!"\n\n'), Text("def whisper(name):")]))
    [start] = [b for b in readme_blocks("Using it from your editor") if "vim.lsp.start" in b]
    [enable] = readme_blocks("Inline completions as you type")

    nvim.lua(start)
    nvim.lua(enable)
    nvim.lua(ANSWERED)
    nvim.command("edit main.py")
    nvim.wait(
        """
        local client = vim.lsp.get_clients({ bufnr = 0, name = "deputydev" })[1]
        return client and client.initialized
          and client:supports_method("textDocument/inlineCompletion")
        """,
        what="the daemon to attach with inline completions",
    )

    nvim.request("nvim_win_set_cursor", 0, [6, 4])
    nvim.request("nvim_input", "A")  # insert mode at the end of the empty body
    shown = nvim.wait(SHOWN, what="the ghost text")
    assert shown == 'return f"{greet(name).upper()}!"'  # cut where the block ends

    asked = nvim.lua("return _G.answered")
    nvim.request("nvim_input", "retu")  # typing through the suggestion
    nvim.wait(SHOWN + " == 'rn f\"{greet(name).upper()}!\"'", what="the rest of the suggestion")
    assert len(llm.bodies("openai-completions")) == 1  # the rest came from the cache

    # Neovim asks again 200 ms after the last key; accept the answer to that request (an
    # item accepted before it arrives is the one asked for before typing).
    nvim.wait("return _G.answered > ...", asked, what="the request after typing to be answered")
    assert nvim.lua("return vim.lsp.inline_completion.get()") is True
    nvim.wait(
        "return vim.api.nvim_buf_get_lines(0, 5, 6, false)[1] == ...",
        '    return f"{greet(name).upper()}!"',
        what="the suggestion accepted into the buffer",
    )
    assert nvim.lines() == [*MAIN.split("\n")[:5], '    return f"{greet(name).upper()}!"']


def test_the_plugin_turns_inline_completions_on_and_its_command_off(
    tmp_path: Path, workspace: Path, llm: LLMServer, nvim_env: dict[str, str]
) -> None:
    (workspace / "main.py").write_text(MAIN)
    llm.script(Reply([Text('return f"{greet(name).upper()}!"')]))
    with start_nvim(tmp_path, cwd=workspace, env=nvim_env, rtp=[PLUGIN_DIR]) as nvim:
        nvim.lua('require("deputydev").setup({})')
        nvim.command("edit main.py")
        nvim.wait(
            "return vim.lsp.inline_completion.is_enabled({ bufnr = 0 })",
            what="inline completions to be on for the daemon's buffer",
        )
        nvim.request("nvim_win_set_cursor", 0, [6, 4])
        nvim.request("nvim_input", "A")
        assert nvim.wait(SHOWN, what="the ghost text") == 'return f"{greet(name).upper()}!"'

        nvim.request("nvim_input", "<Esc>")
        nvim.command("DeputyCompletions off")
        assert nvim.lua("return vim.lsp.inline_completion.is_enabled({ bufnr = 0 })") is False
        nvim.command("DeputyCompletions")  # toggles back on
        assert nvim.lua("return vim.lsp.inline_completion.is_enabled({ bufnr = 0 })") is True
