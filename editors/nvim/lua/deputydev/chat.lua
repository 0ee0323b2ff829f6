--- The chat buffer: a Markdown buffer the plugin owns, streamed into as events arrive.
---
--- A question appends a "## You" block and a "## DeputyDev" block; the answer's events
--- (`$/progress` values of `deputydev/query`, see docs/PROTOCOL.md) are rendered as they
--- come: text as it streams, each tool call as one line (`> read_file src/app.py`) that its
--- result completes, each edit with its fate, a fallback or an error as a line, and a
--- footer with the model, tokens and cost. Text deltas are batched per event-loop tick, so
--- a fast stream costs one buffer change per tick, not one per delta. Follow-up questions
--- continue the same session; after an answer, a "## You" prompt waits at the end, sent
--- with <CR> (normal mode) or <C-s>.
local client_mod = require("deputydev.client")
local config = require("deputydev.config")

local M = {}

local ns = vim.api.nvim_create_namespace("deputydev.chat")

local state = {
  buf = nil, ---@type integer?
  session_id = nil, ---@type string?
  turn = nil, -- the running turn: { token, client, request_id, ... }
  counter = 0,
}

M.state = state

local function valid_buf()
  return state.buf and vim.api.nvim_buf_is_valid(state.buf)
end

local function chat_win()
  if not valid_buf() then
    return nil
  end
  for _, win in ipairs(vim.api.nvim_tabpage_list_wins(0)) do
    if vim.api.nvim_win_get_buf(win) == state.buf then
      return win
    end
  end
  return nil
end

local function create_buf()
  local buf = vim.api.nvim_create_buf(false, true)
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "hide"
  vim.bo[buf].swapfile = false
  vim.bo[buf].filetype = "markdown"
  pcall(vim.api.nvim_buf_set_name, buf, "deputydev://chat")
  vim.b[buf].deputydev_chat = true
  local send = function()
    M.send_prompt()
  end
  vim.keymap.set("n", "<CR>", send, { buffer = buf, desc = "DeputyDev: send the question" })
  vim.keymap.set({ "n", "i" }, "<C-s>", send, { buffer = buf, desc = "DeputyDev: send" })
  vim.keymap.set("n", "<C-c>", function()
    M.cancel()
  end, { buffer = buf, desc = "DeputyDev: cancel the answer" })
  return buf
end

--- Show the chat buffer beside the code (or where configured); returns its window.
function M.open()
  if not valid_buf() then
    state.buf = create_buf()
  end
  local win = chat_win()
  if win then
    return win
  end
  local chat = config.get().chat
  local position = chat.position
  if position == "current" then
    vim.api.nvim_set_current_buf(state.buf)
    return vim.api.nvim_get_current_win()
  end
  local vertical = position == "right" or position == "left"
  local total = vertical and vim.o.columns or vim.o.lines
  local size = chat.size < 1 and math.floor(total * chat.size) or chat.size
  local current = vim.api.nvim_get_current_win()
  local split = ({ right = "right", left = "left", below = "below", above = "above" })[position]
  win = vim.api.nvim_open_win(state.buf, false, { split = split, win = -1 })
  if vertical then
    vim.api.nvim_win_set_width(win, size)
  else
    vim.api.nvim_win_set_height(win, size)
  end
  vim.wo[win].wrap = true
  vim.wo[win].linebreak = true
  vim.api.nvim_set_current_win(current)
  return win
end

-- --------------------------------------------------------------------------- writing

local function line_count()
  return vim.api.nvim_buf_line_count(state.buf)
end

local function with_modifiable(fn)
  local buf = state.buf
  local was = vim.bo[buf].modifiable
  vim.bo[buf].modifiable = true
  fn(buf)
  vim.bo[buf].modifiable = was
end

--- Keep the chat window at the bottom while it streams, unless the user scrolled up.
local function follow(before)
  local win = chat_win()
  if not win then
    return
  end
  local cursor = vim.api.nvim_win_get_cursor(win)[1]
  if cursor >= before - 1 then
    pcall(vim.api.nvim_win_set_cursor, win, { line_count(), 0 })
  end
end

