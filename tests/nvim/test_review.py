""":DeputyReview in a real headless Neovim: findings as Neovim's own diagnostics, in the
quickfix list, cleared when their line changes, and a suggestion applied as a quick fix
through ``vim.lsp.buf.code_action`` (Neovim's own ``workspace/applyEdit`` handler)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.llm_server import LLMServer
from tests.fakes.review_model import ReviewModel, finding
from tests.nvim.harness import PLUGIN_DIR, Nvim, start_nvim
from tests.review_repo import make_repo

pytestmark = pytest.mark.e2e

FIXED = "    return a - b"


@pytest.fixture
def reviewing(tmp_path: Path, nvim_env: dict[str, str]) -> Iterator[Nvim]:
    repo = make_repo(tmp_path / "repo")
    env = {**nvim_env, "DEPUTYDEV_INDEX__ENABLED": "false"}
    with start_nvim(tmp_path, cwd=repo, env=env, rtp=[PLUGIN_DIR]) as editor:
        editor.lua('require("deputydev").setup({})')
        editor.command("edit util.py")
        editor.wait(
            """
            local client = vim.lsp.get_clients({ bufnr = 0, name = "deputydev" })[1]
            return client and client.initialized
            """,
            what="the daemon to attach to util.py",
        )
        yield editor


DIAGNOSTICS = """
return vim.tbl_map(function(d)
  return { lnum = d.lnum, source = d.source, code = d.code, message = d.message,
           severity = d.severity }
end, vim.diagnostic.get(0))
"""


def test_review_findings_show_as_diagnostics_and_a_quick_fix_applies_the_suggestion(
    reviewing: Nvim, llm: LLMServer
) -> None:
    llm.responder = ReviewModel(
        {
            "correctness": [
                finding(
                    "util.py",
                    6,
                    severity="error",
                    category="wrong-operands",
                    message="sub returns b - a",
                    suggestion=FIXED,
                )
            ],
            "tests": [finding("staged.py", 2, category="untested", message="no test")],
        }
    )
    reviewing.lua(
        "_G.reviewed = false; vim.api.nvim_create_autocmd('User', { pattern = "
        "'DeputyDevReviewDone', callback = function() _G.reviewed = true end })"
    )
    reviewing.command("DeputyReview")
    reviewing.wait("return _G.reviewed", what="the review to finish", timeout=60)
    [shown] = reviewing.wait(f"local d = (function() {DIAGNOSTICS} end)(); return #d > 0 and d")
    assert shown["lnum"] == 5 and shown["source"] == "deputydev"
    assert shown["code"] == "wrong-operands" and "sub returns b - a" in shown["message"]
    assert shown["severity"] == 1  # vim.diagnostic.severity.ERROR
    quickfix = reviewing.lua(
        "return vim.tbl_map(function(i) return i.text end, vim.fn.getqflist())"
    )
    assert any("[untested] no test" in text for text in quickfix)
    assert any("[wrong-operands]" in text for text in quickfix)

    # The quick fix, chosen as a user would: the daemon's workspace/applyEdit lands in the
    # buffer, and the finding's line changed, so its diagnostic is gone.
    reviewing.lua(
        """
        vim.api.nvim_win_set_cursor(0, { 6, 0 })
        vim.lsp.buf.code_action({
          apply = true,
          filter = function(action) return action.title:find("apply the suggestion", 1, true) end,
        })
        """
    )
    reviewing.wait(
        f"return vim.api.nvim_buf_get_lines(0, 5, 6, false)[1] == {FIXED!r}",
        what="the suggestion in the buffer",
    )
    reviewing.wait("return #vim.diagnostic.get(0) == 0", what="the diagnostic to clear")
    reviewing.command("undo")
    assert reviewing.lines()[5] == "    return b - a"


def test_adding_lines_above_moves_the_diagnostic_with_its_line(
    reviewing: Nvim, llm: LLMServer
) -> None:
    llm.responder = ReviewModel(
        {"correctness": [finding("util.py", 6, category="wrong-operands", message="b - a")]}
    )
    reviewing.command("DeputyReview")
    reviewing.wait("local d = vim.diagnostic.get(0); return #d > 0 and d[1].lnum == 5", timeout=60)
    reviewing.lua('vim.api.nvim_buf_set_lines(0, 0, 0, false, { "import math", "" })')
    reviewing.wait(
        "local d = vim.diagnostic.get(0); return #d == 1 and d[1].lnum == 7",
        what="the diagnostic to move two lines down",
    )
