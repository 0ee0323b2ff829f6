"""Translates between our results and the standard LSP types, back and forth.

The index, the solver and the sessions know nothing of LSP; handlers that answer standard
methods (``workspace/symbol``, code actions) turn their results into ``lsprotocol`` types
here, and editor positions into ours. Lines on our side are 1-based and inclusive; LSP
positions are 0-based, with the character offset in the encoding the client negotiated
(UTF-16 unless it chose otherwise).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.uris import from_fs_path, to_fs_path

if TYPE_CHECKING:
    from indexer.search import SearchResult
    from protocol.query import UsageInfo
    from providers.base import Usage


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
