"""The action catalogue, selections as lines, and the one-line step messages."""

from __future__ import annotations

from lsprotocol import types

from daemon.editor import actions
from daemon.solver.steps import call_message, call_target, step_message
from protocol import commands as cmd
from protocol import query as wire


def lsp_range(a: int, b: int, c: int, d: int) -> types.Range:
    return types.Range(types.Position(a, b), types.Position(c, d))


def titles(found: list[types.CodeAction | types.Command]) -> list[str]:
    return [a.title for a in found]


def test_a_linewise_selection_does_not_take_the_line_it_ends_at() -> None:
    def lines(a: int, b: int, c: int, d: int) -> tuple[int, int]:
        r = cmd.Range.model_validate(
            {"start": {"line": a, "character": b}, "end": {"line": c, "character": d}}
        )
        return actions.lines_of(r)

    assert lines(0, 0, 2, 0) == (1, 2)
    assert lines(0, 4, 2, 3) == (1, 3)
    assert lines(5, 0, 5, 0) == (6, 6)


def test_only_filters_by_kind_prefix_and_kindless_explain_needs_no_filter() -> None:
    def listed(only: list[str] | None, can_edit: bool = True) -> list[str]:
        diagnostic = types.Diagnostic(range=lsp_range(1, 0, 1, 4), message="boom")
        return titles(
            actions.code_actions(
                "file:///w/a.py",
                lsp_range(0, 0, 3, 0),
                [diagnostic],
                only=only,
                can_edit=can_edit,
                literals=True,
            )
        )

    assert listed(None)[0] == "DeputyDev: Explain" and len(listed(None)) == 6
    assert listed(["refactor"]) == ["DeputyDev: Add docstring", "DeputyDev: Refactor..."]
    assert listed(["refactor.rewrite"]) == ["DeputyDev: Add docstring"]
    assert listed(["source"]) == ["DeputyDev: Write tests"]
    assert listed(["quickfix"]) == ["DeputyDev: Fix", 'DeputyDev: Fix "boom"']
    assert listed(None, can_edit=False) == ["DeputyDev: Explain"]


def test_a_long_diagnostic_is_cut_in_the_title() -> None:
    diagnostic = types.Diagnostic(range=lsp_range(0, 0, 0, 1), message="word " * 40)
    [*_, quick] = actions.code_actions(
        "file:///w/a.py",
        lsp_range(0, 0, 0, 1),
        [diagnostic],
        only=None,
        can_edit=True,
        literals=True,
    )
    assert len(quick.title) < 100 and quick.title.endswith('…"')


def test_step_lines_name_what_each_tool_is_about() -> None:
    assert call_target("read_file", {"path": "src/app.py"}) == "src/app.py"
    assert call_target("read_file", {"path": "a.py", "startLine": 3, "endLine": 9}) == "a.py:3-9"
    assert call_message("code_search", {"query": "retry back-off"}) == (
        'searching the code for "retry back-off"'
    )
    assert call_message("git", {"command": "diff"}) == "running git diff"
    assert call_message("replace_in_file", {"path": "a.py"}) == "editing a.py"
    assert call_message("mystery_tool", {}) == "running mystery_tool"
    assert step_message(wire.TextChunk(text="x")) is None
    edit = wire.FileEdit(path="a.py", status="applied", added=2, removed=1)
    assert step_message(edit) == "edited a.py (+2 -1)"
