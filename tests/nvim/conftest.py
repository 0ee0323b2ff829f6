"""Fixtures for tests in a real headless Neovim: a workspace, the fake model, and Neovim.

``nvim_env`` points the daemon that Neovim starts (``deputydev serve`` from this checkout's
``bin``) at the fake model server on the wire; each test scripts the replies it needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.llm_server import LLMServer
from tests.nvim.harness import PLUGIN_DIR, Nvim, start_nvim


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    (root / ".deputydev").mkdir(parents=True)
    (root / "hello.py").write_text(
        'def greet(name):\n    return f"hello {name}"\n\n\n'
        'def farewell(name):\n    return f"bye {name}"\n'
    )
    (root / "billing.py").write_text(
        "import math\n\n\ndef invoice_total(items, tax_rate):\n"
        "    subtotal = sum(item.price for item in items)\n"
        "    return math.ceil(subtotal * (1 + tax_rate))\n"
    )
    return root


@pytest.fixture
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture
def nvim_env(llm: LLMServer) -> dict[str, str]:
    return {
        "OPENAI_BASE_URL": f"{llm.url}/v1",
        "OPENAI_API_KEY": "sk-test",
        "DEPUTYDEV_PROVIDERS__DEFAULT_MODEL": "gpt-4.1",
    }


@pytest.fixture
def nvim(tmp_path: Path, workspace: Path, nvim_env: dict[str, str]) -> Iterator[Nvim]:
    """Neovim in the workspace, with nothing set up (tests add the plugin or a snippet)."""
    with start_nvim(tmp_path, cwd=workspace, env=nvim_env) as editor:
        yield editor


@pytest.fixture
def editor(tmp_path: Path, workspace: Path, nvim_env: dict[str, str]) -> Iterator[Nvim]:
    """Neovim with the plugin set up, hello.py open and the daemon attached to it."""
    with start_nvim(tmp_path, cwd=workspace, env=nvim_env, rtp=[PLUGIN_DIR]) as editor:
        editor.lua('require("deputydev").setup({})')
        editor.command("edit hello.py")
        editor.wait(
            """
            local client = vim.lsp.get_clients({ bufnr = 0, name = "deputydev" })[1]
            return client and client.initialized
            """,
            what="the daemon to attach to hello.py",
        )
        yield editor
