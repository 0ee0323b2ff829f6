"""Fixtures: a fake host per flavour and a :class:`Hosting` pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hosting.service import Hosting
from hosting.settings import HostingSettings
from tests.fakes.hosting_server import HostingServer

MakeHosting = Callable[..., Hosting]


@pytest.fixture
def github() -> Iterator[HostingServer]:
    with HostingServer("github", auth="Bearer ghp_testtoken1234567890") as server:
        yield server


@pytest.fixture
async def make_hosting(tmp_path: Path) -> AsyncIterator[MakeHosting]:
    made: list[Hosting] = []

    def make(env: dict[str, str] | None = None, **settings: Any) -> Hosting:
        hosting = Hosting(
            HostingSettings.model_validate(settings),
            cache_dir=tmp_path / "hosting-cache",
            env=env or {},
        )
        made.append(hosting)
        return hosting

    yield make
    for hosting in made:
        await hosting.aclose()


def github_hosting(make: MakeHosting, server: HostingServer, **more: Any) -> Hosting:
    return make(
        {"GITHUB_TOKEN": "ghp_testtoken1234567890"},
        github={"api_url": server.url},
        **more,
    )
