"""The one place where domain errors become JSON-RPC errors.

Packages raise their own exceptions (``providers.errors``, ``indexer.errors``, and
:class:`DaemonError` subclasses inside ``daemon``); handlers wrap their work in
:func:`as_jsonrpc_errors` (or decorate with :func:`jsonrpc_errors`), which picks the code
of the most specific mapped class in the exception's MRO, as httpx's
``map_httpcore_exceptions`` does, so a subclass added later still maps to its base's code.
pygls turns everything else into InternalError, and a cancelled task into RequestCancelled.

    DaemonError                  code carried by the class
    ├── ConfigError              CONFIG_ERROR
    ├── WorkspaceError           WORKSPACE_ERROR (path outside every root, no root open)
    ├── SessionError             SESSION_ERROR
    │   ├── SessionBusy          SESSION_BUSY
    │   └── SessionNotFound      SESSION_NOT_FOUND
    ├── SyncError                SYNC_ERROR
    └── EditorRefused            REQUEST_FAILED (the editor answered our request with an error)
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, ClassVar, ParamSpec, TypeVar

from pygls.exceptions import JsonRpcException

from indexer import errors as ie
from protocol import errors as codes
from providers import errors as pe


class DaemonError(Exception):
    code: ClassVar[int] = codes.REQUEST_FAILED

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.data: dict[str, Any] = {k: v for k, v in data.items() if v is not None}


class EditorRefused(DaemonError):
    """The editor answered a request of ours (applyEdit, confirm, askUser) with an error, or
    with a reply that is not one."""


class ConfigError(DaemonError):
    code = codes.CONFIG_ERROR


class WorkspaceError(DaemonError):
    code = codes.WORKSPACE_ERROR


class SessionError(DaemonError):
    code = codes.SESSION_ERROR


class SessionBusy(SessionError):
    code = codes.SESSION_BUSY


class SessionNotFound(SessionError):
    code = codes.SESSION_NOT_FOUND


class SyncError(DaemonError):
    code = codes.SYNC_ERROR


# Base classes are present, so a lookup along the MRO always finds a code.
_CODES: dict[type[Exception], int] = {
    pe.ProviderError: codes.PROVIDER_ERROR,
    pe.AuthenticationError: codes.AUTHENTICATION_FAILED,
    pe.RateLimited: codes.RATE_LIMITED,
    pe.ProviderUnavailable: codes.PROVIDER_UNAVAILABLE,
    pe.StreamInterrupted: codes.STREAM_INTERRUPTED,
    pe.TokenLimitExceeded: codes.TOKEN_LIMIT_EXCEEDED,
    pe.BadRequest: codes.PROVIDER_BAD_REQUEST,
    pe.UnknownModel: codes.UNKNOWN_MODEL,
    ie.IndexerError: codes.INDEX_ERROR,
    ie.VectorsUnavailable: codes.VECTORS_UNAVAILABLE,
    ie.BadQuery: codes.BAD_QUERY,
}

DomainError = (DaemonError, pe.ProviderError, ie.IndexerError)


def code_for(exc: BaseException) -> int:
    if isinstance(exc, DaemonError):
        return exc.code
    return next(_CODES[cls] for cls in type(exc).__mro__ if cls in _CODES)


def to_jsonrpc(exc: DaemonError | pe.ProviderError | ie.IndexerError) -> JsonRpcException:
    data = dict(exc.data)
    data.setdefault("kind", type(exc).__name__)
    return JsonRpcException(message=str(exc), code=code_for(exc), data=data)


@contextlib.contextmanager
def as_jsonrpc_errors() -> Iterator[None]:
    try:
        yield
    except DomainError as exc:
        raise to_jsonrpc(exc) from exc


P = ParamSpec("P")
R = TypeVar("R")


def jsonrpc_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Decorate an async handler so that its domain errors reach the editor with our codes."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with as_jsonrpc_errors():
            return await fn(*args, **kwargs)

    return wrapper
