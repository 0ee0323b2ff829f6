"""Where a completion ends: stops, the end of the block, the suffix it would repeat."""

from __future__ import annotations

import pytest

from daemon.completion.trim import Shape, cut, finish


def shape(prefix_line: str, suffix_line: str = "", *next_lines: str, **kw: object) -> Shape:
    return Shape(prefix_line, suffix_line, tuple(next_lines), **kw)  # type: ignore[arg-type]


def test_a_dedent_ends_the_completion_at_the_end_of_the_current_block() -> None:
    text = "total = a + b\n    return total\n\ndef other():\n    pass\n"
    assert cut(text, shape("    ")) == ("total = a + b\n    return total\n", True)
    assert finish(text, shape("    ")) == "total = a + b\n    return total"


def test_a_block_the_completion_opens_ends_where_it_dedents() -> None:
    text = "\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n\nprint(fib(3))"
    assert finish(text, shape("def fib(n):")) == (
        "\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)"
    )
    # Inside a function body, opening an if: the if's body only.
    text = "\n        a()\n    b()\n"
    assert finish(text, shape("    if x:")) == "\n        a()"


def test_the_streamed_text_is_complete_as_soon_as_the_dedent_shows() -> None:
    partial = "x = 1\n    return x\np"  # the next top-level line has begun
    assert cut(partial, shape("    ")) == ("x = 1\n    return x", True)
    assert cut("x = 1\n    ret", shape("    ")) == ("x = 1\n    ret", False)


def test_a_closing_brace_is_kept_only_when_the_code_after_lacks_it() -> None:
    text = "\n  return 1;\n}\n\nfunction g() {\n}"
    assert finish(text, shape("function f() {")) == "\n  return 1;\n}"
    assert finish(text, shape("function f() {", "", "}")) == "\n  return 1;"


def test_a_closing_brace_still_streaming_is_waited_for() -> None:
    assert cut("\n  x();\n}", shape("f(function () {")) == ("\n  x();\n}", False)
    assert cut("\n  x();\n});\n", shape("f(function () {")) == ("\n  x();\n});", True)


def test_an_end_keyword_is_not_taken_for_a_closer_before_it_is_complete() -> None:
    text = "\n    puts 1\ne"
    assert cut(text, shape("def f")) == (text, False)
    assert finish("\n    puts 1\nend\n", shape("def f")) == "\n    puts 1\nend"


def test_stop_sequences_cut_the_text() -> None:
    stops = ("<|endoftext|>", "\n\n\n")
    assert cut("a + b<|endoftext|>junk", shape("x = ", stops=stops)) == ("a + b", True)


def test_mid_line_completions_stay_on_the_line() -> None:
    assert cut("a, b, c\nprint(x)", shape("call(", "x, y)")) == ("a, b, c", True)
    # Only closing brackets after the cursor: several lines are allowed.
    assert not shape("call(", ")").single_line


def test_top_level_statements_end_at_a_blank_line() -> None:
    text = "\nimport sys\n\n\ndef main():\n    pass"
    assert finish(text, shape("import os")) == "\nimport sys"


def test_max_lines_caps_a_long_completion() -> None:
    text = "x = 0" + "".join(f"\n    x{i} = {i}" for i in range(30))
    kept = finish(text, shape("    ", max_lines=5))
    assert kept.count("\n") == 4


def test_lines_that_repeat_the_code_after_the_cursor_are_dropped() -> None:
    text = "x = compute()\n    y = x * 2\n    return y"
    assert finish(text, shape("    ", "", "    return y", "")) == "x = compute()\n    y = x * 2"


@pytest.mark.parametrize(
    ("line", "rest", "text", "expected"),
    [
        ("print(", ")", "a + b)", "a + b"),  # the model wrote the ) the line already has
        ("print(", ")", "foo()", "foo()"),  # its own call's ): kept
        ("x = [", "]", "1, 2]", "1, 2"),
        ('s = "', '"', 'hello"', "hello"),  # the closing quote is there already
        ('s = "', '"', 'it"s', 'it"s'),  # nothing at its end to take off
        ("f(", ")", ")", ""),  # nothing left
    ],
)
def test_the_cursor_lines_rest_is_not_repeated(
    line: str, rest: str, text: str, expected: str
) -> None:
    assert finish(text, shape(line, rest)) == expected


def test_blank_completions_are_empty() -> None:
    assert finish("   \n\n  ", shape("    ")) == ""
    assert finish("\n\ndef other():", shape("    return 1")) == ""
