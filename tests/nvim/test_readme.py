"""The README's Neovim snippets, run verbatim in a real Neovim, work as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.nvim.harness import ROOT, Nvim

pytestmark = pytest.mark.e2e


def readme_lua_blocks() -> list[str]:
    """The ```lua blocks of the README's "Using it from your editor" section, in order."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Using it from your editor") :]
    section = section[: section.index("\n## ", 4)]
    return re.findall(r"```lua\n(.*?)```", section, flags=re.S)


def readme_block(containing: str) -> str:
    [block] = [b for b in readme_lua_blocks() if containing in b]
    return block


def test_the_readme_snippet_attaches_the_daemon_and_its_example_request_answers(
    nvim: Nvim, workspace: Path
) -> None:
    start = readme_block("vim.lsp.start")
    example = readme_block('request("deputydev/status", {}')

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


def test_the_readme_plugin_install_snippets_work_as_written(nvim: Nvim, workspace: Path) -> None:
    # The snippets name a clone in ~/src/deputydev: make this checkout be there.
    home = Path(nvim.env["HOME"])
    (home / "src").mkdir(parents=True)
    (home / "src" / "deputydev").symlink_to(ROOT)
    lazy_spec = readme_block('dir = "~/src/deputydev')
    plain = readme_block("vim.opt.rtp:append")

    nvim.lua(plain)
    nvim.command("edit hello.py")
    nvim.wait(
        """
        local client = vim.lsp.get_clients({ bufnr = 0, name = "deputydev" })[1]
        return client and client.initialized
        """,
        what="the plugin to start the daemon",
    )
    assert nvim.lua("return vim.fn.exists(':DeputyAsk')") == 2

    # lazy.nvim calls setup(opts) for a spec with opts: the spec's options are valid.
    spec = nvim.lua("return assert(loadstring('return ' .. ...))()", lazy_spec)
    where = home / spec["dir"].removeprefix("~/")
    assert where.resolve() == (ROOT / "editors" / "nvim").resolve()
    nvim.lua("require('deputydev').setup(...)", spec["opts"])
    options = nvim.lua("return require('deputydev.config').get()")
    assert options["settings"] == {"index": {"maxChunkLines": 80}}
