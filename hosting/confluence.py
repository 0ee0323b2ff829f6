"""Confluence's REST API: one page's body (storage format) with its breadcrumbs.

Cloud: API v2 (``/wiki/api/v2/pages/{id}``, its ``/ancestors``, then the ancestors' titles
in one request and the space's name); v1's content endpoint is deprecated there. Data
Center: API v1 (``/rest/api/content/{id}`` expanding the body, ancestors, space and version
in one request), which also finds a page by space and title for ``/display/`` links.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hosting import storage
from hosting.errors import HostingError, NotFound
from hosting.http import HostClient, together
from hosting.models import Page

EXPAND = "body.storage,ancestors,space,version,metadata.labels"


class Confluence:
    def __init__(self, http: HostClient) -> None:
        self.http = http

    async def page(
        self, page_id: str | None, space: str | None = None, title: str | None = None
    ) -> Page:
        if self.http.host.cloud:
            if page_id is None:
                raise NotFound(f"a page needs its id on {self.http.host.label}")
            return await self._cloud(page_id)
        return await self._data_center(page_id, space, title)

    async def _cloud(self, page_id: str) -> Page:
        what = f"Confluence page {page_id}"
        page, ancestors = await together(
            self.http.get_json(
                f"/api/v2/pages/{page_id}",
                params={"body-format": "storage", "include-labels": "true"},
                what=what,
            ),
            self.http.get_json(
                f"/api/v2/pages/{page_id}/ancestors", params={"limit": 50}, what=what
            ),
        )
        ids = [str(a.get("id")) for a in (ancestors or {}).get("results") or () if a.get("id")]
        titles: dict[str, str] = {}
        space_name = ""
        author = ""

        async def ancestor_titles() -> None:
            if ids:
                found = await self.http.get_json(
                    "/api/v2/pages", params={"id": ids, "limit": 250}, what=what
                )
                titles.update(
                    {str(p.get("id")): str(p.get("title")) for p in found.get("results") or ()}
                )

        async def space() -> None:
            nonlocal space_name
            if page.get("spaceId") is not None:
                found = await self.http.get_json(f"/api/v2/spaces/{page['spaceId']}", what=what)
                space_name = str(found.get("name") or found.get("key") or "")

        async def who() -> None:
            nonlocal author
            account = (page.get("version") or {}).get("authorId") or page.get("authorId")
            if account:
                found = await self.http.get_json(
                    "/rest/api/user", params={"accountId": account}, what=what
                )
                author = str(found.get("displayName") or "")

        for part in await asyncio.gather(ancestor_titles(), space(), who(), return_exceptions=True):
            if isinstance(part, BaseException) and not isinstance(part, HostingError):
                raise part  # breadcrumbs and names are extras: a host error leaves them out
        links = page.get("_links") or {}
        version = page.get("version") or {}
        return Page(
            id=str(page.get("id") or page_id),
            host=self.http.host.label,
            url=str(links.get("base") or self.http.host.web) + str(links.get("webui") or ""),
            title=str(page.get("title") or ""),
            space=space_name or str(page.get("spaceId") or ""),
            breadcrumbs=tuple(titles.get(i, f"page {i}") for i in ids),
            body=storage.to_markdown(
                str(((page.get("body") or {}).get("storage") or {}).get("value") or "")
            ),
            author=author,
            updated=str(version.get("createdAt") or ""),
            version=version.get("number"),
            labels=tuple(
                str(label.get("name")) for label in (page.get("labels") or {}).get("results") or ()
            ),
        )

    async def _data_center(self, page_id: str | None, space: str | None, title: str | None) -> Page:
        if page_id is not None:
            what = f"Confluence page {page_id}"
            page = await self.http.get_json(
                f"/rest/api/content/{page_id}", params={"expand": EXPAND}, what=what
            )
        else:
            what = f"Confluence page {title!r} in space {space}"
            found = await self.http.get_json(
                "/rest/api/content",
                params={"spaceKey": space, "title": title, "expand": EXPAND, "type": "page"},
                what=what,
            )
            results = found.get("results") or []
            if not results:
                raise NotFound(f"{what} was not found on {self.http.host.label}")
            page = results[0]
        return _dc_page(page, self.http.host.label, self.http.host.web)


def _dc_page(page: Any, host: str, web: str) -> Page:
    links = page.get("_links") or {}
    version = page.get("version") or {}
    space = page.get("space") or {}
    labels = ((page.get("metadata") or {}).get("labels") or {}).get("results") or ()
    return Page(
        id=str(page.get("id") or ""),
        host=host,
        url=str(links.get("base") or web) + str(links.get("webui") or ""),
        title=str(page.get("title") or ""),
        space=str(space.get("name") or space.get("key") or ""),
        breadcrumbs=tuple(str(a.get("title") or "") for a in page.get("ancestors") or ()),
        body=storage.to_markdown(
            str(((page.get("body") or {}).get("storage") or {}).get("value") or "")
        ),
        author=str((version.get("by") or {}).get("displayName") or ""),
        updated=str(version.get("when") or ""),
        version=version.get("number"),
        labels=tuple(str(label.get("name")) for label in labels),
    )
