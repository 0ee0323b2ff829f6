"""One host's REST API over httpx: credentials, the ETag cache, pagination and errors.

:class:`HostClient` is shared by every API client of this package (and by whatever later
posts to a host: ``send`` takes any method and a JSON body). What it guarantees:

- the credentials go to the host's API base only: a path is joined to it, and an absolute
  URL (a ``Link: rel="next"``, a Bitbucket ``next``, a redirect) is followed only when it
  lies under that same base; anything else is refused, never sent with the token;
- a GET answered with an ``ETag`` or ``Last-Modified`` is kept in the :class:`ETagCache`,
  and asked again with ``If-None-Match``/``If-Modified-Since``: a 304 serves the kept body;
- every failure becomes a :mod:`hosting.errors` error whose message the user can act on
  (which variable or setting, which scopes, which item on which host, until when);
- a rate limit whose wait is short (``Retry-After``, ``X-RateLimit-Reset``) is waited out
  once; a longer one is reported with its time.

    client = HostClient(host, cache)
    pull = await client.get_json("/repos/o/r/pulls/7", what="pull request o/r#7")
    files = await client.pages("/repos/o/r/pulls/7/files", what="...", limit=300)
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import json
import logging
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hosting.cache import Cached, ETagCache, fingerprint
from hosting.errors import (
    AuthError,
    BadRequest,
    BadResponse,
    HostingError,
    HostUnavailable,
    NotFound,
    RateLimited,
)
from hosting.hosts import Host, same_origin_below

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

USER_AGENT = "deputydev (+https://github.com/deputydev)"
MAX_REDIRECTS = 3
# A rate limit that lifts within this many seconds is waited out (once) instead of reported.
MAX_WAIT_S = 10.0

# What a token needs on each kind of host, for 401/403 messages.
SCOPES = {
    "github": "a classic token with the 'repo' scope (public repositories need none), or a "
    "fine-grained token with read access to Pull requests, Issues, Contents, Commit statuses "
    "and Checks",
    "gitlab": "a personal access token with the 'read_api' scope",
    "bitbucket": "an app password or API token with 'Repositories: Read' and "
    "'Pull requests: Read' (read:repository:bitbucket, read:pullrequest:bitbucket)",
    "jira": "an API token of an account that can browse the project (Cloud), or a personal "
    "access token (Data Center); a scoped token needs read:jira-work",
    "confluence": "an API token of an account that can view the space (Cloud), or a personal "
    "access token (Data Center); a scoped token needs read:page:confluence and "
    "read:space:confluence",
}


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Mapping[str, str]  # lower-case names
    text: str
    url: str
    from_cache: bool = False

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            raise BadResponse(
                f"{self.url} did not answer JSON (starts with {self.text[:60]!r})",
                status=self.status,
            ) from None


async def together(*calls: Awaitable[Any]) -> list[Any]:
    """Run ``calls`` at once; if any fail, raise the failure of the first in argument order
    (the item itself before its parts), not whichever failed first in time."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


_tls: ssl.SSLContext | None = None


async def tls_context() -> ssl.SSLContext:
    """One TLS context for every host client (httpx's defaults: certifi, or SSL_CERT_FILE).
    Two first uses at once may both build one; either serves (no lock to bind to a loop)."""
    global _tls
    if _tls is None:
        import httpx

        context = await asyncio.to_thread(httpx.create_ssl_context)
        _tls = _tls or context
    return _tls


