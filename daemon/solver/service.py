"""Runs queries for the daemon: one turn per session at a time, streamed to the editor.

The service owns what outlives a turn (the model router, the set of busy sessions) and
builds, for each query, a :class:`~daemon.solver.loop.Solver` whose tool callbacks reach the
editor: ``deputydev/confirm`` before a command, ``deputydev/askUser`` for a question, and
``workspace/applyEdit`` for edits in write mode.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from daemon.errors import SessionBusy
from daemon.sessions.service import SessionsService
from protocol import query as wire
from providers.base import ImagePart

if TYPE_CHECKING:
    from daemon.server import DeputyServer
    from daemon.solver.loop import TurnOutcome
    from daemon.solver.ports import ModelRouter
    from daemon.tools.base import CodeIndex
    from hosting.service import Hosting

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


def _disk_text(path: Path) -> str | None:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else None


class QueryService:
    def __init__(self, server: DeputyServer) -> None:
        self._server = server
        self._router: ModelRouter | None = None
        # Replaced by tests (and by embedders) to supply another router.
        self.router_factory: Callable[[], ModelRouter] = self._default_router
        self.busy: dict[str, str] = {}  # session id -> query id
        self.running: dict[str, asyncio.Task[Any]] = {}  # session id -> the turn's task
        # The provider settings the router was built from; when they change, the next query
        # gets a new router and the old one is closed once no turn still streams through it.
        self._router_settings: Any = None
        self._retired: list[ModelRouter] = []
        # Source hosts (work-item links, issue search): rebuilt like the router when the
        # [hosting] settings change, the old one closed once no turn uses it.
        self._hosting: Hosting | None = None
        self._retired_hosting: list[Hosting] = []
        from daemon.solver.loop import Background

        # The turns' summaries, written after each answer: cancelled at shutdown.
        self.background = Background()

    async def start(self) -> None:
        pass

    async def aclose(self) -> None:
        self.background.cancel()  # summaries are a nicety: never hold up shutdown
        if self._router is not None:
            self._retired.append(self._router)
            self._router = None
        if self._hosting is not None:
            self._retired_hosting.append(self._hosting)
            self._hosting = None
        await self._close_retired()

    async def _close_retired(self) -> None:
        retired: list[Any] = [*self._retired, *self._retired_hosting]
        self._retired, self._retired_hosting = [], []
        for router in retired:
            close = getattr(router, "aclose", None)
            if close is not None:
                try:
                    await close()
                except Exception:
                    log.exception("closing a router failed")

    def _default_router(self) -> ModelRouter:
        from daemon import paths
        from providers.router import Router

        router: ModelRouter = Router(
            self._server.settings.providers, catalogue_path=paths.openrouter_catalogue()
        )
        return router

    @property
    def router(self) -> ModelRouter:
        current = self._server.settings.providers
        if self._router is not None and current != self._router_settings:
            log.info("provider settings changed: this query gets a new router")
            self._retired.append(self._router)
            self._router = None
        if self._router is None:
            self._router_settings = current
            self._router = self.router_factory()
        return self._router

    @property
    def hosting(self) -> Hosting:
        from daemon.tools.hosting import open_hosting

        current = self._server.settings.hosting
        if self._hosting is not None and current != self._hosting.settings:
            self._retired_hosting.append(self._hosting)
            self._hosting = None
        if self._hosting is None:
            self._hosting = open_hosting(current)
        return self._hosting

    # -- editor callbacks -------------------------------------------------------------------

    async def _progress(self, token: int | str | None, event: BaseModel) -> None:
        if token is None:
            return
        from lsprotocol import types

        value = event.model_dump(by_alias=True, mode="json", exclude_none=True)
        self._server.notify(types.PROGRESS, types.ProgressParams(token, value))

    async def _reply(self, method: str, params: BaseModel, expected: type[M]) -> M:
        """The editor's reply to ``method``, checked strictly against ``expected``.

        An error response or a reply that does not validate (``null``, ``{}``, ``"yes"``,
        ``{"approved": "true"}``) is logged with the reply and becomes a ToolError: the
        model is told, nothing is approved, and the turn goes on.
        """
        from pydantic import ValidationError

        from daemon.errors import EditorRefused
        from daemon.tools.base import ToolError

        try:
            raw = await self._server.ask_editor(method, params)
        except EditorRefused as exc:
            log.warning("the editor answered %s with an error: %s", method, exc)
            raise ToolError(
                f"the editor could not ask the user ({method} failed: {exc}); nothing was done"
            ) from None
        try:
            return expected.model_validate(raw, strict=True)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'result'}: {e['msg']}"
                for e in exc.errors()
            )
            log.warning("malformed reply to %s: %.300r (%s)", method, raw, problems)
            raise ToolError(
                f"the editor's reply to {method} was not valid ({problems}); it counts as no "
                "answer, so nothing was done"
            ) from None

    async def _confirm(self, message: str, details: Mapping[str, Any]) -> bool:
        params = wire.ConfirmParams(message=message, details=dict(details))
        return (await self._reply(wire.CONFIRM, params, wire.ConfirmResult)).approved

    async def _ask(self, question: str, options: Sequence[str]) -> str:
        params = wire.AskUserParams(question=question, options=list(options))
        return (await self._reply(wire.ASK_USER, params, wire.AskUserResult)).answer

    def _can_apply_edits(self) -> bool:
        try:
            workspace = self._server.client_capabilities.workspace
        except (AttributeError, RuntimeError):
            return False
        return bool(workspace and workspace.apply_edit)

    async def _apply_edit(self, path: Path, text: str) -> bool:
        from lsprotocol import types

        from daemon.convert import path_to_uri

        uri = path_to_uri(path)
        current = self._server.document_text(path)
        if current is None:
            current = await asyncio.to_thread(_disk_text, path)
        if current is None:
            edit = types.WorkspaceEdit(
                document_changes=[
                    types.CreateFile(uri=uri, kind="create"),
                    types.TextDocumentEdit(
                        text_document=types.OptionalVersionedTextDocumentIdentifier(
                            uri=uri, version=None
                        ),
                        edits=[
                            types.TextEdit(
                                range=types.Range(types.Position(0, 0), types.Position(0, 0)),
                                new_text=text,
                            )
                        ],
                    ),
                ]
            )
        else:
            end = types.Position(line=len(current.splitlines()) + 1, character=0)
            whole = types.Range(start=types.Position(0, 0), end=end)
            edit = types.WorkspaceEdit(changes={uri: [types.TextEdit(range=whole, new_text=text)]})
        return await self._server.apply_edit(edit, "DeputyDev")

    # -- a query ----------------------------------------------------------------------------

    def _code_index(self) -> CodeIndex | None:
        """The workspace index for code_search and symbol_search, when indexing is on."""
        from daemon.index.service import CodeIndexAdapter, IndexService

        if not self._server.settings.index.enabled or not self._server.roots():
            return None
        return CodeIndexAdapter(self._server.service(IndexService))

    def cancel(self, session_id: str | None = None) -> int:
        """Cancel the running turn of a session (its id or a prefix of it), or every running
        turn; how many."""
        tasks = [
            task
            for sid, task in self.running.items()
            if (
                session_id is None
                or sid == session_id
                or (session_id and sid.startswith(session_id))
            )
            and not task.done()
        ]
        for task in tasks:
            task.cancel()
        return len(tasks)

    async def run(
        self,
        params: wire.QueryParams,
        observe: Callable[[BaseModel], Awaitable[None]] | None = None,
    ) -> TurnOutcome:
        """Run one turn; ``observe`` sees every event too (the editor commands' progress)."""
        from daemon.solver.loop import Solver
        from daemon.tools.base import ToolContext
        from daemon.tools.registry import make_tools

        settings = self._server.settings
        store = (await self._server.started(SessionsService)).store
        if params.session_id is not None and params.session_id in self.busy:
            raise SessionBusy(
                f"session {params.session_id} is still answering another query;"
                " wait for it or cancel it",
                sessionId=params.session_id,
                queryId=self.busy[params.session_id],
            )
        token = params.partial_result_token

        async def emit(event: BaseModel) -> None:
            await self._progress(token, event)
            if observe is not None:
                await observe(event)

        roots = self._server.roots()
        tools = make_tools(write_mode=params.write_mode)
        team_code = None
        if settings.sync.configured:
            from daemon.sync.service import SyncService
            from daemon.tools.search import TeamCodeSearch

            team_code = (await self._server.started(SyncService)).team_code()
            if team_code is not None:
                tools.append(TeamCodeSearch())
        mcp = None
        if settings.mcp.servers:
            from daemon.mcp.service import McpService

            mcp = self._server.service(McpService)
            tools += await mcp.tools()
        context = ToolContext(
            roots=roots,
            settings=settings.solver.tools,
            write_mode=params.write_mode,
            confirm=self._confirm,
            ask_user=self._ask,
            apply_edit=self._apply_edit if self._can_apply_edits() else None,
            index=self._code_index(),
            document_text=self._server.document_text,
            hosting=self.hosting,
            read_mcp_resource=mcp.manager.read_resource if mcp is not None else None,
            get_mcp_prompt=mcp.manager.get_prompt if mcp is not None else None,
            team_code=team_code,
        )
        images: tuple[ImagePart, ...] = ()
        if params.attachments:
            from daemon.solver.attachments import load_images

            images = await load_images(params.attachments, context)
        solver = Solver.from_settings(
            settings,
            router=self.router,
            store=store,
            tools=tools,
            tool_context=context,
            emit=emit,
            background=self.background,
        )
        workspace = str(roots[0]) if roots else ""
        session = await solver.open_session(params.session_id, params.query, workspace)
        if session.id in self.busy:
            raise SessionBusy(
                f"session {session.id} is still answering another query",
                sessionId=session.id,
                queryId=self.busy[session.id],
            )
        self.busy[session.id] = "starting"
        if (task := asyncio.current_task()) is not None:
            self.running[session.id] = task
        try:
            return await self._reporting_failure(
                emit,
                solver.run(
                    query=params.query,
                    session=session,
                    model=params.model,
                    agent=params.agent,
                    focus_items=params.focus_items,
                    new_session=params.session_id is None,
                    reasoning=params.reasoning,
                    images=images,
                ),
            )
        finally:
            self.busy.pop(session.id, None)
            self.running.pop(session.id, None)
            if (self._retired or self._retired_hosting) and not self.busy:
                await self._close_retired()

    @staticmethod
    async def _reporting_failure(
        emit: Callable[[BaseModel], Awaitable[None]], turn: Awaitable[TurnOutcome]
    ) -> TurnOutcome:
        """Run the turn; a turn that fails or is cancelled says so on the stream first."""
        from daemon.errors import DomainError, code_for
        from protocol.errors import REQUEST_CANCELLED

        try:
            return await turn
        except DomainError as exc:
            data = {**exc.data, "kind": exc.data.get("kind", type(exc).__name__)}
            await emit(wire.QueryFailed(code=code_for(exc), message=str(exc), data=data))
            raise
        except asyncio.CancelledError:
            await emit(
                wire.QueryFailed(
                    code=REQUEST_CANCELLED, message="cancelled", data={"kind": "Cancelled"}
                )
            )
            raise
