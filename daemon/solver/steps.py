"""One line per step of a turn, for people: what a tool call is about, and what is going on.

``call_target`` is the short object of a tool call (``src/app.py``, ``"retry back-off"``,
``git diff``), sent as the ``summary`` of each ``toolCall`` event so that every client shows
the same line without knowing the tools' arguments. ``step_message`` turns the turn's
events into the one-line messages of work-done progress ("searching the code for
\"retry\"", "reading src/app.py", "editing src/app.py"); events that say nothing new to a
person (text deltas, usage) give None.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from protocol import query as wire

_MAX = 60


def _short(value: Any) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= _MAX else text[: _MAX - 1] + "…"


def call_target(name: str, arguments: Mapping[str, Any]) -> str:
    """What the call is about, in a few words ("" when its arguments say nothing useful)."""
    match name:
        case "code_search" | "file_path_search":
            return f'"{_short(arguments.get("query", ""))}"'
        case "grep_search":
            path = arguments.get("path") or "."
            where = "" if path == "." else f" in {_short(path)}"
            return f'"{_short(arguments.get("pattern", ""))}"{where}'
        case "symbol_search":
            return _short(arguments.get("name", ""))
        case "read_file":
            path = _short(arguments.get("path", ""))
            start, end = arguments.get("startLine"), arguments.get("endLine")
            return f"{path}:{start}-{end or ''}" if start else path
        case "list_directory" | "replace_in_file" | "write_file":
            return _short(arguments.get("path", "."))
        case "git":
            path = arguments.get("path") or "."
            return f"git {arguments.get('command', '')}" + ("" if path == "." else f" {path}")
        case "execute_command":
            return f"`{_short(arguments.get('command', ''))}`"
        case "ask_user":
            return _short(arguments.get("question", ""))
    return ""


_VERBS = {
    "code_search": "searching the code for",
    "file_path_search": "looking for files named",
    "grep_search": "searching for",
    "symbol_search": "looking up",
    "read_file": "reading",
    "list_directory": "listing",
    "replace_in_file": "editing",
    "write_file": "writing",
    "git": "running",
    "execute_command": "running",
    "ask_user": "asking you:",
}


def call_message(name: str, arguments: Mapping[str, Any]) -> str:
    target = call_target(name, arguments)
    verb = _VERBS.get(name, f"running {name}")
    return f"{verb} {target}".strip()


def step_message(event: Any) -> str | None:
    """The progress line for one event of a turn, or None."""
    match event:
        case wire.AgentChosen(agent=agent, model=model):
            return f"{agent} agent, {model}"
        case wire.StepStarted(step=step):
            return "thinking" if step == 1 else f"thinking (step {step})"
        case wire.TextStarted():
            return "writing the answer"
        case wire.ToolCallStarted(name=name, arguments=arguments):
            return call_message(name, arguments)
        case wire.FileEdit(path=path, status=status, added=added, removed=removed):
            return {
                "proposed": f"editing {path}",
                "applied": f"edited {path} (+{added} -{removed})",
                "written": f"wrote {path} (+{added} -{removed})",
                "rejected": f"{path}: the edit was declined",
            }[status]
        case wire.ModelSwitched(from_model=old, to_model=new):
            return f"{old} is unavailable; {new} answers"
    return None
