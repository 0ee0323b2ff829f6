"""The index facade on real SQLite: indexing, incremental runs, search modes and filters,
the fallback without vectors, the embedding cache, and a kill in the middle of a run."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from indexer.embedder import EmbeddingFailed, Purpose
from indexer.errors import BadQuery, VectorsUnavailable
from indexer.index import Index
from indexer.settings import IndexSettings
from indexer.sqlite import driver
from indexer.store import Store

PARSER = '''\
"""Reading configuration files."""


def parse_config(path):
    """Parse an INI configuration file into a dict."""
    with open(path) as handle:
        return dict(line.split("=", 1) for line in handle if "=" in line)


class ConfigCache:
    def lookup(self, key):
        return self.values.get(key)
'''

NET = """\
function openSocket(host, port) {
  return net.connect(port, host);
}
"""


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    write(root, "app/config.py", PARSER)
    write(root, "web/net.js", NET)
    write(root, "README.md", "# Demo\n\nA tiny workspace.\n")
    return root


@pytest.fixture
async def index(root: Path, tmp_path: Path) -> AsyncIterator[Index]:
    index = await Index.open(root, tmp_path / "db" / "ws.db")
    yield index
    await index.close()


async def test_a_question_in_words_finds_the_function(index: Index) -> None:
    run = await index.update()
    assert (run.added, run.removed) == (3, 0)
    hits = await index.search("parse configuration file", mode="lexical", limit=5)
    top = hits[0]
    assert (top.path, top.symbol, top.language) == ("app/config.py", "parse_config", "python")
    assert top.start_line <= 4 <= top.end_line
    assert "def parse_config" in top.snippet


async def test_auto_without_vectors_gives_the_lexical_ranking(index: Index) -> None:
    await index.update()
    auto = await index.search("open socket", limit=5)
    lexical = await index.search("open socket", mode="lexical", limit=5)
    assert [(h.path, h.start_line) for h in auto] == [(h.path, h.start_line) for h in lexical]
    assert auto[0].path == "web/net.js"
    assert (auto.mode, lexical.mode) == ("lexical", "lexical")


async def test_symbol_mode_finds_exact_and_qualified_names(index: Index) -> None:
    await index.update()
    exact = await index.search("parse_config", mode="symbol", limit=3)
    assert (exact[0].symbol, exact[0].kind, exact[0].start_line) == ("parse_config", "function", 4)
    qualified = await index.search("ConfigCache.lookup", mode="symbol", limit=3)
    assert qualified[0].symbol == "ConfigCache.lookup"
    fuzzy = await index.search("opnSock", mode="symbol", limit=3)
    assert fuzzy[0].symbol == "openSocket"


async def test_definitions_by_exact_name_come_in_one_lookup(index: Index) -> None:
    await index.update()
    found = await index.definitions(["parse_config", "lookup", "openSocket", "parse", "nope"])
    [parse] = found["parse_config"]
    assert (parse.path, parse.start_line, parse.kind) == ("app/config.py", 4, "function")
    assert parse.text.startswith("def parse_config(path):\n")
    assert [h.symbol for h in found["lookup"]] == ["ConfigCache.lookup"]
    assert (
        found["lookup"][0].text == "    def lookup(self, key):\n        return self.values.get(key)"
    )
    assert [h.path for h in found["openSocket"]] == ["web/net.js"]
    assert found["parse"] == [] and found["nope"] == []  # exact names only


async def test_mentions_are_the_chunks_that_name_it(index: Index) -> None:
    await index.update()
    hits = await index.mentions("values")
    assert [h.path for h in hits] == ["app/config.py"]
    assert "self.values.get(key)" in hits[0].text


async def test_path_and_language_filters_restrict_results(index: Index) -> None:
    await index.update()
    only_js = await index.search("config open", mode="lexical", limit=10, languages=["javascript"])
    assert {h.path for h in only_js} == {"web/net.js"}
    only_app = await index.search("config open", mode="lexical", limit=10, paths=["app/**"])
    assert {h.path for h in only_app} == {"app/config.py"}
    nothing = await index.search("config", mode="lexical", limit=10, paths=["*.rs"])
    assert nothing == []


async def test_bad_mode_and_semantic_without_vectors_say_why(index: Index) -> None:
    await index.update()
    with pytest.raises(BadQuery, match="unknown search mode 'fuzzy'"):
        await index.search("x", mode="fuzzy")
    with pytest.raises(VectorsUnavailable, match="no embedding backend"):
        await index.search("x", mode="semantic")


async def test_an_unchanged_run_reads_nothing_and_an_edit_replaces_its_rows(
    index: Index, root: Path
) -> None:
    await index.update()
    again = await index.update()
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 3)

    write(root, "app/config.py", PARSER.replace("parse_config", "read_settings_file"))
    os.utime(root / "app/config.py", ns=(1, 1))
    (root / "README.md").unlink()
    run = await index.update()
    assert (run.updated, run.removed) == (1, 1)
    assert not await index.search("parse_config", mode="symbol", limit=5)
    hits = await index.search("read_settings_file", mode="symbol", limit=5)
    assert hits[0].path == "app/config.py"
    status = await index.status()
    assert (status["files"], status["state"]) == (2, "idle")


async def test_a_touched_file_with_the_same_text_is_not_rechunked(index: Index, root: Path) -> None:
    await index.update()
    os.utime(root / "web/net.js", ns=(5_000_000_000, 5_000_000_000))
    run = await index.update()
    assert (run.updated, run.unchanged, run.chunks) == (0, 3, 0)


async def test_updating_named_paths_handles_new_changed_and_deleted_files(
    index: Index, root: Path
) -> None:
    await index.update()
    write(root, "app/extra.py", "def brand_new_helper():\n    return 42\n")
    (root / "web/net.js").unlink()
    run = await index.update(["app/extra.py", str(root / "web/net.js")])
    assert (run.added, run.removed) == (1, 1)
    assert (await index.search("brand_new_helper", mode="symbol", limit=1))[0].path == (
        "app/extra.py"
    )


async def test_lexical_search_works_when_no_vector_extension_loads(
    root: Path, tmp_path: Path
) -> None:
    index = await Index.open(root, tmp_path / "novec.db", IndexSettings(vectors=False))
    try:
        await index.update()
        assert not index.driver.vectors
        assert "index.vectors = false" in index.vectors_reason
        hits = await index.search("parse configuration", limit=3)
        assert hits[0].symbol == "parse_config"
        status = await index.status()
        assert status["vectors_enabled"] is False
        assert "index.vectors = false" in status["vectors_reason"]
    finally:
        await index.close()


class CountingEmbedder:
    """Our own Embedder protocol, counting the texts it is asked to embed."""

    def __init__(self, *, fail_first: int = 0) -> None:
        self.texts: list[str] = []
        self.fail_first = fail_first
        self.calls = 0

    @property
    def key(self) -> str:
        return "counting:bag-of-letters"

    @property
    def dimensions(self) -> int | None:
        return 8

    @property
    def max_batch(self) -> int:
        return 16

    async def embed(self, texts: Sequence[str], *, purpose: Purpose) -> list[list[float]]:
        self.calls += 1
        if self.calls <= self.fail_first:
            raise EmbeddingFailed("throttled", retryable=True, retry_after=0.01)
        if purpose == "document":
            self.texts.extend(texts)
        return [_letters(t) for t in texts]

    async def aclose(self) -> None:
        pass


def _letters(text: str) -> list[float]:
    counts = [0.0] * 8
    for char in text.lower():
        if char.isalpha():
            counts[ord(char) % 8] += 1
    return counts if any(counts) else [1.0] + [0.0] * 7


needs_vec = pytest.mark.skipif(not driver().vectors, reason="no SQLite here loads sqlite-vec")


@needs_vec
async def test_a_renamed_file_is_not_embedded_again(root: Path, tmp_path: Path) -> None:
    embedder = CountingEmbedder(fail_first=1)  # one retryable failure on the way
    index = await Index.open(root, tmp_path / "vec.db", embedder=embedder)
    try:
        await index.update()
        await index.embedded()
        first = len(embedder.texts)
        assert first > 0
        status = await index.status()
        assert status["vectors_pending"] == 0 and status["vectors"] == status["chunks"]

        (root / "app/config.py").rename(root / "app/settings_reader.py")
        await index.update()
        await index.embedded()
        assert len(embedder.texts) == first
        hits = await index.search("parse_config", mode="semantic", limit=3)
        assert any(h.path == "app/settings_reader.py" for h in hits)
        assert hits.mode == "semantic"
        hybrid = await index.search("parse configuration file", mode="hybrid", limit=3)
        assert hybrid[0].path == "app/settings_reader.py"
        assert hybrid.mode == "hybrid"
        assert (await index.search("parse configuration file", limit=3)).mode == "hybrid"
    finally:
        await index.close()


@needs_vec
async def test_a_chunk_is_embedded_with_its_path(root: Path, tmp_path: Path) -> None:
    embedder = CountingEmbedder()
    index = await Index.open(root, tmp_path / "vec.db", embedder=embedder)
    try:
        await index.update()
        await index.embedded()
        config = [t for t in embedder.texts if "def parse_config" in t]
        assert config and all(t.startswith("app/config.py\n") for t in config)
        status = await index.status()
        assert status["embedder"] == "counting:bag-of-letters"
    finally:
        await index.close()


class OtherEmbedder(CountingEmbedder):
    @property
    def key(self) -> str:
        return "counting:another-model"


@needs_vec
async def test_vectors_of_another_model_or_framing_are_made_again(
    root: Path, tmp_path: Path
) -> None:
    first = CountingEmbedder()
    index = await Index.open(root, tmp_path / "vec.db", embedder=first)
    try:
        await index.update()
        await index.embedded()
    finally:
        await index.close()
    embedded = len(first.texts)
    # The same model with the same framing: nothing is embedded again.
    same = CountingEmbedder()
    index = await Index.open(root, tmp_path / "vec.db", embedder=same)
    try:
        await index.embedded()
        assert same.texts == []
    finally:
        await index.close()
    # Another model's key: every chunk is embedded again, and semantic search answers.
    other = OtherEmbedder()
    index = await Index.open(root, tmp_path / "vec.db", embedder=other)
    try:
        await index.embedded()
        assert len(other.texts) == embedded
        status = await index.status()
        assert status["vectors"] == status["chunks"] and status["vectors_pending"] == 0
        assert (await index.search("parse config", mode="semantic", limit=3)).mode == "semantic"
    finally:
        await index.close()


async def test_a_batch_that_keeps_failing_is_tried_max_attempts_times_in_all(
    root: Path, tmp_path: Path
) -> None:
    """The index is the one retry layer: a persistent 503 costs index.embeddings.max_attempts
    requests per batch, not the backend's attempts times the index's."""
    embedder = CountingEmbedder(fail_first=1000)
    settings = IndexSettings.model_validate({"embeddings": {"max_attempts": 3}})
    index = await Index.open(root, tmp_path / "down.db", settings, embedder=embedder)
    try:
        with pytest.raises(EmbeddingFailed, match="throttled"):
            await index._embed_with_retries(["def parse(): pass"])
        assert embedder.calls == 3
    finally:
        await index.close()


class NoQueriesEmbedder(CountingEmbedder):
    """Embeds documents, but every query fails (the service went down after indexing)."""

    async def embed(self, texts: Sequence[str], *, purpose: Purpose) -> list[list[float]]:
        if purpose == "query":
            raise EmbeddingFailed("the service is down", retryable=False)
        return await super().embed(texts, purpose=purpose)


@needs_vec
async def test_a_query_that_cannot_be_embedded_runs_and_says_lexical(
    root: Path, tmp_path: Path
) -> None:
    index = await Index.open(root, tmp_path / "noq.db", embedder=NoQueriesEmbedder())
    try:
        await index.update()
        await index.embedded()
        assert (await index.status())["vectors"] > 0
        for mode in ("auto", "hybrid"):
            hits = await index.search("parse configuration file", mode=mode, limit=3)
            assert hits.mode == "lexical"
            assert hits[0].symbol == "parse_config"
    finally:
        await index.close()


KILLED_RUN = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from indexer.index import Index
    from indexer.settings import IndexSettings

    async def main():
        index = await Index.open(Path(sys.argv[1]), Path(sys.argv[2]), IndexSettings(workers=1))
        def progress(done, total):
            if done == 150:
                print("halfway", flush=True)
        await index.update(progress=progress)
        print("finished", flush=True)

    if __name__ == "__main__":
        asyncio.run(main())
    """
)


