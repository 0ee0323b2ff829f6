"""Settings of the indexer package (owned by indexer; the daemon nests it in its tree)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class _Section(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )


class IndexSettings(_Section):
    max_file_bytes: int = 1024 * 1024
    max_chunk_lines: int = 80
