"""The language server: typed custom methods, lifetime, settings and services.

:class:`DeputyProtocol` extends pygls's ``LanguageServerProtocol`` so that custom methods get
real types from ``protocol.methods.METHOD_TYPES`` (pydantic models in and out, camelCase on
the wire) and so that ``initialize`` advertises every custom method under
``capabilities.experimental.deputydev``. :class:`DeputyServer` holds the typed state:
settings, services, the time it started, and the signals services listen to (roots,
settings and saved documents). Handlers live in ``daemon.handlers``; this module registers
nothing but the lifecycle.

Lifetime: the server stops when its input closes, on ``exit`` (code 0 after ``shutdown``,
1 without, as LSP says), and when the editor process named by ``processId`` dies.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
from lsprotocol import types
from pydantic import BaseModel
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, default_converter, lsp_method
from pygls.uris import to_fs_path

from daemon import __version__
from daemon.config import ConfigIssue, LoadedSettings, Settings, load_settings
from protocol import errors as codes
from protocol.methods import CLIENT_METHODS, METHOD_TYPES, NOTIFICATIONS

if TYPE_CHECKING:
    import cattrs

    from daemon.services import Service
    from daemon.status import Contributor

log = logging.getLogger(__name__)
S = TypeVar("S", bound="Service")


# --------------------------------------------------------------------------- typed messages


def _is_model(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, BaseModel)


def _no_params(obj: Any) -> Any:
    """``null``, a missing ``params`` and ``[]`` all mean "no params": Neovim encodes an
    empty Lua table as ``[]``, so ``request("deputydev/status", {})`` arrives that way."""
    return {} if obj is None or (isinstance(obj, list) and not obj) else obj


def make_converter() -> cattrs.Converter:
    converter: cattrs.Converter = default_converter()  # type: ignore[no-untyped-call]
    converter.register_structure_hook_func(
        _is_model, lambda obj, cls: cls.model_validate(_no_params(obj))
    )
    converter.register_unstructure_hook_func(
        _is_model, lambda model: model.model_dump(by_alias=True, mode="json", exclude_none=True)
    )
    return converter


_made: dict[tuple[str, str], type[Any]] = {}


def _cached(kind: str, method: str, make: Callable[[], type[Any]]) -> type[Any]:
    key = (kind, method)
    if key not in _made:
        _made[key] = make()
    return _made[key]


def _class_name(kind: str, method: str) -> str:
    return kind + "".join(part[:1].upper() + part[1:] for part in re.split(r"\W+", method))


def _request_class(method: str, params: type[Any]) -> type[Any]:
    return attrs.make_class(
        _class_name("Request", method),
        {
            "id": attrs.field(type=int | str),  # type: ignore[arg-type]
            "params": attrs.field(type=params, factory=params),
            "method": attrs.field(type=str, default=method),
            "jsonrpc": attrs.field(type=str, default="2.0"),
        },
    )


def _response_class(method: str, result: type[Any]) -> type[Any]:
    return attrs.make_class(
        _class_name("Response", method),
        {
            "id": attrs.field(type=int | str),  # type: ignore[arg-type]
            "result": attrs.field(type=result, default=None),
            "jsonrpc": attrs.field(type=str, default="2.0"),
        },
    )


class DeputyProtocol(LanguageServerProtocol):
    _server: DeputyServer

    def get_message_type(self, method: str) -> type[Any] | None:  # type: ignore[override]
        if method in METHOD_TYPES:
            params = METHOD_TYPES[method][0]
            if params is None:
                return None
            return _cached("request", method, lambda: _request_class(method, params))
        return super().get_message_type(method)

    def get_result_type(self, method: str) -> type[Any] | None:  # type: ignore[override]
        if method in CLIENT_METHODS:
            # The reply arrives as plain JSON: the caller validates it against
            # CLIENT_METHODS, so that a malformed one is its to report, never a lost message.
            return _cached("response", method, lambda: _response_class(method, Any))
        return super().get_result_type(method)

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except Exception as exc:
            # A reply to our request that does not fit its type fails that request now;
            # dropped, it would leave the request (and the turn waiting on it) hanging.
            future = None
            if "jsonrpc" in data and "method" not in data:
                future = self._request_futures.get(data.get("id"))  # type: ignore[arg-type]
            if isinstance(future, concurrent.futures.Future) and not future.done():
                self._request_futures.pop(data["id"], None)
                log.warning("malformed reply to request %s: %.300r", data.get("id"), data)
                future.set_exception(
                    JsonRpcInvalidParams(f"malformed reply: {data.get('result')!r:.200}")
                )
            raise exc

    def _serialize_message(self, data: Any) -> Any:
        if isinstance(data, BaseModel):
            return data.model_dump(by_alias=True, mode="json", exclude_none=True)
        return super()._serialize_message(data)

    _initialize_received = False

    def handle_message(self, message: Any) -> None:
        method = getattr(message, "method", None)
        # LSP: a request after shutdown is answered with InvalidRequest, not ignored.
        if self._shutdown and method != types.EXIT:
            self._refuse(
                message,
                codes.INVALID_REQUEST,
                "the server is shutting down; only exit is accepted",
            )
            return
        # LSP: initialize is sent once. A second one would replace the roots (a folder the
        # user never opened, such as /etc, becoming readable): roots change only through
        # workspace/didChangeWorkspaceFolders.
        if method == types.INITIALIZE and self._initialize_received:
            self._refuse(
                message,
                codes.INVALID_REQUEST,
                "initialize was already received; change the roots with "
                "workspace/didChangeWorkspaceFolders",
            )
            log.warning("refused a second initialize")
            return
        # LSP: before initialize, requests get ServerNotInitialized and notifications are
        # dropped, but exit, which lets a client stop a server it never initialized.
        if not self._initialize_received and method not in (None, types.INITIALIZE, types.EXIT):
            if not self._refuse(
                message,
                codes.SERVER_NOT_INITIALIZED,
                f"the server is not initialized: send initialize before {method}",
            ):
                log.warning("dropped %s: it came before initialize", method)
            return
        super().handle_message(message)

    def _refuse(self, message: Any, code: int, text: str) -> bool:
        """Answer a request with an error; False (nothing sent) for a notification."""
        msg_id = getattr(message, "id", None)
        if msg_id is None or not hasattr(message, "method"):
            return False
        error = {"code": code, "message": text}
        self._send_data({"jsonrpc": "2.0", "id": msg_id, "error": error})
        return True

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(
        self, params: types.InitializeParams
    ) -> Generator[Any, Any, types.InitializeResult]:
        self._initialize_received = True
        result = yield from super().lsp_initialize(params)
        for adjust in self._server.capability_hooks:
            adjust(params.capabilities, result.capabilities)
        result.capabilities.experimental = {
            "deputydev": {
                "version": __version__,
                "methods": sorted(METHOD_TYPES),
                "notifications": sorted(NOTIFICATIONS),
                "clientMethods": sorted(CLIENT_METHODS),
            }
        }
        return result

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    async def lsp_workspace__execute_command(  # type: ignore[override]
        self, params: types.ExecuteCommandParams
    ) -> Any:
        """Commands run as the request's own task. pygls's builtin runs them as a second
        task behind a generator: ``$/cancelRequest`` then answered -32800 while the command
        ran on, and a command cancelled from inside never answered at all."""
        from pygls.exceptions import JsonRpcInvalidParams
        from pygls.protocol.language_server import _prepare_command_arguments

        handler = self.fm.commands.get(params.command)
        if handler is None:
            raise JsonRpcInvalidParams.of(
                ValueError(f"Command name {params.command!r} is not defined")
            )
        try:
            args, kwargs = _prepare_command_arguments(handler, params, self._converter)
        except Exception as exc:
            raise JsonRpcInvalidParams.of(exc) from exc
        result = handler(*args, **kwargs)
        if asyncio.iscoroutine(result):
            result = await result
        return result

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args: Any) -> Generator[Any, Any, None]:
        if (user_handler := self.fm.features.get(types.EXIT)) is not None:
            yield user_handler, args, None
        self._server.request_exit(0 if self._shutdown else 1)


# --------------------------------------------------------------------------- the server

Listener = Callable[..., Awaitable[None] | None]


class Signal:
    """A tiny observer list: services subscribe, handlers emit; errors are logged, not raised."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._listeners: list[Listener] = []

    def connect(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def emit(self, *args: Any) -> None:
        for listener in list(self._listeners):
            try:
                result = listener(*args)
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("listener of %s failed", self.name)


class DeputyServer(LanguageServer):
    protocol: DeputyProtocol

    def __init__(self) -> None:
        super().__init__(
            name="deputydev",
            version=__version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=DeputyProtocol,
            converter_factory=make_converter,
        )
        self.started_at = time.monotonic()
        self.loaded: LoadedSettings = load_settings()
        self.editor_settings: dict[str, Any] = {}
        self.initialized = asyncio.Event()
        self.exit_code: int | None = None
        self.stopping = asyncio.Event()
        self.roots_changed = Signal("roots_changed")  # (added: list[Path], removed: list[Path])
        self.settings_changed = Signal("settings_changed")  # (settings: Settings)
        self.document_saved = Signal("document_saved")  # (path: Path, text: str | None)
        self.document_changed = Signal("document_changed")  # (path: Path)
        # Features that depend on what the client can do adjust the advertised capabilities
        # here, at initialize (e.g. no editing commands for a client that cannot apply edits).
        self.capability_hooks: list[
            Callable[[types.ClientCapabilities, types.ServerCapabilities], None]
        ] = []
        # What deputydev/status gathers from each feature (daemon.status), and the services
        # started after initialized, in order (the rest start on first use). Both are filled
        # by the handlers' register(server): each server has its own.
        self.status_contributors: list[Contributor] = []
        self.autostart: list[Callable[[], type[Any]]] = []
        self._services: dict[type[Any], Service] = {}
        self._service_starts: dict[type[Any], asyncio.Task[None]] = {}
        self._reported_issues: set[str] = set()
        self._last_error_shown: dict[str, float] = {}

    # ---- settings

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    def reload_settings(self) -> list[ConfigIssue]:
        """Read every source again; returns the issues not reported before."""
        self.loaded = load_settings(roots=self.roots(), editor=self.editor_settings)
        new = [i for i in self.loaded.issues if str(i) not in self._reported_issues]
        self._reported_issues.update(str(i) for i in new)
        return new

    # ---- workspace

    def roots(self) -> list[Path]:
        try:
            workspace = self.workspace
        except RuntimeError:
            return []
        folders = list(workspace.folders.values())
        uris = [f.uri for f in folders] or ([workspace.root_uri] if workspace.root_uri else [])
        out = []
        for uri in uris:
            path = to_fs_path(uri)
            if path:
                out.append(Path(path))
        return out

    def document_text(self, path: Path) -> str | None:
        """The editor's buffer for ``path`` if it is open (what the user sees), else None."""
        from pygls.uris import from_fs_path

        uri = from_fs_path(str(path))
        try:
            documents = self.workspace.text_documents
        except RuntimeError:
            return None
        doc = documents.get(uri) if uri else None
        return doc.source if doc is not None else None

    def open_documents(self) -> list[Path]:
        """Files open in the editor (their paths; documents that are not files are left out)."""
        from pygls.uris import to_fs_path

        try:
            documents = self.workspace.text_documents
        except RuntimeError:
            return []
        paths = (to_fs_path(uri) for uri in documents if uri.startswith("file:"))
        return [Path(path) for path in paths if path]

    # ---- talking to the editor: services use these, never ``self.protocol``

    def notify(self, method: str, params: Any) -> None:
        """Send a notification to the editor (``$/progress``, ``deputydev/index/updated``)."""
        self.protocol.notify(method, params)

    async def ask_editor(self, method: str, params: Any) -> Any:
        """Send a request to the editor and return its reply, unchecked; an error response
        is an :class:`~daemon.errors.EditorRefused`."""
        from pygls.exceptions import JsonRpcException

        from daemon.errors import EditorRefused

        try:
            return await self.protocol.send_request_async(method, params)
        except JsonRpcException as exc:
            raise EditorRefused(str(exc), method=method) from exc

    async def apply_edit(self, edit: types.WorkspaceEdit, label: str) -> bool:
        """``workspace/applyEdit``: True when the editor applied it."""
        from pygls.exceptions import JsonRpcException

        try:
            result = await self.workspace_apply_edit_async(
                types.ApplyWorkspaceEditParams(edit=edit, label=label)
            )
        except JsonRpcException as exc:  # an error response, or a reply that is not one
            log.warning("workspace/applyEdit failed: %s", exc)
            return False
        return result is not None and result.applied is True

    # ---- services

    def service(self, cls: type[S]) -> S:
        instance = self._services.get(cls)
        if instance is None:
            instance = cls(self)
            self._services[cls] = instance
        return instance  # type: ignore[return-value]

    async def started(self, cls: type[S]) -> S:
        """The service, started once (concurrent callers wait for the same start)."""
        instance = self.service(cls)
        task = self._service_starts.get(cls)
        if task is None:
            task = asyncio.ensure_future(instance.start())
            self._service_starts[cls] = task
        await asyncio.shield(task)
        return instance

    async def close_services(self, budget_s: float = 10.0) -> None:
        """Close every service, newest first, within ``budget_s`` in all: ``shutdown`` must
        answer even when a service is stuck (a cancelled task waiting on a thread would
        hold ``wait_for`` as long as the thread runs), so one that overruns is cancelled,
        not waited for, and named in the log."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget_s
        for instance in reversed(list(self._services.values())):
            name = type(instance).__name__
            task = asyncio.ensure_future(instance.aclose())
            done, _ = await asyncio.wait({task}, timeout=max(deadline - loop.time(), 0.5))
            if not done:
                task.cancel()
                log.warning("%s did not close in time; it stops with the process", name)
            elif not task.cancelled() and task.exception() is not None:
                log.error("closing %s failed", name, exc_info=task.exception())

    # ---- errors

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Failures of notifications have no response to carry them: log each, and tell
        the user through showMessage at most once a minute per kind of error, so that a
        failing handler on every keystroke does not flood the editor."""
        from pygls.exceptions import FeatureNotificationError

        log.error("%s: %s", getattr(source, "__name__", source), error)
        if source is not FeatureNotificationError:
            return  # a request's error already went back in its response
        key = type(error).__name__
        now = time.monotonic()
        if now - self._last_error_shown.get(key, -1e9) < 60:
            return
        self._last_error_shown[key] = now
        self.show_message(f"DeputyDev: {error}", types.MessageType.Error)

    # ---- lifetime

    def request_exit(self, code: int) -> None:
        if self.exit_code is None:
            self.exit_code = code
        self.stopping.set()

    def uptime(self) -> float:
        return time.monotonic() - self.started_at

    def show_message(
        self, message: str, kind: types.MessageType = types.MessageType.Warning
    ) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))


async def watch_parent(pid: int, server: DeputyServer) -> None:
    """Exit when the editor dies: a pidfd where the OS has one, else a slow poll."""
    log.info("watching editor process %d", pid)
    loop = asyncio.get_running_loop()
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = -1
    if fd >= 0:
        gone = asyncio.Event()
        loop.add_reader(fd, gone.set)
        try:
            await gone.wait()
        finally:
            loop.remove_reader(fd)
            os.close(fd)
    else:
        # No pidfd (macOS, Windows): poll, as vscode-languageserver does.
        while _alive(pid):  # noqa: ASYNC110 - there is no event to wait on here
            await asyncio.sleep(2)
    log.warning("editor process %d is gone; exiting", pid)
    server.request_exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
