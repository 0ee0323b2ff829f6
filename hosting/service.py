"""The one object the daemon holds: hosts resolved, clients kept, items fetched as Markdown.

    hosting = Hosting(settings.hosting, cache_dir=data_dir / "hosting-cache")
    ref = hosting.recognise("https://github.com/o/r/pull/7")     # None: not a work item
    markdown = await hosting.fetch(ref, budget=40_000)
    await hosting.aclose()

One :class:`~hosting.http.HostClient` per host, made on first use and kept (its connections
are reused across turns), all sharing one ETag cache.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from hosting import markdown
from hosting.bitbucket import Bitbucket
from hosting.cache import ETagCache
from hosting.confluence import Confluence
from hosting.errors import BadResponse, NotRecognised
from hosting.github import HEADERS as GITHUB_HEADERS
from hosting.github import GitHub
from hosting.gitlab import GitLab
from hosting.hosts import Host, Hosts, resolve_hosts
from hosting.http import HostClient
from hosting.jira import Jira
from hosting.models import WorkItem
from hosting.remote import Remote, find_remote
from hosting.review import InlineComment, Posted
from hosting.review import post as post_review
from hosting.settings import HostingSettings
from hosting.urls import ItemRef, recognise, split_repo

if TYPE_CHECKING:
    import httpx

PullState = Literal["open", "closed", "merged", "all"]
_HEADERS: dict[str, dict[str, str]] = {
    "github": GITHUB_HEADERS,
    "bitbucket": {"Accept": "application/json"},
    "jira": {"Accept": "application/json"},
    "confluence": {"Accept": "application/json"},
}


@contextlib.contextmanager
def _readable(host: Host, what: str) -> Iterator[None]:
    """An answer of an unexpected shape (a proxy's page, another API version) becomes a
    BadResponse naming the host and the item, not a KeyError from deep in a client."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise BadResponse(
            f"{host.label} answered for {what} in a shape that could not be read "
            f"({type(exc).__name__}: {str(exc)[:120]}); is [hosting] api_url right?",
            host=host.label,
        ) from None


_REVIEWABLE = ("github", "gitlab", "bitbucket")
_SCOPED = re.compile(r"(^|\s)-?(repo|org|user|owner):\S", re.IGNORECASE)


