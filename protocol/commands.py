"""Commands for ``workspace/executeCommand``, and the code actions that invoke them.

Any LSP client runs these with no plugin: code actions (``textDocument/codeAction``) carry
one as their ``command``, and the names are advertised in ``executeCommandProvider``. The
first element of ``arguments`` is an object of the fields below (camelCase); commands that
need nothing accept no arguments, ``[]``, ``[{}]`` or ``[null]``. Positions are LSP's:
0-based lines, characters in the negotiated encoding.

Commands that run the agent (ask, explain, fix, addDocstring, writeTests, refactor) report
work-done progress (one line per step), show the answer (``window/showDocument`` on the
session's Markdown transcript, or ``window/showMessage``) and answer what ``deputydev/query``
answers. Failures are shown with ``window/showMessage`` and answered as errors.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from protocol.base import WireModel

ASK = "deputydev.ask"
EXPLAIN = "deputydev.explain"
FIX = "deputydev.fix"
ADD_DOCSTRING = "deputydev.addDocstring"
WRITE_TESTS = "deputydev.writeTests"
REFACTOR = "deputydev.refactor"
CANCEL = "deputydev.cancel"
REINDEX = "deputydev.reindex"
REVIEW = "deputydev.review"
APPLY_FINDING = "deputydev.applyFinding"

# Commands whose agent edits files: offered only to clients that can apply edits.
EDITING = (FIX, ADD_DOCSTRING, WRITE_TESTS, REFACTOR)
ALL = (
    ASK,
    EXPLAIN,
    FIX,
    ADD_DOCSTRING,
    WRITE_TESTS,
    REFACTOR,
    CANCEL,
    REINDEX,
    REVIEW,
    APPLY_FINDING,
)


class Position(WireModel):
    line: int = Field(ge=0)
    character: int = Field(ge=0)


class Range(WireModel):
    start: Position
    end: Position


class Diagnostic(WireModel):
    """The diagnostic a quick fix is for, as the editor sent it in the code action context."""

    message: str
    range: Range | None = None
    source: str | None = None
    code: int | str | None = None


class AskArgs(WireModel):
    """``deputydev.ask``: a question, about a file (``uri``) or a selection (``range``)."""

    query: str = Field(min_length=1)
    uri: str | None = None
    range: Range | None = None
    write_mode: bool = False
    session_id: str | None = None
    model: str | None = None


class SelectionArgs(WireModel):
    """``explain``, ``fix``, ``addDocstring``, ``writeTests``, ``refactor``: the selection
    (an empty range is the definition around the cursor), and what else the action needs."""

    uri: str
    range: Range
    diagnostic: Diagnostic | None = None  # fix: the problem to fix
    instruction: str | None = None  # refactor: how (asked when missing)
    session_id: str | None = None
    model: str | None = None


class CancelArgs(WireModel):
    """``deputydev.cancel``: the turns of one session, or every running turn."""

    session_id: str | None = None


class CancelResult(WireModel):
    cancelled: int


class ReindexArgs(WireModel):
    root: str | None = None
    full: bool = False


class ReviewArgs(WireModel):
    """``deputydev.review``: what ``deputydev/review`` takes, with progress and a message
    instead of streamed events (the findings arrive as diagnostics either way)."""

    scope: Literal["uncommitted", "staged", "branch", "range", "pr"] = "uncommitted"
    base: str | None = None
    range: str | None = None
    url: str | None = None
    agents: list[str] | None = None
    root: str | None = None
    post: bool = False


class ApplyFindingArgs(WireModel):
    """``deputydev.applyFinding``: apply a review finding's suggestion (its quick fix)."""

    uri: str
    finding_id: str = Field(min_length=1)


COMMAND_ARGS: dict[str, type[Any]] = {
    ASK: AskArgs,
    EXPLAIN: SelectionArgs,
    FIX: SelectionArgs,
    ADD_DOCSTRING: SelectionArgs,
    WRITE_TESTS: SelectionArgs,
    REFACTOR: SelectionArgs,
    CANCEL: CancelArgs,
    REINDEX: ReindexArgs,
    REVIEW: ReviewArgs,
    APPLY_FINDING: ApplyFindingArgs,
}


# --- a custom method for clients that render a session themselves ------------------------

SESSIONS_TRANSCRIPT = "deputydev/sessions/transcript"


class TranscriptParams(WireModel):
    session_id: str


class TranscriptResult(WireModel):
    """The session as Markdown (what ``window/showDocument`` opens), and that file's URI."""

    session_id: str
    title: str
    markdown: str
    uri: str


METHODS: dict[str, tuple[type[Any] | None, type[Any] | None]] = {
    SESSIONS_TRANSCRIPT: (TranscriptParams, TranscriptResult),
}
