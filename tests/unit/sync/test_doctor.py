"""Sync's rows in ``deputydev doctor`` (a sync test: it runs its own event loop)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from daemon.config import load_settings
from daemon.sync.doctor import check
from tests.postgres import TempCluster

pytestmark = pytest.mark.postgres


def test_doctor_reports_off_connected_and_a_refused_role(tmp_path: Path) -> None:
    none = tmp_path / "none.toml"
    [off] = check(load_settings(env={}, user_file=none))
    assert off.status == "ok" and off.detail.startswith("off")

    pg = TempCluster()
    asyncio.run(pg.__aenter__())
    try:
        asyncio.run(pg.migrate())
        good = check(load_settings(env={"DEPUTYDEV_SYNC_URL": pg.url()}, user_file=none))
        assert [(c.name, c.status) for c in good] == [
            ("team sync", "ok"),
            ("sync schema", "ok"),
            ("team index", "warn"),  # the machine's PostgreSQL 15 has no pgvector
        ]
        assert "full-text only" in good[2].detail and "CREATE EXTENSION vector" in good[2].fix
        assert "as postgres" in good[0].detail
        [bad] = check(load_settings(env={"DEPUTYDEV_SYNC_URL": pg.url("ghost_dd")}, user_file=none))
        assert bad.status == "fail" and "'ghost_dd'" in bad.detail and bad.fix
    finally:
        asyncio.run(pg.__aexit__(None, None, None))
