"""The ``[hosting]`` section: which source hosts, trackers and wikis to read, and how.

    [hosting.github]                  # github.com; token else GITHUB_TOKEN or GH_TOKEN
    token = "ghp_..."

    [hosting.jira]                    # else JIRA_URL + JIRA_EMAIL + JIRA_API_TOKEN
    url = "https://acme.atlassian.net"
    username = "me@acme.com"          # with an API token: basic auth (Cloud)
    token_env = "ACME_JIRA_TOKEN"     # without a username: a bearer PAT (Data Center)

    [hosting.hosts.work]              # more instances, by a name of yours
    kind = "github"                   # GitHub Enterprise
    url = "https://github.acme.com"
    token_env = "GH_ENTERPRISE_TOKEN"

Every key here is user-only: a workspace's ``.deputydev/config.toml`` cannot set a host, an
API URL or a token (the daemon's trust model refuses it), so a credential is only ever sent
to the host the user configured it for. Tokens are ``SecretStr``: no repr or log shows them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic.alias_generators import to_camel

HostKind = Literal["github", "gitlab", "bitbucket", "jira", "confluence"]
HOST_KINDS: tuple[HostKind, ...] = ("github", "gitlab", "bitbucket", "jira", "confluence")


class _Section(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )


class HostSettings(_Section):
    """One host. Unset fields fall back to the kind's defaults and its usual variables."""

    kind: HostKind | None = None  # required under [hosting.hosts.NAME]
    # The web address links use (https://github.acme.com, https://acme.atlassian.net,
    # https://wiki.acme.com/confluence).
    url: str | None = None
    # The REST API's base when it is not the kind's usual one (a proxy, a test server).
    api_url: str | None = None
    token: SecretStr | None = None
    token_env: str | None = None  # the variable to read the token from
    # With a token: basic auth as this user (Bitbucket username or Atlassian account email).
    username: str | None = None
    timeout_s: float = Field(default=20.0, gt=0, le=300)


class HostingSettings(_Section):
    enabled: bool = True
    github: HostSettings = HostSettings()
    gitlab: HostSettings = HostSettings()
    bitbucket: HostSettings = HostSettings()
    jira: HostSettings = HostSettings()
    confluence: HostSettings = HostSettings()
    hosts: dict[str, HostSettings] = {}
    # A pull request's diff: at most this many lines of each file, and this many files.
    max_diff_lines: int = Field(default=400, ge=10, le=20_000)
    max_diff_files: int = Field(default=100, ge=1, le=3_000)
    # Comments, reviews and search results kept, newest first when there are more.
    max_comments: int = Field(default=100, ge=1, le=1_000)
    # Responses cached on disk with their ETag, so a repeated fetch costs a 304.
    cache: bool = True
    cache_max_mb: int = Field(default=50, ge=1, le=10_000)
