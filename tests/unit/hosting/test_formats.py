"""Atlassian Document Format and Confluence storage format to Markdown: what pages and
issues are made of, and nothing the author wrote dropped silently."""

from __future__ import annotations

from typing import Any

from hosting import adf, storage
from hosting.jira import wiki_to_markdown


def test_adf_blocks_and_marks() -> None:
    doc = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "panel",
                "attrs": {"panelType": "warning"},
                "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": "Careful"}]}
                ],
            },
            {
                "type": "bulletList",
                "content": [
                    {
                        "type": "listItem",
                        "content": [
                            {"type": "paragraph", "content": [{"type": "text", "text": "outer"}]},
                            {
                                "type": "bulletList",
                                "content": [
                                    {
                                        "type": "listItem",
                                        "content": [
                                            {
                                                "type": "paragraph",
                                                "content": [{"type": "text", "text": "inner"}],
                                            }
                                        ],
                                    }
                                ],
                            },
                        ],
                    },
                ],
            },
            {
                "type": "taskList",
                "content": [
                    {
                        "type": "taskItem",
                        "attrs": {"state": "DONE"},
                        "content": [{"type": "text", "text": "shipped"}],
                    },
                    {
                        "type": "taskItem",
                        "attrs": {"state": "TODO"},
                        "content": [{"type": "text", "text": "announce"}],
                    },
                ],
            },
            {
                "type": "table",
                "content": [
                    {
                        "type": "tableRow",
                        "content": [
                            {
                                "type": "tableHeader",
                                "content": [
                                    {
                                        "type": "paragraph",
                                        "content": [{"type": "text", "text": "a|b"}],
                                    }
                                ],
                            },
                            {
                                "type": "tableHeader",
                                "content": [
                                    {
                                        "type": "paragraph",
                                        "content": [{"type": "text", "text": "c"}],
                                    }
                                ],
                            },
                        ],
                    },
                    {
                        "type": "tableRow",
                        "content": [
                            {
                                "type": "tableCell",
                                "content": [
                                    {
                                        "type": "paragraph",
                                        "content": [{"type": "text", "text": "1"}],
                                    }
                                ],
                            }
                        ],
                    },
                ],
            },
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "gone", "marks": [{"type": "strike"}]},
                    {"type": "hardBreak"},
                    {"type": "status", "attrs": {"text": "BLOCKED"}},
                    {"type": "text", "text": " "},
                    {"type": "inlineCard", "attrs": {"url": "https://x.test/1"}},
                    {"type": "unknownInline", "content": [{"type": "text", "text": " kept"}]},
                ],
            },
            {"type": "rule"},
        ],
    }
    assert adf.to_markdown(doc) == (
        "> **Warning:** Careful\n\n"
        "- outer\n  - inner\n\n"
        "- [x] shipped\n- [ ] announce\n\n"
        "| a\\|b | c |\n| --- | --- |\n| 1 |  |\n\n"
        "~~gone~~\n[BLOCKED] https://x.test/1 kept\n\n"
        "---"
    )
    assert adf.to_markdown(None) == "" and adf.to_markdown("wiki *text*") == "wiki *text*"


def test_storage_tasks_macros_and_links() -> None:
    page = (
        "<ac:task-list><ac:task><ac:task-status>complete</ac:task-status>"
        "<ac:task-body>migrate</ac:task-body></ac:task><ac:task><ac:task-status>incomplete"
        "</ac:task-status><ac:task-body>clean up</ac:task-body></ac:task></ac:task-list>"
        '<ac:structured-macro ac:name="toc" />'
        '<ac:structured-macro ac:name="gliffy"><ac:rich-text-body><p>diagram notes</p>'
        "</ac:rich-text-body></ac:structured-macro>"
        '<p>Ask <ac:link><ri:user ri:account-id="42" /></ac:link>, see '
        '<ac:link><ri:attachment ri:filename="plan.pdf" /></ac:link> and '
        '<ac:image><ri:attachment ri:filename="arch.png" /></ac:image>&nbsp;&amp; more.</p>'
        "<pre>  indented\n  code</pre><ol><li>one</li><li>two</li></ol>"
    )
    assert storage.to_markdown(page) == (
        "- [x] migrate\n- [ ] clean up\n\n"
        "[gliffy macro]\n\ndiagram notes\n\n"
        "Ask @42, see [attachment: plan.pdf] and [image: arch.png] & more.\n\n"
        "```\n  indented\n  code\n```\n\n"
        "1. one\n2. two"
    )


def test_jira_wiki_markup() -> None:
    text = "h1. Title\n* one\n** two\n# first\n[docs|https://d.test] and _soft_\nbq. quoted"
    assert wiki_to_markdown(text) == (
        "# Title\n- one\n  - two\n1. first\n[docs](https://d.test) and *soft*\n> quoted"
    )


def test_a_list_nested_in_a_numbered_item_is_indented_to_its_text() -> None:
    def item(text: str, *more: dict[str, Any]) -> dict[str, Any]:
        para = {"type": "paragraph", "content": [{"type": "text", "text": text}]}
        return {"type": "listItem", "content": [para, *more]}

    nested = {"type": "bulletList", "content": [item("nested")]}
    doc = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "orderedList", "content": [item("one", nested), item("two")]}],
    }
    assert adf.to_markdown(doc) == "1. one\n   - nested\n2. two"
    html = (
        "<ol><li>one</li><li>two<ol><li>two.a</li></ol></li></ol>"
        "<ul><li>a<ul><li>b</li></ul></li></ul>"
    )
    assert storage.to_markdown(html) == "1. one\n2. two\n   1. two.a\n\n- a\n  - b"
