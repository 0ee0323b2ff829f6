"""``deputydev ask`` with a scripted router: streamed text, terminal approvals, sessions."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from daemon.commands.ask import ask
from daemon.config import Settings
from daemon.paths import data_dir
from daemon.sessions.store import SessionStore
from tests.unit.solver.fake_router import FakeRouter, calls, reply


async def test_ask_streams_asks_on_the_terminal_and_saves(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.py").write_text("x = 1\n")
    (root / "conf.py").write_text("def parse_config(text):\n    return dict(text)\n")
    router = FakeRouter(
        scripts=[
            calls(("c0", "code_search", {"query": "parse the config"})),
            calls(
                ("c1", "execute_command", {"command": "touch no.txt"}),
                ("c2", "replace_in_file", {"path": "a.py", "oldText": "x = 1", "newText": "x = 2"}),
            ),
            reply("Changed [x] to 2."),
        ]
    )
    answers = iter(["n", "y"])
    asked: list[str] = []

    def prompt(message: str) -> str:
        asked.append(message)
        return next(answers)

    out = io.StringIO()
    code = await ask(
        "set x to 2",
        router=router,
        settings=Settings(),
        root=root,
        session_id=None,
        model=None,
        agent="code_writer",
        write=True,
        console=Console(file=out, width=200),
        prompt=prompt,
    )
    assert code == 0
    assert asked == [
        "Run `touch no.txt`? (no command is allowed without asking "
        "(solver.tools.commandAllow)) [y/N] ",
        f"Write {root / 'a.py'}? [y/N] ",
    ]
    assert not (root / "no.txt").exists()
    assert (root / "a.py").read_text() == "x = 2\n"
    text = out.getvalue()
    assert "Changed [x] to 2." in text and "declined" in text and "session " in text
    assert "applied a.py (+1 -1)" in text
    found = router.requests[1].messages[-1].results[0]  # type: ignore[union-attr]
    assert found.name == "code_search" and not found.is_error and "conf.py:1" in found.content

    store = await SessionStore.open(data_dir() / "sessions.db")
    try:
        [session] = await store.list_sessions()
        [turn] = await store.get_turns(session.id)
        assert turn.status == "complete" and turn.agent == "code_writer"
    finally:
        await store.close()


async def test_ask_reports_an_unknown_session(tmp_path: Path) -> None:
    out = io.StringIO()
    code = await ask(
        "q",
        router=FakeRouter(),
        settings=Settings(),
        root=tmp_path,
        session_id="missing",
        model=None,
        agent=None,
        write=False,
        console=Console(file=out, width=200),
        prompt=lambda m: "n",
    )
    assert code == 1 and "no session 'missing'" in out.getvalue()


async def test_ask_attaches_images_from_the_workspace_only(tmp_path: Path) -> None:
    from tests.unit.providers.test_images import picture

    root = tmp_path / "ws"
    root.mkdir()
    (root / "screen.png").write_bytes(picture("PNG", (40, 20)))
    (tmp_path / "outside.png").write_bytes(picture("PNG", (40, 20)))
    router = FakeRouter(scripts=[reply("A gradient.")])

    async def run(*images: str) -> tuple[int, str]:
        out = io.StringIO()
        code = await ask(
            "what is on screen?",
            router=router,
            settings=Settings(),
            root=root,
            session_id=None,
            model=None,
            agent="general",
            write=False,
            console=Console(file=out, width=200),
            prompt=lambda message: "n",
            images=images,
        )
        return code, out.getvalue()

    code, _ = await run(str(root / "screen.png"))
    assert code == 0
    [image] = router.requests[0].messages[-1].images  # type: ignore[union-attr]
    assert image.media_type == "image/png"
    code, text = await run(str(tmp_path / "outside.png"))
    assert code == 1 and "attachments[0].path" in text and "absolute" in text
    assert len(router.requests) == 1  # nothing was sent for the refused image
