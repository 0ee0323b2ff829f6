"""Error codes of the wire contract.

Standard JSON-RPC and LSP codes are reused where they fit (from lsprotocol's ``ErrorCodes``
and ``LSPErrorCodes``); our own codes live in the implementation-defined range
-32099..-32000, skipping -32002 and -32001, which LSP already uses. ``data`` of every
DeputyDev error is an object; the fields each code carries are listed beside it and in
docs/PROTOCOL.md.
"""

from __future__ import annotations

from typing import Final

# JSON-RPC 2.0
PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602  # data: {"errors": [{"field", "message"}]}
INTERNAL_ERROR: Final = -32603

# LSP
SERVER_NOT_INITIALIZED: Final = -32002
REQUEST_FAILED: Final = -32803
REQUEST_CANCELLED: Final = -32800
CONTENT_MODIFIED: Final = -32801

# Providers (data: provider, model, and per kind below)
PROVIDER_ERROR: Final = -32050
AUTHENTICATION_FAILED: Final = -32051  # data: envVar, configKey
RATE_LIMITED: Final = -32052  # data: retryAfter (seconds)
PROVIDER_UNAVAILABLE: Final = -32053
TOKEN_LIMIT_EXCEEDED: Final = -32054  # data: count, limit, betterModels
PROVIDER_BAD_REQUEST: Final = -32055
UNKNOWN_MODEL: Final = -32056  # data: known
STREAM_INTERRUPTED: Final = -32057

# Index
INDEX_ERROR: Final = -32060
VECTORS_UNAVAILABLE: Final = -32062  # data: reason
BAD_QUERY: Final = -32063

# Sessions and queries
SESSION_ERROR: Final = -32070
SESSION_BUSY: Final = -32071  # data: sessionId, queryId
SESSION_NOT_FOUND: Final = -32072  # data: sessionId

# Team sync
SYNC_ERROR: Final = -32080

# Configuration
CONFIG_ERROR: Final = -32090  # data: source, key
WORKSPACE_ERROR: Final = -32091  # data: path
