--- :DeputySearch: the workspace index's answers in the quickfix list.
local client_mod = require("deputydev.client")
local config = require("deputydev.config")

local M = {}

--- The quickfix entry of one search hit: the line that defines its symbol (else its
--- first line of code), and "symbol: that line".
function M.item(hit)
  local lines = vim.split(hit.snippet or "", "\n", { plain = true })
  local name = hit.symbol and hit.symbol:match("([^.]+)$")
  local row, first
  for index, line in ipairs(lines) do
    if vim.trim(line) ~= "" then
      if not first then
        row, first = index, line
      end
      if name and line:find(name, 1, true) then
        row, first = index, line
        break
      end
    end
  end
  first = vim.trim(first or "")
  return {
    filename = vim.fs.joinpath(hit.root, hit.path),
    lnum = hit.startLine + (row or 1) - 1,
    end_lnum = hit.endLine,
    col = 1,
    text = hit.symbol and (hit.symbol .. ": " .. first) or first,
  }
end

function M.search(query, opts)
  opts = opts or {}
  query = vim.trim(query or "")
  if query == "" then
    vim.notify("DeputyDev: :DeputySearch needs words to search for", vim.log.levels.WARN)
    return
  end
  local client = client_mod.require(opts.bufnr)
  if not client then
    return
  end
  local params = { query = query, limit = config.get().search.limit, mode = opts.mode }
  client_mod.request(client, "deputydev/search", params, function(err, result)
    if err then
      vim.notify("DeputyDev search: " .. err.message, vim.log.levels.ERROR)
      return
    end
    local items = vim.tbl_map(M.item, result.results or {})
    vim.fn.setqflist({}, " ", { title = "DeputyDev: " .. query, items = items })
    if #items == 0 then
      vim.notify("DeputyDev: nothing found for " .. query, vim.log.levels.INFO)
    elseif config.get().search.open_quickfix then
      vim.cmd("botright copen")
    end
    vim.api.nvim_exec_autocmds("User", { pattern = "DeputyDevSearchDone", modeline = false })
  end, opts.bufnr)
end

return M
