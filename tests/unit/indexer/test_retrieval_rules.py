"""Each ranking rule on a small real corpus, through the real index: tests rank below the
code they exercise for questions in words, symbol ties go to what a developer means,
stemming matches word forms on both sides, comments and docstrings count apart from the
code, and a helper is found by the words of its callers.  Each test also shows that
without its rule the order it checks would not hold, so it fails if the rule is removed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from indexer import ranking
from indexer.index import Index
from indexer.ranking import looks_like_symbol, path_role
from indexer.settings import IndexSettings

RETRY = '''\
def backoff_delay(attempt):
    """Seconds to wait before the next retry of a failed request."""
    return min(60, 2 ** attempt)
'''
RETRY_TEST = '''\
from retry import backoff_delay


def test_wait_before_retry_grows():
    """The wait before each retry of a failed request grows."""
    assert backoff_delay(1) < backoff_delay(2)  # wait, retry, request, failed


def test_wait_before_retry_is_capped():
    """The wait before a retry of a failed request is capped."""
    assert backoff_delay(50) == 60  # wait retry failed request
'''
DUMPS = {
    "json/__init__.py": "def dumps(obj):\n    return encode(obj)\n",
    "xmlrpc/client.py": (
        "class Marshaller:\n    def dumps(self, values):\n        return values\n\n\n"
        "def dumps(params):\n    return Marshaller().dumps(params)\n"
    ),
    "pickle.py": "def _dumps(obj):\n    return bytes(obj)\n",
    "tests/test_json.py": "def dumps(value):\n    return str(value)\n",
    "json/_private.py": "def dumps(obj):\n    return repr(obj)\n",
}


# Unrelated files, so that a word's rarity means something to BM25 in a tiny corpus.
FILLER = {
    f"filler/{word}.py": f'def {word}_value(x):\n    """Return the {word} value of x."""\n'
    f"    return x.{word}\n"
    for word in [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "zeta",
        "eta",
        "theta",
        "iota",
        "kappa",
        "lambda",
        "mu",
    ]
}
DESCRIBED = {
    "cache.py": '''\
def purge(entries):
    """Remove stale cache files older than a week."""
    for entry in entries:
        entry.unlink()
''',
    "sweep.py": """\
def sweep(cache, files):
    stale = [f for f in files if f.stale]
    for f in stale:
        cache.remove(f)
    return stale
