"""The checks behind ``deputydev doctor``: each says what it found and how to fix a failure.

A check is a function ``(settings, loaded) -> list[Check]``; features append theirs to
``CHECKS`` (providers add key and reachability checks, sync adds the team database). Checks
never raise: an unexpected error becomes a failed check naming the exception.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from daemon.config import LoadedSettings

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


CheckFn = Callable[[LoadedSettings], list[Check]]


def check_python(loaded: LoadedSettings) -> list[Check]:
    version = ".".join(map(str, sys.version_info[:3]))
    return [Check("python", "ok", f"{version} ({sys.executable})")]


def _sqlite_modules() -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for name in ("sqlite3", "sqlean", "pysqlite3.dbapi2"):
        try:
            found.append((name, importlib.import_module(name)))
        except ImportError:
            continue
    return found


def check_sqlite(loaded: LoadedSettings) -> list[Check]:
    checks: list[Check] = []
    vec_ok: list[str] = []
    vec_errors: list[str] = []
    for name, module in _sqlite_modules():
        conn = module.connect(":memory:")  # type: ignore[attr-defined]
        try:
            version = conn.execute("select sqlite_version()").fetchone()[0]
            try:
                conn.execute("create virtual table t using fts5(x)")
                fts = "FTS5"
            except Exception:
                fts = "no FTS5"
            checks.append(
                Check(
                    f"sqlite ({name})",
                    "ok" if fts == "FTS5" else "warn",
                    f"SQLite {version}, {fts}",
                )
            )
            if not hasattr(conn, "enable_load_extension"):
                vec_errors.append(f"{name}: built without extension loading")
                continue
            try:
                import sqlite_vec

                conn.enable_load_extension(True)
                sqlite_vec.load(conn)
                vec = conn.execute("select vec_version()").fetchone()[0]
                vec_ok.append(f"{name} (sqlite-vec {vec})")
            except Exception as exc:
                vec_errors.append(f"{name}: {exc}")
        finally:
            conn.close()
    if vec_ok:
        checks.append(Check("vector search", "ok", "sqlite-vec loads through " + ", ".join(vec_ok)))
    else:
        checks.append(
            Check(
                "vector search",
                "warn",
                "off: no SQLite module here can load sqlite-vec (" + "; ".join(vec_errors) + ")",
                "pip install sqlean.py sqlite-vec (lexical search works without it)",
            )
        )
    return checks


def check_config(loaded: LoadedSettings) -> list[Check]:
    from daemon import paths

    checks = [
        Check(
            "config files",
            "ok",
            ", ".join(str(f) for f in loaded.files)
            or f"none (looked for {paths.user_config_file()})",
        )
    ]
    for issue in loaded.issues:
        checks.append(Check("config", "fail", str(issue), "fix the value or remove the key"))
    checks.append(Check("data directory", "ok", str(paths.data_dir())))
    return checks


_KEY_VARS = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
}


def check_provider_keys(loaded: LoadedSettings) -> list[Check]:
    checks = []
    for provider, variables in _KEY_VARS.items():
        present = [v for v in variables if os.environ.get(v)]
        if present:
            checks.append(Check(f"{provider} key", "ok", f"from {present[0]}"))
        else:
            checks.append(
                Check(
                    f"{provider} key",
                    "warn",
                    "not set",
                    f"export {variables[0]}=... or set api_key under "
                    f"[providers.{provider}] in config.toml",
                )
            )
    return checks


def check_embeddings(loaded: LoadedSettings) -> list[Check]:
    from daemon.index.embedders import check_embeddings as check

    return check(loaded)


def check_index_vectors(loaded: LoadedSettings) -> list[Check]:
    from daemon.index.checks import check_vectors

    return check_vectors(loaded)


CHECKS: list[CheckFn] = [
    check_python,
    check_sqlite,
    check_config,
    check_provider_keys,
    check_embeddings,
    check_index_vectors,
]


def run_checks(loaded: LoadedSettings) -> list[Check]:
    out: list[Check] = []
    for fn in CHECKS:
        try:
            out.extend(fn(loaded))
        except Exception as exc:
            out.append(Check(fn.__name__.removeprefix("check_"), "fail", f"check crashed: {exc!r}"))
    return out