def _kill_when_halfway(script: Path, root: Path, db: Path) -> str:
    with subprocess.Popen(
        [sys.executable, str(script), str(root), str(db)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(Path(__file__).resolve().parents[3]),
    ) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return line


async def test_a_run_killed_midway_leaves_a_consistent_index_that_the_next_run_completes(
    tmp_path: Path,
) -> None:
    root = tmp_path / "big"
    for i in range(400):
        write(root, f"pkg/mod_{i:03}.py", f"def function_{i}(x):\n    return x + {i}\n" * 5)
    db = tmp_path / "big.db"
    script = tmp_path / "run.py"
    script.write_text(KILLED_RUN)
    line = await asyncio.to_thread(_kill_when_halfway, script, root, db)
    assert line.strip() == "halfway"

    store = Store.open(db, driver())
    try:
        counts = store.counts()
        fts = store.conn.execute("SELECT count(*) FROM chunks_fts").fetchone()[0]
        assert 0 < counts["files"] < 400
        assert fts == counts["chunks"]
        # every file that is recorded has its chunks
        orphans = store.conn.execute(
            "SELECT count(*) FROM files f WHERE NOT EXISTS"
            " (SELECT 1 FROM chunks c WHERE c.file_id = f.id)"
        ).fetchone()[0]
        assert orphans == 0
        assert store.match('"function_3"', 10)  # answers searches
    finally:
        store.close()

    index = await Index.open(root, db)
    try:
        run = await index.update()
        assert run.added + run.unchanged == 400
        status = await index.status()
        assert (status["files"], status["chunks"]) == (400, 400)
        hits = await index.search("function_399", mode="symbol", limit=5)
        assert len({(h.path, h.start_line) for h in hits}) == len(hits)
        assert hits[0].path == "pkg/mod_399.py"
    finally:
        await index.close()


async def test_a_damaged_database_is_set_aside_and_rebuilt(root: Path, tmp_path: Path) -> None:
    db = tmp_path / "damaged.db"
    await asyncio.to_thread(db.write_bytes, b"not a SQLite database, only text on a page" * 100)
    index = await Index.open(root, db)
    try:
        run = await index.update()
        assert run.added == 3
        assert (await index.search("parse_config", mode="symbol", limit=1))[0].path == (
            "app/config.py"
        )
    finally:
        await index.close()
    assert await asyncio.to_thread(lambda: list(tmp_path.glob("damaged.db.damaged-*")))


class GatedEmbedder(CountingEmbedder):
    """Counts requests in flight; fails for good when told to."""

    def __init__(self, *, broken: bool = False) -> None:
        super().__init__()
        self.broken = broken
        self.in_flight = 0
        self.most_in_flight = 0

    @property
    def max_batch(self) -> int:
        return 2

    async def embed(self, texts: Sequence[str], *, purpose: Purpose) -> list[list[float]]:
        if self.broken:
            raise EmbeddingFailed("invalid API key for the embeddings server", retryable=False)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0)  # let the other batches start, if they may
            return await super().embed(texts, purpose=purpose)
        finally:
            self.in_flight -= 1


