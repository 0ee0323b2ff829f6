--- :DeputyReview: reviewer agents over your changes. The findings arrive as diagnostics
--- (Neovim's own LSP handler shows them, moved or cleared by the daemon as you edit) and
--- in the quickfix list; a finding with a suggestion is a quick fix
--- (vim.lsp.buf.code_action). Progress lines go through vim.notify.
local client_mod = require("deputydev.client")

local M = { tokens = {} }
local counter = 0

--- The deputydev/review params of the command's arguments:
--- "" (uncommitted), "staged", "branch [BASE]", "A..B", or a pull request's URL.
function M.params(args)
  local words = vim.split(vim.trim(args or ""), "%s+", { trimempty = true })
  local first = words[1]
  if not first then
    return { scope = "uncommitted" }
  elseif first == "staged" or first == "uncommitted" then
    return { scope = first }
  elseif first == "branch" then
    return { scope = "branch", base = words[2] }
  elseif first:match("^https?://") then
    return { scope = "pr", url = first }
  elseif first:find("..", 1, true) then
    return { scope = "range", range = first }
  end
  return { scope = "branch", base = first }
end

function M.owns(token)
  return M.tokens[token] ~= nil
end

function M.on_event(token, value)
  if value.kind == "reviewStart" then
    vim.notify(
      string.format(
        "DeputyDev: reviewing %d file(s) with %s",
        value.files,
        table.concat(value.reviewers or {}, ", ")
      ),
      vim.log.levels.INFO
    )
  elseif value.kind == "reviewer" and value.status == "failed" then
    vim.notify("DeputyDev: reviewer " .. value.reviewer .. " failed: " .. (value.error or ""), vim.log.levels.WARN)
  end
end

--- The quickfix entries of a review's findings.
function M.items(root, result)
  local items = {}
  for _, f in ipairs(result.findings or {}) do
    table.insert(items, {
      filename = vim.fs.joinpath(root, f.path),
      lnum = f.startLine,
      end_lnum = f.endLine,
      col = 1,
      type = ({ error = "E", warning = "W", info = "I" })[f.severity],
      text = string.format("[%s] %s (%s)", f.category, f.message, table.concat(f.reviewers, ", ")),
    })
  end
  return items
end

function M.review(args, opts)
  opts = opts or {}
  local client = client_mod.require(opts.bufnr)
  if not client then
    return
  end
  counter = counter + 1
  local token = "deputydev-review-" .. counter
  local params = M.params(args)
  params.partialResultToken = token
  M.tokens[token] = true
  client_mod.request(client, "deputydev/review", params, function(err, result)
    M.tokens[token] = nil
    if err then
      vim.notify("DeputyDev review: " .. err.message, vim.log.levels.ERROR)
      return
    end
    local root = client.root_dir or vim.fn.getcwd()
    local items = M.items(root, result)
    vim.fn.setqflist({}, " ", { title = "DeputyDev review", items = items })
    local summary = vim.split(result.summary or "", "\n", { plain = true })[1] or ""
    vim.notify(string.format("DeputyDev review: %d finding(s). %s", #items, summary), vim.log.levels.INFO)
    vim.api.nvim_exec_autocmds("User", { pattern = "DeputyDevReviewDone", modeline = false })
  end, opts.bufnr)
end

return M
