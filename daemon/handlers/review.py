"""``deputydev/review`` and the ``deputydev.review`` / ``deputydev.applyFinding`` commands:
thin adapters over :class:`daemon.review.service.ReviewService`, imported on first use
(the review engine pulls in git and the tools, which start-up does not need)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pydantic import BaseModel

from daemon.errors import DomainError, jsonrpc_errors
from daemon.handlers.editor import parse
from daemon.progress import WorkDone
from protocol import commands as cmd
from protocol import review as wire

if TYPE_CHECKING:
    from daemon.review.service import ReviewService
    from daemon.server import DeputyServer


def _service_class() -> type[ReviewService]:
    from daemon.review.service import ReviewService

    return ReviewService


def _line(event: BaseModel) -> str | None:
    match event:
        case wire.ReviewStarted(files=files, reviewers=names):
            return f"{files} file(s), reviewers: {', '.join(names)}"
        case wire.FindingReported(reviewer=who, path=path, start_line=line):
            return f"{who}: {path}:{line}"
        case wire.ReviewerFinished(reviewer=who, status=status):
            return f"{who} {'done' if status == 'ok' else 'failed'}"
        case wire.ReviewDone(findings=count):
            return f"validated: {count} finding(s)"
    return None


def register(server: DeputyServer) -> None:
    def service() -> ReviewService:
        return server.service(_service_class())

    @server.feature(wire.REVIEW)
    @jsonrpc_errors
    async def review(params: wire.ReviewParams) -> wire.ReviewResult:
        return await (await server.started(_service_class())).review(params)

    @server.command(cmd.REVIEW)
    @jsonrpc_errors
    async def review_command(*arguments: Any) -> Any:
        args: cmd.ReviewArgs = parse(cmd.REVIEW, arguments)
        params = wire.ReviewParams(**args.model_dump())
        async with WorkDone(
            server,
            "DeputyDev: review",
            cancellable=True,
            message="reading the changes",
            percentage=None,
        ) as progress:
            from daemon.editor.runner import cancel_with

            cancel_with(server, progress)

            async def observe(event: BaseModel) -> None:
                line = _line(event)
                if line is not None:
                    progress.report(line, force=True)

            try:
                result = await (await server.started(_service_class())).review(params, observe)
            except DomainError as exc:
                server.show_message(f"DeputyDev: review failed: {exc}", types.MessageType.Error)
                raise
            progress.message = f"done: {len(result.findings)} finding(s)"
        first = result.summary.splitlines()[0] if result.summary else ""
        server.show_message(
            f"DeputyDev review: {len(result.findings)} finding(s). {first}",
            types.MessageType.Info,
        )
        return result

    @server.command(cmd.APPLY_FINDING)
    @jsonrpc_errors
    async def apply_finding(*arguments: Any) -> Any:
        args: cmd.ApplyFindingArgs = parse(cmd.APPLY_FINDING, arguments)
        return {"applied": await service().apply(args.uri, args.finding_id)}