@needs_vec
async def test_embedding_batches_are_small_and_bounded_in_concurrency(
    tmp_path: Path,
) -> None:
    root = tmp_path / "many"
    for i in range(12):
        write(root, f"m{i}.py", f"def handler_{i}(event):\n    return event + {i}\n")
    settings = IndexSettings.model_validate({"embeddings": {"concurrency": 2}})
    embedder = GatedEmbedder()
    index = await Index.open(root, tmp_path / "gated.db", settings, embedder=embedder)
    try:
        await index.update()
        await index.embedded()
        assert len(embedder.texts) == 12
        assert embedder.most_in_flight == 2
        assert (await index.status())["vectors"] == 12
    finally:
        await index.close()


@needs_vec
async def test_a_permanent_embedding_failure_is_reported_and_search_stays_lexical(
    root: Path, tmp_path: Path
) -> None:
    index = await Index.open(root, tmp_path / "broken.db", embedder=GatedEmbedder(broken=True))
    try:
        await index.update()
        await index.embedded()
        status = await index.status()
        assert status["embed_state"] == "error"
        assert "invalid API key" in status["embed_error"]
        assert status["vectors"] == 0
        hits = await index.search("parse configuration file", limit=3)
        assert hits[0].symbol == "parse_config"
        assert hits.mode == "lexical"
    finally:
        await index.close()


