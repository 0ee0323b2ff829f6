"""Where DeputyDev keeps its files: one function decides each directory.

``DEPUTYDEV_HOME`` moves everything (config, data, logs) under one folder, which the tests
use; otherwise the platform's conventional directories apply (platformdirs).
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "deputydev"
HOME_ENV = "DEPUTYDEV_HOME"


def _home() -> Path | None:
    value = os.environ.get(HOME_ENV)
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    if (home := _home()) is not None:
        return home / "config"
    from platformdirs import user_config_path

    return user_config_path(APP, appauthor=False)


def data_dir() -> Path:
    if (home := _home()) is not None:
        return home / "data"
    from platformdirs import user_data_path

    return user_data_path(APP, appauthor=False)


def log_dir() -> Path:
    if (home := _home()) is not None:
        return home / "logs"
    from platformdirs import user_log_path

    return user_log_path(APP, appauthor=False)


def user_config_file() -> Path:
    return config_dir() / "config.toml"


def workspace_config_file(root: Path) -> Path:
    return root / ".deputydev" / "config.toml"


def openrouter_catalogue() -> Path:
    """OpenRouter's model catalogue, cached (providers.openrouter.Catalogue)."""
    return data_dir() / "openrouter-models.json"
