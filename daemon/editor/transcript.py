"""A session's Markdown transcript on disk, for ``window/showDocument``.

Generic LSP clients cannot render a streamed chat, but every one can open a file: after a
command's turn, the whole session is written as Markdown (the format of ``deputydev
sessions export``) to ``data_dir()/transcripts/<session id>.md``, readable by the user
only, and rewritten after each later turn of the same session.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from daemon.server import DeputyServer


def transcript_path(session_id: str) -> Path:
    from daemon.paths import data_dir

    safe = "".join(c for c in session_id if c.isalnum() or c in "-_") or "session"
    return data_dir() / "transcripts" / f"{safe}.md"


async def write_transcript(server: DeputyServer, session_id: str) -> Path:
    return (await transcript(server, session_id))[0]


async def transcript(server: DeputyServer, session_id: str) -> tuple[Path, str, str]:
    """Write the session's transcript; its path, title and Markdown. An unknown session
    raises SessionNotFound."""
    from daemon.sessions import export
    from daemon.sessions.service import SessionsService

    store = (await server.started(SessionsService)).store
    session = await store.get_session(session_id)
    turns = await store.get_turns(session.id)
    text = export.to_markdown(session, turns)
    path = transcript_path(session.id)
    await asyncio.to_thread(_write, path, text)
    return path, session.title, text


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_suffix(".md.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(partial, path)
