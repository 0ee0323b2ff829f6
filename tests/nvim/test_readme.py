"""The README's Neovim snippets, run verbatim in a real Neovim, work as written."""

from __future__ import annotations

import re
from pathlib import Path

from tests.nvim.harness import ROOT, Nvim


def readme_lua_blocks() -> list[str]:
    """The ```lua blocks of the README's "Using it from your editor" section, in order."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Using it from your editor") :]
    section = section[: section.index("\n## ", 4)]
    return re.findall(r"```lua\n(.*?)```", section, flags=re.S)


def test_the_readme_snippet_attaches_the_daemon_and_its_example_request_answers(
    nvim: Nvim, workspace: Path
) -> None:
    start, example = readme_lua_blocks()[:2]
    assert "vim.lsp.start" in start and 'request("deputydev/status", {}' in example

    nvim.lua(start)
    nvim.command("edit hello.py")
    root = nvim.wait(
        """
        local client = vim.lsp.get_clients({ bufnr = 0, name = "deputydev" })[1]
        return client and client.initialized and client.root_dir
        """,
        what="the deputydev client to attach to hello.py",
    )
    assert Path(root) == workspace

    # The example as written; print() is captured so the test can read what it printed.
    nvim.lua("_G.printed = {}; _G.print = function(...) table.insert(_G.printed, {...}) end")
    nvim.lua(example)
    [[line]] = nvim.wait("return #_G.printed > 0 and _G.printed", what="the example's answer")
    assert line.startswith("DeputyDev 0."), line
