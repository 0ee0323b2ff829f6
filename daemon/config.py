"""The daemon's one settings tree, and where its values come from.

Sources, later wins: built-in defaults, the user file ``config.toml`` in the config directory
(``daemon.paths``), each workspace root's ``.deputydev/config.toml``, ``DEPUTYDEV_*``
environment variables, then the editor's ``initializationOptions`` /
``workspace/didChangeConfiguration``. Each package owns its section's model
(``providers.settings``, ``indexer.settings``, ``daemon.solver.settings``, ``hosting.settings``,
``daemon.sync.settings``, ``daemon.completion.settings``); this module only nests them.

Trust: a workspace file comes with the repository, and a repository may be written by an
attacker. So each setting is *user-only* unless :data:`WORKSPACE_ALLOWED` names it: a
workspace file that sets a user-only key (a provider's base URL, the command allow-list,
anything under ``[sync]``) has that key dropped, with a :class:`ConfigIssue` marked
``refused`` that the editor, ``doctor`` and ``deputydev/status`` show. New sections are
user-only until someone lists their keys there, and a key whose name says it holds a
program, URL, credential or header stays user-only even if listed. A root inside one of the
user's ``trusted_folders`` may set everything.

A bad value never stops the daemon: :func:`load_settings` drops the offending key from the
source that set it, records a :class:`ConfigIssue` naming the source (file and line when it
can), the dotted key and what was expected, and goes on with the value from the sources
before it. API keys are accepted from files and the environment only, never from the
editor's payload.

    loaded = load_settings(roots=[Path("/src/app")], editor={"index": {"maxChunkLines": 60}})
    loaded.settings.index.max_chunk_lines   # 60
    loaded.issues                           # [] or what was wrong, for showMessage and doctor
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError
from pydantic.alias_generators import to_camel

from daemon import paths
from daemon.completion.settings import CompletionSettings
from daemon.logs import register_secret
from daemon.mcp.settings import McpSettings
from daemon.review.settings import ReviewSettings
from daemon.solver.settings import SolverSettings
from daemon.sync.settings import SyncSettings
from hosting.settings import HostingSettings
from indexer.settings import IndexSettings
from providers.settings import ProvidersSettings

ENV_PREFIX = "DEPUTYDEV_"
# Environment variables that are not settings, or that name a nested key directly.
_ENV_NOT_SETTINGS = {"DEPUTYDEV_HOME", "DEPUTYDEV_PLUGINS"}
_ENV_ALIASES = {"DEPUTYDEV_SYNC_URL": ("sync", "url")}
# Keys the editor may not set: secrets come from the environment or config files only.
_SECRET_KEY = re.compile(r"(api_?key|token|secret|password)$", re.IGNORECASE)

# What a workspace's .deputydev/config.toml may set: dotted keys by their Python names,
# ``<name>`` standing for a user-chosen name (an agent's). Everything else is user-only.
# Keep docs/CONFIGURATION.md ("Which file may set what") in step; a test compares them.
WORKSPACE_ALLOWED: tuple[str, ...] = (
    # index tuning
    "index.enabled",
    "index.max_file_bytes",
    "index.max_chunk_lines",
    "index.vectors",
    "index.watch",
    "index.debounce_ms",
    "index.workers",
    "index.default_mode",
    # the default model chosen among the user's configured ones
    "providers.default_model",
    "providers.cheap_model",
    # agents and their prompts, and the loop's own limits
    "solver.max_steps",
    "solver.reasoning",
    "solver.choice_timeout_s",
    "solver.agents.<name>.description",
    "solver.agents.<name>.prompt",
    "solver.agents.<name>.tools",
    "solver.agents.<name>.model",
    # the team's reviewers and how strict a review is
    "review.builtin",
    "review.agents.<name>.prompt",
    "review.agents.<name>.description",
    "review.agents.<name>.model",
    "review.agents.<name>.globs",
    "review.agents.<name>.default",
    "review.model",
    "review.validation_model",
    "review.min_confidence",
    "review.keep_outside",
    "review.context_lines",
    "review.max_steps",
    "review.max_batches",
    "review.base",
)
# A key with one of these words in its name (split at "_") holds a program, a URL, a
# credential or a header, or widens what runs: it is user-only even when listed above (a
# mistake there must not open a hole).
_DANGER = """
url urls uri endpoint host hosts proxy server servers command commands cmd program exec
executable script scripts hook hooks shell env path paths dir key keys token secret secrets
password credential credentials header headers cert auth allow trust trusted redaction sync
log argv args
"""
_USER_ONLY_WORDS = frozenset(_DANGER.split())


class Settings(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Folders whose own .deputydev/config.toml may set user-only settings too (read from the
    # user's config file and the environment only).
    trusted_folders: tuple[str, ...] = ()
    providers: ProvidersSettings = ProvidersSettings()
    index: IndexSettings = IndexSettings()
    solver: SolverSettings = SolverSettings()
    sync: SyncSettings = SyncSettings()
    hosting: HostingSettings = HostingSettings()
    completion: CompletionSettings = CompletionSettings()
    mcp: McpSettings = McpSettings()
    review: ReviewSettings = ReviewSettings()


# Sections no workspace file sets, even in a trusted folder, and the editor never sets: an
# MCP server is a program the daemon runs (or a URL it sends the code to), and an editor's
# project settings may come with the project.
USER_ONLY_SECTIONS = ("mcp",)


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    source: str  # a file path, "environment" or "editor"
    key: str  # dotted, as written in the source ("" for the whole source)
    message: str
    line: int | None = None
    # A workspace file set a user-only key: not a mistake in the value, a refusal.
    refused: bool = False

    def __post_init__(self) -> None:
        # A message may quote the value it refuses; a password in it must never show.
        from daemon.logs import redact

        object.__setattr__(self, "message", redact(self.message))

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class LoadedSettings:
    settings: Settings
    issues: tuple[ConfigIssue, ...] = ()
    files: tuple[Path, ...] = field(default=())  # config files that were read

    @property
    def refused(self) -> tuple[ConfigIssue, ...]:
        """What a workspace file tried to set and was not allowed to."""
        return tuple(i for i in self.issues if i.refused)

    @property
    def errors(self) -> tuple[ConfigIssue, ...]:
        """Mistakes in the configuration (bad values, unknown keys, unreadable files)."""
        return tuple(i for i in self.issues if not i.refused)


@dataclass(slots=True)
class _Layer:
    source: str
    values: dict[str, Any]
    text: str | None = None  # the file's text, to find a key's line


def load_settings(
    roots: Sequence[Path] = (),
    editor: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    user_file: Path | None = None,
) -> LoadedSettings:
    env = os.environ if env is None else env
    issues: list[ConfigIssue] = []
    layers: list[_Layer] = []
    files: list[Path] = []

    user_path = user_file or paths.user_config_file()
    user_layer = _read_toml(user_path, issues)
    if user_layer is not None:
        files.append(user_path)
        layers.append(user_layer)
    env_layer = _Layer("environment", _from_env(env, issues))
    trusted = _trusted_folders([user_layer, env_layer])

    for root in roots:
        if not os.access(root, os.R_OK | os.X_OK) and root.exists():
            continue  # an unreadable folder is the command's to report, not its config's
        path = paths.workspace_config_file(root)
        layer = _read_toml(path, issues)
        if layer is not None:
            files.append(path)
            layers.append(_workspace_layer(layer, _is_trusted(root, trusted), issues))

    layers.append(env_layer)
    if editor:
        layers.append(_Layer("editor", _from_editor(editor, issues)))

    merged: dict[str, Any] = {}
    for layer in layers:
        merged = _apply(merged, layer, issues)
    settings = Settings.model_validate(merged)
    _register_secrets(settings)
    return LoadedSettings(settings, tuple(issues), tuple(files))


# --------------------------------------------------------------------------- trust


def workspace_may_set(key: Sequence[str]) -> bool:
    """Whether a workspace file may set the setting at dotted ``key`` (Python names; a
    user-chosen name such as an agent's counts as ``<name>``)."""
    for pattern in WORKSPACE_ALLOWED:
        parts = pattern.split(".")
        if len(parts) == len(key) and all(p == k for p, k in zip(parts, key, strict=True)):
            return not any(_names_danger(part) for part in parts if part != "<name>")
    return False


def _names_danger(name: str) -> bool:
    return any(word in _USER_ONLY_WORDS for word in name.lower().split("_"))


def trust_classes() -> tuple[list[str], list[str]]:
    """Every setting's dotted key, as (workspace-allowed, user-only)."""
    allowed: list[str] = []
    user_only: list[str] = []
    for key in _leaf_keys(Settings, ()):
        (allowed if workspace_may_set(key) else user_only).append(".".join(key))
    return allowed, user_only


def _leaf_keys(model: type[BaseModel], prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for name, info in model.model_fields.items():
        sub, is_dict = _model_in(info.annotation)
        if sub is None:
            out.append((*prefix, name))
        elif is_dict:
            out += _leaf_keys(sub, (*prefix, name, "<name>"))
        else:
            out += _leaf_keys(sub, (*prefix, name))
    return out


def _trusted_folders(layers: Sequence[_Layer | None]) -> list[Path]:
    """``trusted_folders`` from the user's own sources (the environment wins)."""
    found: Any = ()
    for layer in layers:
        if layer is not None:
            found = layer.values.get("trusted_folders", layer.values.get("trustedFolders", found))
    if isinstance(found, str):
        found = [found]
    if not isinstance(found, list | tuple):
        return []
    out = []
    for folder in found:
        if isinstance(folder, str) and folder.strip():
            path = Path(os.path.expanduser(folder.strip()))
            if path.is_absolute():
                out.append(path.resolve())
    return out


def _is_trusted(root: Path, trusted: Sequence[Path]) -> bool:
    resolved = root.resolve()
    return any(resolved.is_relative_to(folder) for folder in trusted)


def _workspace_layer(layer: _Layer, trusted: bool, issues: list[ConfigIssue]) -> _Layer:
    """``layer`` without the user-only keys it sets (unless its folder is trusted), each
    reported as refused. Unknown keys are left for validation to report."""
    where = layer.source.removesuffix(".deputydev/config.toml").rstrip("/\\") or layer.source

    def refuse(spelled: list[str], why: str) -> None:
        issues.append(
            ConfigIssue(
                layer.source,
                ".".join(spelled),
                f"refused: {why}; set it in your own config.toml ({paths.user_config_file()}), "
                f"or add {where} to trusted_folders there",
                _find_line(layer.text, spelled),
                refused=True,
            )
        )

    def walk(
        node: Mapping[str, Any],
        model: type[BaseModel],
        canon: tuple[str, ...],
        spelled: list[str],
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        names = {
            alias: name
            for name, info in model.model_fields.items()
            for alias in (name, info.alias)
            if alias
        }
        for key, value in node.items():
            name = names.get(key)
            if name is None:
                out[key] = value  # unknown: validation reports it
                continue
            path = (*canon, name)
            if name == "trusted_folders":
                refuse([*spelled, key], "a workspace cannot trust itself")
                continue
            if not canon and name in USER_ONLY_SECTIONS:
                issues.append(
                    ConfigIssue(
                        layer.source,
                        key,
                        f"refused: [{key}] declares programs to run, so only your own "
                        f"config.toml ({paths.user_config_file()}) may set it, even for a "
                        "trusted folder",
                        _section_line(layer.text, key),
                        refused=True,
                    )
                )
                continue
            if trusted:
                out[key] = value
                continue
            sub, is_dict = _model_in(model.model_fields[name].annotation)
            if sub is not None and isinstance(value, Mapping):
                if is_dict:
                    inner: dict[str, Any] = {}
                    for item, item_value in value.items():
                        item_path = (*path, "<name>")
                        if isinstance(item_value, Mapping):
                            kept = walk(item_value, sub, item_path, [*spelled, key, str(item)])
                            if kept:
                                inner[item] = kept
                        elif _may_hold(item_path):
                            inner[item] = item_value
                        else:
                            refuse([*spelled, key, str(item)], "a workspace may not set this")
                    if inner:
                        out[key] = inner
                else:
                    kept = walk(value, sub, path, [*spelled, key])
                    if kept:
                        out[key] = kept
            elif workspace_may_set(path) or (
                not isinstance(value, Mapping) and sub is not None and _may_hold(path)
            ):
                out[key] = value  # allowed, or a section given a plain value: validation says so
            else:
                refuse([*spelled, key], "a workspace may not set this (user-only)")
        return out

    kept = walk(layer.values, Settings, (), [])
    return _Layer(layer.source, kept, layer.text)


def _section_line(text: str | None, section: str) -> int | None:
    """The line of the first ``[section]`` or ``[section.x]`` header, or ``section.x =`` key."""
    pattern = re.compile(rf"\s*(\[\s*{re.escape(section)}\s*[.\]]|{re.escape(section)}\s*[.=])")
    for number, line in enumerate((text or "").splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def _may_hold(prefix: tuple[str, ...]) -> bool:
    """Whether some workspace-allowed key lies under ``prefix``."""
    return any(
        len(parts) > len(prefix)
        and all(p == k for p, k in zip(parts, prefix, strict=False))
        and workspace_may_set(parts)
        for parts in (pattern.split(".") for pattern in WORKSPACE_ALLOWED)
    )


def _register_secrets(node: Any) -> None:
    """Every ``SecretStr`` in the tree (API keys under ``[providers.*]``) is hidden from logs."""
    if isinstance(node, SecretStr):
        value = node.get_secret_value()
        if "://" in value:
            # A URL held secret ([sync] url): its password is the secret, not the whole URL,
            # which logs and doctor show with the password masked. A URL without one
            # hides nothing (it was logged as "team sync to [REDACTED]").
            from urllib.parse import urlsplit

            try:
                register_secret(urlsplit(value).password)
            except ValueError:
                register_secret(value)  # not parseable: hide it all
            return
        register_secret(value)
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            _register_secrets(getattr(node, name))
    elif isinstance(node, Mapping):
        for value in node.values():
            _register_secrets(value)


def _read_toml(path: Path, issues: list[ConfigIssue]) -> _Layer | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        issues.append(ConfigIssue(str(path), "", f"cannot be read ({exc}); using defaults"))
        return None
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        issues.append(
            ConfigIssue(str(path), "", f"is not valid TOML ({exc}); the file is ignored", line)
        )
        return None
    return _Layer(str(path), values, text)


def _line_from_message(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


def _from_env(env: Mapping[str, str], issues: list[ConfigIssue]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or name in _ENV_NOT_SETTINGS:
            continue
        key = _ENV_ALIASES.get(name) or tuple(
            part.lower() for part in name[len(ENV_PREFIX) :].split("__")
        )
        node = values
        for part in key[:-1]:
            node = node.setdefault(part, {})
        node[key[-1]] = _env_value(raw)
    return values


def _env_value(raw: str) -> Any:
    """``DEPUTYDEV_INDEX__MAX_CHUNK_LINES=60`` is a number; JSON lists and objects work too."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


_DSN_PASSWORD = re.compile(r"(?:^|\s)password\s*=", re.IGNORECASE)
# user:password@ in a URL too broken for urlsplit to find it.
_USERINFO = re.compile(r"://[^/\s]*:[^/\s]*@")


def _carries_password(value: str) -> bool:
    """A URL with ``user:password@`` or a libpq ``key=value`` string with ``password=``."""
    if "://" in value:
        from urllib.parse import urlsplit

        try:
            return urlsplit(value.strip()).password is not None
        except ValueError:
            return False
    return bool(_DSN_PASSWORD.search(value))


def _from_editor(editor: Mapping[str, Any], issues: list[ConfigIssue]) -> dict[str, Any]:
    # Editors often nest their server's settings under its name.
    inner = editor.get("deputydev", editor)
    if not isinstance(inner, Mapping):
        issues.append(ConfigIssue("editor", "", "settings must be an object; ignored"))
        return {}

    def strip(node: Mapping[str, Any], prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in node.items():
            dotted = f"{prefix}{key}"
            if not prefix and key in USER_ONLY_SECTIONS:
                issues.append(
                    ConfigIssue(
                        "editor",
                        dotted,
                        f"[{key}] is read from your own config.toml and the environment only "
                        "(an editor's project settings may come with the project); set it there",
                    )
                )
            elif not prefix and key in ("trustedFolders", "trusted_folders"):
                issues.append(
                    ConfigIssue(
                        "editor",
                        dotted,
                        "trusted folders are read from your own config.toml and the "
                        "environment only (an editor's project settings may come with the "
                        "project); set it there",
                    )
                )
            elif not prefix and key == "hosting":
                issues.append(
                    ConfigIssue(
                        "editor",
                        dotted,
                        "source hosting settings are read from your own config.toml and the "
                        "environment only (a token goes only to the host configured beside "
                        "it); set them there",
                    )
                )
            elif _SECRET_KEY.search(str(key)):
                issues.append(
                    ConfigIssue(
                        "editor",
                        dotted,
                        "secrets are not accepted from the editor; set it in config.toml "
                        "or through the provider's environment variable",
                    )
                )
            elif isinstance(value, str) and _carries_password(value):
                issues.append(
                    ConfigIssue(
                        "editor",
                        dotted,
                        "this URL carries a password, and secrets are not accepted from the "
                        "editor; send it without one and keep the password in config.toml, "
                        "the environment (DEPUTYDEV_SYNC_URL, PGPASSWORD) or ~/.pgpass",
                    )
                )
            elif isinstance(value, Mapping):
                out[key] = strip(value, dotted + ".")
            else:
                out[key] = value
        return out

    return strip(inner, "")


def _deep_merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _apply(merged: dict[str, Any], layer: _Layer, issues: list[ConfigIssue]) -> dict[str, Any]:
    """Merge ``layer`` on top, dropping each of its keys that does not validate."""
    values = layer.values
    for _ in range(50):  # each round removes at least one key
        candidate = _deep_merge(merged, _normalize(values, Settings))
        try:
            Settings.model_validate(candidate)
            return candidate
        except ValidationError as exc:
            removed = False
            for error in exc.errors():
                loc = _source_path(values, error["loc"])
                if loc is None:
                    continue
                issues.append(
                    ConfigIssue(
                        layer.source,
                        ".".join(loc),
                        _expected(error) + "; using the previous value",
                        _find_line(layer.text, loc),
                    )
                )
                values = _without(values, loc)
                removed = True
            if not removed:  # the error is not this layer's to fix: skip the whole layer
                issues.append(ConfigIssue(layer.source, "", f"ignored: {exc}"))
                return merged
    return merged


def _normalize(values: Mapping[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """Spell every key of ``model``'s fields by its Python name (TOML says ``max_chunk_lines``,
    the editor ``maxChunkLines``), so that layers merge key by key; keys of dict-valued
    settings (user-chosen names, such as model names) are left as written."""
    names = {}
    for name, info in model.model_fields.items():
        names[name] = name
        if info.alias:
            names[info.alias] = name
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = names.get(key, key)
        field = model.model_fields.get(name)
        if field is not None and isinstance(value, Mapping):
            sub, is_dict = _model_in(field.annotation)
            if sub is not None and is_dict:
                value = {
                    k: _normalize(v, sub) if isinstance(v, Mapping) else v for k, v in value.items()
                }
            elif sub is not None:
                value = _normalize(value, sub)
        out[name] = value
    return out


def _model_in(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The settings model inside ``annotation`` (``M``, ``M | None``, ``dict[str, M]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (dict, Mapping) and len(args) == 2:
        inner, _ = _model_in(args[1])
        return inner, inner is not None
    for arg in args:
        inner, is_dict = _model_in(arg)
        if inner is not None:
            return inner, is_dict
    return None, False


def _source_path(values: Mapping[str, Any], loc: tuple[int | str, ...]) -> list[str] | None:
    """The longest prefix of ``loc`` present in ``values``, spelled as the source spelled it."""
    node: Any = values
    found: list[str] = []
    for part in loc:
        if not isinstance(node, Mapping):
            break
        key = _spelled(node, str(part))
        if key is None:
            break
        found.append(key)
        node = node[key]
    return found or None


def _spelled(node: Mapping[str, Any], name: str) -> str | None:
    for candidate in (name, to_camel(name), _to_snake(name)):
        if candidate in node:
            return candidate
    return None


def _to_snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _without(values: Mapping[str, Any], loc: Sequence[str]) -> dict[str, Any]:
    out = dict(values)
    if len(loc) == 1:
        out.pop(loc[0], None)
    elif isinstance(out.get(loc[0]), Mapping):
        out[loc[0]] = _without(out[loc[0]], loc[1:])
    return out


def _expected(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown setting"
    message = str(error["msg"])
    value = error.get("input")
    if "input" in error and not isinstance(value, Mapping | list):
        if isinstance(value, str) and (_carries_password(value) or _USERINFO.search(value)):
            return message  # never echo a password into a message, a log or the editor
        return f"{message} (got {value!r})"
    return message


def _find_line(text: str | None, loc: Sequence[str]) -> int | None:
    """Best effort: the line of ``key =`` after the ``[section]`` that holds it."""
    if text is None:
        return None
    *sections, key = loc
    in_section = not sections
    wanted = ".".join(sections)
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            in_section = stripped.strip("[]").strip() == wanted
            continue
        if in_section and re.match(rf"{re.escape(key)}\s*=", stripped):
            return number
        if not in_section and re.match(rf"{re.escape('.'.join(loc))}\s*=", stripped):
            return number
    return None
