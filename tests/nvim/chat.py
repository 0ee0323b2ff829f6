"""Reading the plugin's chat buffer from a test."""

from __future__ import annotations

from tests.nvim.harness import Nvim

CHAT = 'local chat = require("deputydev.chat")\n'


def chat_lines(nvim: Nvim) -> list[str]:
    return list(
        nvim.lua(
            CHAT
            + "local buf = chat.state.buf\n"
            + "return buf and vim.api.nvim_buf_get_lines(buf, 0, -1, false) or {}"
        )
    )


def wait_answered(nvim: Nvim, what: str = "the answer to finish") -> list[str]:
    """Wait until no turn runs and the chat holds a footer; the chat's lines."""
    nvim.wait(
        CHAT + "return chat.state.turn == nil and chat.state.buf ~= nil",
        what=what,
    )
    return chat_lines(nvim)


def wait_chat_contains(nvim: Nvim, text: str) -> list[str]:
    nvim.wait(
        CHAT
        + """
        local buf = chat.state.buf
        if not buf then return false end
        local all = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\\n")
        return all:find(..., 1, true) ~= nil
        """,
        text,
        what=f"the chat to show {text!r}",
    )
    return chat_lines(nvim)
