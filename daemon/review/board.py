"""The findings on show in the editor, kept on their lines as the files change.

Each finding is held with the text of its lines when it was placed (its anchor). After
every edit of a file its findings are looked for again in the new text: still where they
were, or moved (the nearest place where the anchor's lines appear, as when lines are
added above), or gone (the lines were edited or deleted: the finding is cleared). No edit
ranges are needed, so full and incremental document sync behave the same, and a quickfix
that applies a suggestion clears its own finding.

Pure: the review service turns :meth:`Board.diagnostics` into
``textDocument/publishDiagnostics`` and :meth:`Board.actions` into code actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types

from daemon.review.findings import Finding

SOURCE = "deputydev"
APPLY_COMMAND = "deputydev.applyFinding"
_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "info": types.DiagnosticSeverity.Information,
}


@dataclass(slots=True)
class Placed:
    finding: Finding
    start: int  # 0-based first line, where it is now
    anchor: list[str]  # its lines' text when placed

    @property
    def end(self) -> int:
        return self.start + len(self.anchor) - 1


def _find(lines: list[str], anchor: list[str], near: int) -> int | None:
    """Where ``anchor``'s lines appear in ``lines``, the nearest to ``near``; None: gone."""
    n = len(anchor)
    if near + n <= len(lines) and lines[near : near + n] == anchor:
        return near
    best: int | None = None
    for i in range(0, len(lines) - n + 1):
        if (
            lines[i] == anchor[0]
            and lines[i : i + n] == anchor
            and (best is None or abs(i - near) < abs(best - near))
        ):
            best = i
    return best


class Board:
    def __init__(self) -> None:
        self.files: dict[Path, list[Placed]] = {}

    def place(self, path: Path, findings: list[Finding], reviewed: str | None, now: str) -> None:
        """Put ``findings`` of ``path`` on show: anchored in the reviewed text, found in the
        text as it is now (a finding whose lines are gone already is not shown)."""
        base = (reviewed if reviewed is not None else now).splitlines()
        current = now.splitlines()
        placed = []
        for f in findings:
            anchor = base[f.start_line - 1 : f.end_line]
            if not anchor or len(anchor) != f.end_line - f.start_line + 1:
                continue
            where = _find(current, anchor, f.start_line - 1)
            if where is not None:
                placed.append(Placed(f, where, anchor))
        self.files[path] = placed

    def clear(self) -> list[Path]:
        paths = list(self.files)
        self.files = {}
        return paths

    def moved(self, path: Path, text: str) -> bool:
        """Follow an edit of ``path``; whether anything moved or was cleared."""
        placed = self.files.get(path)
        if not placed:
            return False
        lines = text.splitlines()
        kept: list[Placed] = []
        changed = False
        for p in placed:
            where = _find(lines, p.anchor, p.start)
            if where is None:
                changed = True
                continue
            if where != p.start:
                p.start, changed = where, True
            kept.append(p)
        self.files[path] = kept
        return changed

    def get(self, path: Path, finding_id: str) -> Placed | None:
        return next((p for p in self.files.get(path, []) if p.finding.id == finding_id), None)

    def diagnostics(self, path: Path, uri: str) -> list[types.Diagnostic]:
        out = []
        for p in self.files.get(path, []):
            f = p.finding
            last = p.anchor[-1]
            where = types.Range(types.Position(p.start, 0), types.Position(p.end, len(last)))
            related = None
            if f.reasoning:
                related = [
                    types.DiagnosticRelatedInformation(
                        location=types.Location(uri=uri, range=where), message=f.reasoning
                    )
                ]
            out.append(
                types.Diagnostic(
                    range=where,
                    message=f"{f.message} ({', '.join(f.reviewers)})",
                    severity=_SEVERITY[f.severity],
                    code=f.category,
                    source=SOURCE,
                    related_information=related,
                    data={"findingId": f.id, "hasSuggestion": f.suggestion is not None},
                )
            )
        return out

    def actions(
        self, path: Path, uri: str, selection: types.Range
    ) -> list[tuple[Placed, types.Diagnostic]]:
        """The findings with a suggestion whose lines meet ``selection``, each with its
        diagnostic (for the code action's ``diagnostics``)."""
        out = []
        diagnostics = {str((d.data or {}).get("findingId")): d for d in self.diagnostics(path, uri)}
        for p in self.files.get(path, []):
            if p.finding.suggestion is None:
                continue
            if p.end < selection.start.line or p.start > selection.end.line:
                continue
            out.append((p, diagnostics[p.finding.id]))
        return out


def suggestion_edit(p: Placed, uri: str) -> types.WorkspaceEdit:
    """The edit that replaces the finding's lines with its suggestion."""
    text = p.finding.suggestion or ""
    if not text.endswith("\n"):
        text += "\n"
    where = types.Range(types.Position(p.start, 0), types.Position(p.end + 1, 0))
    return types.WorkspaceEdit(changes={uri: [types.TextEdit(range=where, new_text=text)]})