@needs_vec
async def test_settled_vectors_are_scanned_in_memory_with_the_same_answers(
    root: Path, tmp_path: Path
) -> None:
    from indexer.store import pack_vector

    index = await Index.open(root, tmp_path / "scan.db", embedder=CountingEmbedder())
    reader = Store.open(tmp_path / "scan.db", driver())
    try:
        await index.update()
        await index.embedded()
        query = pack_vector(_letters("parse the configuration"))
        from_vec0 = reader.knn(query, 50)  # first sight of this version: vec0 answers
        assert reader._matrix is None
        in_memory = reader.knn(query, 50)  # nothing changed since: the matrix answers
        assert reader._matrix is not None
        assert _ranked(in_memory) == _ranked(from_vec0)

        write(root, "app/zzz.py", "def parse_the_configuration():\n    return 1\n")
        await index.update()
        await index.embedded()
        after = reader.knn(pack_vector(_letters("def parse_the_configuration")), 50)
        assert reader._matrix is None  # a write by another connection retired the matrix
        again = reader.knn(pack_vector(_letters("def parse_the_configuration")), 50)
        assert _ranked(again) == _ranked(after)
        assert len(after) == (await index.status())["vectors"]  # the new chunk is in both
    finally:
        reader.conn.close()
        await index.close()


