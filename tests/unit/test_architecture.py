"""The shape of the code: imports point one way, and start-up stays light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# package -> the packages of ours it may import
ALLOWED = {
    "protocol": {"protocol"},
    "providers": {"providers"},
    "indexer": {"indexer", "sqlmigrate"},
    "hosting": {"hosting"},
    "sqlmigrate": {"sqlmigrate"},
    "daemon": {"daemon", "protocol", "providers", "indexer", "hosting", "sqlmigrate"},
}


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports: import statements, and ``importlib.import_module`` /
    ``__import__`` calls whose name is a string literal."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
            if name in ("import_module", "__import__") and literal:
                found.add(str(first.value))  # type: ignore[attr-defined]
    return found


def imports_of(path: Path) -> set[str]:
    """The top-level packages ``path`` imports."""
    return {module.split(".")[0] for module in _imported_modules(path)}


def sources(package: str) -> list[Path]:
    """The package's modules; a missing or empty folder fails, so no check passes vacuously."""
    folder = ROOT / package
    found = sorted(folder.rglob("*.py"))
    assert found, f"{package}/ has no Python modules: is the layout in this test still right?"
    return found


def test_imports_point_one_way() -> None:
    wrong = []
    for package, allowed in ALLOWED.items():
        for path in sources(package):
            for name in imports_of(path) & set(ALLOWED):
                if name not in allowed:
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []


def test_only_daemon_imports_pygls() -> None:
    wrong = [
        str(path.relative_to(ROOT))
        for package in ("protocol", "providers", "indexer", "hosting", "sqlmigrate")
        for path in sources(package)
        if "pygls" in imports_of(path)
    ]
    assert wrong == []


# Inside daemon/, the modules that speak pygls: the server and its transport, the handlers,
# the error translator and the conversions. Services talk to the editor through the
# server's notify / ask_editor / apply_edit and convert through daemon.convert.
PYGLS_HOMES = ("server.py", "transport.py", "errors.py", "convert.py", "handlers/")


def _in_homes(path: Path) -> bool:
    rel = path.relative_to(ROOT / "daemon").as_posix()
    return any(rel == home or rel.startswith(home) for home in PYGLS_HOMES)


def test_inside_daemon_only_the_server_handlers_and_translators_import_pygls() -> None:
    wrong = [
        str(path.relative_to(ROOT))
        for path in sources("daemon")
        if not _in_homes(path) and "pygls" in imports_of(path)
    ]
    assert wrong == []


def test_services_never_reach_into_the_servers_protocol() -> None:
    """``server.protocol.notify(...)`` in a service ties it to pygls; ``server.notify``
    is the server's to implement."""
    wrong = [
        str(path.relative_to(ROOT))
        for path in sources("daemon")
        if not _in_homes(path)
        and path.relative_to(ROOT / "daemon").as_posix() != "commands/serve.py"
        and ".protocol." in path.read_text()
    ]
    assert wrong == []


def test_the_import_walk_sees_dynamic_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import importlib\n"
        "def f():\n"
        "    importlib.import_module('pygls.uris')\n"
        "    __import__('daemon.server')\n"
    )
    assert {"pygls", "daemon", "importlib"} <= imports_of(module)


HEAVY = (
    "openai",
    "anthropic",
    "google.genai",
    "tree_sitter",
    "aiosqlite",
    "sqlite_vec",
    "asyncpg",
    "daemon.sync.pusher",
    "daemon.sync.team",
    "psycopg",
    "git",
    "watchfiles",
    "torch",
    "sentence_transformers",
    "tiktoken",
    "httpx",
    "rich",
)


def test_serving_imports_nothing_heavy() -> None:
    """What `deputydev serve` loads before answering initialize: no SDK, no index, no DB."""
    code = (
        "import sys, daemon.cli, daemon.commands.serve, daemon.server, daemon.handlers;"
        "print(','.join(sorted(m for m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.strip().split(","))
    assert [m for m in HEAVY if m in loaded] == []
