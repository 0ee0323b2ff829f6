"""The workspace index in SQLite; knows nothing of LSP or providers."""
