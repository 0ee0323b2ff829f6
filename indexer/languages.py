"""Which language a path holds, and what a definition looks like in each grammar.

The grammars come from the per-language wheels (tree-sitter-python, ...), which work
offline; tree-sitter-language-pack 1.x would download them at run time.  Definitions are
found with one tree-sitter query per language whose capture names are our symbol kinds,
so the C query engine does the tree walk and Python only sees the few nodes it names.
Function-like captures are all ``@function``; the chunker calls one a ``method`` when its
nearest enclosing definition is a type.  Top-level bindings are ``@variable`` (the chunker
calls an UPPER_CASE one a ``constant``), and C's ``#define`` lines ``@macro``.  A script with
no telling name is known by its ``#!`` line (``language_for_shebang``).

Nothing here imports tree_sitter: the grammar module is named, and imported by the chunker
on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath


@dataclass(frozen=True, slots=True)
class Grammar:
    module: str
    factory: str
    definitions: str


_FUNCTION_VALUE = "[(arrow_function) (function_expression) (generator_function)]"

_JS_DEFINITIONS = f"""
(function_declaration) @function
(generator_function_declaration) @function
(class_declaration) @class
(method_definition) @function
(variable_declarator
  value: [(arrow_function) (function_expression) (generator_function) (class)]) @function
(pair key: (_) value: {_FUNCTION_VALUE}) @function
(assignment_expression
  left: (member_expression property: (_)) right: {_FUNCTION_VALUE}) @function
(program (lexical_declaration (variable_declarator name: (identifier)) @variable))
(program
  (export_statement (lexical_declaration (variable_declarator name: (identifier)) @variable)))
"""

_TS_DEFINITIONS = (
    _JS_DEFINITIONS
    + f"""