def link_next(answer: Answer, body: Any) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header (GitHub, GitLab)."""
    for part in answer.headers.get("link", "").split(","):
        match = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', part)
        if match:
            return match.group(1)
    return None


class HostClient:
    def __init__(
        self,
        host: Host,
        cache: ETagCache | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        max_wait_s: float = MAX_WAIT_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:

        self.host = host
        self._cache = cache
        self._max_wait_s = max_wait_s
        creds = host.credentials
        self._identity = fingerprint(
            creds.token if creds else None, creds.username if creds else None
        )
        self._headers = {"User-Agent": USER_AGENT, **(headers or {})}
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        # GitHub Enterprise serves GraphQL beside its REST base (URL/api/graphql next to
        # URL/api/v3): the one other address that may receive the credentials.
        self._also = (graphql_url(host),) if host.kind == "github" else ()
        self._graphql_missing = False
        # Counted for the benchmark and the tests: requests sent, and 304s among them.
        self.sent = 0
        self.not_modified = 0

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def _http(self) -> httpx.AsyncClient:
        """The httpx client, made on first use with the process's one TLS context (loading
        the CA bundle takes ~70 ms of CPU: done once, in a thread, not on the event loop)."""
        import httpx

        if self._client is not None:
            return self._client
        verify = await tls_context()
        # Checked again after the await: requests started together must share one client.
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.host.timeout_s, connect=min(10.0, self.host.timeout_s)),
                follow_redirects=False,
                headers=self._headers,
                transport=self._transport,
                verify=verify,
            )
        return self._client

    # -- requests ---------------------------------------------------------------------------

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            if not any(same_origin_below(base, path) for base in (self.host.api, *self._also)):
                raise BadResponse(
                    f"{self.host.label} pointed at {path.split('?')[0]}, outside its API "
                    f"({self.host.api}); not followed, so no credentials leave the host",
                    host=self.host.label,
                )
            return path
        return self.host.api + (path if path.startswith("/") else "/" + path)

    def _auth(self) -> dict[str, str]:
        creds = self.host.credentials
        if creds is None:
            return {}
        if creds.scheme == "basic":
            import base64

            pair = f"{creds.username or ''}:{creds.token}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        return {"Authorization": f"Bearer {creds.token}"}

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        what: str = "",
    ) -> Answer:
        """One request, with redirects on the same API followed, the cache consulted (GET)
        and errors raised; ``what`` names the item for a 404 ("pull request o/r#7")."""
        import httpx

        target = httpx.URL(self.url(path))
        if params:
            target = target.copy_merge_params(_clean(params))
        url = str(target)
        waited = False
        for _ in range(MAX_REDIRECTS + 1):
            answer = await self._once(method, url, body, headers)
            if answer.status in (301, 302, 303, 307, 308) and "location" in answer.headers:
                url = self.url(str(httpx.URL(url).join(answer.headers["location"])))
                if answer.status == 303:
                    method, body = "GET", None
                continue
            if answer.status < 400:
                return answer
            limited = self._rate_limit(answer)
            if limited is not None and not waited and limited <= self._max_wait_s:
                log.info("%s rate limit: waiting %.1f s as it asks", self.host.label, limited)
                await asyncio.sleep(max(limited, 0.0))
                waited = True
                continue
            raise self._error(answer, what or url, limited)
        raise BadResponse(f"{self.host.label} redirected too many times ({url})")

    async def _once(
        self, method: str, url: str, body: Any, headers: Mapping[str, str] | None
    ) -> Answer:
        import httpx

        cached: Cached | None = None
        sent_headers = {**self._auth(), **(headers or {})}
        if method == "GET" and self._cache is not None:
            cached = await asyncio.to_thread(self._cache.get, self._identity, url)
            if cached is not None and cached.etag:
                sent_headers["If-None-Match"] = cached.etag
            elif cached is not None and cached.last_modified:
                sent_headers["If-Modified-Since"] = cached.last_modified
        started = time.monotonic()
        try:
            client = await self._http()
            response = await client.request(
                method, url, headers=sent_headers, json=body if body is not None else None
            )
            text = response.text
        except httpx.TimeoutException:
            raise HostUnavailable(
                f"{self.host.label} did not answer within {self.host.timeout_s:g} s; it may be "
                f"down or unreachable from here (timeout_s in [hosting.{self.host.name}])",
                host=self.host.label,
            ) from None
        except httpx.HTTPError as exc:
            raise HostUnavailable(
                f"{self.host.label} cannot be reached ({type(exc).__name__}: {exc}); check the "
                "address and your network",
                host=self.host.label,
            ) from None
        self.sent += 1
        log.debug(
            "%s %s -> %d (%.0f ms)",
            method,
            url.split("?")[0],
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        lowered = {k.lower(): v for k, v in response.headers.items()}
        if response.status_code == 304 and cached is not None:
            self.not_modified += 1
            return Answer(200, {**lowered, **cached.headers}, cached.body, url, from_cache=True)
        answer = Answer(response.status_code, lowered, text, url)
        if (
            method == "GET"
            and self._cache is not None
            and response.status_code == 200
            and ("etag" in lowered or "last-modified" in lowered)
        ):
            kept: dict[str, str] = {k: lowered[k] for k in ("link", "content-type") if k in lowered}
            entry = Cached(text, lowered.get("etag"), lowered.get("last-modified"), kept)
            await asyncio.to_thread(self._cache.put, self._identity, url, entry)
        return answer

    async def graphql(
        self, query: str, variables: Mapping[str, Any], *, what: str, fresh_s: float = 300.0
    ) -> Any:
        """The ``data`` of one GraphQL query (GitHub), kept ``fresh_s`` seconds: a POST has no
        validator to ask again with, so a repeated read inside that time sends nothing.

        Errors the API reports in a 200 body become :class:`BadResponse`; an instance with no
        GraphQL endpoint (404) is remembered, and not asked again by this client."""
        if self._graphql_missing:
            raise NotFound(f"{self.host.label} has no GraphQL API", host=self.host.label)
        url = graphql_url(self.host)
        key = (
            url
            + "#"
            + hashlib.sha256(
                json.dumps([query, dict(variables)], sort_keys=True).encode()
            ).hexdigest()
        )
        if self._cache is not None:
            kept = await asyncio.to_thread(self._cache.get, self._identity, key)
            fetched = float((kept.headers if kept else {}).get("fetched") or 0)
            if kept is not None and 0 <= time.time() - fetched < fresh_s:
                return json.loads(kept.body)
        try:
            answer = await self.send(
                "POST", url, body={"query": query, "variables": dict(variables)}, what=what
            )
        except NotFound:
            self._graphql_missing = True
            raise
        body = answer.json()
        errors = body.get("errors") if isinstance(body, dict) else None
        data = body.get("data") if isinstance(body, dict) else None
        if errors or not isinstance(data, dict):
            messages = "; ".join(str(e.get("message")) for e in errors or () if isinstance(e, dict))
            raise BadResponse(
                f"{self.host.label} GraphQL could not answer for {what}: "
                f"{messages or 'no data in the answer'}",
                host=self.host.label,
            )
        if self._cache is not None:
            entry = Cached(json.dumps(data), None, None, {"fetched": f"{time.time():.3f}"})
            await asyncio.to_thread(self._cache.put, self._identity, key, entry)
        return data

    async def get_json(
        self, path: str, *, params: Mapping[str, Any] | None = None, what: str = ""
    ) -> Any:
        return (await self.send("GET", path, params=params, what=what)).json()

    async def get_text(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        accept: str | None = None,
        what: str = "",
    ) -> str:
        headers = {"Accept": accept} if accept else None
        return (await self.send("GET", path, params=params, headers=headers, what=what)).text

    async def pages(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        what: str = "",
        limit: int = 100,
        items: Callable[[Any], list[Any]] = lambda body: list(body),
        next_url: Callable[[Answer, Any], str | None] = link_next,
    ) -> list[Any]:
        """Items of every page, following the next link until ``limit`` items are held."""
        found: list[Any] = []
        url: str | None = path
        query = params
        seen: set[str] = set()
        while url is not None and len(found) < limit:
            answer = await self.send("GET", url, params=query, what=what)
            body = answer.json()
            found += items(body)
            url, query = next_url(answer, body), None
            if url is not None:
                if url in seen:  # a server that loops its links must not loop us
                    break
                seen.add(url)
        return found[:limit]

    # -- errors -----------------------------------------------------------------------------

    def _rate_limit(self, answer: Answer) -> float | None:
        """Seconds until the limit lifts, when ``answer`` is a rate limit; else None."""
        headers = answer.headers
        github_spent = headers.get("x-ratelimit-remaining") == "0"
        if answer.status not in (403, 429) or (
            answer.status == 403
            and not github_spent
            and "retry-after" not in headers
            and "rate limit" not in answer.text[:500].lower()
        ):
            return None
        if "retry-after" in headers:
            return _retry_after(headers["retry-after"])
        reset = headers.get("x-ratelimit-reset") or headers.get("ratelimit-reset")
        if reset and reset.strip().isdigit():
            value = int(reset.strip())
            # GitHub and GitLab send an epoch; the IETF draft's RateLimit-Reset is seconds.
            return max(value - time.time(), 0.0) if value > 1_000_000_000 else float(value)
        return 60.0

    def _error(self, answer: Answer, what: str, wait: float | None) -> HostingError:
        host = self.host
        said = _server_message(answer)
        if host.credentials is not None and host.credentials.token in said:
            # A host that echoes the request back must not put the token in a message that
            # reaches the model, the editor and the session.
            said = said.replace(host.credentials.token, "[REDACTED]")
        said_part = f" ({said})" if said else ""
        data: dict[str, Any] = {"host": host.label, "status": answer.status}
        if wait is not None:
            until = time.strftime("%H:%M:%S UTC", time.gmtime(time.time() + wait))
            advice = (
                ""
                if host.credentials is not None
                else f"; a token raises the limit: set {host.hint}"
            )
            return RateLimited(
                f"{host.label} is rate limiting requests{said_part}: try again in "
                f"{_duration(wait)} (at {until}){advice}",
                retryAfter=round(wait, 1),
                **data,
            )
        if answer.status == 401 or (answer.status == 403 and host.credentials is None):
            if host.credentials is None:
                message = (
                    f"{host.label} needs credentials to read {what}{said_part}: set {host.hint}"
                )
            else:
                message = (
                    f"{host.label} refused the credentials from {host.credentials.source}"
                    f"{said_part}: set {host.hint} to a valid token"
                )
            return AuthError(f"{message}; it needs {SCOPES[host.kind]}", **data)
        if answer.status == 403:
            return AuthError(
                f"{host.label} denied access to {what}{said_part} with the credentials from "
                f"{host.credentials.source if host.credentials else 'nowhere'}; the token "
                f"needs {SCOPES[host.kind]}",
                **data,
            )
        if answer.status in (404, 410):
            hidden = (
                f"; if it is private, set {host.hint}"
                if host.credentials is None
                else " (or the token cannot see it)"
            )
            return NotFound(f"{what} was not found on {host.label}{hidden}", **data)
        if answer.status >= 500:
            return HostUnavailable(
                f"{host.label} failed with {answer.status}{said_part}; it may be down, try "
                "again later",
                **data,
            )
        return BadRequest(f"{host.label} rejected the request for {what}{said_part}", **data)


class Api:
    """What each source-host client holds: its host's :class:`HostClient` and the caps."""

    def __init__(self, http: HostClient, *, max_files: int = 100, max_comments: int = 100) -> None:
        self.http = http
        self.max_files = max_files
        self.max_comments = max_comments


