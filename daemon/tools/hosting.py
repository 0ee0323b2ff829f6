"""Work items for the agent: read a link, search issues, list pull requests. Read-only.

The tools are thin: :class:`hosting.service.Hosting` (on the tool context) does the work
with the user's own credentials, and each of its errors (a missing token and which variable
to set, a 404 naming the item, a rate limit and when it lifts, a host that is down) comes
back to the model as a tool error, so the turn goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from daemon.tools.base import Args, Tool, ToolContext, ToolError
from daemon.tools.secrets import SecretPolicy

if TYPE_CHECKING:
    from hosting.service import Hosting
    from hosting.settings import HostingSettings

# Kept for the Markdown's own caps and its closing note within the tool's output cap.
_MARGIN = 300


def secret_paths(ctx: ToolContext) -> Callable[[str], bool]:
    """Whether a path in a pull request (its diff, a review comment's file) names a secrets
    file, by the same policy that keeps the model from reading one in the workspace."""
    return SecretPolicy.of(ctx.settings).path


def _hosting(ctx: ToolContext) -> Hosting:
    if ctx.hosting is None or not ctx.hosting.settings.enabled:
        raise ToolError(
            "source hosting is turned off here ([hosting] enabled = false in config.toml)"
        )
    return ctx.hosting


class FetchWorkItemArgs(Args):
    url: str = Field(
        min_length=8,
        description="The link: a GitHub, GitLab or Bitbucket pull/merge request or issue, a "
        "Jira issue or a Confluence page.",
    )


class FetchWorkItem(Tool):
    name = "fetch_work_item"
    description = (
        "Read a pull/merge request (description, review comments with file and line, CI "
        "status, diff), an issue, a Jira issue or a Confluence page from its link, as Markdown."
    )
    Arguments = FetchWorkItemArgs

    async def run(self, args: FetchWorkItemArgs, ctx: ToolContext) -> str:
        from hosting.errors import HostingError

        hosting = _hosting(ctx)
        budget = max(ctx.settings.max_output_chars - _MARGIN, 1_000)
        try:
            return await hosting.fetch(args.url.strip(), budget=budget, withhold=secret_paths(ctx))
        except HostingError as exc:
            raise ToolError(str(exc)) from None


class SearchIssuesArgs(Args):
    provider: str = Field(
        min_length=1,
        description="github, gitlab or jira (or the name of a host configured under "
        "[hosting.hosts]).",
    )
    query: str = Field(
        min_length=1,
        description="GitHub: search words and qualifiers (is:open is:pr label:bug author:x; "
        "scoped to the workspace's repository unless it names repo:, org: or user:). GitLab: "
        'words. Jira: JQL (project = X AND text ~ "timeout").',
    )
    limit: int = Field(default=20, ge=1, le=50)


class SearchIssues(Tool):
    name = "search_issues"
    description = "Search issues and pull/merge requests on GitHub or GitLab, or Jira with JQL."
    Arguments = SearchIssuesArgs

    async def run(self, args: SearchIssuesArgs, ctx: ToolContext) -> str:
        from hosting.errors import HostingError

        hosting = _hosting(ctx)
        try:
            return await hosting.search(
                args.provider.strip(), args.query, limit=args.limit, roots=list(ctx.roots)
            )
        except HostingError as exc:
            raise ToolError(str(exc)) from None


class ListPullRequestsArgs(Args):
    repo: str | None = Field(
        default=None,
        description="owner/name or the repository's URL; left out: the workspace's own "
        "repository (its git remote).",
    )
    state: Literal["open", "closed", "merged", "all"] = "open"
    limit: int = Field(default=20, ge=1, le=100)


class ListPullRequests(Tool):
    name = "list_pull_requests"
    description = (
        "List a repository's pull requests (merge requests on GitLab), newest activity first."
    )
    Arguments = ListPullRequestsArgs

    async def run(self, args: ListPullRequestsArgs, ctx: ToolContext) -> str:
        from hosting.errors import HostingError

        hosting = _hosting(ctx)
        try:
            return await hosting.pull_requests(
                args.repo, args.state, limit=args.limit, roots=list(ctx.roots)
            )
        except HostingError as exc:
            raise ToolError(str(exc)) from None


def open_hosting(settings: HostingSettings) -> Hosting:
    """The daemon's :class:`Hosting`: cache in the data folder, every token hidden from logs,
    and each configuration problem logged (``deputydev doctor`` shows them too)."""
    import logging

    from daemon import paths
    from daemon.logs import register_secret
    from hosting.service import Hosting

    hosting = Hosting(settings, cache_dir=paths.data_dir() / "hosting-cache")
    for secret in hosting.hosts.secrets():
        register_secret(secret)
    for problem in hosting.hosts.problems:
        logging.getLogger(__name__).warning("%s: %s", problem.key, problem.message)
    return hosting
