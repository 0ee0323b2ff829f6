--- DeputyDev for Neovim: a thin client of the daemon.
---
--- require("deputydev").setup({ ... }) starts the daemon (`deputydev serve`, a language
--- server to Neovim) for every buffer inside a workspace root and defines:
---
---   :DeputyAsk [question]   ask in the chat buffer (with a range: about those lines);
---                           :DeputyAsk! asks in write mode (edits go through the editor)
---   :DeputyCancel           cancel the running answer
---   :DeputyNew              start a new session in the chat buffer
---   :DeputySearch {query}   the index's answers in the quickfix list
---   :DeputySessions         pick a saved session and continue it
---   :DeputyReview [what]    review your changes (staged, branch [BASE], A..B, a PR's
---                           URL; uncommitted by default): findings as diagnostics
---   :DeputyCompletions [on|off|toggle]  inline completions as you type (Neovim 0.12+)
---
--- The daemon decides everything else (which files, which model, what a tool did); the
--- plugin renders what it says and asks the user what it asks.
local M = {}

local function focus_of(opts, bufnr)
  if opts.range == 0 then
    return {}
  end
  local path = vim.api.nvim_buf_get_name(bufnr)
  if path == "" then
    return {}
  end
  return { { kind = "snippet", path = path, startLine = opts.line1, endLine = opts.line2 } }
end

local function ask(opts)
  local bufnr = vim.api.nvim_get_current_buf()
  local chat = require("deputydev.chat")
  local focus = vim.b[bufnr].deputydev_chat and {} or focus_of(opts, bufnr)
  local target = vim.b[bufnr].deputydev_chat and vim.fn.bufnr("#") or bufnr
  local send = function(question)
    if question and vim.trim(question) ~= "" then
      chat.ask(question, { write = opts.bang, focus = focus, bufnr = target > 0 and target or nil })
    end
  end
  if opts.args ~= "" then
    send(opts.args)
  else
    vim.ui.input({ prompt = opts.bang and "Ask DeputyDev (write mode): " or "Ask DeputyDev: " }, send)
  end
end

local function define_commands()
  vim.api.nvim_create_user_command("DeputyAsk", ask, {
    nargs = "*",
    range = true,
    bang = true,
    desc = "Ask DeputyDev (! for write mode; a range sends those lines)",
  })
  vim.api.nvim_create_user_command("DeputyCancel", function()
    if not require("deputydev.chat").cancel() then
      vim.notify("DeputyDev: nothing to cancel", vim.log.levels.INFO)
    end
  end, { desc = "Cancel DeputyDev's running answer" })
  vim.api.nvim_create_user_command("DeputyNew", function()
    require("deputydev.chat").new()
  end, { desc = "Start a new DeputyDev session in the chat buffer" })
  vim.api.nvim_create_user_command("DeputySearch", function(opts)
    require("deputydev.search").search(opts.args, { bufnr = vim.api.nvim_get_current_buf() })
  end, { nargs = "+", desc = "Search the workspace index into the quickfix list" })
  vim.api.nvim_create_user_command("DeputyReview", function(opts)
    require("deputydev.review").review(opts.args, { bufnr = vim.api.nvim_get_current_buf() })
  end, {
    nargs = "*",
    complete = function()
      return { "staged", "branch", "uncommitted" }
    end,
    desc = "Review your changes with DeputyDev's reviewers (findings as diagnostics)",
  })
  vim.api.nvim_create_user_command("DeputySessions", function()
    require("deputydev.sessions").pick({ bufnr = vim.api.nvim_get_current_buf() })
  end, { desc = "Open a saved DeputyDev session" })
  vim.api.nvim_create_user_command("DeputyCompletions", function(opts)
    M.completions(opts.args ~= "" and opts.args or "toggle")
  end, {
    nargs = "?",
    complete = function()
      return { "on", "off", "toggle" }
    end,
    desc = "Turn DeputyDev's inline completions on, off, or toggle them",
  })
end

--- Inline completions (Neovim 0.12's vim.lsp.inline_completion) for the daemon's clients:
--- "on", "off" or "toggle"; returns whether they are on.
function M.completions(what)
  local config = require("deputydev.config")
  if not vim.lsp.inline_completion then
    vim.notify("DeputyDev: inline completions need Neovim 0.12", vim.log.levels.WARN)
    return false
  end
  local on = what == "on" or (what == "toggle" and not config.get().inline_completion)
  config.get().inline_completion = on
  -- Neovim turns the feature on per buffer (or globally): the daemon's buffers.
  for _, client in ipairs(vim.lsp.get_clients({ name = require("deputydev.client").NAME })) do
    for _, buf in ipairs(vim.lsp.get_buffers_by_client_id(client.id)) do
      vim.lsp.inline_completion.enable(on, { bufnr = buf })
    end
  end
  return on
end

--- Start the daemon for buffers in a workspace root, now and as they open.
function M.setup(opts)
  require("deputydev.config").setup(opts)
  define_commands()
  local client = require("deputydev.client")
  local group = vim.api.nvim_create_augroup("deputydev", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    callback = function(args)
      client.attach(args.buf)
    end,
  })
  vim.api.nvim_create_autocmd("LspAttach", {
    group = group,
    callback = function(args)
      local attached = vim.lsp.get_client_by_id(args.data.client_id)
      if
        attached
        and attached.name == client.NAME
        and vim.lsp.inline_completion
        and require("deputydev.config").get().inline_completion
      then
        vim.lsp.inline_completion.enable(true, { bufnr = args.buf })
      end
    end,
  })
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and vim.bo[buf].filetype ~= "" then
      client.attach(buf)
    end
  end
end

M.ask = function(question, opts)
  require("deputydev.chat").ask(question, opts)
end
M.cancel = function()
  return require("deputydev.chat").cancel()
end
M.search = function(query, opts)
  require("deputydev.search").search(query, opts)
end

return M
