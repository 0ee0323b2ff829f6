"""Jira's REST API: an issue with its fields and comments, and JQL search.

Cloud sites (``*.atlassian.net``) speak API v3, whose rich text is Atlassian Document
Format (converted by ``hosting.adf``) and whose search is ``/rest/api/3/search/jql`` with
page tokens; Data Center speaks API v2, whose rich text is wiki markup (converted here,
lightly) and whose search pages by ``startAt``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from hosting import adf
from hosting.errors import AuthError, BadRequest, BadResponse, NotFound
from hosting.http import HostClient
from hosting.models import Comment, JiraIssue, SearchHit

log = logging.getLogger(__name__)

FIELDS = (
    "summary,status,issuetype,priority,assignee,reporter,labels,components,fixVersions,"
    "created,updated,resolution,parent,subtasks,issuelinks,description,comment,duedate"
)
# Every field but the bulky ones nobody reads in a prompt: the custom fields a team relies
# on (story points, sprint, epic link, acceptance criteria) have site-specific ids.
ISSUE_FIELDS = "*all,-worklog,-attachment,-watches,-votes,-timetracking,-lastViewed"
# Custom fields that are bookkeeping, not content (Jira Software's rank, the
# development panel's summary blob, Service Management's chart helpers).
_NOISE = re.compile(r"^(rank|development|\[chart\].*|team name|vulnerability|design)$", re.I)
MAX_CUSTOM = 25
_BLOB = re.compile(r"^\s*\{(?:\}|\w+=)")  # "{}", "{pullrequest={dataType=..."; not "{code}"
_SPRINT = re.compile(r"[\[,](state|name)=([^,\]]*)")


def _name(value: Any, key: str = "name") -> str:
    if isinstance(value, dict):
        return str(value.get(key) or value.get("displayName") or value.get("value") or "")
    return str(value or "")


class Jira:
    def __init__(self, http: HostClient, *, max_comments: int = 100) -> None:
        self.http = http
        self.max_comments = max_comments
        self.api = "/rest/api/3" if http.host.cloud else "/rest/api/2"
        self._field_names: dict[str, str] | None = None

    def _text(self, value: Any) -> str:
        return (
            adf.to_markdown(value) if self.http.host.cloud else wiki_to_markdown(str(value or ""))
        )

    async def issue(self, key: str) -> JiraIssue:
        what = f"Jira issue {key}"
        data = await self.http.get_json(
            f"{self.api}/issue/{key}",
            params={"fields": ISSUE_FIELDS, "expand": "names"},
            what=what,
        )
        fields = data.get("fields") or {}
        custom, sections = await self._custom_fields(fields, data.get("names"))
        block = fields.get("comment") or {}
        comments = list(block.get("comments") or [])
        total = int(block.get("total") or len(comments))
        if total > len(comments) or len(comments) > self.max_comments:
            start = max(total - self.max_comments, 0)
            page = await self.http.get_json(
                f"{self.api}/issue/{key}/comment",
                params={"startAt": start, "maxResults": self.max_comments, "orderBy": "created"},
                what=what,
            )
            comments = list(page.get("comments") or [])
        comments = comments[-self.max_comments :]
        site = self.http.host.web
        parent = fields.get("parent")
        shown = [
            ("Type", _name(fields.get("issuetype"))),
            ("Status", _name(fields.get("status"))),
            ("Resolution", _name(fields.get("resolution"))),
            ("Priority", _name(fields.get("priority"))),
            ("Assignee", _name(fields.get("assignee"), "displayName") or "Unassigned"),
            ("Reporter", _name(fields.get("reporter"), "displayName")),
            ("Components", ", ".join(_name(c) for c in fields.get("components") or ())),
            ("Fix versions", ", ".join(_name(v) for v in fields.get("fixVersions") or ())),
            (
                "Parent",
                f"{parent.get('key')}: {(parent.get('fields') or {}).get('summary', '')}"
                if isinstance(parent, dict)
                else "",
            ),
            ("Due", str(fields.get("duedate") or "")),
            ("Created", str(fields.get("created") or "")[:16].replace("T", " ")),
            ("Updated", str(fields.get("updated") or "")[:16].replace("T", " ")),
            *custom,
        ]
        links = []
        for link in fields.get("issuelinks") or ():
            kind = link.get("type") or {}
            if "outwardIssue" in link:
                other, verb = link["outwardIssue"], kind.get("outward", "relates to")
            else:
                other, verb = link.get("inwardIssue") or {}, kind.get("inward", "relates to")
            summary = (other.get("fields") or {}).get("summary", "")
            links.append(f"{verb} {other.get('key')}: {summary}")
        subtasks = [
            f"{s.get('key')} [{_name((s.get('fields') or {}).get('status'))}]: "
            f"{(s.get('fields') or {}).get('summary', '')}"
            for s in fields.get("subtasks") or ()
        ]
        return JiraIssue(
            key=str(data.get("key") or key),
            host=self.http.host.label,
            url=f"{site}/browse/{data.get('key') or key}",
            summary=str(fields.get("summary") or ""),
            fields=tuple((n, v) for n, v in shown if v),
            description=self._text(fields.get("description")),
            labels=tuple(str(x) for x in fields.get("labels") or ()),
            comments=tuple(
                Comment(
                    _name(c.get("author"), "displayName") or "someone",
                    str(c.get("created") or ""),
                    self._text(c.get("body")),
                )
                for c in comments
            ),
            omitted_comments=max(total - len(comments), 0),
            links=tuple(links),
            subtasks=tuple(subtasks),
            sections=tuple(sections),
        )

    async def _names(self, given: Any) -> dict[str, str]:
        """Field id to its name: the issue's ``expand=names`` map, else ``/field`` once."""
        if isinstance(given, dict) and given:
            return {str(k): str(v) for k, v in given.items()}
        if self._field_names is None:
            listing = await self.http.get_json(f"{self.api}/field", what="Jira's field list")
            self._field_names = {
                str(f.get("id")): str(f.get("name") or f.get("id"))
                for f in (listing if isinstance(listing, list) else [])
                if isinstance(f, dict) and f.get("id")
            }
        return self._field_names

    async def _custom_fields(
        self, fields: dict[str, Any], names: Any
    ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """Custom fields by their site's names: short values as fields, rich text as sections."""
        present = {k: v for k, v in fields.items() if k.startswith("customfield_") and _present(v)}
        if not present:
            return [], []
        try:
            known = await self._names(names)
        except (
            AuthError,
            BadRequest,
            BadResponse,
            NotFound,
        ) as exc:  # a field list we cannot read only costs the names
            log.info("Jira field names unavailable: %s", exc)
            known = {}
        short: list[tuple[str, str]] = []
        long: list[tuple[str, str]] = []
        for field_id in sorted(present, key=lambda k: (known.get(k, "~" + k)).lower()):
            name = known.get(field_id, field_id)
            if _NOISE.match(name.strip()):
                continue
            text = self._custom_value(present[field_id]).strip()
            if not text:
                continue
            if "\n" in text or len(text) > 200:
                long.append((name, text))
            else:
                short.append((name, text))
            if len(short) + len(long) >= MAX_CUSTOM:
                break
        return short, long

    def _custom_value(self, value: Any) -> str:
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, float):
            return f"{value:g}"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, str):
            if "greenhopper" in value and "[" in value:  # Data Center's Sprint toString
                return _sprint_string(value)
            if _BLOB.match(value):
                return ""  # an opaque summary blob (the development panel's)
            return value if self.http.host.cloud else wiki_to_markdown(value)
        if isinstance(value, list):
            parts = [self._custom_value(v) for v in value]
            return ", ".join(p for p in parts if p and "\n" not in p)
        if isinstance(value, dict):
            if value.get("type") == "doc":
                return adf.to_markdown(value)
            if "boardId" in value or ("state" in value and "name" in value and "id" in value):
                state = str(value.get("state") or "").lower()
                return f"{value.get('name')} ({state})" if state else str(value.get("name"))
            label = _name(value) or str(value.get("key") or "")
            child = value.get("child")
            if isinstance(child, dict) and _name(child):
                label = f"{label} > {_name(child)}"
            return label
        return ""

    async def search(self, jql: str, limit: int) -> tuple[list[SearchHit], int | None]:
        fields = "summary,status,issuetype,assignee,updated,labels,priority"
        what = f"the JQL search {jql!r}"
        if self.http.host.cloud:
            body = await self.http.get_json(
                f"{self.api}/search/jql",
                params={"jql": jql, "maxResults": limit, "fields": fields},
                what=what,
            )
            total = None
        else:
            body = await self.http.get_json(
                f"{self.api}/search",
                params={"jql": jql, "maxResults": limit, "fields": fields},
                what=what,
            )
            total = body.get("total")
        hits = []
        for issue in (body.get("issues") or [])[:limit]:
            f = issue.get("fields") or {}
            extra = [_name(f.get("issuetype")), _name(f.get("priority"))]
            assignee = _name(f.get("assignee"), "displayName")
            if assignee:
                extra.append(f"assignee: {assignee}")
            hits.append(
                SearchHit(
                    ref=str(issue.get("key")),
                    title=str(f.get("summary") or ""),
                    state=_name(f.get("status")),
                    url=f"{self.http.host.web}/browse/{issue.get('key')}",
                    kind="Jira issue",
                    updated=str(f.get("updated") or ""),
                    extra=tuple(x for x in extra + [str(x) for x in f.get("labels") or ()] if x),
                )
            )
        return hits, total


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def _sprint_string(value: str) -> str:
    """``...sprint.Sprint@1a2b[id=1,rapidViewId=1,state=ACTIVE,name=Sprint 7,...]``."""
    parts = dict(_SPRINT.findall(value))
    name, state = parts.get("name", ""), parts.get("state", "")
    return f"{name} ({state.lower()})" if name and state else name


