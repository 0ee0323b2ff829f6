"""The typed-through cache."""

from __future__ import annotations

from daemon.completion.cache import SuggestionCache

URI = "file:///a.py"
BEFORE = "def add(a, b):\n    return "
AFTER = "\n\nprint(add(1, 2))\n"


def test_typing_the_start_of_a_suggestion_returns_its_rest() -> None:
    cache = SuggestionCache()
    cache.remember(URI, BEFORE, AFTER, "a + b")
    assert cache.lookup(URI, BEFORE, AFTER) == "a + b"
    assert cache.lookup(URI, BEFORE + "a", AFTER) == " + b"
    assert cache.lookup(URI, BEFORE + "a + ", AFTER) == "b"


def test_typing_something_else_or_all_of_it_is_a_miss() -> None:
    cache = SuggestionCache()
    cache.remember(URI, BEFORE, AFTER, "a + b")
    assert cache.lookup(URI, BEFORE + "x", AFTER) is None
    assert cache.lookup(URI, BEFORE + "a + b", AFTER) is None  # nothing left to suggest
    assert cache.lookup(URI, BEFORE + "a", AFTER + "x") is None  # the code after changed
    assert cache.lookup(URI, "# edited\n" + BEFORE + "a", AFTER) is None  # and before
    assert cache.lookup("file:///b.py", BEFORE, AFTER) is None


def test_going_back_finds_the_earlier_suggestion() -> None:
    cache = SuggestionCache()
    cache.remember(URI, BEFORE, AFTER, "a + b")
    cache.remember(URI, BEFORE + "a + b", AFTER, "  # the sum")
    assert cache.lookup(URI, BEFORE + "a +", AFTER) == " b"


def test_the_newest_entries_are_kept() -> None:
    cache = SuggestionCache(per_document=2, documents=2)
    for n in range(3):
        cache.remember(URI, f"{n}:", "", "x")
    assert cache.lookup(URI, "0:", "") is None
    assert cache.lookup(URI, "2:", "") == "x"
    cache.remember("file:///2", "", "", "y")
    cache.remember("file:///3", "", "", "z")
    assert cache.lookup(URI, "2:", "") is None  # the least recent document went
    cache.forget("file:///3")
    assert cache.lookup("file:///3", "", "") is None
