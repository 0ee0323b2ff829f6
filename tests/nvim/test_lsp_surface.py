"""The standard LSP surface in a real Neovim with no plugin: only the README's snippet.

Code actions come from Neovim's own ``vim.lsp.buf.code_action``, the edit through its own
``workspace/applyEdit`` handler (so ``u`` undoes it), and symbols from its own
``vim.lsp.buf.workspace_symbol``.
"""

from __future__ import annotations

import pytest

from tests.fakes.llm_server import Call, LLMServer, Reply, Text
from tests.nvim.harness import Nvim
from tests.nvim.test_readme import readme_block

pytestmark = pytest.mark.e2e

ORIGINAL = ["def greet(name):", '    return f"hello {name}"']


@pytest.fixture
def plain(nvim: Nvim) -> Nvim:
    nvim.lua(readme_block("vim.lsp.start"))
    nvim.command("edit hello.py")
    nvim.wait(
        """
        local client = vim.lsp.get_clients({ bufnr = 0, name = "deputydev" })[1]
        return client and client.initialized
        """,
        what="the daemon to attach",
    )
    return nvim


def test_code_actions_are_listed_and_add_docstring_edits_the_buffer_undoably(
    plain: Nvim, llm: LLMServer
) -> None:
    titles = plain.lua(
        """
        local client = vim.lsp.get_clients({ bufnr = 0, name = "deputydev" })[1]
        local params = vim.lsp.util.make_given_range_params({ 1, 0 }, { 2, 0 }, 0, "utf-16")
        params.context = { diagnostics = {} }
        local answer = client:request_sync("textDocument/codeAction", params, 5000, 0)
        return vim.tbl_map(function(a) return a.title end, answer.result)
        """
    )
    assert titles == [
        "DeputyDev: Explain",
        "DeputyDev: Fix",
        "DeputyDev: Add docstring",
        "DeputyDev: Write tests",
        "DeputyDev: Refactor...",
    ]
    llm.script(
        Reply(
            [
                Call(
                    "c1",
                    "replace_in_file",
                    {
                        "path": "hello.py",
                        "oldText": "def greet(name):\n",
                        "newText": 'def greet(name):\n    """Greet someone by name."""\n',
                    },
                )
            ],
            {"input": 10, "output": 5},
        ),
        Reply([Text("Added it.")], {"input": 10, "output": 5}),
    )
    plain.lua(
        """
        _G.progress = {}
        vim.api.nvim_create_autocmd("LspProgress", { callback = function(args)
          local value = args.data.params.value
          local text = value.kind == "begin" and value.title or value.message or ""
          table.insert(_G.progress, value.kind .. ": " .. text)
        end })
        vim.lsp.buf.code_action({
          range = { start = { 1, 0 }, ["end"] = { 2, 0 } },
          filter = function(action) return action.title == "DeputyDev: Add docstring" end,
          apply = true,
        })
        """
    )
    plain.wait(
        "return vim.api.nvim_buf_get_lines(0, 1, 2, false)[1] == ...",
        '    """Greet someone by name."""',
        what="the docstring in the buffer",
    )
    plain.wait(
        'return vim.tbl_contains(_G.progress, "end: done: 1 file changed")',
        what="the progress to end",
    )
    progress = plain.lua("return _G.progress")
    assert progress[0].startswith("begin: DeputyDev: Add docstring hello.py:1-2")
    assert "report: editing hello.py" in progress
    plain.command("undo")
    assert plain.lines()[:2] == ORIGINAL


def test_workspace_symbol_finds_a_function_by_partial_name(plain: Nvim) -> None:
    plain.lua(
        """
        _G.symbols = nil
        vim.lsp.buf.workspace_symbol("farew", {
          on_list = function(list) _G.symbols = list.items end,
        })
        """
    )
    items = plain.wait("return _G.symbols", what="the symbols")
    first = items[0]
    assert first["filename"].endswith("/hello.py") and first["lnum"] == 5
    assert first["text"] == "[Function] farewell"
