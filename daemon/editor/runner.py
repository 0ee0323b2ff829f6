"""Runs the editor commands: a query with work-done progress, then the answer shown.

A command turns its arguments into a ``deputydev/query`` (the selection as a snippet focus
item, the action's prompt, the agent that fits, write mode for actions that edit) and runs
it through the query service, so that sessions, tools, confirmations and applyEdit work
exactly as for the custom method. On the way:

- progress: ``window/workDoneProgress/create``, then ``begin`` with the action's title and
  one ``report`` per step ("searching the code for ...", "reading app.py", "editing
  app.py"), then ``end`` with the outcome; cancellable, and a cancel from the editor's
  progress UI stops the turn;
- the answer: the session's Markdown transcript is written under the data folder and
  shown with ``window/showDocument`` (``takeFocus``), or, when the client cannot show
  documents, the first lines of the answer in ``window/showMessage``. When the turn edited
  files, the edits are already in the editor (undoable there), so a message says what
  changed instead of taking the user away from their code;
- failures: ``window/showMessage`` with the error's message, which names the fix, and the
  same error as the command's response.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pydantic import BaseModel

from daemon.editor import actions
from daemon.errors import DaemonError, DomainError, WorkspaceError
from daemon.progress import WorkDone
from daemon.solver.steps import step_message
from protocol import commands as cmd
from protocol.query import FileEdit, FocusItem, QueryParams, QueryResult

if TYPE_CHECKING:
    from daemon.server import DeputyServer
    from daemon.solver.loop import TurnOutcome
    from protocol.index import IndexRebuildResult

log = logging.getLogger(__name__)

MESSAGE_LINES = 6
MESSAGE_CHARS = 500


class CommandRunner:
    """The editor commands of one server (a service: ``server.service(CommandRunner)``)."""

    def __init__(self, server: DeputyServer) -> None:
        self._server = server

    async def start(self) -> None:
        pass

    async def aclose(self) -> None:
        pass

    # -- what the client can do ------------------------------------------------------------

    def _caps(self) -> types.ClientCapabilities | None:
        try:
            return self._server.client_capabilities
        except (AttributeError, RuntimeError):
            return None

    def can_edit_file(self, uri: str) -> bool:
        """Whether actions that edit ``uri`` may be offered: the client applies edits (or the
        daemon may write) and the file is inside a root, where tools can write."""
        if not self.can_edit():
            return False
        try:
            return self._root_of(self._path(uri)) is not None
        except DaemonError:
            return False

    def can_edit(self) -> bool:
        caps = self._caps()
        apply = bool(caps and caps.workspace and caps.workspace.apply_edit)
        return apply or self._server.settings.solver.tools.direct_write

    def _can_show_documents(self) -> bool:
        caps = self._caps()
        window = caps.window if caps else None
        return bool(window and window.show_document and window.show_document.support)

    def _can_ask(self) -> bool:
        caps = self._caps()
        return bool(caps and caps.window and caps.window.show_message is not None)

    # -- the commands ----------------------------------------------------------------------

    async def ask(self, args: cmd.AskArgs) -> QueryResult:
        items = []
        where = ""
        if args.uri is not None:
            path = self._path(args.uri)
            if args.range is not None:
                first, last = actions.lines_of(args.range)
                items.append(await self._focus(path, first, last))
            elif self._root_of(path) is not None:
                items.append(FocusItem(path=self._relative(path)))
            else:
                items.append(await self._focus(path, 1, 1_000_000))
            where = path.name
        params = QueryParams(
            query=args.query,
            session_id=args.session_id,
            model=args.model,
            write_mode=args.write_mode,
            focus_items=items,
        )
        title = "Ask" + (f" about {where}" if where else "")
        return await self._run(title, params)

    async def selection(self, command: str, args: cmd.SelectionArgs) -> QueryResult | None:
        action = actions.BY_COMMAND[command]
        path = self._path(args.uri)
        if action.write_mode and self._root_of(path) is None:
            raise WorkspaceError(
                f"{path} is outside the workspace, and DeputyDev edits only inside it:"
                " open its folder as a workspace folder",
                path=str(path),
            )
        first, last = actions.lines_of(args.range)
        if args.range.start == args.range.end:
            first, last = await self._definition_around(path, first)
        instruction = args.instruction
        if action is actions.REFACTOR and not instruction:
            instruction = await self._ask_refactoring()
            if instruction is None:
                return None  # the user dismissed the choice: nothing to do
        item = await self._focus(path, first, last)
        where = f"{self._relative(path)}:{first}-{last}"
        params = QueryParams(
            query=actions.prompt(action, args, instruction, where),
            session_id=args.session_id,
            model=args.model,
            agent=action.agent,
            write_mode=action.write_mode,
            focus_items=[item],
        )
        return await self._run(f"{action.title.rstrip('.')} {where}", params)

    async def cancel(self, args: cmd.CancelArgs) -> cmd.CancelResult:
        from daemon.solver.service import QueryService

        count = self._server.service(QueryService).cancel(args.session_id)
        if count == 0:
            self._server.show_message("DeputyDev: nothing is running", types.MessageType.Info)
        return cmd.CancelResult(cancelled=count)

    async def reindex(self, args: cmd.ReindexArgs) -> IndexRebuildResult:
        from daemon.index.service import IndexService
        from protocol.index import IndexRebuildResult, RootIndexStatus

        service = await self._server.started(IndexService)
        try:
            await service.rebuild(args.root, full=args.full)
        except DomainError as exc:
            self._server.show_message(
                f"DeputyDev: re-indexing failed: {exc}", types.MessageType.Error
            )
            raise
        from daemon.words import plural

        rows = await service.status(args.root)
        for row in rows:
            self._server.show_message(
                f"DeputyDev: {row['root']} indexed: {plural(row.get('files', 0), 'file')},"
                f" {plural(row.get('symbols', 0), 'symbol')}",
                types.MessageType.Info,
            )
        return IndexRebuildResult(roots=[RootIndexStatus.model_validate(r) for r in rows])

    # -- running a query -------------------------------------------------------------------

    async def _run(self, title: str, params: QueryParams) -> QueryResult:
        from daemon.handlers.query import query_result
        from daemon.solver.service import QueryService

        service = await self._server.started(QueryService)
        edits: dict[str, FileEdit] = {}
        async with WorkDone(
            self._server,
            f"DeputyDev: {title}",
            cancellable=True,
            message="starting",
            percentage=None,
        ) as progress:
            cancel_with(self._server, progress)

            async def observe(event: BaseModel) -> None:
                if isinstance(event, FileEdit):
                    edits[event.path] = event
                line = step_message(event)
                if line is not None:
                    progress.report(line, force=True)

            try:
                outcome = await service.run(params, observe)
            except DomainError as exc:
                self._server.show_message(
                    f"DeputyDev: {title} failed: {exc}", types.MessageType.Error
                )
                raise
            changed = [e for e in edits.values() if e.status in ("applied", "written")]
            progress.message = (
                f"done: {len(changed)} file{'s' if len(changed) != 1 else ''} changed"
                if params.write_mode
                else "done"
            )
        await self._show(outcome, changed)
        return query_result(outcome)

    async def _show(self, outcome: TurnOutcome, changed: list[FileEdit]) -> None:
        from daemon.editor.transcript import write_transcript

        try:
            path = await write_transcript(self._server, outcome.session_id)
        except Exception:  # the answer is in the response: never fail the command for this
            log.exception("writing the transcript of %s failed", outcome.session_id)
            path = None
        if changed:
            files = ", ".join(f"{e.path} (+{e.added} -{e.removed})" for e in changed)
            where = f"; the transcript is {path}" if path else ""
            self._server.show_message(
                f"DeputyDev changed {files}. Undo it with your editor's undo{where}",
                types.MessageType.Info,
            )
            return
        if path is not None and self._can_show_documents():
            try:
                shown = await self._server.window_show_document_async(
                    types.ShowDocumentParams(uri=path.as_uri(), take_focus=True)
                )
                if shown is not None and shown.success:
                    return
            except Exception as exc:  # the client failed to show it: say it instead
                log.info("showDocument failed: %s", exc)
        self._server.show_message(_first_lines(outcome.text, path), types.MessageType.Info)

    async def _ask_refactoring(self) -> str | None:
        if not self._can_ask():
            return actions.DEFAULT_REFACTORING
        choice = await self._server.window_show_message_request_async(
            types.ShowMessageRequestParams(
                type=types.MessageType.Info,
                message="DeputyDev: how should this code be refactored?",
                actions=[types.MessageActionItem(title=t) for t in actions.REFACTORINGS],
            )
        )
        return choice.title if choice is not None else None

    # -- paths and the selection -----------------------------------------------------------

    def _path(self, uri: str) -> Path:
        from daemon.convert import uri_to_path

        path = uri_to_path(uri) if uri.startswith("file:") else None
        if path is None:
            raise WorkspaceError(
                f"{uri} is not a file on disk: DeputyDev works on files (file:// URIs)", path=uri
            )
        return Path(path)

    def _root_of(self, path: Path) -> Path | None:
        resolved = path.resolve()
        for root in self._server.roots():
            if resolved.is_relative_to(root.resolve()):
                return root
        return None

    def _relative(self, path: Path) -> str:
        """The path as tools take it: relative to its root (``root/...`` with several)."""
        from daemon.tools.paths import relative

        return relative(self._server.roots(), path.resolve())

    def _text(self, path: Path) -> str:
        text = self._server.document_text(path)
        if text is None:
            text = path.read_text(encoding="utf-8", errors="replace")
        return text

    async def _focus(self, path: Path, first: int, last: int) -> FocusItem:
        if self._root_of(path) is not None:
            return actions.focus(self._relative(path), first, last, None)
        # Outside the workspace the tools cannot read it: send the lines themselves.
        text = await asyncio.to_thread(self._text, path)
        lines = text.splitlines()[first - 1 : last]
        return actions.focus(str(path), first, last, "\n".join(lines))

    async def _definition_around(self, path: Path, line: int) -> tuple[int, int]:
        """A cursor (an empty selection) means the innermost definition around it."""
        from indexer.chunking import chunk_file

        def find() -> tuple[int, int]:
            try:
                text = self._text(path)
            except OSError:
                return line, line
            symbols = chunk_file(path.name, text).symbols
            around = [
                s for s in symbols if s.start_line <= line <= s.end_line and s.kind != "variable"
            ]
            if not around:
                return line, line
            best = min(around, key=lambda s: s.end_line - s.start_line)
            return best.start_line, best.end_line

        return await asyncio.to_thread(find)


def _first_lines(text: str, path: Path | None) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    head = "\n".join(lines[:MESSAGE_LINES])
    more = len(lines) > MESSAGE_LINES or len(head) > MESSAGE_CHARS
    head = head[:MESSAGE_CHARS]
    if more:
        head += " …" + (f"\n(the whole answer: {path})" if path else "")
    return f"DeputyDev: {head}" if head else "DeputyDev: (no answer text)"


def cancel_with(server: DeputyServer, progress: WorkDone) -> None:
    """A cancel from the editor's progress UI cancels the current task (the command's)."""
    token, task = progress.token, asyncio.current_task()
    if token is None or task is None:
        return
    future = server.work_done_progress.tokens.get(token)
    if future is None:
        return
    loop = asyncio.get_running_loop()

    def cancelled(done: Any) -> None:
        if done.cancelled() and not task.done():
            loop.call_soon_threadsafe(task.cancel)

    future.add_done_callback(cancelled)