def _ranked(found: list[tuple[int, float]]) -> list[tuple[float, int]]:
    """Best first, ties (equal to 4 places) by id: the order two exact scans must agree on."""
    return sorted((-round(score, 4), chunk_id) for chunk_id, score in found)


async def test_an_index_from_before_the_doc_and_callers_columns_is_rebuilt(
    root: Path, tmp_path: Path
) -> None:
    db = tmp_path / "old.db"
    index = await Index.open(root, db)
    await index.update()
    await index.close()
    # Back to the schema an older daemon wrote: five columns, and m002 not applied.
    store = Store.open(db, driver())
    store.conn.execute("DROP TABLE chunks_fts")
    store.conn.execute(
        "CREATE VIRTUAL TABLE chunks_fts USING fts5(symbols, path, text, terms, context,"
        " tokenize='porter unicode61 remove_diacritics 2')"
    )
    store.conn.execute(
        "INSERT INTO chunks_fts (rowid, symbols, path, text, terms, context)"
        " SELECT id, symbols, '', text, '', '' FROM chunks"
    )
    store.conn.execute("DELETE FROM _migrations WHERE name = 'm002_fts_doc_and_callers'")
    store.close()

    index = await Index.open(root, db)
    try:
        run = await index.update()
        assert run.updated == run.files == 3  # every file read again
        hits = await index.search("parse an INI configuration file", mode="lexical", limit=1)
        assert [h.symbol for h in hits] == ["parse_config"]
    finally:
        await index.close()
    store = Store.open(db, driver())
    try:
        columns = [row[1] for row in store.conn.execute("PRAGMA table_info(chunks_fts)")]
        docs = store.conn.execute("SELECT doc FROM chunks_fts WHERE doc != ''").fetchall()
    finally:
        store.close()
    assert columns[-2:] == ["doc", "callers"]
    assert any("Parse an INI configuration file into a dict." in doc for (doc,) in docs)


