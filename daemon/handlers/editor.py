"""Code actions and ``workspace/executeCommand``: DeputyDev in any LSP client, no plugin.

Thin adapters: listing actions is :func:`daemon.editor.actions.code_actions`, running a
command is :class:`daemon.editor.runner.CommandRunner`. At initialize, commands that edit
are left out of ``executeCommandProvider`` for a client that cannot apply edits (unless
``solver.tools.directWrite`` lets the daemon write itself).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pydantic import ValidationError
from pygls.exceptions import JsonRpcException

from daemon.editor import actions
from daemon.editor.runner import CommandRunner
from daemon.errors import jsonrpc_errors
from protocol import commands as cmd
from protocol import errors as codes

if TYPE_CHECKING:
    from daemon.server import DeputyServer


def parse(command: str, arguments: tuple[Any, ...]) -> Any:
    """The command's argument object; no arguments, ``[]``, ``[{}]`` and ``[null]`` are an
    empty object. A bad one is InvalidParams naming each field."""
    model = cmd.COMMAND_ARGS[command]
    if len(arguments) > 1:
        raise _invalid(command, [{"field": "arguments", "message": "expected one object"}])
    value = _plain(arguments[0]) if arguments else None
    if value is None or value == []:
        value = {}
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        fields = [
            {"field": ".".join(str(p) for p in e["loc"]) or "arguments", "message": e["msg"]}
            for e in exc.errors()
        ]
        raise _invalid(command, fields) from None


def _plain(value: Any) -> Any:
    """pygls hands untyped values over as namedtuples: back to plain JSON values."""
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _invalid(command: str, fields: list[dict[str, str]]) -> JsonRpcException:
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return JsonRpcException(
        code=codes.INVALID_PARAMS,
        message=f"Invalid arguments for {command}: {summary}",
        data={"errors": fields},
    )


def register(server: DeputyServer) -> None:
    def runner() -> CommandRunner:
        return server.service(CommandRunner)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=sorted({a.kind for a in actions.ACTIONS if a.kind}),
            resolve_provider=False,
        ),
    )
    def code_action(
        params: types.CodeActionParams,
    ) -> list[types.CodeAction | types.Command]:
        caps = server.client_capabilities.text_document
        literals = bool(caps and caps.code_action and caps.code_action.code_action_literal_support)
        fixes: list[types.CodeAction | types.Command] = []
        # Review findings' quick fixes exist only once a review ran, which loaded its module:
        # listing stays instant (no import of the review engine) until then.
        review = sys.modules.get("daemon.review.service")
        if review is not None and actions.wanted(
            types.CodeActionKind.QuickFix, params.context.only
        ):
            found = server.service(review.ReviewService).code_actions(
                params.text_document.uri, params.range
            )
            fixes = [a if literals or a.command is None else a.command for a in found]
        return fixes + actions.code_actions(
            params.text_document.uri,
            params.range,
            params.context.diagnostics,
            only=params.context.only,
            can_edit=runner().can_edit_file(params.text_document.uri),
            literals=literals,
        )

    @server.command(cmd.ASK)
    @jsonrpc_errors
    async def ask(*arguments: Any) -> Any:
        return await runner().ask(parse(cmd.ASK, arguments))

    def selection(name: str) -> None:
        @server.command(name)
        @jsonrpc_errors
        async def run(*arguments: Any) -> Any:
            return await runner().selection(name, parse(name, arguments))

    for name in (cmd.EXPLAIN, *cmd.EDITING):
        selection(name)

    @server.command(cmd.CANCEL)
    @jsonrpc_errors
    async def cancel(*arguments: Any) -> Any:
        return await runner().cancel(parse(cmd.CANCEL, arguments))

    @server.command(cmd.REINDEX)
    @jsonrpc_errors
    async def reindex(*arguments: Any) -> Any:
        return await runner().reindex(parse(cmd.REINDEX, arguments))

    @server.feature(cmd.SESSIONS_TRANSCRIPT)
    @jsonrpc_errors
    async def sessions_transcript(params: cmd.TranscriptParams) -> cmd.TranscriptResult:
        from daemon.editor.transcript import transcript

        path, title, markdown = await transcript(server, params.session_id)
        return cmd.TranscriptResult(
            session_id=params.session_id, title=title, markdown=markdown, uri=path.as_uri()
        )

    def advertise(client: types.ClientCapabilities, ours: types.ServerCapabilities) -> None:
        provider = ours.execute_command_provider
        if provider is None or runner().can_edit():
            return
        provider.commands = [c for c in provider.commands if c not in cmd.EDITING]

    server.capability_hooks.append(advertise)
