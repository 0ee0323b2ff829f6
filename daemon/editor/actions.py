"""What DeputyDev offers at a selection: the code actions, and the query each one asks.

Listing is pure and instant (no model, no index, no disk): the actions carry a
``workspace/executeCommand`` command, and the work happens when the user picks one
(:mod:`daemon.editor.runner`). Actions that edit are left out when the client cannot apply
edits (and the daemon may not write directly), and when the document is outside every
workspace root, since tools only touch the workspace.

Kinds follow LSP's hierarchy so that ``context.only`` filters them: fixes are
``quickfix``, docstrings ``refactor.rewrite``, the free refactor ``refactor``, tests
``source`` (they land in another file); Explain changes nothing and has no kind, so
clients list it only when they ask for every action.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lsprotocol import types

from protocol import commands as cmd
from protocol.query import FocusItem

PREFIX = "DeputyDev: "


@dataclass(frozen=True, slots=True)
class Action:
    title: str
    command: str
    kind: str
    agent: str
    write_mode: bool
    prompt: str


EXPLAIN = Action(
    "Explain",
    cmd.EXPLAIN,
    types.CodeActionKind.Empty,
    "explainer",
    False,
    "Explain what this code does, how it fits into the rest of the workspace, and anything"
    " surprising or risky in it.",
)
FIX = Action(
    "Fix",
    cmd.FIX,
    types.CodeActionKind.QuickFix,
    "code_writer",
    True,
    "Find what is wrong in this code and fix it. Change only what the fix needs, in the"
    " file's own style.",
)
ADD_DOCSTRING = Action(
    "Add docstring",
    cmd.ADD_DOCSTRING,
    types.CodeActionKind.RefactorRewrite,
    "code_writer",
    True,
    "Add a docstring (or the language's documentation comment) to the function, class or"
    " module in this code, saying what it does, its parameters and what it returns, in the"
    " conventions the file already follows. Change nothing else.",
)
WRITE_TESTS = Action(
    "Write tests",
    cmd.WRITE_TESTS,
    types.CodeActionKind.Source,
    "test_writer",
    True,
    "Write tests for this code with the project's test framework, where the project keeps"
    " its tests: the usual case, the edge cases and the errors.",
)
REFACTOR = Action(
    "Refactor...",
    cmd.REFACTOR,
    types.CodeActionKind.Refactor,
    "code_writer",
    True,
    "Refactor this code: {instruction}. Keep its behaviour and its public names.",
)
ACTIONS = (EXPLAIN, FIX, ADD_DOCSTRING, WRITE_TESTS, REFACTOR)
BY_COMMAND = {a.command: a for a in ACTIONS}

# What "Refactor..." offers when the editor can show a choice (window/showMessageRequest).
REFACTORINGS = (
    "Simplify it",
    "Split it into smaller functions",
    "Give things clearer names",
    "Add type annotations",
    "Make it idiomatic for its language",
)
DEFAULT_REFACTORING = "make it simpler and easier to read"


def wanted(kind: str, only: Sequence[str] | None) -> bool:
    """LSP: ``only`` lists kinds, each matching itself and its sub-kinds (``refactor``
    matches ``refactor.rewrite``); an action with no kind matches no filter."""
    if not only:
        return True
    return bool(kind) and any(kind == o or kind.startswith(o + ".") for o in only)


def _diagnostic_title(diagnostic: types.Diagnostic) -> str:
    message = " ".join(diagnostic.message.split())
    if len(message) > 70:
        message = message[:69] + "…"
    return f'{PREFIX}Fix "{message}"'


def code_actions(
    uri: str,
    selection: types.Range,
    diagnostics: Sequence[types.Diagnostic],
    *,
    only: Sequence[str] | None,
    can_edit: bool,
    literals: bool,
) -> list[types.CodeAction | types.Command]:
    """The actions for a selection: one per action, then a quick fix per diagnostic.

    ``literals`` is the client's ``codeActionLiteralSupport``: without it, LSP says to
    answer plain commands.
    """
    argument = {"uri": uri, "range": _range(selection)}
    out: list[types.CodeAction | types.Command] = []

    def add(
        title: str,
        kind: str,
        command: str,
        args: Mapping[str, object],
        fixes: types.Diagnostic | None = None,
    ) -> None:
        if not wanted(kind, only):
            return
        call = types.Command(title=title, command=command, arguments=[args])
        if not literals:
            out.append(call)
            return
        out.append(
            types.CodeAction(
                title=title,
                kind=kind or None,
                command=call,
                diagnostics=[fixes] if fixes is not None else None,
            )
        )

    for action in ACTIONS:
        if action.write_mode and not can_edit:
            continue
        add(PREFIX + action.title, action.kind, action.command, argument)
    if can_edit:
        for diagnostic in diagnostics:
            add(
                _diagnostic_title(diagnostic),
                types.CodeActionKind.QuickFix,
                cmd.FIX,
                {
                    "uri": uri,
                    "range": _range(diagnostic.range),
                    "diagnostic": _diagnostic(diagnostic),
                },
                diagnostic,
            )
    return out


def _range(value: types.Range) -> dict[str, dict[str, int]]:
    return {
        "start": {"line": value.start.line, "character": value.start.character},
        "end": {"line": value.end.line, "character": value.end.character},
    }


def _diagnostic(diagnostic: types.Diagnostic) -> dict[str, object]:
    out: dict[str, object] = {"message": diagnostic.message, "range": _range(diagnostic.range)}
    if diagnostic.source:
        out["source"] = diagnostic.source
    if diagnostic.code is not None:
        out["code"] = diagnostic.code
    return out


def lines_of(selection: cmd.Range) -> tuple[int, int]:
    """1-based inclusive lines of an LSP range; a selection that ends at the start of a
    line (as linewise visual selections do) does not take that line."""
    first = selection.start.line + 1
    last = selection.end.line + 1
    if selection.end.character == 0 and selection.end.line > selection.start.line:
        last -= 1
    return first, max(first, last)


def prompt(action: Action, args: cmd.SelectionArgs, instruction: str | None, where: str) -> str:
    """The query an action asks, about the code at ``where`` (``app.py:10-20``)."""
    text = action.prompt.format(instruction=instruction or DEFAULT_REFACTORING)
    if args.diagnostic is not None:
        d = args.diagnostic
        source = f" ({d.source}{' ' + str(d.code) if d.code is not None else ''})"
        line = f" at line {d.range.start.line + 1}" if d.range is not None else ""
        text = (
            f"Fix this problem{line}, reported by the editor{source if d.source else ''}:"
            f" {d.message}\nChange only what the fix needs, in the file's own style."
        )
    return f"{text}\n\nThe code is {where} (in the focus below)."


def focus(path: str, first: int, last: int, text: str | None) -> FocusItem:
    """The selection as a snippet focus item: by path and lines when the file is in the
    workspace (the daemon reads the editor's buffer), else the text itself."""
    if text is not None:
        return FocusItem(kind="snippet", path=path, start_line=first, end_line=last, text=text)
    return FocusItem(kind="snippet", path=path, start_line=first, end_line=last)