async def test_an_index_that_stored_the_text_twice_is_rebuilt_storing_it_once(
    root: Path, tmp_path: Path
) -> None:
    db = tmp_path / "old.db"
    index = await Index.open(root, db)
    await index.update()
    await index.close()
    # Back to the schema before m004: the full-text table keeps its own copy of every
    # column, and chunks hold plain text.
    store = Store.open(db, driver())
    store.conn.execute("DROP TABLE chunks_fts")
    store.conn.execute(
        "CREATE VIRTUAL TABLE chunks_fts USING fts5(symbols, path, text, terms, context, doc,"
        " callers, tokenize='porter unicode61 remove_diacritics 2')"
    )
    store.conn.execute(
        "INSERT INTO chunks_fts (rowid, symbols, path, text, terms, context, doc, callers)"
        " SELECT id, symbols, '', 'stale words', '', '', '', '' FROM chunks"
    )
    store.conn.execute("UPDATE chunks SET text = 'plain text, as an older daemon wrote it'")
    store.conn.execute("DELETE FROM _migrations WHERE name = 'm004_fts_contentless'")
    store.close()

    index = await Index.open(root, db)
    try:
        # Before the next update: the old rows are still readable, plain text and all.
        assert await index.search("parse_config", mode="symbol", limit=1)
        run = await index.update()
        assert run.updated == run.files == 3  # every file read again
        hits = await index.search("parse an INI configuration file", mode="lexical", limit=1)
        assert [h.symbol for h in hits] == ["parse_config"]
        assert "def parse_config(path):" in hits[0].text
        assert not await index.search("stale words", mode="lexical", limit=1)
    finally:
        await index.close()
    store = Store.open(db, driver())
    try:
        (sql,) = store.conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'chunks_fts'"
        ).fetchone()
        texts = [t for (t,) in store.conn.execute("SELECT text FROM chunks")]
        stored = store.conn.execute("SELECT text FROM chunks_fts").fetchall()
    finally:
        store.close()
    assert "content=''" in sql
    assert texts and all(isinstance(t, bytes) for t in texts)  # compressed
    assert all(row == (None,) for row in stored)  # the index keeps no copy


async def test_a_file_replaced_or_deleted_leaves_nothing_in_the_contentless_index(
    root: Path, tmp_path: Path
) -> None:
    index = await Index.open(root, tmp_path / "index.db")
    try:
        await index.update()
        write(root, "app/config.py", "def load_settings(path):\n    return path\n")
        (root / "web" / "net.js").unlink()
        await index.update()
        assert not await index.search("INI handle lookup values", mode="lexical", limit=5)
        assert not await index.search("openSocket", mode="lexical", limit=5)
        hits = await index.search("load settings", mode="lexical", limit=5)
        assert {h.path for h in hits} == {"app/config.py"}
        await index.clear()
        assert not await index.search("load settings", mode="lexical", limit=5)
    finally:
        await index.close()


def test_open_files_and_their_folders_are_indexed_first() -> None:
    from indexer.discovery import FileInfo
    from indexer.index import first_things_first

    todo = [
        FileInfo(p, 1, 1)
        for p in ["a/x.py", "b/c/y.py", "b/c/open.py", "b/z.py", "d.py", "b/c/e/w.py"]
    ]
    ordered = [i.path for i in first_things_first(todo, ["b/c/open.py"])]
    assert ordered == ["b/c/open.py", "b/c/y.py", "b/z.py", "b/c/e/w.py", "a/x.py", "d.py"]
    assert first_things_first(todo, []) == todo


async def test_a_search_during_the_first_run_answers_from_what_is_written_marked_partial(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import indexer.index as index_module

    monkeypatch.setattr(index_module, "BATCH_FILES", 1)
    write(root, "lib/other.py", "def unrelated_helper():\n    return 1\n")
    index = await Index.open(root, tmp_path / "index.db")
    loop = asyncio.get_running_loop()
    written = asyncio.Event()

    def progress(done: int, total: int) -> None:
        if done == 1:  # the first file is committed: hold the run there
            index.pause()
            loop.call_soon_threadsafe(written.set)

    try:
        run = asyncio.create_task(index.update(progress=progress, first=["app/config.py"]))
        await asyncio.wait_for(written.wait(), 30)
        found = await index.search("parse_config", mode="symbol", limit=5)
        assert found.partial and [h.path for h in found] == ["app/config.py"]
        assert not await index.search("unrelated_helper", mode="symbol", limit=5)
        lexical = await index.search("INI configuration", mode="lexical", limit=5)
        assert lexical.partial and lexical[0].path == "app/config.py"
        index.resume()
        await asyncio.wait_for(run, 30)
        found = await index.search("unrelated_helper", mode="symbol", limit=5)
        assert not found.partial and [h.path for h in found] == ["lib/other.py"]
    finally:
        await index.close()


async def test_after_a_run_the_symbol_names_are_read_in_the_background(index: Index) -> None:
    await index.update()
    assert index._warm_task is not None
    await asyncio.wait_for(index._warm_task, 30)
    assert index._searcher._names is not None and len(index._searcher._names) >= 3
