"""``team_code_search``: what the model sees of the team's published code."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from daemon.errors import SyncError
from daemon.solver.agents import READ_TOOLS
from daemon.tools.base import CodeHit, ToolContext, ToolError
from daemon.tools.registry import ALL_TOOLS, BY_NAME, make_tools
from daemon.tools.search import TeamCodeSearch, TeamCodeSearchArgs


class Published:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.asked: list[tuple[str, int, list[str]]] = []

    async def search(
        self, query: str, *, limit: int, repositories: Sequence[str]
    ) -> Sequence[CodeHit]:
        self.asked.append((query, limit, list(repositories)))
        if self.fail:
            raise SyncError("cannot read the team's history: connection refused")
        return [
            CodeHit("payments@4ca642754637:billing.py", 3, 9, "def refund(): ...", 0.9, "refund")
        ]


async def test_results_name_the_repository_and_commit(tmp_path: Path) -> None:
    team = Published()
    out = await TeamCodeSearch().run(
        TeamCodeSearchArgs(query="refund", repositories=["payments"]),
        ToolContext(roots=[tmp_path], team_code=team),
    )
    assert out == "payments@4ca642754637:billing.py:3-9 (refund)\ndef refund(): ..."
    assert team.asked == [("refund", 8, ["payments"])]


async def test_without_team_sync_or_with_the_server_away_the_model_is_told(
    tmp_path: Path,
) -> None:
    with pytest.raises(ToolError, match="team search is not configured"):
        await TeamCodeSearch().run(TeamCodeSearchArgs(query="x"), ToolContext(roots=[tmp_path]))
    with pytest.raises(ToolError, match=r"team search cannot answer: .*connection refused"):
        await TeamCodeSearch().run(
            TeamCodeSearchArgs(query="x"),
            ToolContext(roots=[tmp_path], team_code=Published(fail=True)),
        )


def test_the_tool_is_offered_only_where_team_sync_is_configured() -> None:
    assert TeamCodeSearch not in ALL_TOOLS
    assert "team_code_search" not in {t.name for t in make_tools()}
    assert BY_NAME["team_code_search"] is TeamCodeSearch
    assert "team_code_search" in READ_TOOLS