class Hosting:
    def __init__(
        self,
        settings: HostingSettings,
        *,
        cache_dir: Path | None = None,
        env: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.hosts: Hosts = resolve_hosts(settings, env)
        self._cache = (
            ETagCache(cache_dir, settings.cache_max_mb * 1024 * 1024)
            if settings.cache and cache_dir is not None
            else None
        )
        self._transport = transport
        self._clients: dict[tuple[str, str], HostClient] = {}

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    def client(self, host: Host) -> HostClient:
        key = (host.name, host.web)
        if key not in self._clients:
            self._clients[key] = HostClient(
                host, self._cache, headers=_HEADERS.get(host.kind), transport=self._transport
            )
        return self._clients[key]

    def recognise(self, url: str) -> ItemRef | None:
        if not self.settings.enabled:
            return None
        return recognise(url, self.hosts)

    # -- work items ---------------------------------------------------------------------------

    async def fetch(
        self,
        ref: ItemRef | str,
        budget: int = 40_000,
        *,
        withhold: Callable[[str], bool] | None = None,
    ) -> str:
        """The work item as Markdown of at most about ``budget`` characters; the diff of each
        file ``withhold(path)`` names (secrets) is left out, and says so."""
        if isinstance(ref, str):
            found = self.recognise(ref)
            if found is None:
                raise NotRecognised(
                    f"{ref} is not a link to a pull request, merge request, issue, Jira issue "
                    f"or Confluence page on a known host ({self.known()})"
                )
            ref = found
        with _readable(ref.host, f"{ref.noun} {ref.label}"):
            return await self._fetch(ref, budget, withhold)

    async def _fetch(
        self, ref: ItemRef, budget: int, withhold: Callable[[str], bool] | None
    ) -> str:
        http = self.client(ref.host)
        s = self.settings
        limits = {"max_files": s.max_diff_files, "max_comments": s.max_comments}
        assert ref.repo is not None or ref.kind in ("jira", "page")
        if ref.host.kind == "github":
            api = GitHub(http, **limits)
            assert ref.repo is not None and ref.number is not None
            item = await (api.pull if ref.kind == "pull" else api.issue)(ref.repo, ref.number)
            return markdown.work_item(item, budget, s.max_diff_lines, withhold)
        if ref.host.kind == "gitlab":
            lab = GitLab(http, **limits)
            assert ref.repo is not None and ref.number is not None
            get = lab.merge_request if ref.kind == "pull" else lab.issue
            return markdown.work_item(
                await get(ref.repo, ref.number), budget, s.max_diff_lines, withhold
            )
        if ref.host.kind == "bitbucket":
            assert ref.repo is not None and ref.number is not None
            item = await Bitbucket(http, **limits).pull(ref.repo, ref.number)
            return markdown.work_item(item, budget, s.max_diff_lines, withhold)
        if ref.host.kind == "jira":
            assert ref.key is not None
            issue = await Jira(http, max_comments=s.max_comments).issue(ref.key)
            return markdown.jira_issue(issue, budget)
        page = await Confluence(http).page(ref.page_id, ref.space, ref.title)
        return markdown.page(page, budget)

    # -- code review ----------------------------------------------------------------------

    def pull_ref(self, url: str) -> ItemRef:
        """The pull/merge request a URL names, or NotRecognised saying what it is instead."""
        ref = self.recognise(url)
        if ref is None or ref.kind != "pull" or ref.host.kind not in _REVIEWABLE:
            raise NotRecognised(
                f"{url} is not a link to a pull request or merge request on a known host "
                f"({self.known().removesuffix(', *.atlassian.net')})"
            )
        return ref

    async def pull_request(self, url: str) -> tuple[ItemRef, WorkItem]:
        """A pull/merge request with its files' diffs (up to ``max_diff_files``)."""
        ref = self.pull_ref(url)
        assert ref.repo is not None and ref.number is not None
        http = self.client(ref.host)
        limits = {"max_files": self.settings.max_diff_files, "max_comments": 1}
        with _readable(ref.host, f"{ref.noun} {ref.label}"):
            if ref.host.kind == "github":
                return ref, await GitHub(http, **limits).pull(ref.repo, ref.number)
            if ref.host.kind == "gitlab":
                return ref, await GitLab(http, **limits).merge_request(ref.repo, ref.number)
            return ref, await Bitbucket(http, **limits).pull(ref.repo, ref.number)

    async def post_review(
        self, url: str, comments: Sequence[InlineComment], summary: str
    ) -> Posted:
        """Post (or, on a rerun, update) a review's comments and summary on the request."""
        ref = self.pull_ref(url)
        assert ref.repo is not None and ref.number is not None
        with _readable(ref.host, f"{ref.noun} {ref.label}"):
            return await post_review(
                self.client(ref.host), ref.host.kind, ref.repo, ref.number, comments, summary
            )

    def known(self) -> str:
        return ", ".join(dict.fromkeys(h.label for h in self.hosts.hosts)) + ", *.atlassian.net"

    # -- search and listing -------------------------------------------------------------------

    def remote(self, roots: Sequence[Path]) -> Remote | None:
        return find_remote(list(roots), self.hosts)

    def _host_for(self, provider: str, remote: Remote | None) -> Host:
        """The host a provider name means: a host's own name, or a kind; the workspace's
        own instance of a kind is preferred when its remote is on one."""
        named = self.hosts.named(provider)
        if named is not None:
            if named.name == named.kind and remote is not None and remote.host.kind == named.kind:
                return remote.host
            return named
        candidates = self.hosts.by_kind(provider)  # type: ignore[arg-type]
        if remote is not None and remote.host.kind == provider:
            return remote.host
        if candidates:
            return candidates[0]
        configured = ", ".join(h.name for h in self.hosts.hosts)
        if provider in ("jira", "confluence"):
            hint = f"set {provider.upper()}_URL (or [hosting.{provider}] url) to your site"
            raise NotRecognised(f"no {provider} site is configured: {hint}")
        raise NotRecognised(f"unknown provider {provider!r}; use one of: {configured}")

    async def search(
        self, provider: str, query: str, *, limit: int = 20, roots: Sequence[Path] = ()
    ) -> str:
        remote = self.remote(roots)
        host = self._host_for(provider, remote)
        with _readable(host, f"the search {query!r}"):
            return await self._search(host, remote, query, limit)

    async def _search(self, host: Host, remote: Remote | None, query: str, limit: int) -> str:
        http = self.client(host)
        scope = ""
        if host.kind == "github":
            q = query
            if remote is not None and remote.host == host and not _SCOPED.search(query):
                q = f"{query} repo:{remote.repo}"
                scope = f" (in {remote.repo}; add repo:, org: or user: to search elsewhere)"
            hits, total = await GitHub(http).search(q, limit)
        elif host.kind == "gitlab":
            repo = remote.repo if remote is not None and remote.host == host else None
            scope = f" (in {repo})" if repo else ""
            hits, total = await GitLab(http).search(query, limit, repo)
        elif host.kind == "jira":
            hits, total = await Jira(http).search(query, limit)
        else:
            raise NotRecognised(
                f"search_issues searches GitHub, GitLab or Jira, not {host.kind} ({host.label})"
            )
        return markdown.search_results(hits, f"{query!r} on {host.label}{scope}", total)

    async def pull_requests(
        self,
        repo: str | None,
        state: PullState = "open",
        *,
        limit: int = 20,
        roots: Sequence[Path] = (),
    ) -> str:
        host, name = self._repo(repo, roots)
        with _readable(host, f"the pull requests of {name}"):
            return await self._pull_requests(host, name, state, limit)

    async def _pull_requests(self, host: Host, name: str, state: PullState, limit: int) -> str:
        http = self.client(host)
        if host.kind == "github":
            hits = await GitHub(http).pulls(name, state, limit)
        elif host.kind == "gitlab":
            hits = await GitLab(http).merge_requests(name, state, limit)
        elif host.kind == "bitbucket":
            hits = await Bitbucket(http).pulls(name, state, limit)
        else:
            raise NotRecognised(f"{host.label} has no pull requests ({host.kind})")
        noun = "merge requests" if host.kind == "gitlab" else "pull requests"
        return markdown.search_results(hits, f"{state} {noun} of {name} on {host.label}")

    def _repo(self, repo: str | None, roots: Sequence[Path]) -> tuple[Host, str]:
        if repo is None or not repo.strip():
            remote = self.remote(roots)
            if remote is None:
                raise NotRecognised(
                    "the workspace has no git remote on a known host "
                    f"({self.known().removesuffix(', *.atlassian.net')}); name the repository "
                    "as owner/name or by its URL"
                )
            return remote.host, remote.repo
        repo = repo.strip()
        if "://" in repo:
            found = self.hosts.for_url(repo)
            split = split_repo(found[1]) if found is not None else None
            if found is None or split is None or found[0].kind in ("jira", "confluence"):
                raise NotRecognised(f"{repo} is not a repository on a known host ({self.known()})")
            return found[0], "/".join(split)
        split = split_repo(repo)
        if split is None:
            raise NotRecognised(f"repo must be owner/name or a repository URL, not {repo!r}")
        remote = self.remote(roots)
        host = remote.host if remote is not None else self._host_for("github", None)
        return host, "/".join(split)
