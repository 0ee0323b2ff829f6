"""``deputydev/models``, and the providers' part of ``deputydev/status``.

Both read the settings as they are now (a fresh :class:`~providers.router.Router` costs no
SDK import), and neither ever returns a key: only where one was found.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from daemon import paths
from daemon.convert import model_entry
from daemon.errors import jsonrpc_errors
from protocol.models import (
    MODELS,
    ModelsParams,
    ModelsResult,
)
from protocol.status import ProviderStatus

if TYPE_CHECKING:
    from daemon.server import DeputyServer
    from providers.settings import ProvidersSettings


async def list_models(settings: ProvidersSettings, check_servers: bool = True) -> ModelsResult:
    from providers.router import ModelStatus, Router

    router = Router(settings, catalogue_path=paths.openrouter_catalogue())
    if check_servers:
        statuses = await router.models()
    else:
        statuses = [
            ModelStatus(s, problem is None, problem)
            for s in router.registry
            for problem in [router.key_problem(s)]
        ]
    return ModelsResult(
        models=[model_entry(s) for s in statuses],
        default_model=settings.default_model,
        fallbacks=list(settings.fallbacks),
        issues=[i.message for i in router.registry.issues],
    )


def provider_statuses(settings: ProvidersSettings) -> list[ProviderStatus]:
    from providers.router import key_source

    out = []
    for kind in ("openai", "anthropic", "gemini", "openrouter"):
        source = key_source(settings, kind)
        out.append(ProviderStatus(name=kind, configured=source is not None, source=source))
    for name, server in settings.servers.items():
        out.append(ProviderStatus(name=name, configured=server.base_url is not None, source=None))
    return out


async def _status(server: DeputyServer) -> dict[str, Any]:
    return {"providers": provider_statuses(server.settings.providers)}


def register(server: DeputyServer) -> None:
    server.status_contributors.append(_status)

    @server.feature(MODELS)
    @jsonrpc_errors
    async def models(params: ModelsParams) -> ModelsResult:
        return await list_models(server.settings.providers, params.check_servers)
