--- :DeputySessions: pick a saved session and continue it in the chat buffer.
local client_mod = require("deputydev.client")

local M = {}

local function label(session)
  local when = (session.updatedAt or ""):sub(1, 16):gsub("T", " ")
  return ("%s%s  %s"):format(session.pinned and "* " or "", when, session.title or session.id)
end

function M.pick(opts)
  opts = opts or {}
  local client = client_mod.require(opts.bufnr)
  if not client then
    return
  end
  client_mod.request(client, "deputydev/sessions/list", { limit = 100 }, function(err, result)
    if err then
      vim.notify("DeputyDev sessions: " .. err.message, vim.log.levels.ERROR)
      return
    end
    local sessions = result.sessions or {}
    if #sessions == 0 then
      vim.notify("DeputyDev: no sessions yet", vim.log.levels.INFO)
      return
    end
    vim.ui.select(sessions, {
      prompt = "DeputyDev sessions",
      format_item = label,
      kind = "deputydev.sessions",
    }, function(choice)
      if choice then
        M.open(client, choice.id)
      end
    end)
  end, opts.bufnr)
end

function M.open(client, session_id)
  local params = { sessionId = session_id }
  client_mod.request(client, "deputydev/sessions/transcript", params, function(err, result)
    if err then
      vim.notify("DeputyDev: " .. err.message, vim.log.levels.ERROR)
      return
    end
    require("deputydev.chat").show_session(session_id, result.markdown)
  end)
end

return M
