"""Where a provider's key comes from: one lookup for every chat provider and embedder.

Each provider class declares the variables its key may come from in ``key_env_vars``, in
the order its SDK reads them (llm's ``Model.key_env_var``); :func:`get_key` reads a key the
way llm's ``get_key`` does: the explicit key of the settings first, then those variables.
:data:`KEY_ENV` gathers the classes' declarations for ``doctor`` and the router.

    key = get_key(connection.api_key, AnthropicProvider.key_env_vars)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import SecretStr


def get_key(
    explicit: SecretStr | None, env_vars: Sequence[str], env: Mapping[str, str] | None = None
) -> str | None:
    """The settings' key if set, else the first of ``env_vars`` that holds one."""
    if explicit is not None and explicit.get_secret_value():
        return explicit.get_secret_value()
    env = os.environ if env is None else env
    return next((env[name] for name in env_vars if env.get(name)), None)


def key_variable(env_vars: Sequence[str], env: Mapping[str, str] | None = None) -> str | None:
    """The first of ``env_vars`` that holds a key (its name, never its value)."""
    env = os.environ if env is None else env
    return next((name for name in env_vars if env.get(name)), None)
