"""The Neovim plugin (editors/nvim) in a real headless Neovim, against the real daemon.

The model is the fake server on the wire, scripted per test; Neovim starts the daemon
itself (``deputydev serve`` from this checkout). Tests drive the plugin's commands and
assert on what the user sees: the chat buffer's lines, the quickfix list, what was asked
through vim.ui, the buffer the daemon edited.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.llm_server import Call, LLMServer, Reply, Text
from tests.nvim.chat import chat_lines, wait_answered, wait_chat_contains
from tests.nvim.harness import Nvim

pytestmark = pytest.mark.e2e

USAGE = {"input": 100, "output": 20}


def chat_requests(llm: LLMServer) -> list[Any]:
    return [b for b in llm.bodies("openai-chat") if b]


def test_ask_streams_text_tool_lines_and_a_footer_into_the_chat(
    editor: Nvim, llm: LLMServer
) -> None:
    llm.script(
        Reply([Text("Let me read it. "), Call("c1", "read_file", {"path": "hello.py"})], USAGE),
        Reply([Text("greet "), Text("returns "), Text("a greeting.")], USAGE),
    )
    editor.command("DeputyAsk what does greet do?")
    lines = wait_answered(editor)
    text = "\n".join(lines)
    assert lines[:3] == ["## You", "", "what does greet do?"]
    assert "## DeputyDev" in lines
    assert "Let me read it. " in lines or "Let me read it." in [x.strip() for x in lines]
    [tool] = [x for x in lines if x.startswith("> read_file")]
    assert tool.startswith("> read_file hello.py · ")  # the call, completed by its result
    assert "greet returns a greeting." in lines
    assert "_gpt-4.1 · 200 in / 40 out tokens · $" in text
    assert lines[-3:] == ["## You", "", ""]  # the prompt for a follow-up
    assert editor.lua('return vim.bo[require("deputydev.chat").state.buf].filetype') == "markdown"
    # The chat opened beside the code; the cursor stayed in the code.
    assert editor.lua("return vim.api.nvim_buf_get_name(0)").endswith("hello.py")
    assert editor.lua("return #vim.api.nvim_tabpage_list_wins(0)") == 2


def test_a_range_is_sent_as_a_snippet_and_follow_ups_continue_the_session(
    editor: Nvim, llm: LLMServer
) -> None:
    llm.script(Reply([Text("It greets.")], USAGE), Reply([Text("It says bye.")], USAGE))
    editor.command("1,2DeputyAsk explain this")
    lines = wait_answered(editor)
    assert "_about hello.py:1-2_" in lines
    first = json.dumps(chat_requests(llm)[0])
    assert "hello.py:1-2" in first and "def greet(name):" in first and "farewell" not in first

    # A follow-up typed at the chat's prompt and sent with <CR>.
    editor.lua(
        """
        local chat = require("deputydev.chat")
        local win = vim.fn.bufwinid(chat.state.buf)
        vim.api.nvim_set_current_win(win)
        vim.api.nvim_buf_set_lines(chat.state.buf, -2, -1, false, { "and farewell?" })
        vim.api.nvim_win_set_cursor(win, { vim.api.nvim_buf_line_count(chat.state.buf), 0 })
        """
    )
    editor.request("nvim_input", "<CR>")
    wait_chat_contains(editor, "It says bye.")
    lines = wait_answered(editor)
    assert lines.count("and farewell?") == 1
    second = chat_requests(llm)[1]
    sent = [m["content"] for m in second["messages"]]
    assert any("explain this" in str(c) for c in sent) and "and farewell?" in str(sent[-1])


def test_write_mode_edits_the_buffer_and_shows_the_edit_fate(
    editor: Nvim, llm: LLMServer, workspace: Path
) -> None:
    llm.script(
        Reply(
            [
                Call(
                    "c1",
                    "replace_in_file",
                    {"path": "hello.py", "oldText": "hello {name}", "newText": "hi {name}"},
                )
            ],
            USAGE,
        ),
        Reply([Text("Changed the greeting.")], USAGE),
    )
    editor.command("DeputyAsk! say hi instead")
    lines = wait_answered(editor)
    assert "## DeputyDev (write mode)" in lines
    assert "> edit hello.py (+1 -1): applied" in lines
    tools = [t["function"]["name"] for t in chat_requests(llm)[0]["tools"]]
    assert "replace_in_file" in tools
    code = editor.lua("return vim.fn.getbufline(vim.fn.bufnr('hello.py'), 1, '$')")
    assert code[1] == '    return f"hi {name}"'
    assert "hello {name}" in (workspace / "hello.py").read_text()  # unsaved: the editor's


def test_a_command_is_approved_through_vim_ui_select(
    editor: Nvim, llm: LLMServer, workspace: Path
) -> None:
    llm.script(
        Reply([Call("c1", "execute_command", {"command": "echo approved > out.txt"})], USAGE),
        Reply([Text("Ran it.")], USAGE),
    )
    editor.lua(
        """
        _G.asked = {}
        vim.ui.select = function(items, opts, on_choice)
          table.insert(_G.asked, { items = items, prompt = opts.prompt })
          on_choice(items[1])
        end
        """
    )
    editor.command("DeputyAsk run the echo")
    lines = wait_answered(editor)
    [asked] = editor.lua("return _G.asked")
    assert asked["items"] == ["Approve", "Deny"]
    assert "$ echo approved > out.txt" in asked["prompt"]
    assert f"in {workspace}" in asked["prompt"]
    assert (workspace / "out.txt").read_text() == "approved\n"
    [tool] = [x for x in lines if x.startswith("> execute_command")]
    assert tool.startswith("> execute_command `echo approved > out.txt` · ")


def test_search_fills_the_quickfix_list(editor: Nvim) -> None:
    editor.command("DeputySearch invoice total tax rate")
    editor.wait("return #vim.fn.getqflist() > 0", what="the quickfix list")
    items = editor.lua(
        """
        return vim.tbl_map(function(item)
          return { vim.api.nvim_buf_get_name(item.bufnr), item.lnum, item.text }
        end, vim.fn.getqflist())
        """
    )
    path, line, text = items[0]
    assert path.endswith("/billing.py") and line == 4
    assert text == "invoice_total: def invoice_total(items, tax_rate):"
    title = editor.lua("return vim.fn.getqflist({ title = 1 }).title")
    assert title == "DeputyDev: invoice total tax rate"
    assert editor.lua("return vim.bo.buftype") == "quickfix"  # the list was opened


def test_cancel_stops_a_slow_stream(editor: Nvim, llm: LLMServer) -> None:
    llm.script(Reply([Text("half an answer")], USAGE, stall_after=2))
    editor.command("DeputyAsk take your time")
    wait_chat_contains(editor, "half an answer")
    assert editor.lua('return require("deputydev.chat").state.turn ~= nil')  # still streaming
    editor.command("DeputyCancel")
    lines = wait_answered(editor, "the cancelled turn to end")
    assert "_cancelled_" in lines
    assert asyncio.run(llm.wait_disconnects(1)) >= 1  # the model's stream was closed
    # The daemon kept what was produced, with the turn cancelled.
    session = editor.lua('return require("deputydev.chat").state.session_id')
    assert isinstance(session, str) and session


def test_sessions_reopen_in_the_chat_and_errors_notify_once(editor: Nvim, llm: LLMServer) -> None:
    llm.script(
        Reply([Text("First answer.")], USAGE),
        Reply(status=401, error={"error": {"message": "bad key", "type": "invalid_api_key"}}),
    )
    editor.command("DeputyAsk remember me")
    wait_answered(editor)
    session = editor.lua('return require("deputydev.chat").state.session_id')
    editor.command("DeputyNew")
    assert editor.lua('return require("deputydev.chat").state.session_id') is None
    editor.lua(
        """
        vim.ui.select = function(items, opts, on_choice) on_choice(items[1]) end
        _G.notes = {}
        vim.notify = function(msg, level) table.insert(_G.notes, { msg, level }) end
        """
    )
    editor.command("DeputySessions")
    lines = wait_chat_contains(editor, "First answer.")
    assert "remember me" in "\n".join(lines)
    assert editor.lua('return require("deputydev.chat").state.session_id') == session

    editor.command("DeputyAsk and again")
    lines = wait_answered(editor)
    assert "_failed_" in lines
    notes = editor.lua("return _G.notes")
    assert len(notes) == 1, notes
    message, level = notes[0]
    assert level == editor.lua("return vim.log.levels.ERROR")
    assert message.startswith("DeputyDev: ") and "OPENAI_API_KEY" in message
    assert chat_lines(editor)  # the chat survived the failure


def test_checkhealth_reports_binary_version_index_and_model(editor: Nvim) -> None:
    editor.command("DeputySearch greet")  # the index is ready once search answered
    editor.wait("return #vim.fn.getqflist() > 0", what="the index")
    editor.command("checkhealth deputydev")
    text = "\n".join(editor.lines())
    assert "deputydev 0." in text and "daemon 0." in text
    assert "index ready (2 files" in text
    assert "model in use: gpt-4.1" in text
    assert "ERROR" not in text


def test_the_model_s_question_is_answered_through_vim_ui_input(
    editor: Nvim, llm: LLMServer
) -> None:
    llm.script(
        Reply([Call("c1", "ask_user", {"question": "Which greeting?"})], USAGE),
        Reply([Text("Using howdy.")], USAGE),
    )
    editor.lua(
        """
        _G.questions = {}
        vim.ui.input = function(opts, on_confirm)
          table.insert(_G.questions, opts.prompt)
          on_confirm("howdy")
        end
        """
    )
    editor.command("DeputyAsk pick a greeting")
    lines = wait_answered(editor)
    assert editor.lua("return _G.questions") == ["Which greeting? "]
    assert "Using howdy." in lines
    second = json.dumps(chat_requests(llm)[1])
    assert "howdy" in second  # the answer went back to the model as the tool's result


def test_a_turn_cancelled_by_the_cancel_command_ends_in_the_chat(
    editor: Nvim, llm: LLMServer
) -> None:
    llm.script(Reply([Text("still going")], USAGE, stall_after=2))
    editor.command("DeputyAsk take your time")
    wait_chat_contains(editor, "still going")
    editor.lua(
        """
        local client = vim.lsp.get_clients({ name = "deputydev" })[1]
        client:exec_cmd({ title = "cancel", command = "deputydev.cancel" })
        """
    )
    lines = wait_answered(editor, "the turn cancelled by the daemon to end")
    assert "_cancelled_" in lines
    assert asyncio.run(llm.wait_disconnects(1)) >= 1
