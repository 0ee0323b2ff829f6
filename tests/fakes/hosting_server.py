"""A fake source host on 127.0.0.1: GitHub, GitLab, Bitbucket, Jira or Confluence on the wire.

One server speaks one ``flavour``: its error bodies, its pagination and its auth check are
that API's documented ones, so the clients in ``hosting/`` run their real HTTP code:

- GitHub: ``{"message", "documentation_url"}`` errors; lists paged by ``per_page``/``page``
  with a ``Link: <...>; rel="next"`` header; ``X-RateLimit-*`` headers; 403 with
  ``X-RateLimit-Remaining: 0`` when the quota is spent;
- GitLab: ``{"message": "404 Not found"}`` / ``{"error": "invalid_token", ...}``; the same
  ``Link`` paging plus ``X-Total``/``X-Next-Page``;
- Bitbucket: ``{"type": "error", "error": {"message"}}``; pages ``{"values", "pagelen",
  "page", "size", "next"}`` by ``pagelen``/``page``;
- Jira: ``{"errorMessages": [...], "errors": {}}``; comment pages by ``startAt``/``maxResults``;
- Confluence: v2 ``{"errors": [{"status", "code", "title"}]}``, v1 ``{"statusCode", "message"}``.

Every JSON answer carries an ``ETag``; a request whose ``If-None-Match`` matches gets a 304
(counted). ``token`` makes every request without ``Authorization: <auth>`` a 401 in the
flavour's shape. Routes hold a JSON body (a list is paged), text, or a handler; ``fail``
scripts the next answers of a path (401, 403, 404, 429 with ``Retry-After``, 500).
``route(method, pattern, fn)`` answers any method (POST, PATCH, PUT, DELETE, GET) on paths
matching an fnmatch ``pattern`` with ``fn(Request)``, the request's JSON body included (a
list answered to a GET is paged): the stateful part of a fake, such as review comments.
Every request is recorded with its JSON body.

    with HostingServer("github", auth="Bearer ghp_test") as server:
        server.json("/repos/o/r/pulls/7", pull)
        server.json("/repos/o/r/pulls/7/files", files)      # paged by per_page
        ... point [hosting.github] api_url at server.url ...
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.fakes.threaded import ThreadedServer

Flavour = str  # github | gitlab | bitbucket | jira | confluence


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    status: int
    body: Any = None


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any = None  # JSON-ready, or str for text
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[dict[str, list[str]]], Answer]
RouteFn = Callable[[Request], Answer]


@dataclass
class _Route:
    body: Any = None
    text: str | None = None
    content_type: str = "application/json"
    handler: Handler | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _State:
    flavour: Flavour
    auth: str | None
    routes: dict[str, _Route] = field(default_factory=dict)
    failures: dict[str, deque[Answer]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    dynamic: list[tuple[str, str, RouteFn]] = field(default_factory=list)
    not_modified: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""


def error_body(flavour: Flavour, status: int, message: str) -> Any:
    if flavour == "github":
        return {"message": message, "documentation_url": "https://docs.github.com/rest"}
    if flavour == "gitlab":
        if status == 401:
            return {"error": "invalid_token", "error_description": message}
        return {"message": f"{status} {message}"}
    if flavour == "bitbucket":
        return {"type": "error", "error": {"message": message}}
    if flavour == "jira":
        return {"errorMessages": [message], "errors": {}}
    return {"errors": [{"status": status, "code": "ERROR", "title": message, "detail": None}]}


class HostingServer(ThreadedServer):
    def __init__(self, flavour: Flavour, *, auth: str | None = None) -> None:
        self.state = _State(flavour, auth)

        class Bound(_Handler):
            pass

        Bound.state = self.state
        super().__init__(Bound, name="fake-hosting")
        self.state.url = self.url

    # -- scripting ---------------------------------------------------------------------------

    def json(self, path: str, body: Any, **headers: str) -> None:
        with self.state.lock:
            self.state.routes[path] = _Route(body=body, headers=dict(headers))

    def text(self, path: str, text: str, content_type: str = "text/plain") -> None:
        with self.state.lock:
            self.state.routes[path] = _Route(text=text, content_type=content_type)

    def handler(self, path: str, handler: Handler) -> None:
        with self.state.lock:
            self.state.routes[path] = _Route(handler=handler)

    def route(self, method: str, pattern: str, fn: RouteFn) -> None:
        """Answer ``method`` requests on paths matching ``pattern`` (fnmatch) with ``fn``."""
        with self.state.lock:
            self.state.dynamic.append((method.upper(), pattern, fn))

    def redirect(self, path: str, location: str) -> None:
        self.handler(path, lambda query: Answer(302, None, {"Location": location}))

    def fail(
        self,
        path: str,
        status: int,
        message: str = "scripted failure",
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        body = error_body(self.state.flavour, status, message)
        with self.state.lock:
            queue = self.state.failures.setdefault(path, deque())
            for _ in range(times):
                queue.append(Answer(status, body, dict(headers or {})))

    # -- inspection --------------------------------------------------------------------------

    @property
    def requests(self) -> list[Recorded]:
        with self.state.lock:
            return list(self.state.requests)

    @property
    def not_modified(self) -> int:
        with self.state.lock:
            return self.state.not_modified

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


def _etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:20] + '"'


class _Handler(BaseHTTPRequestHandler):
    state: _State
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY the second waits for the
    # client's delayed ACK (40 ms a response on Linux), which is not what a host costs.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST", self._body())

    def do_PATCH(self) -> None:
        self._serve("PATCH", self._body())

    def do_PUT(self) -> None:
        self._serve("PUT", self._body())

    def do_DELETE(self) -> None:
        self._serve("DELETE", self._body())

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        try:
            return json.loads(data) if data else None
        except ValueError:
            return data.decode("utf-8", "replace")

    def _serve(self, method: str, body: Any = None) -> None:
        split = urlsplit(self.path)
        path, query = split.path, parse_qs(split.query)
        state = self.state
        headers = {k.lower(): v for k, v in self.headers.items()}
        with state.lock:
            failures = state.failures.get(path)
            failure = failures.popleft() if failures else None
            route = state.routes.get(path)
            dynamic = next(
                (fn for m, p, fn in state.dynamic if m == method and fnmatch.fnmatchcase(path, p)),
                None,
            )
        if failure is not None:
            self._record(method, path, query, headers, failure.status, body)
            self._send(failure.status, failure.body, failure.headers)
            return
        if state.auth is not None and headers.get("authorization") != state.auth:
            self._record(method, path, query, headers, 401, body)
            message = {"github": "Bad credentials", "gitlab": "Token is expired or invalid"}.get(
                state.flavour, "Client must be authenticated to access this resource."
            )
            self._send(401, error_body(state.flavour, 401, message), {})
            return
        if dynamic is not None:
            answer = dynamic(Request(method, path, query, body))
            if method == "GET" and isinstance(answer.body, list) and answer.status == 200:
                answer = self._page(path, query, answer.body)
            self._record(method, path, query, headers, answer.status, body)
            self._send(answer.status, answer.body, answer.headers)
            return
        if route is None:
            self._record(method, path, query, headers, 404, body)
            self._send(404, error_body(state.flavour, 404, "Not Found"), {})
            return
        if route.handler is not None:
            answer = route.handler(query)
        elif route.text is not None:
            answer = Answer(200, route.text, {"Content-Type": route.content_type})
        else:
            answer = self._page(path, query, route.body)
            answer = Answer(answer.status, answer.body, {**route.headers, **answer.headers})
        self._send(answer.status, answer.body, answer.headers, headers, method, path, query)

    def _record(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        status: int,
        body: Any = None,
    ) -> None:
        with self.state.lock:
            self.state.requests.append(Recorded(method, path, query, headers, status, body))

    def _page(self, path: str, query: dict[str, list[str]], body: Any) -> Answer:
        """A list body served a page at a time, as the flavour pages."""
        flavour = self.state.flavour
        if not isinstance(body, list):
            return Answer(200, body)

        def number(name: str, default: int) -> int:
            try:
                return int(query.get(name, [str(default)])[0])
            except ValueError:
                return default

        base = self.state.url + path
        if flavour in ("github", "gitlab"):
            size = number("per_page", 30 if flavour == "github" else 20)
            page = number("page", 1)
            chunk = body[(page - 1) * size : page * size]
            headers = {}
            if page * size < len(body):
                params = {k: v[0] for k, v in query.items()}
                params.update(per_page=str(size), page=str(page + 1))
                headers["Link"] = f'<{base}?{urlencode(params)}>; rel="next"'
                if flavour == "gitlab":
                    headers["X-Next-Page"] = str(page + 1)
            if flavour == "gitlab":
                headers["X-Total"] = str(len(body))
            return Answer(200, chunk, headers)
        if flavour == "bitbucket":
            size = number("pagelen", 10)
            page = number("page", 1)
            out: dict[str, Any] = {
                "values": body[(page - 1) * size : page * size],
                "pagelen": size,
                "page": page,
                "size": len(body),
            }
            if page * size < len(body):
                paged: dict[str, list[str]] = dict(query)
                paged["page"] = [str(page + 1)]
                paged["pagelen"] = [str(size)]
                out["next"] = f"{base}?{urlencode(paged, doseq=True)}"
            return Answer(200, out)
        if flavour == "jira":
            start = number("startAt", 0)
            size = number("maxResults", 50)
            return Answer(
                200,
                {
                    "comments": body[start : start + size],
                    "startAt": start,
                    "maxResults": size,
                    "total": len(body),
                },
            )
        return Answer(200, {"results": body, "_links": {}})

    def _send(
        self,
        status: int,
        body: Any,
        headers: dict[str, str],
        request_headers: dict[str, str] | None = None,
        method: str = "",
        path: str = "",
        query: dict[str, list[str]] | None = None,
    ) -> None:
        if isinstance(body, str):
            data = body.encode()
            kind = headers.get("Content-Type", "text/plain")
        elif body is None:
            data, kind = b"", "application/json"
        else:
            data, kind = json.dumps(body).encode(), "application/json"
        out = {"Content-Type": kind, **headers}
        if status == 200 and request_headers is not None:
            tag = _etag(data)
            out["ETag"] = tag
            if request_headers.get("if-none-match") == tag:
                with self.state.lock:
                    self.state.not_modified += 1
                self._record(method, path, query or {}, request_headers, 304)
                self.send_response(304)
                for name, value in out.items():
                    if name.lower() != "content-type":
                        self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._record(method, path, query or {}, request_headers, status)
        elif request_headers is not None:
            self._record(method, path, query or {}, request_headers, status)
        self.send_response(status)
        for name, value in out.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
