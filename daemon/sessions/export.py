"""A session as Markdown (to read or paste) or JSON (to process), for the CLI."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from daemon.sessions.store import Session, Turn


def to_json(session: Session, turns: Sequence[Turn]) -> str:
    data: dict[str, Any] = {
        **session.payload(),
        "turns": [{**t.payload(), "messages": [m.payload() for m in t.messages]} for t in turns],
    }
    return json.dumps(data, indent=2, ensure_ascii=False)


def _fence(text: str) -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}\n{text}\n{ticks}"


def _image(image: Any) -> str:
    """An attached image as a line: its type and size (a synced copy has only these)."""
    if not isinstance(image, dict):
        return "unknown"
    data = image.get("data")
    size = len(data) * 3 // 4 if isinstance(data, str) else int(image.get("bytes") or 0)
    return f"{image.get('media_type') or 'unknown'}, {size / 1024:.0f} KB"


def to_markdown(session: Session, turns: Sequence[Turn]) -> str:
    out = [
        f"# {session.title}",
        "",
        f"- Session: `{session.id}`",
        f"- Workspace: `{session.workspace}`",
        f"- Created: {session.created_at}",
        "",
    ]
    for turn in turns:
        status = "" if turn.status == "complete" else f" ({turn.status})"
        out += [f"## {turn.seq}. {turn.query.splitlines()[0][:80]}{status}", ""]
        for message in turn.messages:
            content = message.content
            if message.role == "user":
                out += ["**You:**", "", content.get("text", ""), ""]
                out += [f"*(image attached: {_image(i)})*" for i in content.get("images", ())]
                if content.get("images"):
                    out.append("")
            elif message.role == "assistant":
                model = f" ({content['model']})" if content.get("model") else ""
                if content.get("text"):
                    out += [f"**DeputyDev{model}:**", "", content["text"], ""]
                for call in content.get("tool_calls", []):
                    args = json.dumps(call.get("arguments", {}), ensure_ascii=False)
                    out += [f"> tool `{call['name']}` {args}", ""]
            else:
                for result in content.get("results", []):
                    label = "error" if result.get("is_error") else "result"
                    out += [f"<details><summary>{result['name']} {label}</summary>", ""]
                    out += [_fence(result.get("content", "")), "", "</details>", ""]
        usage = turn.usage
        cost = f", ${turn.cost_usd:.4f}" if turn.cost_usd else ""
        out += [
            f"_{turn.model or 'unknown model'}: {usage.get('input_tokens', 0)} in /"
            f" {usage.get('output_tokens', 0)} out{cost}_",
            "",
        ]
    return "\n".join(out).rstrip() + "\n"
