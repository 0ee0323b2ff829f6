"""Running git on a repository that may have been written by an attacker.

A repository's own configuration (``.git/config``, and whatever it includes) can name
programs that git runs on its own during read-only commands: ``core.fsmonitor`` runs on
``status``, ``diff`` and ``ls-files``; ``filter.<driver>.clean``/``process`` on ``status``
and ``diff`` (chosen per file by ``.gitattributes``); ``diff.external`` and
``diff.<driver>.command``/``textconv`` on ``diff``, ``log -p``, ``show`` and ``blame``;
``log.showSignature`` runs ``gpg.program``; a partial clone's lazy fetch runs
``remote.<name>.uploadpack`` or ``core.sshCommand``; and ``core.pager``, hooks and aliases
wait for the next command that uses them. So every git the daemon or the indexer runs
goes through :func:`git_argv` and :func:`git_env`:

- ``-c`` settings given on the command line beat every configuration file, so each
  program-naming key gets a harmless value (:data:`SAFE_CONFIG`), and each filter and diff
  driver the repository defines gets its commands emptied (:func:`driver_overrides`, from
  ``git config --get-regexp``, which runs nothing);
- the environment turns off the system config, prompts, optional locks, lazy fetches, and
  any ``GIT_*`` variable that names a program;
- the diff-producing commands add ``--no-ext-diff --no-textconv`` (:data:`DIFF_FLAGS`).

Aliases never apply: only git's own built-in commands are run, and an alias cannot
override a built-in.

    argv = git_argv(root, "status", "--short")   # ["git", "-c", "core.fsmonitor=false", ...]
    subprocess.run(argv, cwd=root, env=git_env(), capture_output=True)
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

SAFE_CONFIG: tuple[str, ...] = (
    "core.fsmonitor=false",
    "core.hooksPath=/dev/null",
    "core.pager=cat",
    "core.sshCommand=false",
    "core.askPass=",
    "core.gitProxy=",
    "core.alternateRefsCommand=",
    "core.untrackedCache=false",
    "credential.helper=",
    "diff.external=",
    "log.showSignature=false",
    "gpg.program=false",
    "status.submoduleSummary=false",
    "diff.submodule=short",
    "submodule.recurse=false",
    "protocol.allow=never",
    *(
        f"protocol.{name}.allow=never"
        for name in ("file", "ext", "ssh", "git", "http", "https", "fd")
    ),
)
# Added to diff, log -p, show and blame: no external diff program, no textconv filter.
DIFF_FLAGS: tuple[str, ...] = ("--no-ext-diff", "--no-textconv")
# Environment variables that name a program, a config file or a repository elsewhere.
_UNSAFE_ENV = (
    "GIT_EXTERNAL_DIFF",
    "GIT_PAGER",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "GIT_EDITOR",
    "GIT_SEQUENCE_EDITOR",
    "GIT_PROXY_COMMAND",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_EXEC_PATH",
    "GIT_TEMPLATE_DIR",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CEILING_DIRECTORIES",
)
_DRIVER_KEYS = {
    "filter": ("clean", "smudge", "process"),
    "diff": ("command", "textconv"),
    "merge": ("driver",),
}


def git_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for git: never prompting, locking, fetching or paging."""
    env = {
        k: v
        for k, v in (os.environ if base is None else base).items()
        if k not in _UNSAFE_ENV
        and not k.startswith("GIT_CONFIG_KEY_")
        and not k.startswith("GIT_CONFIG_VALUE_")
    }
    env.update(
        {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_OPTIONAL_LOCKS": "0",
            "GIT_NO_LAZY_FETCH": "1",
            "GIT_PROTOCOL_FROM_USER": "0",
            "GIT_NO_REPLACE_OBJECTS": "1",
            "GIT_PAGER": "cat",
            "PAGER": "cat",
        }
    )
    return env


def driver_overrides(config_lines: str) -> list[str]:
    """``-c`` values emptying every filter/diff/merge driver command named in
    ``git config --name-only --get-regexp`` output."""
    out: list[str] = []
    seen: set[tuple[str, str]] = set()
    for line in config_lines.splitlines():
        name = line.strip()
        section, _, rest = name.partition(".")
        driver, _, key = rest.rpartition(".")
        keys = _DRIVER_KEYS.get(section.lower())
        if not keys or not driver or key.lower() not in keys or (section, driver) in seen:
            continue
        seen.add((section, driver))
        out += [f"{section}.{driver}.{k}=" for k in keys]
        if section.lower() == "filter":
            out.append(f"{section}.{driver}.required=false")
    return out


DRIVER_QUERY: tuple[str, ...] = (
    "config",
    "--name-only",
    "--get-regexp",
    r"^(filter|diff|merge)\..+\.(clean|smudge|process|command|textconv|driver)$",
)


def config_flags(overrides: Sequence[str] = ()) -> list[str]:
    flags: list[str] = []
    for setting in (*SAFE_CONFIG, *overrides):
        flags += ["-c", setting]
    return flags


def git_argv(cwd: Path, *args: str, git: str = "git") -> list[str]:
    """``git ARGS`` hardened for the repository at ``cwd`` (blocking: asks git which
    drivers the repository defines)."""
    return [git, *config_flags(repository_drivers(cwd, git)), *args]


def repository_drivers(cwd: Path, git: str = "git") -> list[str]:
    """The driver overrides for the repository at ``cwd`` (blocking)."""
    try:
        done = subprocess.run(
            [git, *config_flags(), *DRIVER_QUERY],
            cwd=cwd,
            env=git_env(),
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return driver_overrides(done.stdout.decode("utf-8", errors="replace"))
