--- User options: defaults, validation, and the merged result.
local M = {}

M.defaults = {
  -- How to start the daemon.
  cmd = { "deputydev", "serve" },
  -- A buffer's workspace root is the nearest folder holding one of these.
  root_markers = { ".git", ".deputydev" },
  -- DeputyDev settings sent as initializationOptions (camelCase keys, as in the README).
  settings = {},
  -- Filetypes never attached to the daemon.
  exclude_filetypes = { "gitcommit", "gitrebase", "help", "qf", "checkhealth" },
  chat = {
    -- Where the chat buffer opens: "right", "left", "below", "above" or "current".
    position = "right",
    -- Width (right/left) or height (below/above): a fraction of the editor, or columns/lines.
    size = 0.4,
    -- Show the model's reasoning when it streams some.
    show_thinking = false,
  },
  search = {
    limit = 50,
    open_quickfix = true,
  },
  -- Neovim 0.12+: show the daemon's inline completions (when [completion] model is set);
  -- :DeputyCompletions on|off|toggle changes it later.
  inline_completion = true,
}

M.options = nil

-- vim.validate(name, value, validator, message) is 0.11+; 0.10 takes a table.
local function validate(name, value, validator, message)
  if vim.fn.has("nvim-0.11") == 1 then
    vim.validate(name, value, validator, message)
  else
    vim.validate({ [name] = { value, validator, message } })
  end
end

local function check(options)
  validate("cmd", options.cmd, "table")
  validate("root_markers", options.root_markers, "table")
  validate("settings", options.settings, "table")
  validate("exclude_filetypes", options.exclude_filetypes, "table")
  validate("chat", options.chat, "table")
  validate("chat.position", options.chat.position, function(value)
    return vim.tbl_contains({ "right", "left", "below", "above", "current" }, value)
  end, "one of right, left, below, above, current")
  validate("chat.size", options.chat.size, "number")
  validate("search.limit", options.search.limit, "number")
  validate("inline_completion", options.inline_completion, "boolean")
end

--- Merge the user's options over the defaults and validate them; raises on a bad one.
function M.setup(user)
  local options = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), user or {})
  local ok, err = pcall(check, options)
  if not ok then
    error("deputydev.setup: " .. tostring(err), 0)
  end
  M.options = options
  return options
end

function M.get()
  return M.options or M.setup({})
end

return M
