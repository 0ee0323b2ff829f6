"""Domain errors map to documented codes, the most specific class winning."""

from __future__ import annotations

import pytest
from pygls.exceptions import JsonRpcException

from daemon.errors import SessionBusy, as_jsonrpc_errors, code_for
from indexer import errors as ie
from protocol import errors as codes
from providers import errors as pe


class CustomThrottle(pe.RateLimited):
    """A subclass nobody mapped still gets its base's code."""


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (pe.AuthenticationError("set OPENAI_API_KEY"), codes.AUTHENTICATION_FAILED),
        (CustomThrottle("slow down", retryAfter=3), codes.RATE_LIMITED),
        (pe.StreamInterrupted("cut"), codes.STREAM_INTERRUPTED),
        (pe.ProviderError("?"), codes.PROVIDER_ERROR),
        (ie.VectorsUnavailable("no sqlite-vec"), codes.VECTORS_UNAVAILABLE),
        (SessionBusy("busy", sessionId="s1"), codes.SESSION_BUSY),
    ],
)
def test_codes(exc: Exception, code: int) -> None:
    assert code_for(exc) == code


def test_translation_keeps_message_and_data() -> None:
    with pytest.raises(JsonRpcException) as caught, as_jsonrpc_errors():
        raise pe.RateLimited("Rate limited by openai; retry in 3 s", retryAfter=3)
    error = caught.value.to_response_error()
    assert error.code == codes.RATE_LIMITED
    assert error.data == {"retryAfter": 3, "kind": "RateLimited"}
    assert "retry in 3 s" in error.message
