"""``deputydev review``: reviewer agents over what you are about to push, in the terminal.

    deputydev review                      # uncommitted changes (index and working tree)
    deputydev review --staged             # what the next commit holds (a pre-commit hook)
    deputydev review --base main          # the branch since it left main (a pre-push hook)
    deputydev review --range v1.2..HEAD   # any range of commits
    deputydev review --pr URL [--post]    # a pull/merge request, optionally answered on it

The report goes to stdout (``--format text|json|sarif|markdown``, or ``--output FILE``);
progress goes to stderr. Exit codes: 0 done (no finding at the ``--fail-on`` level),
1 findings at or above ``--fail-on``, 2 the review could not run (not a git repository, a
base that does not exist, a bad setting, every reviewer failed).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import BaseModel
    from rich.console import Console

    from daemon.config import Settings
    from daemon.review.engine import ReviewOutcome, ReviewRequest
    from daemon.solver.ports import ModelRouter

NAME = "review"
HELP = "Review your changes with AI reviewers (uncommitted by default)."

LEVELS = {"error": 3, "warning": 2, "info": 1}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--staged", action="store_true", help="Review the staged changes only.")
    what.add_argument(
        "--branch",
        action="store_true",
        help="Review the branch against its merge-base with the base (review.base, else the "
        "remote's default branch).",
    )
    what.add_argument("--base", metavar="BRANCH", help="Review the branch against BRANCH.")
    what.add_argument("--range", metavar="A..B", dest="commits", help="Review a commit range.")
    what.add_argument("--pr", metavar="URL", help="Review a pull or merge request by its URL.")
    parser.add_argument(
        "--format",
        "-f",
        choices=("text", "json", "sarif", "markdown"),
        default="text",
        help="Report format on stdout (default: text).",
    )
    parser.add_argument(
        "--fail-on",
        choices=("error", "warning", "info"),
        help="Exit with 1 when a finding is at least this severe (for hooks and CI).",
    )
    parser.add_argument(
        "--agents", "-a", help="Reviewers to run, comma-separated (default: review.builtin)."
    )
    parser.add_argument(
        "--post",
        action="store_true",
        help="With --pr: post the findings as review comments and the summary as a comment.",
    )
    parser.add_argument("--output", "-o", type=Path, help="Write the report to this file.")
    parser.add_argument("--root", type=Path, default=None, help="Repository (default: cwd).")
    parser.add_argument(
        "--no-index", action="store_true", help="Do not index the repository for code_search."
    )


def request_of(args: argparse.Namespace) -> ReviewRequest:
    from daemon.review.engine import ReviewRequest

    if args.pr:
        return ReviewRequest(scope="pr", url=args.pr, agents=_agents(args.agents))
    if args.commits:
        return ReviewRequest(scope="range", commits=args.commits, agents=_agents(args.agents))
    if args.base or args.branch:
        return ReviewRequest(scope="branch", base=args.base, agents=_agents(args.agents))
    scope = "staged" if args.staged else "uncommitted"
    return ReviewRequest(scope=scope, agents=_agents(args.agents))


def _agents(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    return [a.strip() for a in raw.split(",") if a.strip()]


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from daemon.cli import settings_or_exit

    if args.post and not args.pr:
        print("deputydev: --post needs --pr URL (it answers on a pull request)", file=sys.stderr)
        return 2
    root = (args.root or Path.cwd()).resolve()
    loaded = settings_or_exit([root])
    try:
        from providers.router import Router
    except ImportError:
        print("deputydev: no model provider is available in this installation", file=sys.stderr)
        return 2
    from daemon import paths

    router: ModelRouter = Router(
        loaded.settings.providers, catalogue_path=paths.openrouter_catalogue()
    )
    console = Console(stderr=True, highlight=False)
    try:
        return asyncio.run(
            review(
                request_of(args),
                router=router,
                settings=loaded.settings,
                root=root,
                console=console,
                output_format=args.format,
                fail_on=args.fail_on,
                post=args.post,
                output=args.output,
                use_index=not args.no_index,
            )
        )
    except KeyboardInterrupt:
        console.print("\n[yellow]review cancelled[/yellow]")
        return 130


async def review(
    request: ReviewRequest,
    *,
    router: ModelRouter,
    settings: Settings,
    root: Path,
    console: Console,
    output_format: str = "text",
    fail_on: str | None = None,
    post: bool = False,
    output: Path | None = None,
    use_index: bool = True,
) -> int:
    from rich.markup import escape

    from daemon.commands.ask import _code_index, _open_index
    from daemon.errors import DomainError
    from daemon.paths import data_dir
    from daemon.review.engine import Review
    from daemon.sessions.store import SessionStore
    from daemon.tools.hosting import open_hosting
    from hosting.errors import HostingError
    from protocol import review as wire

    async def show(event: BaseModel) -> None:
        match event:
            case wire.ReviewStarted(files=files, batches=count, reviewers=names):
                console.print(
                    f"[dim]reviewing {files} file(s) in {count} batch(es) with "
                    f"{', '.join(names)}…[/dim]"
                )
            case wire.FindingReported(reviewer=who, path=path, start_line=line, severity=sev):
                console.print(f"[dim]  {who}: {sev} at {escape(path)}:{line}[/dim]")
            case wire.ReviewerFinished(reviewer=who, status="failed", error=error):
                console.print(f"[yellow]  reviewer {who} failed: {escape(error or '')}[/yellow]")

    store = await SessionStore.open(data_dir() / "sessions.db")
    hosting = open_hosting(settings.hosting)
    index = None
    if use_index and settings.index.enabled and request.scope != "pr":
        index = await _open_index(root, settings, console)
    try:
        engine = Review(
            router=router,
            store=store,
            settings=settings,
            root=root,
            index=_code_index(index),
            hosting=hosting,
            emit=show,
        )
        try:
            outcome = await engine.run(request)
            if post and outcome.change is not None:
                from daemon.review.pr import post_review

                outcome.posted = await post_review(hosting, request.url or "", outcome)
                console.print(f"[green]posted the review on {escape(outcome.posted)}[/green]")
        except (*DomainError, HostingError) as exc:
            console.print(f"[red]deputydev: {escape(str(exc))}[/red]")
            return 2
        report = await render(outcome, output_format)
        if output is not None:
            await asyncio.to_thread(output.write_text, report, encoding="utf-8")
            console.print(f"[dim]report written to {escape(str(output))}[/dim]")
        else:
            sys.stdout.write(report)
            sys.stdout.flush()
        if outcome.session_id:
            console.print(
                f"[dim]{len(outcome.calls)} model call(s) · {outcome.usage.input_tokens} in "
                f"({outcome.usage.cache_read_tokens} cached) / {outcome.usage.output_tokens} "
                f"out · ${outcome.cost_usd:.4f} · session {outcome.session_id}[/dim]"
            )
        if outcome.failed and len(outcome.failed) == len(outcome.reviewers):
            return 2
        return exit_code(outcome, fail_on)
    finally:
        await store.close()
        await hosting.aclose()
        if index is not None:
            await index.close()


def exit_code(outcome: ReviewOutcome, fail_on: str | None) -> int:
    if fail_on is None:
        return 0
    level = LEVELS[fail_on]
    return 1 if any(LEVELS[f.severity] >= level for f in outcome.findings) else 0


async def render(outcome: ReviewOutcome, output_format: str) -> str:
    from daemon.review import render as r

    if output_format == "json":
        return r.as_json(outcome)
    if output_format == "sarif":
        return r.sarif(outcome)
    if output_format == "markdown":
        return r.markdown(outcome)
    sources: dict[str, str | None] = {}
    if outcome.change is not None:
        for path in dict.fromkeys(f.path for f in outcome.findings):
            sources[path] = await outcome.change.new_text(path)
    return r.text(outcome, sources)
