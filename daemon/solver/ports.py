"""What the solver needs from the providers' router, as a Protocol.

``providers.router.Router`` satisfies it; unit tests pass a small in-process router that
streams scripted events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from providers.base import ChatRequest, Event


class ModelInfo(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def model_id(self) -> str: ...

    @property
    def context_window(self) -> int: ...

    @property
    def max_output_tokens(self) -> int: ...

    @property
    def images(self) -> bool: ...


class ModelRouter(Protocol):
    def resolve(self, name: str | None) -> ModelInfo: ...

    def stream(
        self,
        request: ChatRequest,
        *,
        model: str | None = None,
        fallbacks: Sequence[str] | None = None,
    ) -> AsyncIterator[Event]: ...
