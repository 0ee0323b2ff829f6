"""Chunk boundaries and symbols, one small real snippet per language."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass

import pytest

from indexer import chunking
from indexer.chunking import Chunk, chunk_file, language_for_path
from indexer.languages import GRAMMARS


@dataclass(frozen=True)
class Case:
    path: str
    language: str
    source: str
    # With max_lines=8, so every snippet has to be cut on its definitions.
    chunks: list[tuple[int, int]]
    symbols: list[tuple[str, str]]


CASES = [
    Case(
        "a.py",
        "python",
        '''\
"""Module docstring."""
import os

CONSTANT = 1


@decorator
def top(a, b):
    """Add."""
    return a + b


class Shape:
    """A shape."""

    sides = 0

    def area(self):
        return 0

    class Inner:
        def deep(self):
            pass
''',
        [(1, 4), (7, 10), (13, 16), (18, 19), (21, 23)],
        [
            ("CONSTANT", "constant"),
            ("top", "function"),
            ("Shape", "class"),
            ("Shape.area", "method"),
            ("Shape.Inner", "class"),
            ("Shape.Inner.deep", "method"),
        ],
    ),
    Case(
        "a.js",
        "javascript",
        """\
import x from "x";

export class Greeter extends Base {
  greet(name) {
    return `hi ${name}`;
  }
}

function helper(a) {
  return a * 2;
}

const arrow = (v) => v + 1;
""",
        [(1, 7), (9, 11), (13, 13)],
        [
            ("Greeter", "class"),
            ("Greeter.greet", "method"),
            ("helper", "function"),
            ("arrow", "function"),
        ],
    ),
    Case(
        "a.ts",
        "typescript",
        """\
export interface Shape {
  area(): number;
}

export type Id = string;

export enum Color { Red, Green }

export abstract class Base implements Shape {
  abstract area(): number;
  describe(): string {
    return "shape";
  }
}

export function makeId(n: number): Id {
  return String(n);
}
""",
        [(1, 3), (5, 5), (7, 7), (9, 14), (16, 18)],
        [
            ("Shape", "interface"),
            ("Shape.area", "method"),
            ("Id", "type"),
            ("Color", "enum"),
            ("Base", "class"),
            ("Base.area", "method"),
            ("Base.describe", "method"),
            ("makeId", "function"),
        ],
    ),
    Case(
        "a.tsx",
        "tsx",
        """\
import React from "react";

export function Button({ label }: { label: string }) {
  return <button>{label}</button>;
}

export const Card = (props: { title: string }) => {
  return <div>{props.title}</div>;
};
""",
        [(1, 5), (7, 9)],
        [("Button", "function"), ("Card", "function")],
    ),
    Case(
        "a.go",
        "go",
        """\
package server

import "net/http"

type Server struct {
	addr string
}

type Handler interface {
	Serve(w http.ResponseWriter)
}

func (s *Server) Start() error {
	return nil
}

func New(addr string) *Server {
	return &Server{addr: addr}
}
""",
        [(1, 7), (9, 11), (13, 15), (17, 19)],
        [
            ("Server", "struct"),
            ("Handler", "interface"),
            ("Server.Start", "method"),
            ("New", "function"),
        ],
    ),
    Case(
        "a.rs",
        "rust",
        """\
use std::fmt;

pub struct Point {
    x: i32,
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.x)
    }
}

pub trait Area {
    fn area(&self) -> f64;
}

pub fn origin() -> Point {
    Point { x: 0 }
}
""",
        [(1, 5), (7, 11), (13, 15), (17, 19)],
        [
            ("Point", "struct"),
            ("Point", "impl"),
            ("Point.fmt", "method"),
            ("Area", "trait"),
            ("Area.area", "method"),
            ("origin", "function"),
        ],
    ),
    Case(
        "A.java",
        "java",
        """\
package shapes;

import java.util.List;

public class Circle extends Shape {
    private final double radius;

    public Circle(double radius) {
        this.radius = radius;
    }

    @Override
    public double area() {
        return Math.PI * radius * radius;
    }
}

interface Shape {
    double area();
}
""",
        [(1, 6), (8, 10), (12, 16), (18, 20)],
        [
            ("Circle", "class"),
            ("Circle.Circle", "method"),
            ("Circle.area", "method"),
            ("Shape", "interface"),
            ("Shape.area", "method"),
        ],
    ),
    Case(
        "a.c",
        "c",
        """\
