"""``deputydev ask "QUERY"``: one turn from the terminal, streamed as it is produced.

The terminal plays the editor's part: it approves commands and, with ``--write``, each edit
(the file is written only after a yes). Turns are saved in the same sessions database as
the daemon's, so ``--session ID`` continues a conversation begun in the editor. Ctrl-C
cancels the turn and keeps what was produced.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel
    from rich.console import Console

    from daemon.config import Settings
    from daemon.solver.ports import ModelRouter
    from daemon.tools.base import CodeIndex, ToolContext
    from indexer.index import Index
    from providers.base import ImagePart, Reasoning

NAME = "ask"
HELP = "Ask a question about the code in the current directory."

Prompt = Callable[[str], str]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", metavar="QUERY")
    parser.add_argument("--model", "-m", help="Model name (default: providers.defaultModel).")
    parser.add_argument("--session", "-s", metavar="ID", help="Continue this session.")
    parser.add_argument("--agent", "-a", help="general, code_writer, explainer, test_writer, ...")
    parser.add_argument("--write", action="store_true", help="Allow edits (each one confirmed).")
    parser.add_argument(
        "--reasoning",
        "-r",
        choices=("none", "low", "medium", "high"),
        help="How hard the model thinks (default: solver.reasoning).",
    )
    parser.add_argument("--root", type=Path, default=None, help="Workspace root (default: cwd).")
    parser.add_argument(
        "--image",
        "-i",
        action="append",
        default=[],
        type=Path,
        metavar="PATH",
        help="Attach an image (PNG, JPEG, GIF, WebP) inside the workspace; repeatable.",
    )


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from daemon import logs, paths
    from daemon.cli import folder_problem, settings_or_exit
    from daemon.usable import HOW_TO_GET_A_MODEL, usable_model

    if not args.query.strip():
        print(
            "deputydev: the question is empty; ask something, e.g. deputydev ask "
            '"what does this project do?"',
            file=sys.stderr,
        )
        return 2
    root = (args.root or Path.cwd()).resolve()
    if (problem := folder_problem(root)) is not None:
        print(f"deputydev: {problem}", file=sys.stderr)
        return 2
    loaded = settings_or_exit([root])
    # The log file has the details (a fallback's failure, a retry); the terminal gets one
    # line per fact from this command.
    logs.setup(loaded.settings.log_level, stderr=False)
    try:
        from providers.errors import UnknownModel
        from providers.router import Router
    except ImportError:
        print("deputydev: no model provider is available in this installation", file=sys.stderr)
        return 1

    router = Router(loaded.settings.providers, catalogue_path=paths.openrouter_catalogue())
    try:
        found = asyncio.run(usable_model(router, args.model))
    except UnknownModel as exc:
        print(f"deputydev: {exc}", file=sys.stderr)
        return 2
    if found.model is None:
        print(f"deputydev: {found.message()}\n\n{HOW_TO_GET_A_MODEL}", file=sys.stderr)
        return 2
    # stdout carries the answer alone (so `ask ... > answer.txt` holds just that); tool
    # steps, notes, errors and the closing line go to stderr.
    console = Console(highlight=False, soft_wrap=True)
    notes = Console(stderr=True, highlight=False, soft_wrap=True)
    prompt: Prompt = input if sys.stdin.isatty() else (lambda message: "n")
    try:
        return asyncio.run(
            ask(
                args.query,
                router=router,
                settings=loaded.settings,
                root=root,
                session_id=args.session,
                model=args.model,
                agent=args.agent,
                write=args.write,
                reasoning=args.reasoning,
                console=console,
                notes=notes,
                prompt=prompt,
                images=[str(p.resolve()) for p in args.image],
            )
        )
    except KeyboardInterrupt:
        notes.print("\n[yellow]cancelled; the partial answer is saved[/yellow]")
        return 130


async def ask(
    query: str,
    *,
    router: ModelRouter,
    settings: Settings,
    root: Path,
    session_id: str | None,
    model: str | None,
    agent: str | None,
    write: bool,
    console: Console,
    prompt: Prompt,
    reasoning: Reasoning | None = None,
    images: Sequence[str] = (),
    notes: Console | None = None,
) -> int:
    """One turn; the answer's text goes to ``console``, everything else to ``notes``
    (stderr on the command line; ``console`` too when not given)."""
    from rich.markup import escape

    from daemon.errors import DomainError
    from daemon.paths import data_dir
    from daemon.sessions.store import SessionStore
    from daemon.solver.loop import Solver
    from daemon.tools.base import ToolContext
    from daemon.tools.registry import make_tools
    from protocol import query as wire

    async def yes(message: str) -> bool:
        answer = await asyncio.to_thread(prompt, f"{message} [y/N] ")
        return answer.strip().lower() in ("y", "yes")

    async def confirm(message: str, details: Mapping[str, Any]) -> bool:
        return await yes(message)

    async def ask_user(question: str, options: Sequence[str]) -> str:
        hint = f" ({' / '.join(options)})" if options else ""
        return await asyncio.to_thread(prompt, f"{question}{hint} ")

    async def apply_edit(path: Path, text: str) -> bool:
        if not await yes(f"Write {path}?"):
            return False
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(path.write_text, text, encoding="utf-8")
        return True

    err = notes or console

    async def show(event: BaseModel) -> None:
        match event:
            case wire.TextChunk(text=text):
                console.print(text, end="", markup=False)
            case wire.ToolCallStarted(name=name, arguments=arguments):
                err.print(f"\n[dim]→ {name} {escape(str(arguments))}[/dim]")
            case wire.ToolCallFinished(name=name, is_error=True, content=content):
                err.print(f"[red]✗ {name}: {escape(content[:200])}[/red]")
            case wire.FileEdit(path=path, status=status, added=added, removed=removed):
                if status != "proposed":
                    err.print(f"[green]{status} {path} (+{added} -{removed})[/green]")
            case wire.ModelSwitched(from_model=old, to_model=new, reason=why):
                err.print(f"[yellow]{old} failed ({escape(why)}); {new} answers[/yellow]")

    from daemon.mcp.manager import McpManager
    from daemon.paths import log_dir
    from daemon.tools.hosting import open_hosting

    store = await SessionStore.open(data_dir() / "sessions.db")
    index = await _open_index(root, settings, err) if settings.index.enabled else None
    hosting = open_hosting(settings.hosting)
    mcp = McpManager(settings.mcp, cwd=root, log_dir=log_dir())
    team_reader = None
    team_code = None
    if settings.sync.configured:
        from daemon.sync.team import TeamCodeAdapter, TeamReader

        team_reader = TeamReader(settings.sync)
        team_code = TeamCodeAdapter(team_reader, lambda: index.embedder if index else None)
    try:
        tools = make_tools(write_mode=write)
        if team_code is not None:
            from daemon.tools.search import TeamCodeSearch

            tools.append(TeamCodeSearch())
        if mcp.configured:
            with err.status("starting MCP servers…"):
                tools += await mcp.tools()
            for connection in mcp.connections.values():
                if connection.state == "failed":
                    err.print(
                        f"[yellow]MCP server {connection.name} is left out: "
                        f"{escape(connection.last_error or '')}[/yellow]"
                    )
        solver = Solver.from_settings(
            settings,
            router=router,
            store=store,
            tools=tools,
            tool_context=ToolContext(
                roots=[root],
                settings=settings.solver.tools,
                write_mode=write,
                confirm=confirm,
                ask_user=ask_user,
                apply_edit=apply_edit,
                index=_code_index(index),
                hosting=hosting,
                read_mcp_resource=mcp.read_resource,
                get_mcp_prompt=mcp.get_prompt,
                team_code=team_code,
            ),
            emit=show,
        )
        session = None
        try:
            attached = await _load_images(images, solver.ctx)
            session = await solver.open_session(session_id, query, str(root))
            outcome = await solver.run(
                query=query,
                session=session,
                model=model,
                agent=agent,
                new_session=session_id is None,
                reasoning=reasoning,
                images=attached,
            )
        except DomainError as exc:
            if console is not err:
                console.print()  # end a partial answer's line
            err.print(f"\n[red]deputydev: {escape(str(exc))}[/red]")
            if session is not None and session_id is None and not await store.get_turns(session.id):
                await store.delete_session(session.id)  # refused before any turn began
            elif session is not None:
                err.print(f"[dim]session {session.id[:8]} (the failed turn is saved)[/dim]")
            return 1
        if console is not err:
            console.print()
        err.print(
            f"\n[dim]{outcome.model} · {outcome.usage.input_tokens} in /"
            f" {outcome.usage.output_tokens} out · ${outcome.cost_usd:.4f} ·"
            f" session {outcome.session_id[:8]}[/dim]"
        )
        return 0
    finally:
        if settings.sync.configured:
            await _push_before_exit(store, settings, err)
        await mcp.aclose()
        await store.close()
        await hosting.aclose()
        if team_reader is not None:
            await team_reader.close()
        if index is not None:
            await index.close()


# How long ask waits for the team server before it exits; what is left goes later.
PUSH_BEFORE_EXIT_S = 10.0


async def _push_before_exit(store: Any, settings: Settings, err: Console) -> None:
    """Send this turn's rows to the team server: no daemon may be running to do it."""
    from rich.markup import escape

    from daemon.errors import SyncError
    from daemon.sync.pusher import push_now
    from daemon.words import plural

    try:
        await push_now(store, settings.sync, PUSH_BEFORE_EXIT_S)
        return
    except SyncError as exc:
        why = str(exc)
    except TimeoutError:
        why = f"no answer within {PUSH_BEFORE_EXIT_S:g} s"
    left = await store.outbox_pending()
    err.print(
        f"[yellow]team sync: not pushed ({escape(why)}); {plural(left, 'change')} wait and go"
        " with the next ask, `deputydev sync push`, or a running daemon[/yellow]"
    )


async def _load_images(paths: Sequence[str], ctx: ToolContext) -> tuple[ImagePart, ...]:
    if not paths:
        return ()
    from daemon.solver.attachments import load_images
    from protocol.query import Attachment

    return await load_images([Attachment(path=p) for p in paths], ctx)


async def _open_index(root: Path, settings: Settings, console: Console) -> Index | None:
    """The root's index, brought up to date first (only changed files are read again)."""
    from daemon.index.service import open_index
    from indexer.errors import IndexerError

    try:
        index = await open_index(root, settings)
    except (IndexerError, OSError) as exc:
        console.print(f"[yellow]no index for code_search ({exc}); grep still works[/yellow]")
        return None
    with console.status(f"indexing {root.name}…"):
        await index.update()
    return index


def _code_index(index: Index | None) -> CodeIndex | None:
    from daemon.index.service import CodeIndexAdapter, OneRoot

    return CodeIndexAdapter(OneRoot(index)) if index is not None else None