(public_field_definition name: (_) value: {_FUNCTION_VALUE}) @function
(abstract_class_declaration) @class
(interface_declaration) @interface
(type_alias_declaration) @type
(enum_declaration) @enum
(internal_module) @module
(function_signature) @function
(method_signature) @function
(abstract_method_signature) @function
"""
)

_C_DEFINITIONS = """
(preproc_def) @macro
(preproc_function_def) @macro
(function_definition) @function
(struct_specifier body: (_)) @struct
(union_specifier body: (_)) @struct
(enum_specifier body: (_)) @enum
(type_definition) @type
"""

GRAMMARS: dict[str, Grammar] = {
    "python": Grammar(
        "tree_sitter_python",
        "language",
        """
        (function_definition) @function
        (class_definition) @class
        (module (expression_statement (assignment left: (identifier))) @variable)
        """,
    ),
    "javascript": Grammar(
        "tree_sitter_javascript",
        "language",
        _JS_DEFINITIONS + f"(field_definition property: (_) value: {_FUNCTION_VALUE}) @function",
    ),
    "typescript": Grammar("tree_sitter_typescript", "language_typescript", _TS_DEFINITIONS),
    "tsx": Grammar("tree_sitter_typescript", "language_tsx", _TS_DEFINITIONS),
    "go": Grammar(
        "tree_sitter_go",
        "language",
        """
        (function_declaration) @function
        (method_declaration) @function
        (type_spec type: (struct_type)) @struct
        (type_spec type: (interface_type)) @interface
        (type_spec type: [(type_identifier) (qualified_type) (function_type) (map_type)
                          (slice_type) (pointer_type) (channel_type) (array_type)
                          (generic_type)]) @type
        (source_file (const_declaration (const_spec) @variable))
        (source_file (var_declaration (var_spec) @variable))
        (source_file (var_declaration (var_spec_list (var_spec) @variable)))
        """,
    ),
    "rust": Grammar(
        "tree_sitter_rust",
        "language",
        """
        (function_item) @function
        (function_signature_item) @function
        (struct_item) @struct
        (union_item) @struct
        (enum_item) @enum
        (trait_item) @trait
        (impl_item) @impl
        (mod_item) @module
        (macro_definition) @macro
        (type_item) @type
        (const_item) @variable
        (static_item) @variable
        """,
    ),
    "java": Grammar(
        "tree_sitter_java",
        "language",
        """
        (class_declaration) @class
        (interface_declaration) @interface
        (annotation_type_declaration) @interface
        (enum_declaration) @enum
        (record_declaration) @class
        (method_declaration) @function
        (constructor_declaration) @function
        """,
    ),
    "c": Grammar("tree_sitter_c", "language", _C_DEFINITIONS),
    "cpp": Grammar(
        "tree_sitter_cpp",
        "language",
        _C_DEFINITIONS
        + """
        (class_specifier body: (_)) @class
        (namespace_definition body: (_)) @namespace
        """,
    ),
    "csharp": Grammar(
        "tree_sitter_c_sharp",
        "language",
        """
        (class_declaration) @class
        (struct_declaration) @struct
        (interface_declaration) @interface
        (enum_declaration) @enum
        (record_declaration) @class
        (method_declaration) @function
        (constructor_declaration) @function
        (property_declaration) @property
        (namespace_declaration) @namespace
        """,
    ),
    "ruby": Grammar(
        "tree_sitter_ruby",
        "language",
        """
        (method) @function
        (singleton_method) @function
        (class) @class
        (singleton_class) @class
        (module) @module
        (program (assignment left: [(constant) (identifier)]) @variable)
        """,
    ),
    "php": Grammar(
        "tree_sitter_php",
        "language_php",
        """
        (function_definition) @function
        (method_declaration) @function
        (class_declaration) @class
        (interface_declaration) @interface
        (trait_declaration) @trait
        (enum_declaration) @enum
        (program (const_declaration (const_element) @variable))
        """,
    ),
    "kotlin": Grammar(
        "tree_sitter_kotlin",
        "language",
        """
        (class_declaration) @class
        (object_declaration) @class
        (function_declaration) @function
        (source_file (property_declaration) @variable)
        """,
    ),
    "swift": Grammar(
        "tree_sitter_swift",
        "language",
        """
        (class_declaration) @class
        (protocol_declaration) @interface
        (function_declaration) @function
        (init_declaration) @function
        (protocol_function_declaration) @function
        (source_file (property_declaration) @variable)
        """,
    ),
    "bash": Grammar("tree_sitter_bash", "language", "(function_definition) @function"),
}

# Kinds of values rather than code: listed as symbols, but they neither name a chunk's
# kind nor count as definitions when neighbours merge.
VALUE_KINDS = frozenset({"variable", "constant", "macro"})

# Kinds whose functions are methods, and which a chunk of their body names as context.
TYPE_KINDS = frozenset(
    {"class", "struct", "interface", "trait", "impl", "enum", "object", "extension"}
)

_BY_SUFFIX = {
    ".py": "python",
    ".pyi": "python",
    ".pyw": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".c++": "cpp",
    ".hh": "cpp",
    ".hpp": "cpp",
    ".hxx": "cpp",
    ".ipp": "cpp",
    ".cs": "csharp",
    ".rb": "ruby",
    ".rake": "ruby",
    ".gemspec": "ruby",
    ".php": "php",
    ".kt": "kotlin",
    ".kts": "kotlin",
    ".swift": "swift",
    ".sh": "bash",
    ".bash": "bash",
    ".zsh": "bash",
    # No grammar: named so search can filter on them, chunked as line windows.
    ".md": "markdown",
    ".markdown": "markdown",
    ".rst": "rst",
    ".txt": "text",
    ".json": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".toml": "toml",
    ".ini": "ini",
    ".cfg": "ini",
    ".html": "html",
    ".htm": "html",
    ".css": "css",
    ".scss": "scss",
    ".sql": "sql",
    ".xml": "xml",
    ".lua": "lua",
    ".scala": "scala",
    ".dart": "dart",
    ".ex": "elixir",
    ".exs": "elixir",
    ".hs": "haskell",
    ".ml": "ocaml",
    ".r": "r",
    ".vue": "vue",
    ".svelte": "svelte",
    ".proto": "protobuf",
    ".tf": "terraform",
}

_BY_NAME = {
    "Makefile": "make",
    "GNUmakefile": "make",
    "Dockerfile": "dockerfile",
    "Rakefile": "ruby",
    "Gemfile": "ruby",
    "BUILD": "starlark",
    "BUILD.bazel": "starlark",
    ".bashrc": "bash",
    ".zshrc": "bash",
    ".profile": "bash",
}


_BY_INTERPRETER = {
    "python": "python",
    "sh": "bash",
    "bash": "bash",
    "zsh": "bash",
    "dash": "bash",
    "ksh": "bash",
    "node": "javascript",
    "nodejs": "javascript",
    "deno": "typescript",
    "ruby": "ruby",
    "php": "php",
}


# Every language a file can be indexed as: the names a search's language filter takes.
KNOWN_LANGUAGES = (
    frozenset(_BY_SUFFIX.values()) | set(_BY_NAME.values()) | set(_BY_INTERPRETER.values())
)
# What people type for some of them.
LANGUAGE_ALIASES = {
    "py": "python",
    "js": "javascript",
    "ts": "typescript",
    "rs": "rust",
    "golang": "go",
    "c++": "cpp",
    "cs": "csharp",
    "c#": "csharp",
    "rb": "ruby",
    "sh": "bash",
    "shell": "bash",
    "kt": "kotlin",
}


def language_for_path(path: str) -> str | None:
    """The language of a file from its name; None for text we have no name for."""
    pure = PurePath(path)
    if pure.name in _BY_NAME:
        return _BY_NAME[pure.name]
    return _BY_SUFFIX.get(pure.suffix.lower())


def language_for_shebang(first_line: str) -> str | None:
    """The language a ``#!`` line runs (``#!/usr/bin/env python3`` -> python), for scripts
    whose name says nothing."""
    if not first_line.startswith("#!"):
        return None
    words = first_line[2:].split()
    if words and PurePath(words[0]).name == "env":
        words = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    if not words:
        return None
    interpreter = PurePath(words[0]).name.rstrip("0123456789.")
    return _BY_INTERPRETER.get(interpreter)
