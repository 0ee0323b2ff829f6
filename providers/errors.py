"""Errors raised by ``providers``; no SDK exception type crosses this package's boundary.

    ProviderError
    ├── AuthenticationError      key missing or rejected: never retried; names the variable
    ├── RateLimited              429 / quota; ``retry_after`` in seconds when the server said
    ├── ProviderUnavailable      5xx, overload (529), timeouts, dropped connections
    │   └── StreamInterrupted    the stream broke after output had started: never retried
    ├── TokenLimitExceeded       refused before sending: ``count``, ``limit``, ``better_models``
    ├── BadRequest               the provider rejected the request as malformed
    └── UnknownModel             the model name is not in the registry

Each carries ``data``: a JSON-ready dict for the editor (never a key or a header).
``retryable`` is the one retry rule of the package (rate limits and unavailability, never an
interrupted stream); ``retry_after`` is the server's wait, read by :func:`retry_after` from
its headers or by :func:`retry_delay` from a Google ``RetryInfo`` body.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from typing import Any, ClassVar


class ProviderError(Exception):
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.data: dict[str, Any] = {k: v for k, v in data.items() if v is not None}

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked us to wait before trying again, if it said."""
        value = self.data.get("retryAfter")
        return float(value) if value is not None else None


class AuthenticationError(ProviderError):
    pass


class RateLimited(ProviderError):
    retryable = True


class ProviderUnavailable(ProviderError):
    retryable = True


class StreamInterrupted(ProviderUnavailable):
    retryable = False


class TokenLimitExceeded(ProviderError):
    pass


class BadRequest(ProviderError):
    pass


class UnknownModel(ProviderError):
    pass


def interrupted(error: ProviderError) -> StreamInterrupted:
    """``error``, met after output had started: not to be retried, or the user sees it twice."""
    if isinstance(error, StreamInterrupted):
        return error
    return StreamInterrupted(
        f"{error} after output had started; not retried so nothing is repeated", **error.data
    )


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds, or an HTTP date)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        if (value := lowered.get(name)) is not None:
            try:
                return max(0.0, float(value) / divisor)
            except ValueError:
                pass
    if (value := lowered.get("retry-after")) is not None:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())
    return None


_RETRY_DELAY = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def retry_delay(details: Any) -> float | None:
    """Seconds from a Google error body's ``RetryInfo`` (``"retryDelay": "30s"``)."""
    if not isinstance(details, Mapping):
        return None
    error = details.get("error", details)
    for item in error.get("details", []) if isinstance(error, Mapping) else []:
        delay = item.get("retryDelay") if isinstance(item, Mapping) else None
        if isinstance(delay, str) and (match := _RETRY_DELAY.match(delay)):
            return float(match.group(1))
    return None