#include <stdio.h>

struct point {
    int x;
    int y;
};

static int add(int a, int b) {
    return a + b;
}

int *make_buffer(size_t n) {
    return NULL;
}
""",
        [(1, 6), (8, 10), (12, 14)],
        [("point", "struct"), ("add", "function"), ("make_buffer", "function")],
    ),
    Case(
        "a.cpp",
        "cpp",
        """\
#include <string>

namespace geo {

class Circle {
 public:
  double area() const { return 3.14 * r * r; }
 private:
  double r;
};

double Circle::perimeter() const {
  return 2 * 3.14 * r;
}

}  // namespace geo
""",
        [(1, 3), (5, 10), (12, 16)],
        [
            ("geo", "namespace"),
            ("geo.Circle", "class"),
            ("geo.Circle.area", "method"),
            ("Circle.perimeter", "function"),
        ],
    ),
    Case(
        "a.cs",
        "csharp",
        """\
using System;

namespace Shapes
{
    public class Circle
    {
        public double Radius { get; set; }

        public double Area()
        {
            return Math.PI * Radius * Radius;
        }
    }
}
""",
        [(1, 6), (7, 7), (9, 14)],
        [
            ("Shapes", "namespace"),
            ("Shapes.Circle", "class"),
            ("Shapes.Circle.Radius", "property"),
            ("Shapes.Circle.Area", "method"),
        ],
    ),
    Case(
        "a.rb",
        "ruby",
        """\
require "json"

module Shapes
  class Circle
    def initialize(radius)
      @radius = radius
    end

    def self.unit
      new(1)
    end
  end
end

def helper
  1
end
""",
        [(1, 4), (5, 7), (9, 13), (15, 17)],
        [
            ("Shapes", "module"),
            ("Shapes.Circle", "class"),
            ("Shapes.Circle.initialize", "method"),
            ("Shapes.Circle.unit", "method"),
            ("helper", "function"),
        ],
    ),
    Case(
        "a.php",
        "php",
        """\
<?php
namespace App;

function helper($x) {
    return $x * 2;
}

class Circle extends Shape {
    public function area() {
        return 3.14;
    }
}
""",
        [(1, 6), (8, 12)],
        [("helper", "function"), ("Circle", "class"), ("Circle.area", "method")],
    ),
    Case(
        "a.kt",
        "kotlin",
        """\
package shapes

class Circle(val radius: Double) {
    fun area(): Double {
        return 3.14 * radius * radius
    }
}

object Registry {
    val items = mutableListOf<Circle>()
}

fun unit(): Circle {
    return Circle(1.0)
}
""",
        [(1, 7), (9, 11), (13, 15)],
        [
            ("Circle", "class"),
            ("Circle.area", "method"),
            ("Registry", "class"),
            ("unit", "function"),
        ],
    ),
    Case(
        "a.swift",
        "swift",
        """\
import Foundation

struct Point {
    var x: Int
}

class Circle {
    init(radius: Double) {
        self.radius = radius
    }

    func area() -> Double {
        return 3.14
    }
}

func unit() -> Circle {
    return Circle(radius: 1)
}
""",
        [(1, 5), (7, 10), (12, 15), (17, 19)],
        [
            ("Point", "struct"),
            ("Circle", "class"),
            ("Circle.init", "method"),
            ("Circle.area", "method"),
            ("unit", "function"),
        ],
    ),
    Case(
        "a.sh",
        "bash",
        """\
#!/bin/bash
set -e

greet() {
  echo "hi $1"
}

function cleanup {
  rm -rf /tmp/x
}

