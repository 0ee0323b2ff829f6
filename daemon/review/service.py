"""Reviews in the editor: ``deputydev/review``, ``deputydev.review``, diagnostics, quick fixes.

The service runs a :class:`~daemon.review.engine.Review` with the query service's router
and hosting, the sessions store and the workspace index, streams its events on the
request's ``partialResultToken``, then puts the validated findings on a
:class:`~daemon.review.board.Board` and publishes them as diagnostics (source
``deputydev``). Each edit of a file moves its findings with the text or clears them; a new
review replaces the last one's diagnostics. ``deputydev.applyFinding`` applies a finding's
suggestion through ``workspace/applyEdit``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pydantic import BaseModel

from daemon.convert import usage_info
from daemon.errors import WorkspaceError
from daemon.review.board import APPLY_COMMAND, Board, suggestion_edit
from daemon.review.diff import ReviewError
from protocol import review as wire

if TYPE_CHECKING:
    from daemon.review.engine import ReviewOutcome
    from daemon.server import DeputyServer

log = logging.getLogger(__name__)


def result_of(outcome: ReviewOutcome) -> wire.ReviewResult:
    return wire.ReviewResult(
        session_id=outcome.session_id,
        scope=outcome.scope,
        findings=[
            wire.Finding(
                id=f.id,
                path=f.path,
                start_line=f.start_line,
                end_line=f.end_line,
                severity=f.severity,
                category=f.category,
                message=f.message,
                suggestion=f.suggestion,
                confidence=f.confidence,
                reviewers=list(f.reviewers),
                reasoning=f.reasoning,
            )
            for f in outcome.findings
        ],
        summary=outcome.summary,
        files=outcome.files,
        batches=outcome.batches,
        reviewers=outcome.reviewers,
        failed=[wire.FailedReviewer(reviewer=n, error=e) for n, e in outcome.failed.items()],
        skipped=[wire.SkippedFile(path=p, reason=r) for p, r in outcome.skipped],
        dropped=len(outcome.dropped),
        usage=usage_info(outcome.usage),
        cost_usd=round(outcome.cost_usd, 6),
        model_calls=len(outcome.calls),
        wall_ms=round(outcome.wall_s * 1000, 1),
        model_ms=round(outcome.model_s * 1000, 1),
        posted=outcome.posted,
    )


class ReviewService:
    def __init__(self, server: DeputyServer) -> None:
        self._server = server
        self.board = Board()
        self._uris: dict[Path, str] = {}
        self._listening = False

    async def start(self) -> None:
        if not self._listening:
            self._server.document_changed.connect(self._changed)
            self._listening = True

    async def aclose(self) -> None:
        pass

    # -- a review --------------------------------------------------------------------------

    def _root(self, wanted: str | None) -> Path:
        roots = self._server.roots()
        if not roots:
            raise WorkspaceError("no workspace folder is open: open the repository to review")
        if wanted is None:
            return roots[0]
        for root in roots:
            if wanted in (root.name, str(root)) or Path(wanted).resolve() == root.resolve():
                return root
        raise ReviewError(
            f"root {wanted!r} is not a workspace folder; open ones: "
            + ", ".join(str(r) for r in roots),
            field="root",
        )

    async def review(
        self,
        params: wire.ReviewParams,
        observe: Callable[[BaseModel], Awaitable[None]] | None = None,
    ) -> wire.ReviewResult:
        from daemon.errors import DomainError, code_for
        from daemon.review.engine import Review, ReviewRequest
        from daemon.sessions.service import SessionsService
        from daemon.solver.service import QueryService
        from hosting.errors import HostingError

        await self.start()
        token = params.partial_result_token

        async def emit(event: BaseModel) -> None:
            if token is not None:
                value = event.model_dump(by_alias=True, mode="json", exclude_none=True)
                self._server.notify(types.PROGRESS, types.ProgressParams(token, value))
            if observe is not None:
                await observe(event)

        query = await self._server.started(QueryService)
        store = (await self._server.started(SessionsService)).store
        try:
            root = self._root(params.root)
            engine = Review(
                router=query.router,
                store=store,
                settings=self._server.settings,
                root=root,
                index=query._code_index(),
                hosting=query.hosting,
                document_text=self._server.document_text,
                emit=emit,
            )
            request = ReviewRequest(
                scope=params.scope,
                base=params.base,
                commits=params.range,
                url=params.url,
                agents=params.agents,
            )
            if params.post and params.scope != "pr":
                raise ReviewError("post needs scope 'pr' and the request's url", field="post")
            try:
                outcome = await engine.run(request)
                if params.post:
                    from daemon.review.pr import post_review

                    outcome.posted = await post_review(query.hosting, params.url or "", outcome)
            except HostingError as exc:
                raise ReviewError(str(exc), **exc.data) from None
        except DomainError as exc:
            data = {**exc.data, "kind": exc.data.get("kind", type(exc).__name__)}
            await emit(wire.ReviewFailed(code=code_for(exc), message=str(exc), data=data))
            raise
        await self.publish(outcome)
        return result_of(outcome)

    # -- diagnostics -----------------------------------------------------------------------

    async def publish(self, outcome: ReviewOutcome) -> None:
        from daemon.convert import path_to_uri

        change = outcome.change
        stale = self.board.clear()
        if change is not None and change.root is not None and outcome.scope != "pr":
            by_path: dict[str, list[Any]] = {}
            for f in outcome.findings:
                by_path.setdefault(f.path, []).append(f)
            for rel, found in by_path.items():
                path = change.root / rel
                reviewed = await change.new_text(rel)
                now = self._server.document_text(path)
                if now is None:
                    now = await asyncio.to_thread(_read, path)
                if now is None:
                    continue
                self.board.place(path, found, reviewed, now)
                self._uris[path] = path_to_uri(path)
        for path in {*stale, *self.board.files}:
            self._send(path)

    def _send(self, path: Path) -> None:
        from daemon.convert import path_to_uri

        uri = self._uris.get(path) or path_to_uri(path)
        self._server.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=self.board.diagnostics(path, uri))
        )

    async def _changed(self, path: Path) -> None:
        if path not in self.board.files:
            return
        text = self._server.document_text(path)
        if text is not None and self.board.moved(path, text):
            self._send(path)

    # -- quick fixes -----------------------------------------------------------------------

    def code_actions(self, uri: str, selection: types.Range) -> list[types.CodeAction]:
        from daemon.convert import uri_to_path

        fs = uri_to_path(uri)
        if fs is None:
            return []
        out = []
        for placed, diagnostic in self.board.actions(fs, uri, selection):
            f = placed.finding
            title = f"DeputyDev: apply the suggestion ({f.category})"
            out.append(
                types.CodeAction(
                    title=title,
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic],
                    is_preferred=True,
                    command=types.Command(
                        title=title,
                        command=APPLY_COMMAND,
                        arguments=[{"uri": uri, "findingId": f.id}],
                    ),
                )
            )
        return out

    async def apply(self, uri: str, finding_id: str) -> bool:
        from daemon.convert import uri_to_path

        fs = uri_to_path(uri)
        placed = self.board.get(fs, finding_id) if fs else None
        if placed is None or placed.finding.suggestion is None:
            raise ReviewError(
                f"no finding {finding_id!r} with a suggestion on {uri} (the review is gone, or "
                "its lines were edited)",
                field="findingId",
            )
        result = await self._server.workspace_apply_edit_async(
            types.ApplyWorkspaceEditParams(
                edit=suggestion_edit(placed, uri), label="DeputyDev: apply the suggestion"
            )
        )
        return bool(result is not None and result.applied)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
