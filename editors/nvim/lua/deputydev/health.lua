--- :checkhealth deputydev: Neovim, the daemon binary and version, and what the running
--- daemon says about itself (deputydev/status, deputydev/models).
local M = {}

local function version_of(cmd)
  local ok, result = pcall(function()
    return vim.system({ cmd, "--version" }, { text = true }):wait(10000)
  end)
  if not ok or not result or result.code ~= 0 then
    return nil
  end
  return vim.trim(result.stdout or "")
end

function M.check()
  local health = vim.health
  health.start("deputydev")
  if vim.fn.has("nvim-0.10") == 1 then
    health.ok("Neovim " .. tostring(vim.version()))
  else
    health.error("Neovim 0.10 or later is needed")
  end

  local config = require("deputydev.config")
  if not config.options then
    health.warn("setup() was not called", { 'add require("deputydev").setup({}) to your config' })
  end
  local options = config.get()
  local binary = options.cmd[1]
  if vim.fn.executable(binary) ~= 1 then
    health.error(("the daemon %q is not on PATH"):format(binary), {
      "install DeputyDev (pip install deputydev) or set cmd in setup()",
    })
    return
  end
  local version = version_of(vim.fn.exepath(binary))
  if version then
    health.ok(("%s (%s)"):format(version, vim.fn.exepath(binary)))
  else
    health.warn(vim.fn.exepath(binary) .. " --version failed")
  end

  local client_mod = require("deputydev.client")
  local clients = vim.lsp.get_clients({ name = client_mod.NAME })
  if #clients == 0 then
    health.warn("the daemon is not running in this Neovim", {
      "open a file inside a folder with " .. table.concat(options.root_markers, " or "),
    })
    return
  end
  for _, client in ipairs(clients) do
    local answer = client_mod.request_sync(client, "deputydev/status", {}, 5000)
    if not answer or answer.err or not answer.result then
      health.error("the daemon does not answer deputydev/status", {
        answer and answer.err and answer.err.message or "see :LspLog",
      })
    else
      local status = answer.result
      health.ok(("daemon %s running (pid %d)"):format(status.version, status.pid))
      for _, root in ipairs(status.roots or {}) do
        local line = ("%s: index %s"):format(root.path, root.indexState)
        for _, row in ipairs((status.index or {}).roots or {}) do
          if row.root == root.path and row.files then
            line = line .. (" (%d files, %d symbols)"):format(row.files, row.symbols or 0)
          end
        end
        if root.indexState == "error" then
          health.error(line)
        else
          health.ok(line)
        end
      end
      for _, problem in ipairs(status.configErrors or {}) do
        health.warn("settings: " .. problem)
      end
    end
    local models = client_mod.request_sync(client, "deputydev/models", { checkServers = false }, 5000)
    if models and models.result then
      local name = models.result.defaultModel
      local usable, reason = false, "not in the registry"
      for _, model in ipairs(models.result.models or {}) do
        if model.name == name then
          usable, reason = model.usable, model.reason
        end
      end
      if usable then
        health.ok("model in use: " .. name)
      else
        health.warn(("model in use: %s, which cannot be called: %s"):format(name, reason or "?"))
      end
    end
  end
end

return M
