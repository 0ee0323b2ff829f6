"""Which hosts exist, where their APIs are, and the credentials each may receive.

A :class:`Host` is one instance of one kind (github.com, a GitHub Enterprise server, a Jira
site...), resolved from the ``[hosting]`` settings and the environment. Its credentials come
from the same user-controlled place as its address, and are sent to nowhere else:

- ``[hosting.KIND]`` and ``[hosting.hosts.NAME]``: ``token`` or ``token_env``, with
  ``username`` for basic auth;
- else the kind's usual variables, each bound to the address it is conventionally paired
  with: ``GITHUB_TOKEN``/``GH_TOKEN`` to github.com only (``GH_ENTERPRISE_TOKEN`` to an
  enterprise ``[hosting.github] url``), ``GITLAB_TOKEN`` to ``GITLAB_URL`` (else
  gitlab.com), ``BITBUCKET_*`` to bitbucket.org, ``JIRA_*`` to ``JIRA_URL``,
  ``CONFLUENCE_*`` to ``CONFLUENCE_URL``.

A Jira or Confluence Cloud site (``*.atlassian.net``) that nobody configured is still
recognised, and read anonymously (public sites answer; private ones say which variable to
set). Confluence on the same Cloud site as the configured Jira shares Jira's credentials,
as Atlassian's own API tokens do.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from hosting.settings import HOST_KINDS, HostingSettings, HostKind, HostSettings

ATLASSIAN_CLOUD = ".atlassian.net"


@dataclass(frozen=True, slots=True)
class Credentials:
    scheme: Literal["bearer", "basic"]
    token: str = field(repr=False)
    username: str | None = None
    source: str = ""  # where it came from, for messages: "GITHUB_TOKEN", "[hosting.github] token"


@dataclass(frozen=True, slots=True)
class Host:
    name: str  # "github", "jira", or the NAME of [hosting.hosts.NAME]
    kind: HostKind
    web: str  # what links start with, no trailing slash: https://github.com
    api: str  # the REST API's base, no trailing slash: https://api.github.com
    credentials: Credentials | None = None
    timeout_s: float = 20.0
    # What the user can set to authenticate, for error messages.
    hint: str = ""

    @property
    def label(self) -> str:
        """The host as the user knows it: ``github.com``, ``acme.atlassian.net/wiki``."""
        parts = urlsplit(self.web)
        return (parts.netloc + parts.path).rstrip("/")

    @property
    def cloud(self) -> bool:
        """Jira/Confluence Cloud (their v3/v2 APIs) rather than Data Center."""
        return (urlsplit(self.web).hostname or "").endswith(ATLASSIAN_CLOUD)

    def owns(self, url: str) -> str | None:
        """The path of ``url`` below this host's web address, or None if not this host's."""
        return _below(self.web, url)


@dataclass(frozen=True, slots=True)
class HostProblem:
    key: str  # dotted setting, e.g. "hosting.hosts.work.url"
    message: str


@dataclass(frozen=True, slots=True)
class Hosts:
    hosts: tuple[Host, ...]
    problems: tuple[HostProblem, ...] = ()

    def for_url(self, url: str) -> tuple[Host, str] | None:
        """The host that owns ``url`` (the longest web prefix wins) and the path below it."""
        best: tuple[Host, str] | None = None
        for host in self.hosts:
            rest = host.owns(url)
            if rest is not None and (best is None or len(host.web) > len(best[0].web)):
                best = (host, rest)
        return best

    def by_kind(self, kind: HostKind, name: str | None = None) -> list[Host]:
        return [h for h in self.hosts if h.kind == kind and (name is None or h.name == name)]

    def named(self, name: str) -> Host | None:
        return next((h for h in self.hosts if h.name == name), None)

    def secrets(self) -> list[str]:
        return [h.credentials.token for h in self.hosts if h.credentials is not None]


def normalise_web(url: str) -> str | None:
    """``url`` as an origin plus path without trailing slash, or None if not http(s)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.password:
        return None
    netloc = parts.hostname.lower()
    if not re.fullmatch(r"[a-z0-9.-]+|[0-9a-f:.]+", netloc):
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if port is not None and port != {"http": 80, "https": 443}[parts.scheme]:
        netloc += f":{port}"
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def _below(base: str, url: str) -> str | None:
    """The part of ``url`` after ``base`` (with query), when ``url`` lies under ``base``."""
    full = normalise_web(url.split("#", 1)[0].split("?", 1)[0])
    if full is None:
        return None
    query = url.split("#", 1)[0].partition("?")[2]
    if full == base or full.startswith(base + "/"):
        rest = full[len(base) :] or "/"
        return rest + (f"?{query}" if query else "")
    return None


