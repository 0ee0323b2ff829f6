"""The prompt builder: each part within its share, definitions from the lookup, callers,
neighbouring buffers, imports, and the deadline on the index."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from daemon.completion.context import (
    SYNC_LINES,
    Buffer,
    Builder,
    Document,
    Found,
    comment_lines,
    enclosing_function,
    imports_of,
    names_near,
)
from daemon.completion.settings import CompletionSettings, ContextShares


class FakeLookup:
    """The index, answering from dicts; ``delay`` makes it slow."""

    def __init__(
        self,
        definitions: dict[str, list[Found]] | None = None,
        mentions: dict[str, list[Found]] | None = None,
        delay: float = 0.0,
    ) -> None:
        self._definitions = definitions or {}
        self._mentions = mentions or {}
        self.delay = delay
        self.asked: list[str] = []
        self.batches = 0

    def ready(self) -> bool:
        return True

    async def definitions(self, names: Sequence[str]) -> dict[str, list[Found]]:
        self.asked.extend(names)
        self.batches += 1
        await asyncio.sleep(self.delay)
        return {name: self._definitions.get(name, []) for name in names}

    async def mentions(self, name: str) -> list[Found]:
        await asyncio.sleep(self.delay)
        return self._mentions.get(name, [])


def document(text: str, marker: str = "<|>", language: str = "python") -> Document:
    offset = text.index(marker)
    return Document("file:///w/app.py", "app.py", language, text.replace(marker, ""), offset)


SETTINGS = CompletionSettings(model="local", context_timeout_ms=1000)

APP = """import os
from billing.tax import vat_rate

def total(order):
    rate = vat_rate(order.country)
    return order.amount * (1 + rate)<|>
