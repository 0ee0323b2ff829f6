"""Confluence storage format (XHTML with ``ac:`` macros) to Markdown.

Handles what pages are made of: headings, paragraphs, lists and task lists, tables, links
(``<a>`` and ``<ac:link>`` to pages and attachments), images, code (``<pre>``, ``<code>``
and the ``code``/``noformat`` macros with their CDATA bodies), panels (info, note,
warning, tip), expand sections and blockquotes. An unknown macro keeps its body's text and
says which macro it was, so nothing is silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_VOID = frozenset(
    {
        "br",
        "hr",
        "img",
        "col",
        "ri:page",
        "ri:attachment",
        "ri:url",
        "ri:user",
        "ri:space",
        "ri:blog-post",
        "ac:parameter-void",
    }
)


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[_Node | str] = field(default_factory=list)


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("root")
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(_Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)

    def unknown_decl(self, data: str) -> None:
        if data.startswith("CDATA["):
            self.stack[-1].children.append(data[len("CDATA[") :])


def to_markdown(storage: str) -> str:
    builder = _TreeBuilder()
    builder.feed(storage)
    builder.close()
    text = _blocks(builder.root.children)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _text(node: _Node | str) -> str:
    if isinstance(node, str):
        return node
    return "".join(_text(c) for c in node.children)


def _param(node: _Node, name: str) -> str:
    for child in node.children:
        if (
            isinstance(child, _Node)
            and child.tag == "ac:parameter"
            and child.attrs.get("ac:name") == name
        ):
            return _text(child).strip()
    return ""


def _child(node: _Node, tag: str) -> _Node | None:
    return next((c for c in node.children if isinstance(c, _Node) and c.tag == tag), None)


_BLOCK = frozenset(
    {
        "p",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "table",
        "pre",
        "blockquote",
        "hr",
        "ac:structured-macro",
        "ac:task-list",
        "ac:layout",
        "ac:layout-section",
        "ac:layout-cell",
    }
)


def _blocks(children: list[_Node | str]) -> str:
    out: list[str] = []
    inline: list[_Node | str] = []

    def flush() -> None:
        text = _inline(inline).strip()
        if text:
            out.append(text)
        inline.clear()

    for child in children:
        if isinstance(child, _Node) and child.tag in _BLOCK:
            flush()
            block = _block(child)
            if block.strip():
                out.append(block)
        else:
            inline.append(child)
    flush()
    return "\n\n".join(out)


def _block(node: _Node) -> str:
    tag = node.tag
    if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
        return "#" * int(tag[1]) + " " + _inline(node.children).strip()
    if tag in ("p", "div", "ac:layout", "ac:layout-section", "ac:layout-cell"):
        return _blocks(node.children)
    if tag in ("ul", "ol"):
        return _list(node, "")
    if tag == "table":
        return _table(node)
    if tag == "pre":
        from hosting.markdown import fence

        return fence(_text(node))
    if tag == "blockquote":
        return _quote(_blocks(node.children))
    if tag == "hr":
        return "---"
    if tag == "ac:task-list":
        return _tasks(node)
    if tag == "ac:structured-macro":
        return _macro(node)
    return _blocks(node.children)


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.splitlines())


def _macro(node: _Node) -> str:
    name = node.attrs.get("ac:name", "")
    body = _child(node, "ac:plain-text-body")
    rich = _child(node, "ac:rich-text-body")
    if name in ("code", "noformat"):
        from hosting.markdown import fence

        return fence(_text(body) if body else "", _param(node, "language"))
    if name in ("info", "note", "warning", "tip", "panel"):
        title = _param(node, "title")
        label = name.capitalize() + (f" ({title})" if title else "")
        return _quote(f"**{label}:** " + (_blocks(rich.children) if rich else ""))
    if name == "expand":
        return f"**{_param(node, 'title') or 'Details'}**\n\n" + (
            _blocks(rich.children) if rich else ""
        )
    if name in ("toc", "children", "pagetree", "recently-updated", "contentbylabel"):
        return ""  # generated navigation: nothing of the author's
    if name == "status":
        return f"[{_param(node, 'title')}]"
    if name == "jira":
        return f"[Jira: {_param(node, 'key') or _param(node, 'jqlQuery')}]"
    inner = _blocks(rich.children) if rich else (_text(body) if body else "")
    return f"[{name} macro]" + (f"\n\n{inner}" if inner.strip() else "")


def _list(node: _Node, indent: str) -> str:
    lines: list[str] = []
    number = 1
    for child in node.children:
        if not (isinstance(child, _Node) and child.tag == "li"):
            continue
        marker = f"{number}. " if node.tag == "ol" else "- "
        number += 1
        inline = [c for c in child.children if not (isinstance(c, _Node) and c.tag in ("ul", "ol"))]
        lines.append(indent + marker + _inline(inline).strip())
        for sub in child.children:
            if isinstance(sub, _Node) and sub.tag in ("ul", "ol"):
                lines.append(_list(sub, indent + " " * len(marker)))  # "1. " needs 3
    return "\n".join(lines)


def _tasks(node: _Node) -> str:
    lines = []
    for task in node.children:
        if isinstance(task, _Node) and task.tag == "ac:task":
            status = _child(task, "ac:task-status")
            body = _child(task, "ac:task-body")
            done = status is not None and _text(status).strip() == "complete"
            lines.append(
                ("- [x] " if done else "- [ ] ") + (_inline(body.children).strip() if body else "")
            )
    return "\n".join(lines)


def _table(node: _Node) -> str:
    rows: list[list[str]] = []

    def walk(n: _Node) -> None:
        for child in n.children:
            if not isinstance(child, _Node):
                continue
            if child.tag == "tr":
                rows.append(
                    [
                        _blocks(c.children).replace("\n", " ").replace("|", "\\|").strip()
                        for c in child.children
                        if isinstance(c, _Node) and c.tag in ("td", "th")
                    ]
                )
            elif child.tag in ("tbody", "thead", "tfoot"):
                walk(child)

    walk(node)
    if not rows:
        return ""
    width = max(len(r) for r in rows) or 1
    rows = [r + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def _inline(children: list[_Node | str]) -> str:
    parts: list[str] = []
    for child in children:
        if isinstance(child, str):
            parts.append(re.sub(r"\s+", " ", child))
            continue
        tag = child.tag
        inner = _inline(child.children)
        if tag in ("strong", "b"):
            parts.append(f"**{inner.strip()}**" if inner.strip() else "")
        elif tag in ("em", "i"):
            parts.append(f"*{inner.strip()}*" if inner.strip() else "")
        elif tag in ("s", "del"):
            parts.append(f"~~{inner}~~")
        elif tag == "code":
            parts.append(f"`{_text(child)}`")
        elif tag == "br":
            parts.append("\n")
        elif tag == "a":
            href = child.attrs.get("href", "")
            parts.append(f"[{inner.strip() or href}]({href})" if href else inner)
        elif tag == "ac:link":
            parts.append(_ac_link(child))
        elif tag == "ac:image":
            target = _child(child, "ri:attachment") or _child(child, "ri:url")
            name = (
                (target.attrs.get("ri:filename") or target.attrs.get("ri:value")) if target else ""
            )
            parts.append(f"[image: {name or 'image'}]")
        elif tag == "ac:emoticon":
            parts.append(
                child.attrs.get("ac:emoji-fallback") or f":{child.attrs.get('ac:name', '')}:"
            )
        elif tag == "ac:structured-macro":
            parts.append(_macro(child))
        elif tag == "time":
            parts.append(child.attrs.get("datetime", ""))
        elif tag in _BLOCK:
            parts.append("\n\n" + _block(child) + "\n\n")
        else:
            parts.append(inner)
    return "".join(parts)


def _ac_link(node: _Node) -> str:
    page = _child(node, "ri:page")
    attachment = _child(node, "ri:attachment")
    user = _child(node, "ri:user")
    body = _child(node, "ac:plain-text-link-body") or _child(node, "ac:link-body")
    label = _text(body).strip() if body else ""
    if page is not None:
        title = page.attrs.get("ri:content-title", "")
        return (
            f"[{label or title}] (page: {title})"
            if label and label != title
            else f"[page: {title}]"
        )
    if attachment is not None:
        return f"[attachment: {attachment.attrs.get('ri:filename', '')}]"
    if user is not None:
        return "@" + (
            label or user.attrs.get("ri:username") or user.attrs.get("ri:account-id") or "user"
        )
    anchor = node.attrs.get("ac:anchor")
    return label or (f"#{anchor}" if anchor else "")
