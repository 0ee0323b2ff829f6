"""Settings of the providers package (owned by providers; the daemon nests it in its tree)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class _Section(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )


class ProvidersSettings(_Section):
    default_model: str | None = None
    cheap_model: str | None = None
    fallbacks: tuple[str, ...] = ()