_WIKI_CODE = re.compile(r"\{(code|noformat)(?::([^}]*))?\}(.*?)\{\1\}", re.DOTALL)


def wiki_to_markdown(text: str) -> str:
    """Jira wiki markup (Data Center) to Markdown: headings, emphasis, code, links, lists."""
    blocks: list[str] = []

    def keep(match: re.Match[str]) -> str:
        from hosting.markdown import fence

        params = match.group(2) or ""
        language = params.split("|")[0] if "=" not in params.split("|")[0] else ""
        blocks.append(fence(match.group(3).strip("\n"), language))
        return f"\x00{len(blocks) - 1}\x00"

    text = _WIKI_CODE.sub(keep, text.replace("\r\n", "\n"))
    lines = []
    for line in text.split("\n"):
        heading = re.match(r"^h([1-6])\.\s+(.*)$", line)
        bullet = re.match(r"^([*#-]+)\s+(.*)$", line)
        if heading:
            line = "#" * int(heading.group(1)) + " " + heading.group(2)
        elif bullet:
            depth = len(bullet.group(1)) - 1
            marker = "1." if bullet.group(1)[-1] == "#" else "-"
            line = "  " * depth + f"{marker} {bullet.group(2)}"
        if line.startswith("bq. "):
            line = "> " + line[4:]
        line = re.sub(r"\{\{(.+?)\}\}", r"`\1`", line)
        line = re.sub(r"(?<![\w*])\*(\S[^*]*?)\*(?![\w*])", r"**\1**", line)
        line = re.sub(r"(?<![\w_])_(\S[^_]*?)_(?![\w_])", r"*\1*", line)
        line = re.sub(r"\[([^|\]]+)\|([^\]]+)\]", r"[\1](\2)", line)
        lines.append(line)
    out = "\n".join(lines)
    return re.sub(r"\x00(\d+)\x00", lambda m: blocks[int(m.group(1))], out).strip()