"""
VAT = Found("billing/tax.py", 3, "def vat_rate(country: str) -> float:\n    return RATES[country]")


async def test_definitions_of_names_near_the_cursor_come_from_the_lookup() -> None:
    lookup = FakeLookup({"vat_rate": [VAT]})
    prompt = await Builder(lookup).build(document(APP), SETTINGS)

    assert "# billing/tax.py:\n# def vat_rate(country: str) -> float:\n" in prompt.context
    assert prompt.context.endswith("# Path: app.py\n")
    assert prompt.prefix.endswith("return order.amount * (1 + rate)")
    assert lookup.asked[:3] == ["rate", "amount", "order"]  # closest first
    assert lookup.batches == 1  # every name in one lookup
    assert "vat_rate" in prompt.names and prompt.parts["definitions"] > 0


async def test_a_definition_already_in_the_prompt_is_left_out() -> None:
    text = "def vat_rate(country: str) -> float:\n    return 1\n\nx = vat_rate('fr')<|>\n"
    lookup = FakeLookup({"vat_rate": [Found("app.py", 1, "def vat_rate(country: str) -> float:")]})
    prompt = await Builder(lookup).build(document(text), SETTINGS)
    assert "definitions" not in prompt.parts


async def test_a_slow_index_is_not_waited_for_and_serves_the_next_request() -> None:
    lookup = FakeLookup({"vat_rate": [VAT]}, delay=0.2)
    builder = Builder(lookup)
    hurried = CompletionSettings(model="local", context_timeout_ms=5)

    first = await builder.build(document(APP), hurried)
    assert "vat_rate" not in first.context
    await asyncio.sleep(0.3)  # the lookups finish in the background
    second = await builder.build(document(APP), hurried)
    assert "def vat_rate" in second.context
    assert lookup.asked.count("vat_rate") == 1  # cached, not asked again


async def test_callers_of_the_enclosing_function_are_shown_by_their_signatures() -> None:
    caller = Found(
        "shop/checkout.py",
        10,
        "def checkout(cart):\n    order = build(cart)\n    due = total(order)\n    return due",
    )
    own = Found("app.py", 4, "def total(order):\n    rate = vat_rate(order.country)")
    text = APP.replace("    return order.amount * (1 + rate)<|>", "    <|>")
    prompt = await Builder(FakeLookup(mentions={"total": [own, caller]})).build(
        document(text), SETTINGS
    )
    assert (
        "# shop/checkout.py: calls total\n# def checkout(cart):\n# ...\n#     due = total(order)\n"
        in prompt.context
    )
    assert "app.py: calls" not in prompt.context


async def test_each_caller_in_a_chunk_is_shown_under_its_own_signature() -> None:
    chunk = Found(
        "shop.py",
        1,
        "from app import total\n\n\nclass Cart:\n    def checkout(self, order):\n"
        "        if order:\n            return total(order)\n\n\n"
        "def refund(order):\n    return -total(order)\n",
    )
    text = APP.replace("    return order.amount * (1 + rate)<|>", "    <|>")
    prompt = await Builder(FakeLookup(mentions={"total": [chunk]})).build(document(text), SETTINGS)
    assert (
        "# shop.py: calls total\n#     def checkout(self, order):\n# ...\n"
        "#             return total(order)\n"
    ) in prompt.context
    assert "# shop.py: calls total\n# def refund(order):\n# ...\n#     return -total(order)\n" in (
        prompt.context
    )
    assert "from app import total" not in prompt.context


async def test_the_most_similar_window_of_an_open_buffer_is_a_neighbour() -> None:
    other = "\n".join(
        [f"unrelated_{n} = {n}" for n in range(40)]
        + ["def subtotal(order):", "    rate = vat_rate(order.country)", "    return rate"]
        + [f"more_{n} = {n}" for n in range(40)]
    )
    buffers = [
        Buffer("file:///w/b.py", "b.py", "python", other, 1),
        Buffer("file:///w/.env", ".env", "python", "vat_rate = 'SECRET'", 1),
    ]
    builder = Builder(None, is_secret=lambda rel: rel == ".env")
    prompt = await builder.build(document(APP), SETTINGS, buffers)
    assert "# Compare this snippet from b.py:" in prompt.context
    assert "#     rate = vat_rate(order.country)" in prompt.context
    assert "unrelated_0 " not in prompt.context  # not the file's start: its best window
    assert "SECRET" not in prompt.context


async def test_a_large_or_edited_buffer_is_windowed_in_the_background() -> None:
    def big(marker: str) -> str:
        return "\n".join(
            [f"unrelated_{n} = {n}" for n in range(SYNC_LINES)]
            + ["def subtotal(order):", f"    rate = vat_rate(order.country)  # {marker}"]
        )

    builder = Builder(None)
    large = Buffer("file:///w/big.py", "big.py", "python", big("first"), 1)
    first = await builder.build(document(APP), SETTINGS, [large])
    assert "big.py" not in first.context  # not windowed on the request's time
    await builder.neighbours.settled()
    second = await builder.build(document(APP), SETTINGS, [large])
    assert "# first" in second.context

    edited = Buffer(large.uri, large.rel, "python", big("second"), 2)
    third = await builder.build(document(APP), SETTINGS, [edited])
    assert "# first" in third.context  # the old windows until the new ones are made
    await builder.neighbours.settled()
    fourth = await builder.build(document(APP), SETTINGS, [edited])
    assert "# second" in fourth.context
    await builder.neighbours.aclose()


async def test_each_part_stays_within_its_share_and_the_file_gets_the_rest() -> None:
    body = "".join(f"line_{n} = compute_{n}(value)\n" for n in range(2000))
    text = "import os\nimport sys\n" + body + "result = <|>\n" + body
    settings = CompletionSettings(
        model="local",
        context_tokens=500,
        shares=ContextShares(prefix=3, suffix=1, definitions=0, callers=0, neighbours=0, imports=1),
    )
    prompt = await Builder(None).build(document(text), settings)
    budget = 500 * 4
    total = len(prompt.context) + len(prompt.prefix) + len(prompt.suffix)
    assert total <= budget
    assert prompt.prefix.startswith("import os\nimport sys\n")  # the imports, though cut
    assert prompt.parts["imports"] <= budget // 5 + 1
    assert prompt.prefix.endswith("result = ")
    assert prompt.parts["prefix"] == pytest.approx(3 * prompt.parts["suffix"], rel=0.1)
    assert prompt.suffix.startswith("\nline_0 = ")


async def test_a_short_file_is_sent_whole_without_a_separate_imports_part() -> None:
    prompt = await Builder(None).build(document(APP), SETTINGS)
    assert prompt.prefix.startswith("import os\n")
    assert "imports" not in prompt.parts


async def test_a_chat_prompt_has_no_path_header_and_json_gets_no_comments() -> None:
    prompt = await Builder(FakeLookup({"vat_rate": [VAT]})).build(
        document(APP), SETTINGS, header=False
    )
    assert "Path:" not in prompt.context
    assert (
        await Builder(None).build(document('{"a": <|>}', language="json"), SETTINGS)
    ).context == ""


def test_names_near_skip_keywords_short_words_and_the_word_being_typed() -> None:
    assert names_near("for row in rows:\n    x = parse_line(row)", "\nreturn") == [
        "row",
        "parse_line",
        "rows",
    ]
    # The cursor is in "vat_ra": a word being typed is no name to look up.
    assert names_near("rate = vat_ra", "te(order)\n") == ["rate", "order"]


async def test_an_index_change_drops_the_answers_it_touches() -> None:
    lookup = FakeLookup({"vat_rate": [VAT]})
    builder = Builder(lookup)
    await builder.build(document(APP), SETTINGS)
    asked = len(lookup.asked)
    await builder.build(document(APP), SETTINGS)
    assert len(lookup.asked) == asked  # all cached

    builder.lookups.invalidate({"elsewhere.py"})
    await builder.build(document(APP), SETTINGS)
    # The names with no definition are asked again (one may be defined now); vat_rate is not.
    assert "vat_rate" not in lookup.asked[asked:] and "amount" in lookup.asked[asked:]
    asked = len(lookup.asked)
    builder.lookups.invalidate({"billing/tax.py"})
    await builder.build(document(APP), SETTINGS)
    assert "vat_rate" in lookup.asked[asked:]


@pytest.mark.parametrize(
    ("prefix", "name"),
    [
        ("def outer():\n    def inner(a):\n        x = ", "inner"),
        ("class A:\n    async def run(self):\n        ", "run"),
        ("func (s *Server) Handle(w http.ResponseWriter) {\n\tif x {\n\t\t", "Handle"),
        ("export const load = async (id) => {\n  ", "load"),
        ("public static int Count(List<int> xs) {\n    ", "Count"),
        ("x = 1\n", None),
        ("def total(order):\n    return compute(\n        order,\n        ", "total"),
        ("int main() {\n    return run(argc,\n        ", "main"),
    ],
)
def test_the_enclosing_function_is_found(prefix: str, name: str | None) -> None:
    assert enclosing_function(prefix) == name


def test_imports_include_multiline_blocks() -> None:
    text = 'package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nfunc main() {}\n'
    assert imports_of(text) == ["import (", '\t"fmt"', '\t"os"', ")"]
    assert imports_of("from a import (\n    b,\n)\nx = 1\n") == ["from a import (", "    b,", ")"]


def test_comment_styles() -> None:
    assert comment_lines("rust", ["a"]) == "// a\n"
    assert comment_lines("html", ["a -->"]) == "<!--\na - ->\n-->\n"
    assert comment_lines("json", ["a"]) is None
