"""Translates between our results and what the editor sees, back and forth.

The index, the solver, the sessions and the providers know nothing of LSP nor of the wire:
handlers turn their results into ``lsprotocol`` types and ``protocol`` models here (search
hits, symbols, model entries, sessions and turns, token usage), and the editor's URIs into
our paths. Lines on our side are 1-based and inclusive; LSP positions are 0-based, with the
character offset in the encoding the client negotiated (UTF-16 unless it chose otherwise).
jedi-language-server's ``jedi_utils.lsp_*`` functions are the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.uris import from_fs_path, to_fs_path

if TYPE_CHECKING:
    from daemon.sessions.store import Session, Turn
    from indexer.search import SearchResult
    from protocol.index import SearchHit
    from protocol.models import ModelEntry
    from protocol.query import UsageInfo
    from protocol.sessions import SessionInfo, TurnInfo
    from providers.base import Usage
    from providers.router import ModelStatus


def uri_to_path(uri: str) -> Path | None:
    """The file a ``file:`` URI names (as the editor spells it), or None for other schemes."""
    path = to_fs_path(uri)
    return Path(path) if path else None


def path_to_uri(path: Path | str) -> str:
    """The ``file:`` URI of ``path``, spelt as pygls keys its open documents."""
    return from_fs_path(str(path)) or Path(path).absolute().as_uri()


def usage_info(usage: Usage) -> UsageInfo:
    """A model call's (or a turn's) token counts on the wire."""
    from protocol.query import UsageInfo

    return UsageInfo.model_validate(usage.as_dict())


# The index's kinds of definition (indexer.languages' captures) as LSP symbol kinds.
SYMBOL_KINDS: dict[str, types.SymbolKind] = {
    "function": types.SymbolKind.Function,
    "method": types.SymbolKind.Method,
    "class": types.SymbolKind.Class,
    "interface": types.SymbolKind.Interface,
    "struct": types.SymbolKind.Struct,
    "enum": types.SymbolKind.Enum,
    "type": types.SymbolKind.TypeParameter,
    "module": types.SymbolKind.Module,
    "namespace": types.SymbolKind.Namespace,
    "trait": types.SymbolKind.Interface,
    "impl": types.SymbolKind.Class,
    "object": types.SymbolKind.Object,
    "extension": types.SymbolKind.Class,
    "property": types.SymbolKind.Property,
    "variable": types.SymbolKind.Variable,
    "constant": types.SymbolKind.Constant,
    "macro": types.SymbolKind.Function,
}


def character(text: str, encoding: str | None) -> int:
    """The length of ``text`` in the client's position encoding."""
    if encoding == types.PositionEncodingKind.Utf32:
        return len(text)
    if encoding == types.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8"))
    return len(text.encode("utf-16-le")) // 2


def symbol_information(hit: SearchResult, encoding: str | None) -> types.SymbolInformation:
    """A symbol-mode search hit as an LSP symbol: the name (``Outer.name`` -> ``name`` in
    ``Outer``), its kind, and a range from the name on its first line to the end of the
    definition's last line, so that jumping to it lands on the name."""
    qualified = hit.symbol or hit.path.rsplit("/", 1)[-1]
    container, _, name = qualified.rpartition(".")
    lines = hit.text.splitlines() or [""]
    first = lines[0]
    column = first.find(name)
    start = types.Position(hit.start_line - 1, character(first[: max(column, 0)], encoding))
    end = types.Position(hit.end_line - 1, character(lines[-1], encoding))
    return types.SymbolInformation(
        name=name,
        kind=SYMBOL_KINDS.get(hit.kind, types.SymbolKind.Variable),
        location=types.Location(
            uri=Path(hit.root, hit.path).as_uri(), range=types.Range(start=start, end=end)
        ),
        container_name=container or None,
    )


# --------------------------------------------------------------------------- to the wire


def search_hit(found: SearchResult) -> SearchHit:
    """One index hit as ``deputydev/search`` returns it."""
    from protocol.index import SearchHit

    return SearchHit(
        path=found.path,
        root=str(found.root),
        start_line=found.start_line,
        end_line=found.end_line,
        symbol=found.symbol,
        kind=found.kind,
        language=found.language,
        score=found.score,
        snippet=found.snippet,
    )


def model_entry(found: ModelStatus) -> ModelEntry:
    """A registry entry, with whether it can be called now, as ``deputydev/models`` lists it."""
    from protocol.models import ModelCapabilities, ModelEntry, ModelPrices
    from providers.fim import native

    spec = found.spec
    return ModelEntry(
        name=spec.name,
        provider=spec.provider,
        model_id=spec.model_id,
        server=spec.server,
        api=spec.api,
        context_window=spec.context_window,
        max_output_tokens=spec.max_output_tokens,
        prices=ModelPrices(
            input=spec.input_price,
            output=spec.output_price,
            cache_read=spec.cache_read_price,
            cache_write=spec.cache_write_price,
        ),
        capabilities=ModelCapabilities(
            tools=spec.tools,
            images=spec.images,
            reasoning=list(spec.reasoning),
            prompt_caching=spec.prompt_caching,
            fim=native(spec),
        ),
        usable=found.usable,
        reason=found.reason,
    )


def session_info(session: Session) -> SessionInfo:
    from protocol.sessions import SessionInfo

    return SessionInfo.model_validate(session.payload())


def turn_info(turn: Turn) -> TurnInfo:
    from protocol.sessions import MessageInfo, TurnInfo

    return TurnInfo.model_validate(
        {
            **turn.payload(),
            "messages": [MessageInfo.model_validate(m.payload()) for m in turn.messages],
        }
    )
