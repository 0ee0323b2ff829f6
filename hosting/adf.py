"""Atlassian Document Format (Jira Cloud's descriptions and comments) to Markdown.

ADF is a JSON tree: ``{"type": "doc", "content": [...]}`` of block nodes (paragraph,
heading, lists, codeBlock, blockquote, panel, table, rule, expand, taskList, mediaSingle)
holding inline nodes (text with marks, hardBreak, mention, emoji, inlineCard, status,
date). Unknown nodes keep their text, so nothing the author wrote is silently lost.
"""

from __future__ import annotations

import datetime
from typing import Any

_PANEL = {"info": "Info", "note": "Note", "warning": "Warning", "error": "Error", "success": "Tip"}


def to_markdown(doc: Any) -> str:
    if isinstance(doc, str):
        return doc  # API v2 (Data Center) sends wiki markup as a string
    if not isinstance(doc, dict):
        return ""
    return _blocks(doc.get("content") or []).strip()


def _blocks(nodes: list[Any], indent: str = "") -> str:
    out = [_block(n, indent) for n in nodes if isinstance(n, dict)]
    return "\n\n".join(part for part in out if part.strip())


def _block(node: dict[str, Any], indent: str) -> str:
    kind = node.get("type")
    content = node.get("content") or []
    attrs = node.get("attrs") or {}
    if kind == "paragraph":
        return indent + _inline(content).replace("\n", "\n" + indent)
    if kind == "heading":
        level = min(max(int(attrs.get("level") or 1), 1), 6)
        return "#" * level + " " + _inline(content)
    if kind in ("bulletList", "orderedList", "taskList"):
        return _list(node, indent)
    if kind == "codeBlock":
        text = "".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
        from hosting.markdown import fence

        return fence(text, str(attrs.get("language") or ""))
    if kind == "blockquote":
        inner = _blocks(content)
        return "\n".join("> " + line if line else ">" for line in inner.splitlines())
    if kind == "panel":
        title = _PANEL.get(str(attrs.get("panelType")), "Note")
        inner = _blocks(content)
        return "\n".join(
            "> " + line if line else ">" for line in f"**{title}:** {inner}".splitlines()
        )
    if kind == "rule":
        return "---"
    if kind in ("expand", "nestedExpand"):
        title = attrs.get("title") or "Details"
        return f"**{title}**\n\n{_blocks(content)}"
    if kind == "table":
        return _table(content)
    if kind in ("mediaSingle", "mediaGroup"):
        names = [
            str((m.get("attrs") or {}).get("alt") or (m.get("attrs") or {}).get("id") or "file")
            for m in content
            if isinstance(m, dict)
        ]
        return " ".join(f"[attachment: {name}]" for name in names)
    if kind in ("blockCard", "embedCard"):
        return str(attrs.get("url") or "")
    if kind == "decisionList":
        return "\n".join(f"- Decision: {_inline(d.get('content') or [])}" for d in content)
    if kind == "text" or kind in _INLINE:
        return _inline([node])
    return _blocks(content, indent) if content else ""


def _list(node: dict[str, Any], indent: str) -> str:
    kind = node.get("type")
    start = int((node.get("attrs") or {}).get("order") or 1)
    lines: list[str] = []
    for number, item in enumerate(node.get("content") or [], start):
        if not isinstance(item, dict):
            continue
        if kind == "orderedList":
            marker = f"{number}. "
        elif kind == "taskList":
            done = (item.get("attrs") or {}).get("state") == "DONE"
            marker = "- [x] " if done else "- [ ] "
        else:
            marker = "- "
        children = item.get("content") or []
        if item.get("type") == "taskItem":
            lines.append(indent + marker + _inline(children))
            continue
        first, *rest = children or [{}]
        head = _inline(first.get("content") or []) if first.get("type") == "paragraph" else ""
        nested = rest if head or first.get("type") == "paragraph" else children
        lines.append(indent + marker + head)
        # Nested under the item's text: as deep as its marker ("1. " needs 3 spaces).
        sub = _blocks(nested, indent + " " * (len(marker) if kind == "orderedList" else 2))
        if sub:
            lines.append(sub)
    return "\n".join(lines)


def _table(rows: list[Any]) -> str:
    grid: list[list[str]] = []
    for row in rows:
        if isinstance(row, dict):
            cells = [
                _blocks(cell.get("content") or []).replace("\n", " ").replace("|", "\\|")
                for cell in row.get("content") or []
                if isinstance(cell, dict)
            ]
            grid.append(cells)
    if not grid:
        return ""
    width = max(len(r) for r in grid)
    grid = [r + [""] * (width - len(r)) for r in grid]
    lines = ["| " + " | ".join(grid[0]) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join(r) + " |" for r in grid[1:]]
    return "\n".join(lines)


_INLINE = {"hardBreak", "mention", "emoji", "inlineCard", "status", "date", "placeholder"}


def _inline(nodes: list[Any]) -> str:
    parts: list[str] = []
    for node in nodes:
        if not isinstance(node, dict):
            continue
        kind = node.get("type")
        attrs = node.get("attrs") or {}
        if kind == "text":
            parts.append(_marked(str(node.get("text", "")), node.get("marks") or []))
        elif kind == "hardBreak":
            parts.append("\n")
        elif kind == "mention":
            parts.append("@" + str(attrs.get("text") or attrs.get("id") or "someone").lstrip("@"))
        elif kind == "emoji":
            parts.append(str(attrs.get("text") or attrs.get("shortName") or ""))
        elif kind == "inlineCard":
            parts.append(str(attrs.get("url") or ""))
        elif kind == "status":
            parts.append(f"[{attrs.get('text', '')}]")
        elif kind == "date":
            parts.append(_date(attrs.get("timestamp")))
        elif node.get("content"):
            parts.append(_inline(node["content"]))
    return "".join(parts)


def _marked(text: str, marks: list[Any]) -> str:
    link = None
    for mark in marks:
        kind = mark.get("type") if isinstance(mark, dict) else None
        if kind == "code":
            text = f"`{text}`"
        elif kind == "strong":
            text = f"**{text}**"
        elif kind == "em":
            text = f"*{text}*"
        elif kind == "strike":
            text = f"~~{text}~~"
        elif kind == "link":
            link = (mark.get("attrs") or {}).get("href")
    return f"[{text}]({link})" if link else text


def _date(value: Any) -> str:
    try:
        stamp = int(value) / 1000
    except (TypeError, ValueError):
        return str(value or "")
    return datetime.datetime.fromtimestamp(stamp, datetime.UTC).strftime("%Y-%m-%d")