def same_origin_below(base: str, url: str) -> bool:
    """Whether ``url`` (absolute) may receive the credentials of the API at ``base``."""
    return _below(base, url) is not None


# ---------------------------------------------------------------------------- resolving

_DEFAULT_WEB: dict[HostKind, str | None] = {
    "github": "https://github.com",
    "gitlab": "https://gitlab.com",
    "bitbucket": "https://bitbucket.org",
    "jira": None,
    "confluence": None,
}


def api_base(kind: HostKind, web: str) -> str:
    """The REST API's usual base for an instance whose links start with ``web``."""
    if kind == "github":
        return "https://api.github.com" if web == "https://github.com" else f"{web}/api/v3"
    if kind == "gitlab":
        return f"{web}/api/v4"
    if kind == "bitbucket":
        return "https://api.bitbucket.org/2.0" if web == "https://bitbucket.org" else web
    return web  # Jira and Confluence paths are absolute below the site (and context path)


def resolve_hosts(settings: HostingSettings, env: Mapping[str, str] | None = None) -> Hosts:
    env = os.environ if env is None else env
    hosts: list[Host] = []
    problems: list[HostProblem] = []
    for kind in HOST_KINDS:
        host = _builtin(kind, getattr(settings, kind), env, problems)
        if host is not None:
            hosts.append(host)
    for name, entry in settings.hosts.items():
        host = _configured(name, entry, env, problems)
        if host is not None:
            hosts.append(host)
    confluence_web = {h.web for h in hosts if h.kind == "confluence"}
    for jira in [h for h in hosts if h.kind == "jira" and h.cloud]:
        if jira.web + "/wiki" not in confluence_web:
            # Atlassian Cloud: one site, one account, one API token for Jira and Confluence.
            hosts.append(
                Host(
                    f"{jira.name}-confluence",
                    "confluence",
                    jira.web + "/wiki",
                    jira.web + "/wiki",
                    jira.credentials,
                    jira.timeout_s,
                    jira.hint,
                )
            )
    return Hosts(tuple(hosts), tuple(problems))


def cloud_site(kind: HostKind, url: str) -> Host | None:
    """An unconfigured Atlassian Cloud site a link points at, read without credentials."""
    parts = urlsplit(url)
    hostname = (parts.hostname or "").lower()
    if parts.scheme != "https" or not hostname.endswith(ATLASSIAN_CLOUD):
        return None
    web = f"https://{hostname}" + ("/wiki" if kind == "confluence" else "")
    upper = kind.upper()
    return Host(
        kind,
        kind,
        web,
        web,
        None,
        hint=f"set {upper}_URL=https://{hostname}, {upper}_EMAIL and {upper}_API_TOKEN",
    )


def _builtin(
    kind: HostKind, entry: HostSettings, env: Mapping[str, str], problems: list[HostProblem]
) -> Host | None:
    key = f"hosting.{kind}"
    if entry.kind not in (None, kind):
        problems.append(HostProblem(f"{key}.kind", f"must be {kind!r} here (or left out)"))
    raw_web = entry.url or _env_url(kind, env) or _DEFAULT_WEB[kind]
    if raw_web is None:
        return None  # Jira and Confluence exist only once their site is configured
    web = normalise_web(raw_web)
    if web is None:
        source = f"{key}.url" if entry.url else f"{kind.upper()}_URL"
        problems.append(HostProblem(source, f"not an http(s) URL: {raw_web!r}"))
        return None
    api = _api(kind, web, entry, key, problems)
    if api is None:
        return None
    credentials, hint = _credentials(kind, web, entry, env, key, conventional=True)
    return Host(kind, kind, web, api, credentials, entry.timeout_s, hint)


def _configured(
    name: str, entry: HostSettings, env: Mapping[str, str], problems: list[HostProblem]
) -> Host | None:
    key = f"hosting.hosts.{name}"
    if entry.kind is None:
        problems.append(HostProblem(f"{key}.kind", f"required: one of {', '.join(HOST_KINDS)}"))
        return None
    if entry.url is None:
        problems.append(HostProblem(f"{key}.url", "required: the address its links start with"))
        return None
    web = normalise_web(entry.url)
    if web is None:
        problems.append(HostProblem(f"{key}.url", f"not an http(s) URL: {entry.url!r}"))
        return None
    api = _api(entry.kind, web, entry, key, problems)
    if api is None:
        return None
    credentials, hint = _credentials(entry.kind, web, entry, env, key, conventional=False)
    return Host(name, entry.kind, web, api, credentials, entry.timeout_s, hint)


