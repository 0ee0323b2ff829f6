"""``deputydev sync setup-sql|migrate|status`` and ``sessions list --team`` in process."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from daemon.cli import main
from daemon.sync import schema
from daemon.sync.pusher import Batch
from daemon.sync.redact import Redactor
from tests.postgres import TempCluster
from tests.unit.sync.rows import session_row


async def _admin_exec(pg: TempCluster, sql: str) -> None:
    conn = await pg.admin(pg.database)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _push(url: str, team: str, title: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        rows = [session_row(1, str(uuid.uuid4()), title=title, visibility="team")]
        await Batch(rows, team=team, default_sharing="private", redactor=Redactor()).send(conn)
    finally:
        await conn.close()


@pytest.mark.postgres
def test_the_admin_setup_then_migrate_lets_members_share(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pg = TempCluster()
    asyncio.run(pg.__aenter__())
    try:
        team, amy, ben = (f"{pg.tag}_{n}" for n in ("team", "amy", "ben"))
        pg.roles += [team, amy, ben]
        assert main(["sync", "setup-sql", "--database", pg.database, "--team", team,
                     "--member", amy, "--member", ben]) == 0  # fmt: skip
        asyncio.run(_admin_exec(pg, capsys.readouterr().out))

        assert main(["sync", "migrate", "--url", pg.url()]) == 0
        assert f"the schema is at version {schema.latest()}" in capsys.readouterr().out
        assert main(["sync", "migrate", "--url", pg.url()]) == 0
        assert "nothing to do" in capsys.readouterr().out

        asyncio.run(_push(pg.url(ben), team, "ben's shared work"))
        monkeypatch.setenv("DEPUTYDEV_SYNC_URL", pg.url(amy))
        assert main(["sessions", "list", "--team"]) == 0
        listing = capsys.readouterr().out
        assert ben in listing and "ben's shared work" in listing

        assert main(["sync", "status"]) == 0
        status = capsys.readouterr().out
        assert "connected:" in status and "True" in status
        assert "sessions shared with me:   1" in status
    finally:
        asyncio.run(pg.__aexit__(None, None, None))


def test_status_without_configuration_says_how_to_turn_it_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sync", "status"]) == 0
    assert "not configured" in capsys.readouterr().out


@pytest.mark.postgres
def test_status_with_an_unknown_role_fails_naming_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pg = TempCluster()
    asyncio.run(pg.__aenter__())
    try:
        monkeypatch.setenv("DEPUTYDEV_SYNC_URL", pg.url("ghost_role_dd"))
        assert main(["sync", "status"]) == 1
        out = capsys.readouterr().out
        assert "ghost_role_dd" in out and "does not exist" in out
    finally:
        asyncio.run(pg.__aexit__(None, None, None))
