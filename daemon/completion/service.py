"""Inline completions for the daemon: one request per document at a time, answered from the
typed-through cache when it can, else by the configured model, cut where the block ends.

For each ``textDocument/inlineCompletion``:

1. The document must be open, not a secrets file, not in an excluded language.
2. A request still running on the same document is superseded: its task is cancelled at
   once (which closes its model stream) and it answers with no items.
3. The typed-through cache answers if the user typed the start of a recent suggestion.
4. An automatic request in the middle of a word, or over the daily budget, gets nothing.
5. The prompt is built (:mod:`daemon.completion.context`), the model streams through
   :class:`providers.fim.Completer`, and the text is cut as it arrives
   (:mod:`daemon.completion.trim`): the stream is closed as soon as the completion is
   complete.

Every model call's tokens and cost go to the :class:`~daemon.completion.usage.Ledger`, apart
from chat. Provider failures of automatic requests are shown once (per kind, per ten
minutes); an invoked request gets the error as its answer.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from daemon import paths
from daemon.completion.cache import SuggestionCache
from daemon.completion.context import Buffer, Builder, Document, Found
from daemon.completion.usage import Ledger, today

if TYPE_CHECKING:
    from lsprotocol import types

    from daemon.completion.settings import CompletionSettings
    from daemon.server import DeputyServer
    from indexer.index import Index, IndexEvent
    from indexer.search import SearchResult
    from providers.base import CallRecord
    from providers.fim import Completer

log = logging.getLogger(__name__)

WARN_EVERY_S = 600.0
NEXT_LINES = 8  # lines after the cursor's that the trimming compares with
BEFORE_LINES = 20  # lines before the cursor's, for bracket balance
_WORD_CHAR = re.compile(r"\w")


class _Request:
    __slots__ = ("superseded", "task")

    def __init__(self, task: asyncio.Task[Any] | None) -> None:
        self.task = task
        self.superseded = False


class IndexLookup:
    """The workspace index as the prompt's :class:`~daemon.completion.context.Lookup`:
    definitions by exact name, mentions by one full-text MATCH, one lookup at a time (they
    share the index's reader)."""

    def __init__(self, server: DeputyServer, on_change: Callable[[set[str] | None], None]) -> None:
        self._server = server
        self._on_change = on_change
        self._watched: weakref.WeakSet[Index] = weakref.WeakSet()
        self._one_at_a_time = asyncio.Semaphore(1)

    def _indexes(self) -> list[Index]:
        from daemon.index.service import IndexService

        if not self._server.settings.index.enabled:
            return []
        found = [i for i in self._server.service(IndexService).indexes.values() if i.indexed]
        several = len(found) > 1
        for index in found:
            if index not in self._watched:
                self._watched.add(index)
                index.subscribe(functools.partial(self._changed, index, several=several))
        return found

    def _changed(self, index: Index, event: IndexEvent, *, several: bool) -> None:
        summary = event.summary
        if event.kind != "updated" or summary is None:
            return  # vectors stored: no definition moved
        paths = {self._path(index, path, several) for path in summary.paths}
        if summary.added + summary.updated + summary.removed > len(summary.paths):
            paths = set()  # more changed than listed (a branch switch): forget everything
        self._on_change(paths or None)

    def ready(self) -> bool:
        return bool(self._indexes())

    def _path(self, index: Index, path: str, several: bool) -> str:
        return f"{index.root.name}/{path}" if several else path

    # Exact names in one query and one MATCH, not the fuzzy symbol search and the lexical
    # ranking: those cost 15-100 ms of Python a name on the stdlib corpus, holding the GIL
    # while the next keystroke waits.

    async def definitions(self, names: Sequence[str]) -> dict[str, list[Found]]:
        indexes = self._indexes()
        out: dict[str, list[Found]] = {name: [] for name in names}
        for index in indexes:
            async with self._one_at_a_time:
                found = await index.definitions(names)
            for name, hits in found.items():
                out[name] += [self._found(index, hit, len(indexes) > 1) for hit in hits]
        return out

    async def mentions(self, name: str) -> list[Found]:
        indexes = self._indexes()
        out: list[Found] = []
        for index in indexes:
            async with self._one_at_a_time:
                hits = await index.mentions(name)
            out += [self._found(index, hit, len(indexes) > 1) for hit in hits]
        return out

    def _found(self, index: Index, hit: SearchResult, several: bool) -> Found:
        return Found(self._path(index, hit.path, several), hit.start_line, hit.text, hit.symbol)


class CompletionService:
    def __init__(self, server: DeputyServer) -> None:
        self._server = server
        self.cache = SuggestionCache()
        self.ledger = Ledger(paths.data_dir() / "completions.db")
        self.builder = Builder(IndexLookup(server, self._index_changed), is_secret=self._secret)
        self._inflight: dict[str, _Request] = {}
        self._recent: OrderedDict[str, None] = OrderedDict()  # URIs, most recently edited last
        self._completer: Completer | None = None
        self._completer_settings: Any = None
        self._retired: list[Completer] = []
        self._warned: dict[str, float] = {}
        self._budget_warned: str | None = None
        self._flushing: set[asyncio.Task[None]] = set()
        self._warming: asyncio.Future[None] | None = None
        self.last_error: str | None = None

    async def start(self) -> None:
        self._server.document_changed.connect(self._on_changed)
        await self.ledger.load()
        if self._server.settings.completion.model is not None:
            # The SDK costs ~0.6 s to import: not on the first keystroke's time.
            self._warming = asyncio.ensure_future(asyncio.to_thread(_warm_up))

    async def aclose(self) -> None:
        for request in list(self._inflight.values()):
            if request.task is not None:
                request.task.cancel()
        await asyncio.gather(*self._flushing, return_exceptions=True)
        await self.builder.neighbours.aclose()
        await self.ledger.flush()
        self.ledger.close()
        if self._completer is not None:
            self._retired.append(self._completer)
            self._completer = None
        await self._close_retired()

    async def _close_retired(self) -> None:
        retired, self._retired = self._retired, []
        for completer in retired:
            try:
                await completer.aclose()
            except Exception:
                log.exception("closing the completion connections failed")

    # -- the model --------------------------------------------------------------------------

    @property
    def completer(self) -> Completer:
        """Built from the provider settings of the moment; rebuilt when they change."""
        from providers.fim import Completer
        from providers.router import Router

        current = self._server.settings.providers
        if self._completer is not None and current != self._completer_settings:
            self._retired.append(self._completer)
            self._completer = None
        if self._completer is None:
            self._completer_settings = current
            self._completer = Completer(Router(current), on_record=self._on_record)
        return self._completer

    def _on_record(self, record: CallRecord) -> None:
        usage = record.usage
        self.ledger.count(
            today(),
            record.model,
            model_calls=1,
            cancelled=record.status == "cancelled",
            errors=record.status == "error",
            input_tokens=usage.input_tokens + usage.cache_read_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=record.cost_usd,
        )
        log.info(
            "completion call %s %s: %d in, %d out%s, $%.6f, first text %s ms, %.0f ms",
            record.model,
            record.status,
            usage.input_tokens + usage.cache_read_tokens,
            usage.output_tokens,
            " (estimated)" if record.extra.get("estimated") else "",
            record.cost_usd,
            "-" if record.ttft_ms is None else f"{record.ttft_ms:.0f}",
            record.total_ms,
        )
        task = asyncio.ensure_future(self.ledger.flush())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    # -- documents --------------------------------------------------------------------------

    def _on_changed(self, path: Path) -> None:
        from daemon.convert import path_to_uri

        uri = path_to_uri(path)
        if uri:
            self._recent[uri] = None
            self._recent.move_to_end(uri)
            while len(self._recent) > 64:
                self._recent.popitem(last=False)

    def _index_changed(self, paths: set[str] | None) -> None:
        if paths is None:
            self.builder.lookups.clear()
        else:
            self.builder.lookups.invalidate(paths)

    def _relative(self, uri: str) -> tuple[str, Path | None]:
        from daemon.convert import uri_to_path

        path = (uri_to_path(uri) or Path()) if uri.startswith("file:") else None
        if path is None:
            return uri.rsplit("/", 1)[-1], None
        roots = self._server.roots()
        for root in roots:
            try:
                rel = path.relative_to(root).as_posix()
            except ValueError:
                continue
            return (f"{root.name}/{rel}" if len(roots) > 1 else rel), path
        return path.name, path

    def _secret(self, rel: str, text: str | None = None) -> bool:
        """The tools' secret policy: by path, and by the buffer's text when given."""
        from daemon.tools.secrets import SecretPolicy

        policy = SecretPolicy.of(self._server.settings.solver.tools)
        return policy.path(rel) or (text is not None and policy.content(text))

    def _buffers(self, current: str) -> list[Buffer]:
        from indexer.languages import language_for_path

        try:
            documents = self._server.workspace.text_documents
        except RuntimeError:
            return []
        order = [uri for uri in reversed(self._recent) if uri in documents]
        order += [uri for uri in documents if uri not in self._recent]
        out = []
        for uri in order:
            if uri == current:
                continue
            doc = documents[uri]
            rel, _ = self._relative(uri)
            if self._secret(rel, doc.source):  # a key pasted into notes.txt stays home
                continue
            language = doc.language_id or language_for_path(rel) or ""
            out.append(Buffer(uri, rel, language, doc.source, doc.version or 0))
        return out

    # -- requests ---------------------------------------------------------------------------

    def _supersede(self, uri: str) -> None:
        previous = self._inflight.pop(uri, None)
        if previous is not None and previous.task is not None and not previous.task.done():
            previous.superseded = True
            previous.task.cancel()

    def _warn(self, key: str, message: str) -> None:
        now = time.monotonic()
        if now - self._warned.get(key, -1e9) < WARN_EVERY_S:
            return
        self._warned[key] = now
        self._server.show_message(f"DeputyDev completions: {message}")

    def budget_reached(self, settings: CompletionSettings) -> bool:
        budget = settings.daily_budget_usd
        return budget is not None and self.ledger.spent(today()) >= budget

    async def complete(self, params: types.InlineCompletionParams) -> types.InlineCompletionList:
        from lsprotocol import types

        from indexer.languages import language_for_path

        nothing = types.InlineCompletionList(items=[])
        settings = self._server.settings.completion
        model = settings.model
        if model is None:
            return nothing
        uri = params.text_document.uri
        try:
            doc = self._server.workspace.text_documents.get(unquote(uri))
        except RuntimeError:
            doc = None
        if doc is None:
            return nothing  # completions are for open buffers only
        rel, _ = self._relative(doc.uri)
        language = doc.language_id or language_for_path(rel) or ""
        if language in settings.exclude_languages or self._secret(rel, doc.source):
            return nothing
        automatic = params.context.trigger_kind == types.InlineCompletionTriggerKind.Automatic

        # The text as the editor shows it, with the completion menu's selection applied.
        text = doc.source
        offset = doc.offset_at_position(params.position)
        rest_from = offset  # where the cursor line's rest begins, in the buffer
        selected = params.context.selected_completion_info
        if selected is not None and selected.range.start.line == params.position.line:
            begin = doc.offset_at_position(selected.range.start)
            rest_from = max(offset, doc.offset_at_position(selected.range.end))
            text = text[:begin] + selected.text + doc.source[rest_from:]
            offset = begin + len(selected.text)
        prefix, suffix = text[:offset], text[offset:]
        line_before = prefix[prefix.rfind("\n") + 1 :]
        line_end = _line_end(doc.source, rest_from)
        line_rest = doc.source[rest_from:line_end]

        self._supersede(uri)
        day = today()
        self.ledger.count(day, model, requests=1)

        def answer(completion: str) -> types.InlineCompletionList:
            # The item replaces the cursor's whole line with the line the suggestion makes:
            # an editor that overlays it shows exactly that line, and one that accepts an
            # item a keystroke late (typed through, not yet asked again) still gets the
            # right line, since what was typed is inside the range.
            self.ledger.count(day, model, suggestions=1)
            line = params.position.line
            item = types.InlineCompletionItem(
                insert_text=line_before + completion + line_rest,
                range=types.Range(
                    start=types.Position(line=line, character=0),
                    end=doc.client_position_at_offset(line_end),
                ),
            )
            return types.InlineCompletionList(items=[item])

        hit = self.cache.lookup(uri, prefix, suffix)
        if hit is not None:
            self.ledger.count(day, model, cache_hits=1)
            return answer(hit)
        if automatic and _WORD_CHAR.match(line_rest[:1] or " "):
            return nothing  # in the middle of a word: only when asked
        if self.budget_reached(settings):
            if self._budget_warned != day:
                self._budget_warned = day
                self._server.show_message(
                    f"DeputyDev: today's completion budget (${settings.daily_budget_usd:.2f}) "
                    "is spent; inline completions stop until tomorrow. Raise "
                    "[completion] daily_budget_usd to go on."
                )
            return nothing

        request = _Request(asyncio.current_task())
        self._inflight[uri] = request
        try:
            if automatic and settings.debounce_ms:
                await asyncio.sleep(settings.debounce_ms / 1000)
            document = Document(uri, rel, language, text, offset)
            completion = await self._ask(document, settings, line_rest)
        except asyncio.CancelledError:
            if not request.superseded:
                raise
            if request.task is not None:
                request.task.uncancel()
            return nothing
        except Exception as exc:
            return self._failed(exc, automatic)
        finally:
            if self._inflight.get(uri) is request:
                del self._inflight[uri]
            if self._retired and not self._inflight:
                # The provider settings changed: the old connections have no call left.
                await self._close_retired()
        self.last_error = None
        if not completion:
            return nothing
        self.cache.remember(uri, prefix, suffix, completion)
        return answer(completion)

    def _failed(self, exc: Exception, automatic: bool) -> types.InlineCompletionList:
        from lsprotocol import types

        from daemon.errors import DomainError, to_jsonrpc

        if not isinstance(exc, DomainError):
            raise exc
        self.last_error = str(exc)
        if not automatic:
            raise to_jsonrpc(exc) from exc
        self._warn(type(exc).__name__, str(exc))
        return types.InlineCompletionList(items=[])

    async def _ask(self, document: Document, settings: CompletionSettings, line_rest: str) -> str:
        from daemon.completion.trim import Shape, cut, finish
        from providers.base import FimRequest, TextDelta
        from providers.fim import stops_for

        assert settings.model is not None
        completer = self.completer
        style = completer.style(settings.model)
        prompt = await self.builder.build(
            document, settings, self._buffers(document.uri), header=style != "chat"
        )
        before_lines = document.prefix.rsplit("\n", BEFORE_LINES + 1)
        after_lines = document.suffix.split("\n", NEXT_LINES + 1)
        shape = Shape(
            line_prefix=before_lines[-1],
            line_suffix=line_rest,
            next_lines=tuple(after_lines[1 : 1 + NEXT_LINES]),
            before="\n".join(before_lines[-BEFORE_LINES - 1 : -1]),
            stops=(*settings.stop, *stops_for(style)),
            max_lines=settings.max_lines,
        )
        stops = settings.stop + (("\n",) if shape.single_line else ())
        request = FimRequest(
            model=settings.model,
            prefix=prompt.prefix,
            suffix=prompt.suffix,
            context=prompt.context,
            path=document.rel,
            language=document.language,
            max_output_tokens=settings.max_output_tokens,
            temperature=settings.temperature,
            stop=stops,
            timeout_s=settings.timeout_s,
        )
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "completion prompt for %s: %s, names %s", document.rel, prompt.parts, prompt.names
            )
        text = ""
        stream = completer.complete(request, settings.model)
        try:
            async with asyncio.timeout(settings.timeout_s):
                async for event in stream:
                    if isinstance(event, TextDelta):
                        text += event.text
                        if cut(text, shape)[1]:
                            break  # complete: the rest is not wanted, the stream closes
        except TimeoutError:
            log.info("completion for %s timed out after %.1f s", document.rel, settings.timeout_s)
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
        completion = finish(text, shape)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("completion for %s: %r (model sent %r)", document.rel, completion, text)
        return completion

    # -- status -----------------------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        settings = self._server.settings.completion
        style = None
        if settings.model is not None:
            try:
                style = self.completer.style(settings.model)
            except Exception as exc:
                self.last_error = str(exc)
        return {
            "model": settings.model,
            "style": style,
            "today": await self.ledger.today(),
            "days": await self.ledger.days(7),
            "daily_budget_usd": settings.daily_budget_usd,
            "budget_reached": self.budget_reached(settings),
            "last_error": self.last_error,
        }


def _warm_up() -> None:
    import openai  # noqa: F401

    import indexer.languages  # noqa: F401


def _line_end(text: str, offset: int) -> int:
    end = text.find("\n", offset)
    end = len(text) if end < 0 else end
    return end - 1 if end > offset and text[end - 1] == "\r" else end
