"""The typed-through cache: the last suggestions of each document, to answer without a model.

When the user types the first characters of a suggestion, the next request's text before the
cursor is the earlier one plus those characters, and the text after the cursor is unchanged:
the rest of the suggestion is the answer. Going back (a deleted character, the same place
again) finds an earlier entry the same way. Entries keep the lengths and hashes of the two
sides, not the text: a document's size does not multiply by the entries kept.

    cache.remember(uri, prefix, suffix, "a + b")
    cache.lookup(uri, prefix + "a +", suffix)     # " b"
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass

PER_DOCUMENT = 16
DOCUMENTS = 64


@dataclass(frozen=True, slots=True)
class _Entry:
    prefix_length: int
    prefix_hash: int
    suffix_hash: int
    text: str


class SuggestionCache:
    def __init__(self, per_document: int = PER_DOCUMENT, documents: int = DOCUMENTS) -> None:
        self._per_document = per_document
        self._documents = documents
        self._entries: OrderedDict[str, deque[_Entry]] = OrderedDict()

    def remember(self, uri: str, prefix: str, suffix: str, text: str) -> None:
        if not text:
            return
        entries = self._entries.get(uri)
        if entries is None:
            entries = self._entries[uri] = deque(maxlen=self._per_document)
            while len(self._entries) > self._documents:
                self._entries.popitem(last=False)
        self._entries.move_to_end(uri)
        entries.append(_Entry(len(prefix), hash(prefix), hash(suffix), text))

    def lookup(self, uri: str, prefix: str, suffix: str) -> str | None:
        """The rest of a suggestion the user is typing through, or None."""
        entries = self._entries.get(uri)
        if not entries:
            return None
        suffix_hash = hash(suffix)
        for entry in reversed(entries):
            if entry.suffix_hash != suffix_hash or entry.prefix_length > len(prefix):
                continue
            typed = prefix[entry.prefix_length :]
            if len(typed) >= len(entry.text) or not entry.text.startswith(typed):
                continue
            if hash(prefix[: entry.prefix_length]) == entry.prefix_hash:
                return entry.text[len(typed) :]
        return None

    def forget(self, uri: str) -> None:
        self._entries.pop(uri, None)
