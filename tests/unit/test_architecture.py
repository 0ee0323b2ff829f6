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


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_imports_point_one_way() -> None:
    wrong = []
    for package, allowed in ALLOWED.items():
        for path in (ROOT / package).rglob("*.py"):
            for name in imports_of(path) & set(ALLOWED):
                if name not in allowed:
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []


def test_only_daemon_imports_pygls() -> None:
    wrong = [
        str(path.relative_to(ROOT))
        for package in ("protocol", "providers", "indexer", "hosting")
        for path in (ROOT / package).rglob("*.py")
        if "pygls" in imports_of(path)
    ]
    assert wrong == []


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
