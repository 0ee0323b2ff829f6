"""Talks to model APIs through the official SDKs; knows nothing of LSP."""
