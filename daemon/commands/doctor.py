"""``deputydev doctor``: what works, what does not, and how to fix it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "doctor"
HELP = "Check Python, SQLite, vector search, configuration, provider keys and team sync."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", type=Path, default=None, help="workspace root (default: .)")
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")


def run(args: argparse.Namespace) -> int:
    from daemon.cli import settings_or_exit
    from daemon.doctor import run_checks

    root = (args.root or Path.cwd()).resolve()
    loaded = settings_or_exit([root])
    checks = run_checks(loaded)
    if args.json:
        print(json.dumps([_asdict(c) for c in checks], indent=2))
    else:
        import shutil

        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        table = Table(title="deputydev doctor", show_lines=False)
        for column in ("check", "status", "detail", "fix"):
            table.add_column(column, overflow="fold")
        colours = {"ok": "green", "warn": "yellow", "fail": "red"}
        for c in checks:
            table.add_row(
                escape(c.name),
                f"[{colours[c.status]}]{c.status}[/]",
                escape(c.detail),
                escape(c.fix),
            )
        Console(width=max(shutil.get_terminal_size((140, 24)).columns, 100)).print(table)
    return 1 if any(c.status == "fail" for c in checks) else 0


def _asdict(check: object) -> dict[str, object]:
    from dataclasses import asdict, is_dataclass

    assert is_dataclass(check) and not isinstance(check, type)
    return asdict(check)