greet world
""",
        [(1, 6), (8, 12)],
        [("greet", "function"), ("cleanup", "function")],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.language for case in CASES])
def test_chunks_follow_the_definitions(case: Case) -> None:
    chunked = chunk_file(case.path, case.source, max_lines=8)
    assert chunked.language == case.language
    assert [(c.start_line, c.end_line) for c in chunked.chunks] == case.chunks
    assert [(s.qualified_name, s.kind) for s in chunked.symbols] == case.symbols


@pytest.mark.parametrize("case", CASES, ids=[case.language for case in CASES])
def test_chunk_text_is_its_lines(case: Case) -> None:
    lines = case.source.splitlines()
    for chunk in chunk_file(case.path, case.source, max_lines=8).chunks:
        assert chunk.text == "\n".join(lines[chunk.start_line - 1 : chunk.end_line])
        assert chunk.end_line - chunk.start_line + 1 <= 8


def test_python_chunks_name_their_symbols_and_kind() -> None:
    case = CASES[0]
    chunks = chunk_file(case.path, case.source, max_lines=8).chunks
    by_start = {c.start_line: c for c in chunks}
    assert by_start[7].kind == "function"
    assert by_start[7].symbols == ("top",)
    assert by_start[7].text.startswith("@decorator\ndef top")
    assert by_start[18].kind == "method"
    assert by_start[18].symbols == ("Shape.area", "Shape")


def test_symbol_ranges_and_containers() -> None:
    symbols = chunk_file(CASES[0].path, CASES[0].source).symbols
    deep = next(s for s in symbols if s.name == "deep")
    assert (deep.kind, deep.container, deep.start_line, deep.end_line) == (
        "method",
        "Shape.Inner",
        22,
        23,
    )


def test_small_neighbours_merge_under_the_default_limit() -> None:
    chunked = chunk_file(CASES[0].path, CASES[0].source)
    assert [(c.start_line, c.end_line) for c in chunked.chunks] == [(1, 10), (13, 23)]


def _big_class(methods: int, body_lines: int) -> str:
    out = ["class Big:", '    """A class too long for one chunk."""', ""]
    for m in range(methods):
        out.append(f"    def method_{m}(self):")
        out.extend(f"        x_{i} = {i}" for i in range(body_lines))
        out.append("")
    return "\n".join(out) + "\n"


def test_large_class_is_split_on_its_methods() -> None:
    source = _big_class(methods=6, body_lines=30)
    chunks = chunk_file("big.py", source).chunks
    assert all(c.end_line - c.start_line + 1 <= 80 for c in chunks)
    method_lines = [i + 1 for i, line in enumerate(source.splitlines()) if "def method_" in line]
    # The class line and docstring lead into the first method; each other method starts
    # a chunk of its own.
    assert [c.start_line for c in chunks] == [1, *method_lines[1:]]
    assert chunks[0].symbols == ("Big", "Big.method_0")
    assert chunks[1].symbols == ("Big.method_1", "Big")
    assert {c.kind for c in chunks[1:]} == {"method"}


def test_huge_function_is_cut_under_max_lines() -> None:
    body = "\n".join(f"    total += {i}" for i in range(500))
    source = f"def huge():\n    total = 0\n{body}\n    return total\n"
    chunks = chunk_file("huge.py", source, max_lines=50).chunks
    assert all(c.end_line - c.start_line + 1 <= 50 for c in chunks)
    assert chunks[0].start_line == 1
    assert chunks[-1].end_line == 503
    covered = set().union(*(range(c.start_line, c.end_line + 1) for c in chunks))
    assert covered == set(range(1, 504))
    assert all(c.symbols == ("huge",) and c.kind == "function" for c in chunks)


def test_text_without_grammar_gets_overlapping_windows() -> None:
    source = "\n".join(f"line {i}" for i in range(1, 201)) + "\n"
    chunked = chunk_file("notes.txt", source, max_lines=80)
    assert chunked.language == "text"
    ranges = [(c.start_line, c.end_line) for c in chunked.chunks]
    assert ranges == [(1, 80), (61, 140), (121, 200)]
    assert {c.kind for c in chunked.chunks} == {"text"}
    assert chunked.symbols == ()


MARKDOWN = (
    """\
Intro line before any heading.

# Title

Short.

## Install

```sh
# not a heading: inside a fence
pip install thing
```

