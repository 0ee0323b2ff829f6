"""Any OpenAI-compatible server by base URL: Ollama, vLLM, LM Studio, llama.cpp, OpenRouter.

The wire format is OpenAI's Chat Completions, so :class:`CompatibleProvider` is the OpenAI
provider with three differences: the base URL is required (``OPENAI_BASE_URL`` is never
consulted, so a local model cannot be sent to OpenAI by accident); the key is optional (a
local server needs none, and works with no internet at all) and comes from the server's
``api_key`` or the variable named by its ``api_key_env``; and the output limit is sent as
``max_tokens``, which every such server understands, rather than OpenAI's newer
``max_completion_tokens``. Reasoning text that servers stream as ``reasoning_content`` or
``reasoning`` becomes :class:`~providers.base.ThinkingDelta`.

    [providers.servers.lmstudio]
    base_url = "http://127.0.0.1:1234/v1"
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from providers.base import ChatRequest
from providers.errors import AuthenticationError, BadRequest
from providers.keys import get_key
from providers.openai import NO_KEY, OpenAIProvider
from providers.settings import ServerSettings

if TYPE_CHECKING:
    from openai import AsyncOpenAI


class CompatibleProvider(OpenAIProvider):
    def __init__(self, server_name: str, server: ServerSettings) -> None:
        super().__init__(server)
        self.server = server
        self.name = server_name
        self.key_env_vars = (server.api_key_env,) if server.api_key_env else ()
        self.config_key = f"providers.servers.{server_name}.api_key"

    def api_key(self) -> str | None:
        if self.server.api_key is None and not self.key_env_vars:
            return NO_KEY
        return get_key(self.server.api_key, self.key_env_vars)

    def client(self) -> AsyncOpenAI:
        if self.server.base_url is None:
            raise BadRequest(
                f"server {self.name!r} has no base_url: set base_url under "
                f"[providers.servers.{self.name}] in config.toml",
                provider=self.name,
                configKey=f"providers.servers.{self.name}.base_url",
            )
        return super().client()

    def _missing_key(self) -> AuthenticationError:
        error = super()._missing_key()
        if not self.key_env:
            return error
        return AuthenticationError(
            f"no API key for {self.name}: set {self.key_env} or {self.config_key} in config.toml",
            **error.data,
        )

    def chat_params(self, request: ChatRequest) -> dict[str, Any]:
        params = super().chat_params(request)
        limit = params.pop("max_completion_tokens", None)
        if limit is not None:
            params["max_tokens"] = limit
        return params
