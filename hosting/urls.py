"""Links to work items, recognised from the link alone.

    recognise("https://github.com/o/r/pull/7/files", hosts)
    # ItemRef(kind="pull", host=<github.com>, repo="o/r", number=7)

Shapes (below each host's web address, so a self-hosted instance under a context path
works too):

- GitHub: ``/OWNER/REPO/pull/N`` and ``/OWNER/REPO/issues/N`` (any tail: ``/files``, ``#...``)
- GitLab: ``/GROUP[/SUB...]/PROJECT/-/merge_requests/N``, ``/-/issues/N``, ``/-/work_items/N``
- Bitbucket Cloud: ``/WORKSPACE/REPO/pull-requests/N``
- Jira: ``/browse/KEY-N``, or any page with ``?selectedIssue=KEY-N``
- Confluence: ``/spaces/SPACE/pages/ID[/title]``, ``/pages/viewpage.action?pageId=ID``,
  ``/display/SPACE/Title`` (Data Center)

Every part that later goes into an API path is checked against a strict pattern here, so a
crafted link cannot walk the API (``..``, encoded slashes) with the user's token.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from hosting.hosts import Host, Hosts, cloud_site
from hosting.settings import HostKind

ItemKind = Literal["pull", "issue", "jira", "page"]

_NAME = r"[A-Za-z0-9_.][A-Za-z0-9_.-]*"
_GITHUB = re.compile(rf"^/(?P<repo>{_NAME}/{_NAME})/(?P<what>pull|issues)/(?P<n>\d+)(?:/.*)?$")
# ``/-/`` since GitLab 12; older links without it still redirect, and are still pasted.
_GITLAB = re.compile(
    rf"^/(?P<repo>{_NAME}(?:/{_NAME})+?)(?:/-)?/(?P<what>merge_requests|issues|work_items)/"
    r"(?P<n>\d+)(?:/.*)?$"
)
_BITBUCKET = re.compile(rf"^/(?P<repo>{_NAME}/{_NAME})/pull-requests/(?P<n>\d+)(?:/.*)?$")
JIRA_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,49}-\d{1,9}$")
_JIRA_BROWSE = re.compile(r"^/browse/(?P<key>[A-Za-z][A-Za-z0-9_]*-\d+)/?$")
# Jira Cloud's project views: ``/jira/software/c/projects/PROJ/issues/PROJ-7`` and the like.
_JIRA_VIEW = re.compile(r"^/jira/(?:[^/]+/)*(?P<key>[A-Za-z][A-Za-z0-9_]*-\d+)/?$")
_CONFLUENCE_PAGE = re.compile(
    r"^/spaces/(?P<space>[^/]+)/pages/(?:edit-v2/|edit/)?(?P<id>\d+)(?:/.*)?$"
)
_CONFLUENCE_TINY = re.compile(r"^/x/(?P<tiny>[A-Za-z0-9_-]{1,11})/?$")
_CONFLUENCE_DISPLAY = re.compile(r"^/display/(?P<space>[^/]+)/(?P<title>[^/]+)/?$")


@dataclass(frozen=True, slots=True)
class ItemRef:
    kind: ItemKind
    host: Host
    url: str
    repo: str | None = None  # owner/name, group/sub/project, workspace/repo
    number: int | None = None
    key: str | None = None  # a Jira issue key
    page_id: str | None = None  # a Confluence page id
    space: str | None = None  # a Confluence space key (``/display/`` links)
    title: str | None = None  # a Confluence page title (``/display/`` links)

    @property
    def label(self) -> str:
        """The item as a person would name it: ``o/r#7 on github.com``."""
        if self.kind == "jira":
            return f"{self.key} on {self.host.label}"
        if self.kind == "page":
            which = self.page_id or f"{self.space}/{self.title}"
            return f"page {which} on {self.host.label}"
        sign = "!" if self.host.kind == "gitlab" and self.kind == "pull" else "#"
        return f"{self.repo}{sign}{self.number} on {self.host.label}"

    @property
    def noun(self) -> str:
        return {
            ("pull", "gitlab"): "merge request",
            ("jira", "jira"): "Jira issue",
            ("page", "confluence"): "Confluence page",
        }.get((self.kind, self.host.kind), "pull request" if self.kind == "pull" else "issue")


