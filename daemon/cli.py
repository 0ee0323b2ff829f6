"""The ``deputydev`` command line: one module per subcommand in ``daemon.commands``.

Each command module declares ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``; its heavy imports live inside ``run`` so that ``--help`` and ``serve``
start fast. Exit codes: 0 success, 1 failure, 2 usage error (or no model to ask). A
configuration problem is a warning, never an exit: the earlier value is kept.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from daemon import __version__

if TYPE_CHECKING:
    from daemon.config import LoadedSettings

# Order is the order shown in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "daemon.commands.serve",
    "daemon.commands.index",
    "daemon.commands.search",
    "daemon.commands.ask",
    "daemon.commands.review",
    "daemon.commands.sessions",
    "daemon.commands.sync",
    "daemon.commands.doctor",
    "daemon.commands.version",
)


def _commands() -> list[ModuleType]:
    modules = []
    for name in COMMAND_MODULES:
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real import error inside the command module
                raise
    return modules


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deputydev",
        description="DeputyDev: a local AI code assistant daemon for your editor.",
    )
    parser.add_argument("--version", action="version", version=f"deputydev {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _commands():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def settings_or_exit(roots: Sequence[Path] = ()) -> LoadedSettings:
    """Settings for a CLI command. Each configuration problem is a warning on stderr that
    says what was done instead (the earlier value kept, the file ignored), and the command
    goes on, as the daemon does: a typo in one key never stops the work."""
    from daemon.config import load_settings

    loaded = load_settings(roots=[Path(r).resolve() for r in roots])
    for issue in loaded.refused:
        print(f"deputydev: warning: ignored a workspace setting: {issue}", file=sys.stderr)
    for issue in loaded.errors:
        print(f"deputydev: warning: {issue}", file=sys.stderr)
    return loaded


def folder_problem(root: Path) -> str | None:
    """Why ``root`` cannot be worked in (None: it can): missing, not a folder, unreadable."""
    import os

    try:
        with os.scandir(root):
            pass
    except FileNotFoundError:
        return f"{root} does not exist"
    except NotADirectoryError:
        return f"{root} is not a folder"
    except OSError as exc:
        return f"cannot read the folder {root} ({exc.strerror or exc})"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        code: int = args._run(args)
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
