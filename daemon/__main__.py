"""``python -m daemon``: the same as the ``deputydev`` command."""

from __future__ import annotations

import sys

from daemon.cli import main

sys.exit(main())
