"""What the team's embedding cache may see: the user's opt-outs, secret files, redaction,
and a workspace that tries to turn it on; the vector codec."""

from __future__ import annotations

import struct
from pathlib import Path

from daemon.config import Settings, load_settings
from daemon.sync.settings import SyncSettings
from daemon.sync.state import SyncState
from daemon.sync.vectors import TeamCache, decode_vector, encode_vector
from indexer.store import pack_vector

URL = "postgresql://alice@127.0.0.1:1/nowhere"


def cache_with(**sync: object) -> TeamCache:
    settings = Settings(sync=SyncSettings.model_validate({"url": URL, **sync}))
    state = SyncState()
    return TeamCache(lambda: settings, lambda: state)


def test_the_cache_is_on_with_sync_and_off_when_the_user_says(tmp_path: Path) -> None:
    assert SyncSettings.model_validate({"url": URL}).caches_embeddings_of(tmp_path)
    assert not SyncSettings().caches_embeddings_of(tmp_path)
    off = SyncSettings.model_validate({"url": URL, "embedding_cache": False})
    assert not off.caches_embeddings_of(tmp_path)


def test_excluded_workspaces_never_use_the_cache(tmp_path: Path) -> None:
    client = tmp_path / "clients" / "acme"
    client.mkdir(parents=True)
    mine = tmp_path / "mine"
    mine.mkdir()
    by_path = SyncSettings.model_validate(
        {"url": URL, "embedding_cache_exclude": [str(tmp_path / "clients")]}
    )
    assert not by_path.caches_embeddings_of(client)
    assert by_path.caches_embeddings_of(mine)
    by_glob = SyncSettings.model_validate(
        {"url": URL, "embedding_cache_exclude": [str(tmp_path / "clients" / "a*")]}
    )
    assert not by_glob.caches_embeddings_of(client)
    assert by_glob.caches_embeddings_of(mine)


def test_a_workspace_file_cannot_turn_the_cache_on(tmp_path: Path) -> None:
    user = tmp_path / "config.toml"
    user.write_text(f'[sync]\nurl = "{URL}"\nembedding_cache = false\n')
    root = tmp_path / "repo"
    (root / ".deputydev").mkdir(parents=True)
    (root / ".deputydev" / "config.toml").write_text(
        "[sync]\nembedding_cache = true\nembedding_cache_exclude = []\n"
    )
    loaded = load_settings([root], env={}, user_file=user)
    assert loaded.settings.sync.embedding_cache is False
    refused = {issue.key for issue in loaded.issues if issue.refused}
    assert "sync" in refused or "sync.embedding_cache" in refused


def test_secret_files_and_redacted_chunks_are_not_shared(tmp_path: Path) -> None:
    share = cache_with().share(tmp_path)
    assert share.shares("src/billing.py", "def total(lines):\n    return sum(lines)\n")
    assert not share.shares(".env", "DATABASE_HOST=db\n")
    assert not share.shares("deploy/secrets.yaml", "replicas: 2\n")
    assert not share.shares("certs/server.pem", "just text\n")
    assert not share.shares("src/settings.py", 'api_token = "tok_live_abcdef123456"\n')
    custom = cache_with(redaction={"patterns": [r"ACME-[0-9]{6}"]}).share(tmp_path)
    assert not custom.shares("src/a.py", "license = 'ACME-123456'\n")


async def test_an_opted_out_root_shares_nothing_and_asks_nothing(tmp_path: Path) -> None:
    share = cache_with(embedding_cache_exclude=[str(tmp_path)]).share(tmp_path)
    assert not share.shares("src/billing.py", "def total(): pass\n")
    # The URL points nowhere: asking would fail; an opted-out root does not even try.
    assert await share.fetch("fake:m", ["a" * 64]) == {}


async def test_an_unreachable_cache_answers_empty_and_is_not_asked_again_at_once(
    tmp_path: Path,
) -> None:
    cache = cache_with(connect_timeout_s=1, retry_initial_s=30)
    share = cache.share(tmp_path)
    assert await share.fetch("fake:m", ["a" * 64]) == {}
    assert await share.fetch("fake:m", ["a" * 64]) == {}  # backing off: no connection tried
    await cache.close()


def test_vectors_cross_to_pgvector_binary_and_back() -> None:
    packed = pack_vector([0.25, -1.5, 3.0])
    wire = encode_vector(packed)
    assert struct.unpack(">HH3f", wire) == (3, 0, 0.25, -1.5, 3.0)
    assert decode_vector(wire) == packed
