"""``deputydev version``."""

from __future__ import annotations

import argparse

NAME = "version"
HELP = "Print the version."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    from daemon import __version__

    print(f"deputydev {__version__}")
    return 0
