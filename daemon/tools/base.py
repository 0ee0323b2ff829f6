"""What a tool is, and what it may reach while it runs.

A tool is a small class: a name, a description, a pydantic ``Args`` model (its JSON schema
is what the model sees) and ``run``. Tools know nothing of pygls: whatever needs the editor
(approval, questions, edits) arrives as a callback on :class:`ToolContext`, which the query
handler fills and unit tests fill with plain functions.

A :class:`ToolError` is the model's problem, not the daemon's: its message goes back to the
model as an error result (which field, which path, why) so it can correct itself.

The agent loop calls every tool through :func:`invoke`, within a time budget
(``solver.tools.timeoutS``, or the tool's own :meth:`Tool.budget`) that the time spent
waiting on the user does not count against; so a tool added later, even one with its own
``__call__``, gets it for free. How tools stay off the event loop and stop when cancelled
is in :mod:`daemon.tools.runtime`.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from daemon.solver.settings import ToolSettings
from daemon.tools import runtime

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from hosting.service import Hosting
    from protocol.query import EditStatus

TRUNCATION_MARKER = "\n[... output truncated: {omitted} more characters not shown ...]"


class ToolError(Exception):
    """A failure the model should see and can act on."""


class Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


@dataclass(frozen=True, slots=True)
class CodeHit:
    path: str
    start_line: int
    end_line: int
    text: str
    score: float = 0.0
    symbol: str | None = None


class CodeIndex(Protocol):
    """The part of the workspace index the search tools need."""

    async def search(self, query: str, *, limit: int) -> Sequence[CodeHit]: ...

    async def symbols(self, name: str, *, limit: int) -> Sequence[CodeHit]: ...


class TeamCode(Protocol):
    """The team's published code (``team_code_search``): hits whose ``path`` is
    ``REPOSITORY@COMMIT:PATH``."""

    async def search(
        self, query: str, *, limit: int, repositories: Sequence[str]
    ) -> Sequence[CodeHit]: ...


Confirm = Callable[[str, Mapping[str, Any]], Awaitable[bool]]
AskUser = Callable[[str, Sequence[str]], Awaitable[str]]
# (path, full new text) -> whether the editor applied it
ApplyEdit = Callable[[Path, str], Awaitable[bool]]
# (workspace-relative path, proposed|applied|rejected|written, lines added, lines removed)
OnEdit = Callable[[str, "EditStatus", int, int], Awaitable[None]]
# (MCP server, resource URI) -> its text (a focus item of kind "mcp")
ReadResource = Callable[[str, str], Awaitable[str]]
GetPrompt = Callable[[str, str, Mapping[str, str]], Awaitable[str]]


@dataclass(slots=True)
class ToolContext:
    roots: Sequence[Path]
    settings: ToolSettings = field(default_factory=ToolSettings)
    write_mode: bool = False
    confirm: Confirm | None = None
    ask_user: AskUser | None = None
    apply_edit: ApplyEdit | None = None
    index: CodeIndex | None = None
    # The editor's unsaved buffer for a path, when it has one open.
    document_text: Callable[[Path], str | None] | None = None
    # Told of every edit as it is proposed and as it lands, for the editor's progress view.
    on_edit: OnEdit | None = None
    # Source hosts, trackers and wikis with the user's credentials (work-item links, search).
    hosting: Hosting | None = None
    read_mcp_resource: ReadResource | None = None
    get_mcp_prompt: GetPrompt | None = None
    # The team's published repositories, when team sync is configured.
    team_code: TeamCode | None = None


class Tool:
    name: ClassVar[str]
    description: ClassVar[str]
    Arguments: ClassVar[type[Args]]
    # Read-only tools of one turn run concurrently; the others run one at a time, in order.
    read_only: ClassVar[bool] = True
    # Offered to the model only in write mode.
    writes: ClassVar[bool] = False

    @classmethod
    def parameters(cls) -> dict[str, Any]:
        schema = cls.Arguments.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        return schema

    def parse(self, arguments: Mapping[str, Any]) -> Args:
        try:
            return self.Arguments.model_validate(dict(arguments))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ToolError(f"invalid arguments for {self.name}: {problems}") from None

    async def run(self, args: Any, ctx: ToolContext) -> str:
        raise NotImplementedError

    def budget(self, ctx: ToolContext) -> float | None:
        """Seconds one call may work (waiting on the user aside); None for no limit."""
        return ctx.settings.timeout_s

    def over_budget(self, arguments: Mapping[str, Any], seconds: float) -> str:
        """What the model is told when a call used up its budget."""
        return (
            f"{self.name} did not finish within {seconds:g} s and was stopped"
            " (solver.tools.timeoutS); narrow it down (a smaller path, a more specific query)"
        )

    async def __call__(self, arguments: Mapping[str, Any], ctx: ToolContext) -> str:
        output = await self.run(self.parse(arguments), ctx)
        return cap(output, ctx.settings.max_output_chars)


async def invoke(tool: Tool, arguments: Mapping[str, Any], ctx: ToolContext) -> str:
    """One call of ``tool`` as the agent loop makes it: within the tool's time budget, the
    user's time aside; out of time, the call is stopped and a ToolError says so."""
    seconds = tool.budget(ctx)
    started = time.monotonic()
    budget = runtime.Budget(seconds)
    try:
        async with budget:
            return await tool(arguments, _pausing(ctx))
    except TimeoutError:
        if not budget.expired or seconds is None:
            raise
        log.warning("tool %s stopped at its budget of %g s", tool.name, seconds)
        raise ToolError(tool.over_budget(arguments, seconds)) from None
    finally:
        log.debug("tool %s took %.3f s", tool.name, time.monotonic() - started)


def _pausing(ctx: ToolContext) -> ToolContext:
    """The context with each wait on the user outside the tool's time budget."""
    changes: dict[str, Any] = {}
    for name in ("confirm", "ask_user", "apply_edit"):
        callback = getattr(ctx, name)
        if callback is not None:
            changes[name] = _paused(callback)
    return dataclasses.replace(ctx, **changes) if changes else ctx


def _paused(callback: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def waiting(*args: Any) -> Any:
        async with runtime.waiting_on_user():
            return await callback(*args)

    return waiting


def cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + TRUNCATION_MARKER.format(omitted=len(text) - limit)
