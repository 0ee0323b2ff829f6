"""Errors raised by ``hosting``; no httpx exception crosses this package's boundary.

    HostingError
    ├── NotRecognised          not a link to a work item on a host we know
    ├── AuthError              401/403, or no credentials where the host needs them:
    │                          names the variable or setting to set and the scopes needed
    ├── NotFound               404: names the item and the host
    ├── RateLimited            429 / GitHub's exhausted quota; ``retry_after`` in seconds
    ├── HostUnavailable        connection refused, timeouts, 5xx
    ├── BadRequest             4xx other than those: the host rejected what we asked (bad JQL)
    └── BadResponse            an answer we cannot read (not JSON, wrong shape)

Each carries ``data``: a JSON-ready dict (the host, the status, ``retryAfter``), never a
token or a header. Messages are written for the user: they say what to do next.
"""

from __future__ import annotations

from typing import Any


class HostingError(Exception):
    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.data: dict[str, Any] = {k: v for k, v in data.items() if v is not None}


class NotRecognised(HostingError):
    pass


class AuthError(HostingError):
    pass


class NotFound(HostingError):
    pass


class RateLimited(HostingError):
    @property
    def retry_after(self) -> float | None:
        value = self.data.get("retryAfter")
        return float(value) if value is not None else None


class HostUnavailable(HostingError):
    pass


class BadResponse(HostingError):
    pass


class BadRequest(HostingError):
    pass
