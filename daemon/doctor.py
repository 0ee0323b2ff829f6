"""The checks behind ``deputydev doctor``: each says what it found and how to fix a failure.

A check is a function ``(settings, loaded) -> list[Check]``; features append theirs to
``CHECKS`` (providers add key and reachability checks, sync adds the team database). Checks
never raise: an unexpected error becomes a failed check naming the exception.
"""

from __future__ import annotations

import importlib
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
    for issue in loaded.errors:
        # A bad key keeps its earlier value (a warning); a whole file dropped is a failure.
        whole_file = not issue.key and issue.source not in ("environment", "editor")
        checks.append(
            Check(
                "config",
                "fail" if whole_file else "warn",
                str(issue),
                "fix the file" if whole_file else "fix the value or remove the key",
            )
        )
    for issue in loaded.refused:
        checks.append(
            Check(
                "workspace setting refused",
                "warn",
                str(issue),
                "a repository's .deputydev/config.toml may not set user-only settings; "
                "set it in your own config.toml, or list the folder in trusted_folders",
            )
        )
    checks.append(Check("data directory", "ok", str(paths.data_dir())))
    checks.append(Check("log folder", "ok", str(paths.log_dir() / "deputydev.log")))
    return checks


def check_models(loaded: LoadedSettings) -> list[Check]:
    """One verdict on the facts a user needs: which model answers ``ask`` and can it be
    called; then, only when one can, where the keys come from (an unset key is no problem
    then), and the model servers that answer or that the user declared and do not."""
    import asyncio

    from daemon.usable import HOW_TO_GET_A_MODEL, usable_model
    from providers.errors import UnknownModel
    from providers.registry import Registry
    from providers.router import Router, key_env, key_source

    settings = loaded.settings.providers
    router = Router(settings)
    checks = [
        Check(f"model {issue.name}", "fail", issue.message, "complete the entry")
        for issue in Registry.from_settings(settings).issues
    ]
    try:
        found = asyncio.run(usable_model(router))
    except UnknownModel as exc:
        return [*checks, Check("default model", "fail", str(exc), "set default_model")]
    if found.model is None:
        fix = HOW_TO_GET_A_MODEL.replace("\n", " ").replace("  ", " ")
        return [*checks, Check("default model", "fail", found.message(), fix)]
    spec = router.resolve(found.model)
    chosen = settings.default_model
    how = (
        "the default"
        if chosen == found.model
        else f"a fallback ({chosen} cannot be called)"
        if chosen
        else "the first that can be called (no default_model set)"
    )
    where = (
        f"server {spec.server or 'ollama'}"
        if spec.provider == "compatible"
        else f"key {key_source(settings, spec.provider)}"
    )
    checks.append(
        Check(
            "default model",
            "ok" if chosen in (None, found.model) else "warn",
            f"{found.model} ({spec.provider} {spec.model_id}), {how}; can be called ({where})",
            "" if chosen in (None, found.model) else f"fix {chosen}: {'; '.join(found.problems)}",
        )
    )
    sources = {kind: key_source(settings, kind) for kind in key_env()}
    have = [f"{kind} ({source})" for kind, source in sources.items() if source is not None]
    missing = [kind for kind, source in sources.items() if source is None]
    detail = "; ".join(
        part
        for part in (
            "set: " + ", ".join(have) if have else "",
            "not set (not needed): " + ", ".join(missing) if missing else "",
        )
        if part
    )
    checks.append(Check("provider keys", "ok", detail))
    return checks


def check_embeddings(loaded: LoadedSettings) -> list[Check]:
    from daemon.index.embedders import check_embeddings as check

    return check(loaded)


def check_index_vectors(loaded: LoadedSettings) -> list[Check]:
    from daemon.index.checks import check_vectors

    return check_vectors(loaded)


def check_model_servers(loaded: LoadedSettings) -> list[Check]:
    """The OpenAI-compatible servers: one that answers is listed with its models; one that
    does not is a warning only when the user declared it under ``[providers.servers]`` (the
    shipped Ollama entry nobody runs is no fault, and the default model's row already says
    when the model in use cannot be reached)."""
    import asyncio

    from providers.errors import ProviderError
    from providers.router import Router

    settings = loaded.settings.providers
    router = Router(settings)
    # A hosted server whose key is missing is not probed: nothing would come of it.
    compatible = [
        s for s in router.registry if s.provider == "compatible" and router.key_problem(s) is None
    ]
    servers = sorted({s.server or "ollama" for s in compatible})

    async def probe() -> list[str | None]:
        return list(await asyncio.gather(*(router.reachable(n) for n in servers)))

    try:
        default = router.resolve(settings.default_model)
    except ProviderError:
        default = None
    judged = (default.server or "ollama") if default and default.provider == "compatible" else ""
    checks = []
    for name, problem in zip(servers, asyncio.run(probe()), strict=True):
        users = ", ".join(s.name for s in compatible if (s.server or "ollama") == name)
        if problem is None:
            checks.append(Check(f"server {name}", "ok", f"answers (models: {users})"))
        elif name in settings.servers and name != judged:
            checks.append(
                Check(
                    f"server {name}",
                    "warn",
                    f"{problem} (models: {users})",
                    f"start the server, or fix base_url under [providers.servers.{name}]",
                )
            )
    return checks


def check_sync(loaded: LoadedSettings) -> list[Check]:
    from daemon.sync.doctor import check

    return check(loaded)


def check_hosting(loaded: LoadedSettings) -> list[Check]:
    """Each source host, tracker and wiki: where its token comes from (never the token), and
    what is wrong in [hosting]. Offline: nothing is sent to a host."""
    from hosting.hosts import resolve_hosts

    settings = loaded.settings.hosting
    if not settings.enabled:
        return [Check("hosting", "ok", "off ([hosting] enabled = false)")]
    resolved = resolve_hosts(settings)
    checks = [
        Check(f"host {p.key}", "fail", p.message, "fix the value in config.toml")
        for p in resolved.problems
    ]
    for host in resolved.hosts:
        if host.credentials is not None:
            checks.append(
                Check(f"host {host.label}", "ok", f"token from {host.credentials.source}")
            )
        else:
            # A public host nobody configured is fine without a token; a site the user named
            # (Jira, Confluence, an instance of theirs) most likely needs one.
            public = host.name in ("github", "gitlab", "bitbucket") and host.web in (
                "https://github.com",
                "https://gitlab.com",
                "https://bitbucket.org",
            )
            checks.append(
                Check(
                    f"host {host.label}",
                    "ok" if public else "warn",
                    "no token: public items only",
                    f"set {host.hint}",
                )
            )
    return checks


def check_completion(loaded: LoadedSettings) -> list[Check]:
    from daemon.completion.checks import check_completion as check

    return check(loaded)


def check_mcp(loaded: LoadedSettings) -> list[Check]:
    from daemon.mcp.doctor import check

    return check(loaded)


CHECKS: list[CheckFn] = [
    check_python,
    check_sqlite,
    check_config,
    check_models,
    check_embeddings,
    check_index_vectors,
    check_model_servers,
    check_sync,
    check_hosting,
    check_completion,
    check_mcp,
]


def run_checks(loaded: LoadedSettings) -> list[Check]:
    out: list[Check] = []
    for fn in CHECKS:
        try:
            out.extend(fn(loaded))
        except Exception as exc:
            out.append(Check(fn.__name__.removeprefix("check_"), "fail", f"check crashed: {exc!r}"))
    return out
