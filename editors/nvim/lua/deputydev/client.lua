--- Starting the daemon per workspace root, finding its client, and talking to it.
---
--- The daemon is a language server to Neovim: `vim.lsp.start` runs one per root (and
--- reuses it for every buffer in that root). The handlers for what the daemon sends on its
--- own (streamed `$/progress` events, `deputydev/confirm`, `deputydev/askUser`) are
--- collected in one table, passed to the client when it starts.
local config = require("deputydev.config")

local M = {}

M.NAME = "deputydev"

local has_011 = vim.fn.has("nvim-0.11") == 1

--- `client:request(...)` is 0.11+; 0.10 has `client.request(...)`.
function M.request(client, method, params, handler, bufnr)
  if has_011 then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

function M.request_sync(client, method, params, timeout_ms, bufnr)
  if has_011 then
    return client:request_sync(method, params, timeout_ms, bufnr)
  end
  return client.request_sync(method, params, timeout_ms, bufnr)
end

function M.cancel_request(client, id)
  if has_011 then
    return client:cancel_request(id)
  end
  return client.cancel_request(id)
end

--- Run `fn(done)` inside a server-request handler and return what `done(value)` gets:
--- the handler runs in a coroutine, so the answer can wait for vim.ui without blocking.
local function answer_async(fn)
  local co, is_main = coroutine.running()
  if not co or is_main then
    local result
    fn(function(value)
      result = value
    end)
    vim.wait(60 * 60 * 1000, function()
      return result ~= nil
    end)
    return result
  end
  fn(function(value)
    -- Resume after the current callback returns, whatever the vim.ui implementation does.
    vim.schedule(function()
      coroutine.resume(co, value)
    end)
  end)
  return coroutine.yield()
end

local function confirm(_, params)
  local details = params.details or {}
  local lines = { params.message or "Run this command?" }
  if details.command then
    table.insert(lines, "  $ " .. details.command)
  end
  if details.cwd then
    table.insert(lines, "  in " .. details.cwd)
  end
  local approved = answer_async(function(done)
    vim.ui.select({ "Approve", "Deny" }, {
      prompt = table.concat(lines, "\n"),
      kind = "deputydev.confirm",
    }, function(choice)
      done(choice == "Approve")
    end)
  end)
  return { approved = approved == true }
end

local function ask_user(_, params)
  local question = params.question or "DeputyDev asks"
  local answer = answer_async(function(done)
    local options = params.options or {}
    if #options > 0 then
      vim.ui.select(options, { prompt = question, kind = "deputydev.askUser" }, function(choice)
        done(choice or "")
      end)
    else
      vim.ui.input({ prompt = question .. " " }, function(input)
        done(input or "")
      end)
    end
  end)
  return { answer = answer }
end

--- The handlers this plugin adds; `$/progress` values of a chat go to the chat, the rest
--- (work-done progress of indexing and commands) to Neovim's own handler.
function M.handlers()
  return {
    ["$/progress"] = function(err, result, ctx, cfg)
      if result and require("deputydev.chat").owns(result.token) then
        require("deputydev.chat").on_event(result.token, result.value)
        return
      end
      if result and require("deputydev.review").owns(result.token) then
        require("deputydev.review").on_event(result.token, result.value)
        return
      end
      return vim.lsp.handlers["$/progress"](err, result, ctx, cfg)
    end,
    ["deputydev/confirm"] = confirm,
    ["deputydev/askUser"] = ask_user,
    ["deputydev/index/updated"] = function() end,
  }
end

--- The root of a buffer that the daemon should serve, or nil.
function M.root_of(bufnr)
  local options = config.get()
  if vim.bo[bufnr].buftype ~= "" then
    return nil
  end
  if vim.tbl_contains(options.exclude_filetypes, vim.bo[bufnr].filetype) then
    return nil
  end
  if vim.api.nvim_buf_get_name(bufnr) == "" then
    return nil
  end
  return vim.fs.root(bufnr, options.root_markers)
end

--- Start (or reuse) the daemon for the buffer's root and attach it; the client id or nil.
function M.attach(bufnr)
  local root = M.root_of(bufnr)
  if not root then
    return nil
  end
  local options = config.get()
  return vim.lsp.start({
    name = M.NAME,
    cmd = options.cmd,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = vim.fs.basename(root) } },
    init_options = options.settings,
    handlers = M.handlers(),
  }, { bufnr = bufnr })
end

--- The client for a buffer: the one attached to it, else the one of the current
--- directory's root, else any running DeputyDev client.
function M.get(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local attached = vim.lsp.get_clients({ name = M.NAME, bufnr = bufnr })
  if attached[1] then
    return attached[1]
  end
  local all = vim.lsp.get_clients({ name = M.NAME })
  local cwd = vim.fs.normalize(vim.fn.getcwd())
  for _, client in ipairs(all) do
    local root = client.root_dir and vim.fs.normalize(client.root_dir)
    if root and (cwd == root or vim.startswith(cwd, root .. "/")) then
      return client
    end
  end
  return all[1]
end

--- The client, or a notification saying how to get one.
function M.require(bufnr)
  local client = M.get(bufnr)
  if not client then
    vim.notify(
      "DeputyDev is not running: open a file inside a folder with "
        .. table.concat(config.get().root_markers, " or ")
        .. " (see :checkhealth deputydev)",
      vim.log.levels.WARN
    )
  end
  return client
end

return M