def recognise(url: str, hosts: Hosts) -> ItemRef | None:
    """The work item ``url`` links to, or None when it is not one on a host we know."""
    url = url.strip()
    found = hosts.for_url(url)
    if found is None:
        kinds: tuple[HostKind, ...] = ("confluence", "jira")
        for kind in kinds:
            site = cloud_site(kind, url)
            if site is not None and (path := site.owns(url)) is not None:
                ref = _parse(site, path, url)
                if ref is not None:
                    return ref
        return None
    host, path = found
    return _parse(host, path, url)


def _parse(host: Host, rest: str, url: str) -> ItemRef | None:
    path, _, query = rest.partition("?")
    path = unquote(path)
    if "//" in path or "/../" in path + "/" or "/./" in path + "/":
        return None
    params = parse_qs(query)
    if host.kind == "github":
        if m := _GITHUB.match(path):
            kind: ItemKind = "pull" if m["what"] == "pull" else "issue"
            return ItemRef(kind, host, url, repo=m["repo"], number=int(m["n"]))
    elif host.kind == "gitlab":
        if m := _GITLAB.match(path):
            kind = "pull" if m["what"] == "merge_requests" else "issue"
            return ItemRef(kind, host, url, repo=m["repo"], number=int(m["n"]))
    elif host.kind == "bitbucket":
        if m := _BITBUCKET.match(path):
            return ItemRef("pull", host, url, repo=m["repo"], number=int(m["n"]))
    elif host.kind == "jira":
        key = None
        if m := _JIRA_BROWSE.match(path) or _JIRA_VIEW.match(path):
            key = m["key"].upper()
        elif params.get("selectedIssue"):
            key = params["selectedIssue"][0].upper()
        if key is not None and JIRA_KEY.match(key):
            return ItemRef("jira", host, url, key=key)
    elif host.kind == "confluence":
        return _confluence(host, path, params, url)
    return None


def _confluence(host: Host, path: str, params: dict[str, list[str]], url: str) -> ItemRef | None:
    if m := _CONFLUENCE_PAGE.match(path):
        return ItemRef("page", host, url, page_id=m["id"], space=m["space"])
    if path.rstrip("/").endswith("/pages/viewpage.action") or path == "/pages/viewpage.action":
        page_id = (params.get("pageId") or [""])[0]
        if page_id.isdigit():
            return ItemRef("page", host, url, page_id=page_id)
    if m := _CONFLUENCE_TINY.match(path):
        tiny = tiny_link_page(m["tiny"])
        return ItemRef("page", host, url, page_id=str(tiny)) if tiny else None
    if not host.cloud and (m := _CONFLUENCE_DISPLAY.match(path)):
        title = m["title"].replace("+", " ")
        return ItemRef("page", host, url, space=m["space"], title=title)
    return None


def tiny_link_page(tiny: str) -> int | None:
    """The page id of a Confluence share link (``/x/QOIB`` is page 123456): the id's 8
    little-endian bytes in base64, ``/`` as ``-``, ``+`` as ``_``, padding and trailing
    ``A``s (zero bits) dropped."""
    text = tiny.replace("-", "/").replace("_", "+").ljust(11, "A") + "="
    try:
        return int.from_bytes(base64.b64decode(text, validate=True), "little") or None
    except (binascii.Error, ValueError):
        return None


def split_repo(text: str) -> tuple[str, str] | None:
    """``owner/name`` (or a web URL of one) split, when it is a safe repository path."""
    text = text.strip().strip("/").removesuffix(".git").strip("/")
    if "://" in text:
        text = urlsplit(text).path.strip("/").removesuffix(".git")
    if not re.fullmatch(rf"{_NAME}(?:/{_NAME})+", text) or ".." in text.split("/"):
        return None
    owner, _, name = text.rpartition("/")
    return owner, name
