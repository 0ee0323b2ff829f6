"""Errors raised by ``providers``; no SDK exception type crosses this package's boundary.

    ProviderError
    ├── AuthenticationError      key missing or rejected: never retried; names the variable
    ├── RateLimited              429 / quota; ``retry_after`` in seconds when the server said
    ├── ProviderUnavailable      5xx, overload (529), timeouts, dropped connections
    │   └── StreamInterrupted    the stream broke after output had started: never retried
    ├── TokenLimitExceeded       refused before sending: ``count``, ``limit``, ``better_models``
    ├── BadRequest               the provider rejected the request as malformed
    ├── UnknownModel             the model name is not in the registry
    └── ProviderCancelled        the caller cancelled the call

Each carries ``data``: a JSON-ready dict for the editor (never a key or a header).
"""

from __future__ import annotations

from typing import Any


class ProviderError(Exception):
    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.data: dict[str, Any] = {k: v for k, v in data.items() if v is not None}


class AuthenticationError(ProviderError):
    pass


class RateLimited(ProviderError):
    @property
    def retry_after(self) -> float | None:
        value = self.data.get("retryAfter")
        return float(value) if value is not None else None


class ProviderUnavailable(ProviderError):
    pass


class StreamInterrupted(ProviderUnavailable):
    pass


class TokenLimitExceeded(ProviderError):
    pass


class BadRequest(ProviderError):
    pass


class UnknownModel(ProviderError):
    pass


class ProviderCancelled(ProviderError):
    pass