--- Append text at the very end (it may hold newlines), as a stream does.
local function append_text(text)
  if text == "" or not valid_buf() then
    return
  end
  local before = line_count()
  with_modifiable(function(buf)
    local last = vim.api.nvim_buf_get_lines(buf, -2, -1, false)[1] or ""
    local pieces = vim.split(text, "\n", { plain = true })
    vim.api.nvim_buf_set_text(buf, before - 1, #last, before - 1, #last, pieces)
  end)
  if state.turn then
    state.turn.at_line_start = text:sub(-1) == "\n"
  end
  follow(before)
end

--- Append whole lines after the end, on a line of their own; returns the first line's
--- 0-based index.
local function append_lines(lines)
  local before = line_count()
  local first
  with_modifiable(function(buf)
    local last = vim.api.nvim_buf_get_lines(buf, -2, -1, false)[1] or ""
    if last == "" then
      vim.api.nvim_buf_set_lines(buf, before - 1, before, false, lines)
      first = before - 1
    else
      vim.api.nvim_buf_set_lines(buf, before, before, false, lines)
      first = before
    end
  end)
  if state.turn then
    state.turn.at_line_start = false
  end
  follow(before)
  return first
end

local function set_line(mark, text)
  if not valid_buf() or not mark then
    return
  end
  local pos = vim.api.nvim_buf_get_extmark_by_id(state.buf, ns, mark, {})
  if not pos or not pos[1] then
    return
  end
  with_modifiable(function(buf)
    vim.api.nvim_buf_set_lines(buf, pos[1], pos[1] + 1, false, { text })
  end)
end

local function mark_line(row)
  return vim.api.nvim_buf_set_extmark(state.buf, ns, row, 0, {})
end

--- Text deltas wait here for the next tick, then go into the buffer in one change.
local function flush()
  local turn = state.turn
  if not turn or turn.pending == "" then
    if turn then
      turn.flush_scheduled = false
    end
    return
  end
  local text = turn.pending
  turn.pending = ""
  turn.flush_scheduled = false
  append_text(text)
end

local function queue_text(text)
  local turn = state.turn
  turn.pending = turn.pending .. text
  turn.events = turn.events + 1
  if not turn.flush_scheduled then
    turn.flush_scheduled = true
    vim.schedule(flush)
  end
end

--- A line of its own for a step (tool call, edit, fallback, error): pending text first.
local function step_line(text)
  flush()
  local row = append_lines({ text, "" })
  return mark_line(row)
end

-- --------------------------------------------------------------------------- events

local LEVELS = {
  RateLimited = vim.log.levels.WARN,
  ProviderUnavailable = vim.log.levels.WARN,
  StreamInterrupted = vim.log.levels.WARN,
}

local function notify_error(turn, message, data)
  if turn.error_shown then
    return
  end
  turn.error_shown = true
  data = data or {}
  if data.kind == "Cancelled" then
    return
  end
  local text = "DeputyDev: " .. (message or "the answer failed")
  if data.retryAfter then
    text = text .. (" (retry in %ss)"):format(data.retryAfter)
  end
  vim.notify(text, LEVELS[data.kind] or vim.log.levels.ERROR, { title = "DeputyDev" })
end

local function tokens(usage)
  usage = usage or {}
  local input = (usage.inputTokens or 0) + (usage.cacheReadTokens or 0)
  return ("%d in / %d out tokens"):format(input, usage.outputTokens or 0)
end

local render = {}

function render.session(turn, value)
  state.session_id = value.sessionId
  turn.query_id = value.queryId
  if valid_buf() then
    vim.b[state.buf].deputydev_session = value.sessionId
  end
end

function render.agent(turn, value)
  turn.model = value.model
end

function render.text(_, value)
  queue_text(value.text or "")
end

function render.thinking(turn, value)
  if config.get().chat.show_thinking then
    if not turn.thinking_mark then
      turn.thinking_mark = step_line("> thinking…")
    end
    turn.thinking = (turn.thinking or "") .. (value.text or "")
    local last = turn.thinking:gsub("%s+", " "):sub(-80)
    set_line(turn.thinking_mark, "> thinking… " .. last)
  end
end

function render.toolCall(turn, value)
  local summary = value.summary and value.summary ~= "" and (" " .. value.summary) or ""
  local line = "> " .. value.name .. summary
  turn.tools[value.callId] = { mark = step_line(line), line = line }
end

function render.toolResult(turn, value)
  local tool = turn.tools[value.callId]
  if not tool then
    return
  end
  local summary = value.summary ~= "" and value.summary or (value.isError and "failed" or "done")
  local sign = value.status == "error" and " ✗ " or " · "
  set_line(tool.mark, tool.line .. sign .. summary)
end

local FATES = {
  proposed = "proposed",
  applied = "applied",
  rejected = "rejected",
  written = "written to disk",
}

function render.fileEdit(turn, value)
  local line = ("> edit %s (+%d -%d): %s"):format(
    value.path,
    value.added or 0,
    value.removed or 0,
    FATES[value.status] or value.status
  )
  local edit = turn.edits[value.path]
  if edit and edit.open then
    set_line(edit.mark, line)
  else
    edit = { mark = step_line(line) }
    turn.edits[value.path] = edit
  end
  edit.open = value.status == "proposed"
end

function render.modelFallback(_, value)
  step_line(("> %s unavailable (%s); %s answers"):format(value.fromModel, value.reason, value.toModel))
end

function render.usage(turn, value)
  turn.usage = value.usage
  turn.cost = value.costUsd
end

function render.error(turn, value)
  turn.error = value
  local data = value.data or {}
  if data.kind == "Cancelled" then
    -- Cancelled elsewhere (deputydev.cancel, another client): Neovim will not call the
    -- request's handler with a RequestCancelled answer, so the turn ends here.
    M.retire(turn)
    return
  end
  step_line("> error: " .. (value.message or ""))
  notify_error(turn, value.message, data)
end

-- Tokens of turns that ended here first (cancelled): their late events are dropped.
local retired = {}

--- Whether a `$/progress` token belongs to a chat turn.
function M.owns(token)
  return (state.turn ~= nil and state.turn.token == token) or retired[token] == true
end

function M.on_event(token, value)
  local turn = state.turn
  if not turn or turn.token ~= token or type(value) ~= "table" then
    return
  end
  if not valid_buf() then
    -- The user wiped the chat mid-answer: the rest of the answer starts a fresh one.
    state.buf = create_buf()
    state.prompt_mark = nil
  end
  local fn = render[value.kind]
  if fn then
    fn(turn, value)
  end
end

-- --------------------------------------------------------------------------- turns

local function prompt_block()
  local row = append_lines({ "## You", "", "" })
  state.prompt_mark = mark_line(row)
  vim.bo[state.buf].modifiable = true
end

local function finish(turn, err, result)
  flush()
  state.turn = nil
  if not valid_buf() then
    return
  end
  local footer
  if result then
    footer = ("_%s · %s · $%.4f_"):format(result.model or "?", tokens(result.usage), result.costUsd or 0)
  elseif err and err.code == -32800 then
    footer = "_cancelled_"
  else
    footer = "_failed_"
    if err then
      notify_error(turn, err.message, err.data)
    end
  end
  if turn.usage and not result then
    footer = footer:sub(1, -2) .. (" · %s · $%.4f_"):format(tokens(turn.usage), turn.cost or 0)
  end
  append_lines({ "", footer, "" })
  prompt_block()
  vim.api.nvim_exec_autocmds("User", { pattern = "DeputyDevChatDone", modeline = false })
end

--- Ask a question. `opts`: `write` (write mode), `focus` (a list of focus items),
--- `bufnr` (the buffer the question is about, to find the daemon).
function M.ask(question, opts)
  opts = opts or {}
  question = vim.trim(question or "")
  if question == "" then
    vim.notify("DeputyDev: the question is empty", vim.log.levels.WARN)
    return
  end
  if state.turn then
    vim.notify(
      "DeputyDev is still answering the last question: wait, or :DeputyCancel",
      vim.log.levels.WARN
    )
    return
  end
  local client = client_mod.require(opts.bufnr)
  if not client then
    return
  end
  M.open()
  state.counter = state.counter + 1
  local token = ("deputydev-chat-%d-%d"):format(vim.fn.getpid(), state.counter)
  local turn = {
    token = token,
    client = client,
    tools = {},
    edits = {},
    pending = "",
    events = 0,
    flush_scheduled = false,
  }
  -- A prompt already typed at the end is the question: replace it rather than repeat it.
  if state.prompt_mark then
    local pos = vim.api.nvim_buf_get_extmark_by_id(state.buf, ns, state.prompt_mark, {})
    if pos and pos[1] then
      vim.api.nvim_buf_set_lines(state.buf, pos[1], -1, false, { "" })
    end
    state.prompt_mark = nil
  end
  local header = { "## You", "" }
  vim.list_extend(header, vim.split(question, "\n", { plain = true }))
  for _, item in ipairs(opts.focus or {}) do
    local where = vim.fn.fnamemodify(item.path or "", ":~:.")
    if item.startLine then
      where = ("%s:%d-%d"):format(where, item.startLine, item.endLine or item.startLine)
    end
    table.insert(header, "")
    table.insert(header, "_about " .. where .. "_")
  end
  vim.list_extend(header, { "", opts.write and "## DeputyDev (write mode)" or "## DeputyDev", "" })
  append_lines(header)
  vim.bo[state.buf].modifiable = false
  state.turn = turn
  local params = {
    query = question,
    sessionId = state.session_id,
    writeMode = opts.write or false,
    focusItems = opts.focus or {},
    partialResultToken = token,
  }
  local ok, request_id = client_mod.request(client, "deputydev/query", params, function(err, result)
    if state.turn == turn then
      finish(turn, err, result)
    end
  end, opts.bufnr)
  if not ok then
    state.turn = nil
    vim.notify("DeputyDev: the daemon is not running", vim.log.levels.ERROR)
    return
  end
  turn.request_id = request_id
end

--- Send what is typed after the last "## You" line.
function M.send_prompt()
  if not valid_buf() or not state.prompt_mark then
    return
  end
  local pos = vim.api.nvim_buf_get_extmark_by_id(state.buf, ns, state.prompt_mark, {})
  if not pos or not pos[1] then
    return
  end
  local lines = vim.api.nvim_buf_get_lines(state.buf, pos[1] + 1, -1, false)
  local question = vim.trim(table.concat(lines, "\n"))
  if question == "" then
    return
  end
  vim.cmd("stopinsert")
  M.ask(question, {})
end

--- Cancel the running answer (`$/cancelRequest`); false when nothing runs. Neovim never
--- calls a cancelled request's handler, so the turn ends here, at once.
function M.cancel()
  local turn = state.turn
  if not turn or not turn.request_id then
    return false
  end
  client_mod.cancel_request(turn.client, turn.request_id)
  M.retire(turn)
  return true
end

--- End a cancelled turn now; its late events are dropped.
function M.retire(turn)
  retired[turn.token] = true
  if state.turn == turn then
    finish(turn, { code = -32800, message = "cancelled" }, nil)
  end
end

--- Start a new session: the next question does not continue the last one.
function M.new()
  state.session_id = nil
  if valid_buf() then
    vim.bo[state.buf].modifiable = true
    vim.api.nvim_buf_clear_namespace(state.buf, ns, 0, -1)
    vim.api.nvim_buf_set_lines(state.buf, 0, -1, false, {})
    state.prompt_mark = nil
    prompt_block()
  end
end

--- Show a saved session (its Markdown transcript) and continue it from here.
function M.show_session(session_id, markdown)
  if state.turn then
    vim.notify("DeputyDev is still answering: :DeputyCancel first", vim.log.levels.WARN)
    return
  end
  M.open()
  state.session_id = session_id
  vim.b[state.buf].deputydev_session = session_id
  vim.bo[state.buf].modifiable = true
  vim.api.nvim_buf_clear_namespace(state.buf, ns, 0, -1)
  vim.api.nvim_buf_set_lines(state.buf, 0, -1, false, vim.split(markdown, "\n", { plain = true }))
  state.prompt_mark = nil
  append_lines({ "" })
  prompt_block()
end

return M