def graphql_url(host: Host) -> str:
    """GitHub's GraphQL endpoint: ``api.github.com/graphql``, or ``URL/api/graphql`` beside an
    Enterprise server's ``URL/api/v3``."""
    if host.api.endswith("/api/v3"):
        return host.api[: -len("/v3")] + "/graphql"
    return host.api + "/graphql"


def _clean(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def _retry_after(value: str) -> float:
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 60.0
    return max(when.timestamp() - time.time(), 0.0)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(round(seconds), 1)} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def _server_message(answer: Answer) -> str:
    """The error text each API puts in its body, shortened; "" when there is none."""
    try:
        body = json.loads(answer.text)
    except ValueError:
        return ""
    found: list[str] = []
    if isinstance(body, dict):
        for key in ("message", "error_description", "errorMessage", "title", "detail"):
            if isinstance(body.get(key), str):
                found.append(body[key])
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            found.append(error["message"])  # Bitbucket
        elif isinstance(error, str) and not found:
            found.append(error)  # GitLab's OAuth errors
        for message in body.get("errorMessages") or []:  # Jira
            found.append(str(message))
        errors = body.get("errors")
        if isinstance(errors, dict):  # Jira's field errors
            found += [f"{k}: {v}" for k, v in errors.items()]
        elif isinstance(errors, list):  # Confluence v2
            found += [str(e.get("title") or e.get("detail")) for e in errors if isinstance(e, dict)]
    text = "; ".join(dict.fromkeys(m.strip() for m in found if m and m.strip()))
    return text[:300]
