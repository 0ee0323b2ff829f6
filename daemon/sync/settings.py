"""Settings of daemon/sync (nested in the daemon's settings tree as ``sync``).

Sync is off until ``url`` is set (``[sync] url = ...`` in config.toml or
``DEPUTYDEV_SYNC_URL``). The URL is a libpq URL and is kept as a ``SecretStr``: its password
never shows in a repr, a log or a status answer (:meth:`SyncSettings.display_url`).

    [sync]
    url = "postgresql://alice@db.example.com:5432/deputydev?sslmode=require"
    team = "backend"              # a PostgreSQL group role alice is a member of
    default_sharing = "team"      # sessions without their own visibility
    [sync.redaction]
    patterns = ['ACME-[0-9a-f]{32}']
"""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic.alias_generators import to_camel


class _Section(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )


class RedactionSettings(_Section):
    enabled: bool = True
    # Extra regular expressions; a match is replaced by ``[REDACTED:custom]``.
    patterns: tuple[str, ...] = ()

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from exc
        return patterns


class SyncSettings(_Section):
    url: SecretStr | None = None
    # The PostgreSQL role to connect as when the URL names none (the author of our rows).
    user: str | None = None
    # A PostgreSQL group role: sessions shared with the team are readable by its members.
    team: str | None = None
    default_sharing: Literal["private", "team"] = "private"
    batch_size: int = Field(default=500, ge=1, le=10_000)
    connect_timeout_s: float = Field(default=5.0, gt=0, le=120)
    retry_initial_s: float = Field(default=0.5, gt=0, le=60)
    retry_max_s: float = Field(default=30.0, gt=0, le=3600)
    redaction: RedactionSettings = RedactionSettings()
    # The team's embedding cache: before embedding, ask it for the chunks this machine lacks,
    # and add what this machine embeds (never a secret file's chunk, nor one that redaction
    # would change). Workspace folders matching embedding_cache_exclude (globs, ~ expanded)
    # never use it.
    embedding_cache: bool = True
    embedding_cache_exclude: tuple[str, ...] = ()
    # Repositories (by name: origin's last path part, else the folder's) the daemon publishes
    # to team search whenever their index settles on a clean commit (docs/SYNC.md).
    publish: tuple[str, ...] = ()

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, url: SecretStr | None) -> SecretStr | None:
        if url is None or not url.get_secret_value().strip():
            return None
        # Checked here rather than when connecting: a URL that can never work is a
        # configuration error naming this key, not a failure deep inside sync. Messages
        # never repeat the URL, which may hold a password.
        try:
            parts = urlsplit(url.get_secret_value().strip())
        except ValueError as exc:
            raise ValueError(f"is not a valid URL ({exc})") from None
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError(
                "must be a libpq URL starting with postgresql:// "
                f"(got scheme {parts.scheme or 'none'!r})"
            )
        try:
            parts.port  # noqa: B018 - parsing the port is the check
        except ValueError:
            port = parts.netloc.rpartition("@")[2].rpartition(":")[2]
            raise ValueError(f"the port {port!r} is not a number from 0 to 65535") from None
        return url

    @property
    def configured(self) -> bool:
        return self.url is not None

    def caches_embeddings_of(self, root: Path) -> bool:
        """Whether the workspace folder ``root`` uses the team's embedding cache."""
        if not self.configured or not self.embedding_cache:
            return False
        where = root.resolve().as_posix()
        for pattern in self.embedding_cache_exclude:
            expanded = os.path.expanduser(pattern.strip()).rstrip("/")
            if not expanded:
                continue
            if any(c in expanded for c in "*?["):
                if fnmatch.fnmatch(where, expanded):
                    return False
                continue
            folder = Path(expanded).resolve().as_posix()
            if where == folder or where.startswith(folder + "/"):
                return False
        return True

    def password(self) -> str | None:
        if self.url is None:
            return None
        return urlsplit(self.url.get_secret_value()).password

    def display_url(self) -> str | None:
        """The URL with its password replaced by ``***``: safe for logs and status."""
        if self.url is None:
            return None
        parts = urlsplit(self.url.get_secret_value())
        if parts.password is None:
            return parts.geturl()
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{parts.username or ''}:***@{host}"
        if parts.port is not None:
            netloc += f":{parts.port}"
        return urlunsplit(parts._replace(netloc=netloc))