def _api(
    kind: HostKind, web: str, entry: HostSettings, key: str, problems: list[HostProblem]
) -> str | None:
    if entry.api_url is None:
        return api_base(kind, web)
    api = normalise_web(entry.api_url)
    if api is None:
        problems.append(HostProblem(f"{key}.api_url", f"not an http(s) URL: {entry.api_url!r}"))
    return api


def _env_url(kind: HostKind, env: Mapping[str, str]) -> str | None:
    names = {
        "gitlab": ("GITLAB_URL", "GITLAB_HOST"),
        "jira": ("JIRA_URL",),
        "confluence": ("CONFLUENCE_URL",),
    }.get(kind, ())
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value if "://" in value else f"https://{value}"
    return None


def _first(env: Mapping[str, str], *names: str) -> tuple[str, str] | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return name, value
    return None


def _credentials(
    kind: HostKind,
    web: str,
    entry: HostSettings,
    env: Mapping[str, str],
    key: str,
    conventional: bool,
) -> tuple[Credentials | None, str]:
    """The host's credentials, and a hint naming what the user can set to give some.

    The kind's conventional variables are read only for the built-in entries
    (``conventional``); a ``[hosting.hosts.NAME]`` entry names its own token."""
    section = f"[{key}]"
    own = f"{section} token (or token_env naming a variable)"
    scheme: Literal["bearer", "basic"] = "basic" if entry.username else "bearer"
    if entry.token is not None:
        token = entry.token.get_secret_value()
        return Credentials(scheme, token, entry.username, f"{section} token"), own
    if entry.token_env:
        found = _first(env, entry.token_env)
        hint = f"{entry.token_env} (named by {section} token_env)"
        if found is None:
            return None, hint
        return Credentials(scheme, found[1], entry.username, found[0]), hint
    if not conventional:
        return None, own
    credentials, variables = _conventional(kind, web, env)
    return credentials, f"{variables}, or {own}"


_VARIABLES: dict[HostKind, str] = {
    "github": "GITHUB_TOKEN (or GH_TOKEN)",
    "gitlab": "GITLAB_TOKEN",
    "bitbucket": "BITBUCKET_USERNAME and BITBUCKET_APP_PASSWORD (or BITBUCKET_EMAIL and "
    "BITBUCKET_API_TOKEN, or BITBUCKET_ACCESS_TOKEN)",
    "jira": "JIRA_EMAIL and JIRA_API_TOKEN (Cloud), or JIRA_PAT (Data Center)",
    "confluence": "CONFLUENCE_EMAIL and CONFLUENCE_API_TOKEN (Cloud), or CONFLUENCE_PAT "
    "(Data Center)",
}


def _conventional(
    kind: HostKind, web: str, env: Mapping[str, str]
) -> tuple[Credentials | None, str]:
    if kind == "github":
        names = (
            ("GITHUB_TOKEN", "GH_TOKEN")
            if web == "https://github.com"
            else ("GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN")
        )
        found = _first(env, *names)
        hint = " (or ".join(names) + ")"
        return (Credentials("bearer", found[1], None, found[0]) if found else None), hint
    if kind == "gitlab":
        found = _first(env, "GITLAB_TOKEN")
        credentials = Credentials("bearer", found[1], None, found[0]) if found else None
        return credentials, _VARIABLES[kind]
    if kind == "bitbucket":
        user, password = _first(env, "BITBUCKET_USERNAME"), _first(env, "BITBUCKET_APP_PASSWORD")
        email, api_token = _first(env, "BITBUCKET_EMAIL"), _first(env, "BITBUCKET_API_TOKEN")
        access = _first(env, "BITBUCKET_ACCESS_TOKEN")
        if user and password:
            credentials = Credentials("basic", password[1], user[1], password[0])
        elif email and api_token:
            credentials = Credentials("basic", api_token[1], email[1], api_token[0])
        elif access:
            credentials = Credentials("bearer", access[1], None, access[0])
        else:
            credentials = None
        return credentials, _VARIABLES[kind]
    upper = kind.upper()
    email = _first(env, f"{upper}_EMAIL", f"{upper}_USERNAME")
    token = _first(env, f"{upper}_API_TOKEN")
    pat = _first(env, f"{upper}_PAT", f"{upper}_PERSONAL_TOKEN")
    if token and email:
        credentials = Credentials("basic", token[1], email[1], token[0])
    elif pat or token:
        chosen = pat or token
        assert chosen is not None
        credentials = Credentials("bearer", chosen[1], None, chosen[0])
    else:
        credentials = None
    return credentials, _VARIABLES[kind]