""",
    **FILLER,
}
CALLED = {
    "loop.py": '''\
def _cancel_all(tasks):
    for task in tasks:
        task.cancel()


def close(loop):
    """Shut down the event loop once the leftover work is stopped."""
    _cancel_all(loop.tasks)
    loop.stop()
''',
    "timers.py": '''\
def cancel_pending(work):
    """Cancel the pending work of a timer loop."""
    for item in work:
        item.cancel()
''',
    **FILLER,
}


async def open_index(tmp_path: Path, files: dict[str, str], name: str = "index") -> Index:
    root = tmp_path / "ws"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    # Small chunks, so that neighbouring definitions stay apart.
    index = await Index.open(root, tmp_path / f"{name}.db", IndexSettings(max_chunk_lines=8))
    await index.update()
    return index


@pytest.fixture
async def retry_index(tmp_path: Path) -> AsyncIterator[Index]:
    index = await open_index(tmp_path, {"retry.py": RETRY, "tests/test_retry.py": RETRY_TEST})
    yield index
    await index.close()


async def paths(index: Index, query: str, mode: str = "lexical") -> list[str]:
    return [hit.path for hit in await index.search(query, mode=mode, limit=10)]


async def test_a_question_in_words_finds_the_code_before_its_tests(
    retry_index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    question = "how long to wait before retrying a failed request"
    assert (await paths(retry_index, question))[0] == "retry.py"
    monkeypatch.setattr(ranking, "ROLE_WEIGHTS", {})
    assert (await paths(retry_index, question))[0] == "tests/test_retry.py"


async def test_tests_keep_their_rank_when_asked_for_or_named(retry_index: Index) -> None:
    asked = await paths(retry_index, "tests of the wait before a retry of a failed request")
    assert asked[0] == "tests/test_retry.py"
    named = await paths(retry_index, "test_wait_before_retry_grows")
    assert named[0] == "tests/test_retry.py"


async def test_stemming_matches_other_forms_of_a_word_on_both_sides(retry_index: Index) -> None:
    # "retrying"/"retry", "failing"/"failed", "waits"/"wait": porter stems both sides.
    assert (await paths(retry_index, "waits retrying failing requests"))[0] == "retry.py"


async def test_a_symbol_search_ranks_what_a_developer_means_first(tmp_path: Path) -> None:
    index = await open_index(tmp_path, DUMPS)
    try:
        hits = await index.search("dumps", mode="symbol", limit=10)
        found = [(hit.path, hit.symbol) for hit in hits]
    finally:
        await index.close()
    assert found == [
        ("json/__init__.py", "dumps"),  # public, module level, shortest path
        ("xmlrpc/client.py", "dumps"),  # public, module level, longer path
        ("xmlrpc/client.py", "Marshaller.dumps"),  # a method
        ("json/_private.py", "dumps"),  # in a private module
        ("tests/test_json.py", "dumps"),  # a test
        ("pickle.py", "_dumps"),  # not the name typed
    ]
    assert [hit.score for hit in hits][:5] == [1.0] * 5  # equal matches: only the order says


async def symbols_found(tmp_path: Path, files: dict[str, str], query: str, name: str) -> list[str]:
    index = await open_index(tmp_path, files, name)
    try:
        return [hit.symbol or "" for hit in await index.search(query, mode="lexical", limit=10)]
    finally:
        await index.close()


async def test_what_the_code_says_about_itself_outweighs_its_identifiers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    question = "remove stale cache files"
    found = await symbols_found(tmp_path, DESCRIBED, question, "with")
    assert found[:2] == ["purge", "sweep"]
    monkeypatch.setitem(ranking.COLUMN_WEIGHTS, "doc", 0.0)
    found = await symbols_found(tmp_path, DESCRIBED, question, "without")
    assert found[:2] == ["sweep", "purge"]


async def test_a_helper_is_found_by_the_words_of_its_callers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    question = "cancel leftover work when the event loop shuts down"
    found = await symbols_found(tmp_path, CALLED, question, "with")
    assert found[:3] == ["close", "_cancel_all", "cancel_pending"]
    monkeypatch.setitem(ranking.COLUMN_WEIGHTS, "callers", 0.0)
    found = await symbols_found(tmp_path, CALLED, question, "without")
    assert found[:3] == ["close", "cancel_pending", "_cancel_all"]


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("src/app/retry.py", "code"),
        ("unittest/loader.py", "code"),
        ("contest.py", "code"),
        ("tests/test_retry.py", "test"),
        ("pkg/retry_test.py", "test"),
        ("conftest.py", "test"),
        ("server/handler_test.go", "test"),
        ("web/button.test.tsx", "test"),
        ("web/button.spec.js", "test"),
        ("src/main/java/RetryTest.java", "test"),
        ("spec/models/user_spec.rb", "test"),
        ("pkg/testdata/input.txt", "test"),
        ("tests/fixtures/page.html", "test"),
        ("vendor/github.com/lib/pq/conn.go", "vendored"),
        ("pip/_vendor/requests/api.py", "vendored"),
        ("web/node_modules/react/index.js", "vendored"),
        ("static/jquery.min.js", "vendored"),
    ],
)
def test_path_roles(path: str, role: str) -> None:
    assert path_role(path) == role


def test_what_counts_as_a_symbol_query() -> None:
    assert looks_like_symbol("dumps")
    assert looks_like_symbol(" json.dumps ")
    assert looks_like_symbol("Popen::wait")
    assert not looks_like_symbol("dump to json")
    assert not looks_like_symbol("dumps(")
