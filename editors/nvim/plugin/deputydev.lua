-- DeputyDev for Neovim: nothing happens until require("deputydev").setup() is called.
if vim.g.loaded_deputydev then
  return
end
vim.g.loaded_deputydev = true

if vim.fn.has("nvim-0.10") ~= 1 then
  vim.notify_once("deputydev.nvim needs Neovim 0.10 or later", vim.log.levels.ERROR)
end
