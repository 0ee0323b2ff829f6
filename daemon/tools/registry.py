"""The tools an agent may be given, by name."""

from __future__ import annotations

from collections.abc import Iterable

from daemon.tools.base import Tool
from daemon.tools.files import ListFiles, ReadFile, ReplaceInFile, WriteFile
from daemon.tools.find import FilePathSearch
from daemon.tools.git import Git
from daemon.tools.hosting import FetchWorkItem, ListPullRequests, SearchIssues
from daemon.tools.search import CodeSearch, Grep, SymbolSearch, TeamCodeSearch
from daemon.tools.shell import ExecuteCommand
from daemon.tools.user import AskUser

ALL_TOOLS: tuple[type[Tool], ...] = (
    CodeSearch,
    SymbolSearch,
    Grep,
    FilePathSearch,
    ReadFile,
    ListFiles,
    Git,
    FetchWorkItem,
    SearchIssues,
    ListPullRequests,
    ExecuteCommand,
    AskUser,
    ReplaceInFile,
    WriteFile,
)
# Offered only where its service is configured (team sync): added by who builds a turn.
TEAM_TOOLS: tuple[type[Tool], ...] = (TeamCodeSearch,)
BY_NAME: dict[str, type[Tool]] = {cls.name: cls for cls in (*ALL_TOOLS, *TEAM_TOOLS)}


def make_tools(names: Iterable[str] | None = None, *, write_mode: bool = False) -> list[Tool]:
    """Instances of the named tools (all by default); writing tools only in write mode."""
    chosen = [BY_NAME[n] for n in names] if names is not None else list(ALL_TOOLS)
    return [cls() for cls in chosen if write_mode or not cls.writes]
