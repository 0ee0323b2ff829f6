"""URLs in the settings that can never work are configuration errors naming their key.

Before, ``[sync] url`` with the port ``notaport`` answered ``deputydev/sync/status`` with
-32603 and a traceback, and a server ``base_url`` with one broke ``deputydev/models`` the
same way. Now each is refused when the settings are read, reported with its key, and the
request that needs it is answered with CONFIG_ERROR (-32090) or a reason that names it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException

from protocol import errors as codes
from tests.e2e.harness import start_daemon

PASSWORD = "hunter2-secret"


async def test_urls_with_a_port_that_is_not_a_number_are_configuration_errors(
    workspace: Path, tmp_path: Path
) -> None:
    client = await start_daemon(
        workspace,
        stderr_path=tmp_path / "daemon.stderr",
        env={
            "DEPUTYDEV_SYNC_URL": f"postgresql://alice:{PASSWORD}@127.0.0.1:notaport/team",
            "DEPUTYDEV_PROVIDERS__SERVERS": json.dumps(
                {"lab": {"base_url": "http://127.0.0.1:notaport/v1"}}
            ),
            "DEPUTYDEV_PROVIDERS__MODELS": json.dumps(
                {"lab-model": {"provider": "compatible", "server": "lab", "model_id": "q"}}
            ),
        },
    )
    try:
        with pytest.raises(JsonRpcException) as raised:
            await client.request("deputydev/sync/status")
        error = raised.value
        assert error.code == codes.CONFIG_ERROR
        assert "sync.url" in error.message and "notaport" in error.message
        assert error.data is not None and error.data["key"] == "sync.url"
        assert error.data["source"] == "environment"
        assert "Traceback" not in json.dumps(error.data)

        status = await client.request("deputydev/status")
        assert any("sync.url" in e for e in status["configErrors"])
        assert any("providers.servers" in e and "base_url" in e for e in status["configErrors"])

        models = {m["name"]: m for m in (await client.request("deputydev/models"))["models"]}
        assert models["lab-model"]["usable"] is False
        assert "base_url" in models["lab-model"]["reason"]

        with pytest.raises(JsonRpcException) as raised:
            await client.request("deputydev/query", {"query": "hi", "model": "lab-model"})
        assert "base_url" in raised.value.message
        assert "providers.servers.lab" in raised.value.message
    finally:
        await client.stop_daemon()
    # The password was never repeated: not to the editor, not in the log.
    assert PASSWORD not in client.stderr_text()
    assert not [m for m in client.messages if PASSWORD in m.message]