## Usage
"""
    + "\n".join(f"usage line {i}" for i in range(30))
    + "\n"
)


def test_markdown_is_cut_at_headings_and_named_by_them() -> None:
    chunked = chunk_file("docs/guide.md", MARKDOWN, max_lines=16)
    assert [(c.start_line, c.end_line, c.symbols) for c in chunked.chunks] == [
        (1, 1, ()),
        (3, 5, ("Title",)),
        (7, 12, ("Install",)),
        (14, 29, ("Usage",)),
        (22, 37, ("Usage",)),
        (29, 44, ("Usage",)),
    ]
    assert all(c.end_line - c.start_line + 1 <= 16 for c in chunked.chunks)
    assert {c.kind for c in chunked.chunks} == {"section"}


def test_rst_underlined_headings_start_sections() -> None:
    source = "Title\n=====\n\ntext\n\nPart two\n--------\n\nmore text\n"
    chunks = chunk_file("README.rst", source, max_lines=4).chunks
    assert [(c.start_line, c.end_line, c.symbols) for c in chunks] == [
        (1, 4, ("Title",)),
        (6, 9, ("Part two",)),
    ]


def test_unknown_extension_is_text_with_no_language() -> None:
    chunked = chunk_file("LICENSE", "MIT License\n\nPermission is hereby granted\n")
    assert chunked.language is None
    assert [(c.start_line, c.end_line) for c in chunked.chunks] == [(1, 3)]


@pytest.mark.parametrize("text", ["", "\n\n   \n", "\x00\x01binary\x00data"])
def test_empty_and_binary_text_have_no_chunks(text: str) -> None:
    assert chunk_file("x.py", text).chunks == ()


@pytest.mark.parametrize("case", CASES, ids=[case.language for case in CASES])
def test_broken_code_still_chunks(case: Case) -> None:
    broken = case.source[: len(case.source) // 2] + "\n)]}{ ((( def class fn <<<\n"
    chunked = chunk_file(case.path, broken, max_lines=8)
    assert chunked.chunks
    lines = broken.splitlines()
    assert all(1 <= c.start_line <= c.end_line <= len(lines) for c in chunked.chunks)


def test_equal_text_gives_equal_hash_anywhere() -> None:
    function = "def f(x):\n    return x * 2\n"
    one = chunk_file("a.py", function).chunks[0]
    other = chunk_file("elsewhere/b.py", "\n\n" + function).chunks[0]
    assert other.start_line == 3
    assert one.content_hash == other.content_hash
    assert one.content_hash != chunk_file("a.py", function.replace("2", "3")).chunks[0].content_hash


def test_odd_text_is_chunked_whole() -> None:
    """A lone surrogate, CRLF line ends and a 10,000-character line: every line is kept."""
    source = "def f():\n    return '\udcff'\n" + "x = 1\r\n" * 3 + "é" * 10_000
    for path in ("odd.py", "odd.txt"):
        chunks = chunk_file(path, source).chunks
        assert (chunks[0].start_line, chunks[-1].end_line) == (1, 6)
        text = "\n".join(c.text for c in chunks)
        assert "'\udcff'" in text and "é" * 10_000 in text
        assert "\r" not in text


def test_max_lines_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_lines"):
        chunk_file("a.py", "x = 1\n", max_lines=0)


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("src/App.TSX", "tsx"),
        ("lib/a.h", "c"),
        ("lib/a.hpp", "cpp"),
        ("Makefile", "make"),
        ("build/x.unknownext", None),
    ],
)
def test_language_for_path(path: str, language: str | None) -> None:
    assert language_for_path(path) == language


def test_threads_chunk_in_parallel() -> None:
    """Parsers are per thread: four threads chunking at once agree with one alone."""
    expected = [chunk_file(c.path, c.source, max_lines=8).chunks for c in CASES]
    results: dict[int, list[tuple[Chunk, ...]]] = {}

    def work(n: int) -> None:
        results[n] = [chunk_file(c.path, c.source, max_lines=8).chunks for c in CASES * 5]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[n] for n in range(4)] == [expected * 5] * 4


def test_line_numbers_count_only_newlines() -> None:
    """A form feed (common in old C and Python sources) does not start a line."""
    source = "import os\n\x0c\n\ndef f():\n    return 1\n\r\ndef g():\r\n    return '\u2028'\n"
    chunked = chunk_file("a.py", source, max_lines=2)
    assert [(s.name, s.start_line, s.end_line) for s in chunked.symbols] == [
        ("f", 4, 5),
        ("g", 7, 8),
    ]
    ranges = [(c.start_line, c.end_line, c.symbols) for c in chunked.chunks]
    assert ranges == [(1, 1, ()), (4, 5, ("f",)), (7, 8, ("g",))]
    assert chunked.chunks[2].text == "def g():\n    return '\u2028'"


def test_deeply_nested_code_does_not_overflow() -> None:
    depth = 400
    source = "x = " + "[\n" * depth + "1" + "\n]" * depth + "\n"
    chunks = chunk_file("deep.py", source, max_lines=2).chunks
    assert chunks
    assert all(c.end_line - c.start_line + 1 <= 2 for c in chunks)


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        (
            "a.py",
            "MAX_SIZE = 3\nlogger = get()\nx.y = 1\n\ndef f():\n    LOCAL = 1\n",
            [("MAX_SIZE", "constant"), ("logger", "variable"), ("f", "function")],
        ),
        (
            "a.ts",
            "export const LIMIT = 10;\nlet cache = new Map();\nconst f = () => 1;\n",
            [("LIMIT", "constant"), ("cache", "variable"), ("f", "function")],
        ),
        (
            "a.go",
            "package a\n\nconst Retries = 3\n\nvar (\n\tcount int\n)\n",
            [("Retries", "variable"), ("count", "variable")],
        ),
        (
            "a.rs",
            'const MAX: u32 = 3;\nstatic NAME: &str = "x";\n',
            [("MAX", "constant"), ("NAME", "constant")],
        ),
        (
            "a.c",
            "#define BUF_SIZE 64\n#define MIN(a, b) ((a) < (b) ? (a) : (b))\n",
            [("BUF_SIZE", "macro"), ("MIN", "macro")],
        ),
        ("a.rb", "MAX = 3\nlimit = 1\n", [("MAX", "constant"), ("limit", "variable")]),
        ("a.kt", "val LIMIT = 3\nvar count = 0\n", [("LIMIT", "constant"), ("count", "variable")]),
        (
            "a.swift",
            "let LIMIT = 3\nvar count: Int = 0\n",
            [("LIMIT", "constant"), ("count", "variable")],
        ),
        ("a.php", "<?php\nconst LIMIT = 3;\n", [("LIMIT", "constant")]),
    ],
)
def test_top_level_values_are_symbols(
    path: str, source: str, expected: list[tuple[str, str]]
) -> None:
    chunked = chunk_file(path, source)
    assert [(s.name, s.kind) for s in chunked.symbols] == expected


def test_values_do_not_make_a_chunk_a_definition() -> None:
    source = "import os\n\nTIMEOUT = 3\nRETRIES = 5\n"
    (chunk,) = chunk_file("settings.py", source).chunks
    assert chunk.kind == "block"
    assert chunk.symbols == ("TIMEOUT", "RETRIES")


@pytest.mark.parametrize(
    ("path", "source", "summary"),
    [
        (
            "a.py",
            '#!/usr/bin/env python\n"""Tools for frobbing."""\nimport os\n',
            "Tools for frobbing.",
        ),
        (
            "a.go",
            "// Copyright 2020 Someone. All rights reserved.\n\n"
            "// Package http implements an HTTP client\n// and server.\npackage http\n",
            "Package http implements an HTTP client and server.",
        ),
        ("a.js", "/**\n * Tiny event emitter.\n */\nexport class E {}\n", "Tiny event emitter."),
        ("a.rs", "//! Crate docs.\nfn main() {}\n", "Crate docs."),
        ("a.sh", "#!/bin/sh\n# Deploy the site.\nset -e\n", "Deploy the site."),
        ("a.c", "/* SPDX-License-Identifier: MIT */\n#include <x.h>\n", ""),
        ("a.py", "import os\n'''Not a docstring: not first.'''\n", ""),
    ],
)
def test_summary_is_what_the_file_says_about_itself(path: str, source: str, summary: str) -> None:
    assert chunk_file(path, source).summary == summary


def test_a_grammar_that_fails_to_load_costs_structure_not_files(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    broken = dataclasses.replace(GRAMMARS["ruby"], definitions="(no_such_node) @function")
    monkeypatch.setitem(GRAMMARS, "ruby", broken)
    monkeypatch.setattr(chunking, "_local", threading.local())
    monkeypatch.setattr(chunking, "_broken", {})
    source = "def a\n  1\nend\n"
    chunked = chunk_file("x.rb", source)
    assert chunked.language == "ruby"
    assert [(c.start_line, c.end_line, c.kind) for c in chunked.chunks] == [(1, 3, "text")]
    assert "no ruby grammar" in caplog.text
    chunk_file("y.rb", source)
    assert caplog.text.count("no ruby grammar") == 1


def test_a_file_the_chunker_trips_on_still_gets_windows(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def trip(self: object) -> None:
        raise IndexError("a bug in the chunker")

    monkeypatch.setattr(chunking._Chunker, "run", trip)
    chunked = chunk_file("odd.py", "x = 1\ny = 2\n")
    assert [(c.start_line, c.end_line) for c in chunked.chunks] == [(1, 2)]
    assert "could not chunk odd.py as python" in caplog.text


JS_VALUES = """\
class A {
  handle = () => 1;
  size = 3;
}
const api = {
  get(x) { return x; },
  post: (y) => y,
  name: "x",
};
module.exports.run = function () {};
exports.stop = () => {};
"""


@pytest.mark.parametrize("path", ["a.js", "a.ts", "a.tsx"])
def test_functions_held_by_fields_keys_and_exports_are_symbols(path: str) -> None:
    source = JS_VALUES if path == "a.js" else JS_VALUES.replace("size = 3", "size: number = 3")
    symbols = [(s.qualified_name, s.kind) for s in chunk_file(path, source).symbols]
    assert symbols == [
        ("A", "class"),
        ("A.handle", "method"),
        ("api", "variable"),
        ("api.get", "function"),
        ("api.post", "function"),
        ("run", "function"),
        ("stop", "function"),
    ]


@pytest.mark.parametrize(
    ("first_line", "language"),
    [
        ("#!/usr/bin/env python3", "python"),
        ("#!/usr/bin/python3.11 -u", "python"),
        ("#!/bin/sh", "bash"),
        ("#!/usr/bin/env -S node --no-warnings", "javascript"),
        ("#!/usr/bin/env PYTHONPATH=. python", "python"),
        ("#!/usr/bin/perl", None),
        ("# not a shebang", None),
    ],
)
def test_scripts_without_an_extension_are_known_by_their_shebang(
    first_line: str, language: str | None
) -> None:
    chunked = chunk_file("bin/deploy", f"{first_line}\nrun()\n")
    assert chunked.language == language


def test_a_shebang_script_gets_its_grammar() -> None:
    chunked = chunk_file("bin/tool", "#!/usr/bin/env python3\ndef main():\n    pass\n")
    assert [(s.name, s.kind) for s in chunked.symbols] == [("main", "function")]


def test_a_stray_statement_after_a_big_class_ends_its_last_chunk() -> None:
    source = _big_class(methods=3, body_lines=30) + "\nBig.register(dict)\n"
    chunks = chunk_file("big.py", source).chunks
    last_line = len(source.splitlines())
    assert chunks[-1].end_line == last_line
    assert chunks[-1].symbols[0] == "Big.method_2"
    assert all(c.end_line - c.start_line + 1 > 1 for c in chunks)


def test_a_long_docstring_is_windows_with_no_lone_quotes() -> None:
    docstring = '"""Module.\n' + "\n".join(f"Line {i} of prose." for i in range(120)) + '\n"""\n'
    chunks = chunk_file("doc.py", docstring + "import os\n", max_lines=50).chunks
    assert all(c.text.strip() != '"""' for c in chunks)
    assert all(c.end_line - c.start_line + 1 == 50 for c in chunks[:-1])


def test_prose_is_the_comments_and_docstrings_without_their_markers() -> None:
    source = '''\
"""Module docstring."""
# a comment
def f(x):
    """What f does."""
    return "not prose"  # trailing note


class C:
    """What C is."""

    def m(self):
        s = """a string, not a docstring"""
        return s
'''
    prose = chunk_file("a.py", source).prose
    assert [(p.line, p.text) for p in prose] == [
        (1, "Module docstring."),
        (2, "a comment"),
        (4, "What f does."),
        (5, "trailing note"),
        (9, "What C is."),
    ]


@pytest.mark.parametrize(
    ("path", "source", "texts"),
    [
        (
            "a.go",
            "// Serve answers.\n/* block\n * more */\nfunc Serve() {}\n",
            ["Serve answers.", "block more"],
        ),
        ("a.rs", "/// Docs of f.\nfn f() {} // why\n", ["Docs of f.", "why"]),
        ("a.js", "/** Parse it. */\nfunction parse() { return '// no'; }\n", ["Parse it."]),
        ("a.txt", "# not code\n", []),
    ],
)
def test_prose_in_other_languages(path: str, source: str, texts: list[str]) -> None:
    assert [p.text for p in chunk_file(path, source).prose] == texts
