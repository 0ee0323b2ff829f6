"""Issue 10's secret table: every secret shape of a hostile workspace, tried through every
tool and focus item of the real daemon over stdio, the fake model scripted to ask for each
one. The assertion is on what the model server received: no secret byte, ever; and a
control value beside them does arrive, so that a tool that silently failed cannot pass.

Each shape holds its own token, and mentions ``DB_PASSWORD`` so that every search finds it.
The files are committed, then changed, so that git has both a history and a diff of each.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_trust import Scene, answer, calls, git
from tests.fakes.hosting_data import github_files, github_user, seed_github_pull
from tests.fakes.hosting_server import HostingServer
from tests.fakes.llm_server import Call, LLMServer

CONTROL = "CONTROL_value_visible_42"


@pytest.fixture
def llm() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture(name="scene")
async def hostile_scene(
    workspace: Path, tmp_path: Path, hermetic_env: Path, llm: LLMServer
) -> AsyncIterator[Scene]:
    s = Scene(workspace, tmp_path, hermetic_env, llm)
    yield s
    await s.close()


def _token(index: int) -> str:
    return f"S3CRET{index:02d}zq"


def _key(token: str, kind: str = "OPENSSH") -> str:
    return f"-----BEGIN {kind} PRIVATE KEY-----\nMIIB{token}AAA\n-----END {kind} PRIVATE KEY-----\n"


# (path, content given its token): secret by name, or by content under an innocent name.
SHAPES: list[tuple[str, Any]] = [
    (".env", lambda t: f"DB_PASSWORD={t}\n"),
    ("config/.env.production", lambda t: f"DB_PASSWORD={t}\n"),
    ("deploy/prod.env", lambda t: f"DB_PASSWORD={t}\n"),
    (".envrc", lambda t: f"export DB_PASSWORD={t}\n"),
    ("id_rsa", lambda t: "# DB_PASSWORD\n" + _key(t)),
    ("keys/id_ed25519", lambda t: f"DB_PASSWORD {t}\n"),
    ("id_deploy", lambda t: f"DB_PASSWORD {t}\n"),
    ("server.pem", lambda t: "DB_PASSWORD\n" + _key(t, "RSA")),
    ("tls/server.key", lambda t: f"DB_PASSWORD {t}\n"),
    ("cert.p12", lambda t: f"DB_PASSWORD {t}\n"),
    ("store.pfx", lambda t: f"DB_PASSWORD {t}\n"),
    ("vault.kdbx", lambda t: f"DB_PASSWORD {t}\n"),
    (".git-credentials", lambda t: f"https://bob:{t}@github.com # DB_PASSWORD\n"),
    (".npmrc", lambda t: f"//registry.npmjs.org/:_authToken={t} # DB_PASSWORD\n"),
    (".pypirc", lambda t: f"[pypi]\n# DB_PASSWORD\npassword = {t}\n"),
    (".netrc", lambda t: f"machine db login bob password {t} # DB_PASSWORD\n"),
    (".pgpass", lambda t: f"db:5432:app:bob:{t} # DB_PASSWORD\n"),
    (".aws/credentials", lambda t: f"[default]\n# DB_PASSWORD\naws_secret_access_key = {t}\n"),
    (".docker/config.json", lambda t: json.dumps({"auths": {"DB_PASSWORD": t}}) + "\n"),
    ("credentials.json", lambda t: json.dumps({"DB_PASSWORD": t}) + "\n"),
    ("config/secrets.yaml", lambda t: f"DB_PASSWORD: {t}\n"),
    (
        "gcp/project-4711-a1b2c3.json",
        lambda t: (
            json.dumps(
                {
                    "type": "service_account",
                    "private_key_id": "DB_PASSWORD",
                    "private_key": f"{t}",
                    "client_email": "x@y.iam.gserviceaccount.com",
                },
                indent=1,
            )
            + "\n"
        ),
    ),
    ("notes/deploy_notes.txt", lambda t: "DB_PASSWORD key below\n" + _key(t, "EC")),
]
PATHS = [path for path, _ in SHAPES]
TOKENS = [_token(i) for i in range(len(SHAPES))]


def _hostile(root: Path) -> None:
    for index, (path, content) in enumerate(SHAPES):
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content(_token(index)))
    (root / "settings.py").write_text(
        f'import os\n\nDB_PASSWORD = os.environ["DB_PASSWORD"]\nLABEL = "{CONTROL}"\n'
    )
    (root / "id_rsa.pub").write_text(f"ssh-ed25519 AAAA {CONTROL}-pub DB_PASSWORD\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "initial")
    # Every file changes after the commit: git has a diff and a history of each.
    for index, (path, content) in enumerate(SHAPES):
        (root / path).write_text(content(_token(index)) + f"# changed {_token(index)}x\n")
    with (root / "settings.py").open("a") as handle:
        handle.write(f'CHANGED = "{CONTROL}-diff"\n')


def _every(name: str, make: Any) -> list[Call]:
    return [Call(f"{name}{i}", name, make(path)) for i, path in enumerate(PATHS)]


# Each channel: the calls the model makes (all at once) and the focus items of the query.
CHANNELS: dict[str, tuple[list[Call], list[dict[str, Any]]]] = {
    "code_search": (
        [
            Call("q1", "code_search", {"query": "DB_PASSWORD", "limit": 30}),
            Call("q2", "code_search", {"query": "PRIVATE KEY password token", "limit": 30}),
            Call("q3", "code_search", {"query": "service_account private_key", "limit": 30}),
        ],
        [],
    ),
    "symbol_search": (
        [
            Call("s1", "symbol_search", {"name": "DB_PASSWORD", "limit": 50}),
            Call("s2", "symbol_search", {"name": "private_key", "limit": 50}),
        ],
        [],
    ),
    "grep_search": (
        [
            Call("g1", "grep_search", {"pattern": "DB_PASSWORD|PRIVATE|S3CRET"}),
            Call("g2", "grep_search", {"pattern": "s3cret", "caseSensitive": False}),
        ],
        [],
    ),
    "file_path_search": (
        _every("file_path_search", lambda p: {"query": p.rsplit("/", 1)[-1]}),
        [],
    ),
    "list_directory": ([Call("l1", "list_directory", {"path": ".", "recursive": True})], []),
    "read_file": (
        [
            *_every("read_file", lambda p: {"path": p}),
            Call("r", "read_file", {"path": "id_rsa.pub"}),
        ],
        [],
    ),
    "git_diff": (
        [
            Call("d1", "git", {"command": "diff"}),
            Call("d2", "git", {"command": "diff", "ref": "HEAD"}),
            *_every("git", lambda p: {"command": "diff", "path": p}),
        ],
        [],
    ),
    "git_log_patch": (
        [
            Call("lp", "git", {"command": "log", "patch": True}),
            *_every("git", lambda p: {"command": "log", "patch": True, "path": p}),
        ],
        [],
    ),
    "git_show": (
        [
            Call("sh", "git", {"command": "show"}),
            *_every("git", lambda p: {"command": "show", "ref": "HEAD", "path": p}),
        ],
        [],
    ),
    "git_blame": (_every("git", lambda p: {"command": "blame", "path": p}), []),
    "git_show_blob": (
        [
            *_every("git", lambda p: {"command": "show", "ref": f"HEAD:{p}"}),
            *_every("git", lambda p: {"command": "diff", "ref": f"HEAD:{p}", "path": p}),
        ],
        [],
    ),
    "focus_file": ([], [{"kind": "file", "path": p} for p in PATHS]),
    "focus_snippet": (
        [],
        [{"kind": "snippet", "path": p, "startLine": 1, "endLine": 3} for p in PATHS]
        + [{"kind": "snippet", "path": p, "text": f"DB_PASSWORD={_token(0)}"} for p in PATHS[:1]]
        + [{"kind": "snippet", "text": _key(_token(4))}],
    ),
    "focus_symbol": ([], [{"kind": "symbol", "path": p, "symbol": "DB_PASSWORD"} for p in PATHS]),
    "focus_directory": ([], [{"kind": "directory", "path": "."}]),
    "focus_git_diff": ([], [{"kind": "gitDiff"}, *({"kind": "gitDiff", "path": p} for p in PATHS)]),
}
# Where the control value must show (proof the channel worked); names-only channels show
# the names instead.
CONTROL_SHOWN = {
    "code_search": CONTROL,
    "symbol_search": "settings.py",
    "grep_search": CONTROL,
    "file_path_search": ".env",
    "list_directory": "config/secrets.yaml",
    "read_file": f"{CONTROL}-pub",
    "git_diff": f"{CONTROL}-diff",
    "git_log_patch": CONTROL,
    "git_show": CONTROL,
    "git_blame": "secrets file",
    "git_show_blob": "give a file in path",
    "focus_file": "secrets file",
    "focus_snippet": "secrets file",
    "focus_symbol": "secrets file",
    "focus_directory": "gcp/project-4711-a1b2c3.json",
    "focus_git_diff": f"{CONTROL}-diff",
}


def _assert_no_secret(scene: Scene) -> None:
    sent = scene.sent_to_model()
    leaked = [t for t in TOKENS if t in sent]
    assert leaked == [], f"secret tokens reached the model: {leaked}"
    assert "PRIVATE KEY-----\\nMIIB" not in sent


async def _indexed(scene: Scene) -> None:
    """Until the first index run of this daemon has ended (its progress says so)."""
    assert scene.client is not None
    client = scene.client

    def ended() -> bool:
        return any(
            values and values[0].get("kind") == "begin" and values[-1].get("kind") == "end"
            for values in client.progress_values.values()
        )

    await client.wait_for(ended, what="the first index run to end")


@pytest.mark.parametrize("channel", sorted(CHANNELS))
async def test_no_secret_shape_reaches_the_model_through(scene: Scene, channel: str) -> None:
    _hostile(scene.workspace)
    tool_calls, focus = CHANNELS[channel]
    replies = [calls(*tool_calls)] if tool_calls else []
    client = await scene.start(*replies, answer())
    if channel in ("code_search", "symbol_search", "focus_symbol"):
        await _indexed(scene)
        # The editor's own search sees the same index: no secret there either.
        found = await client.request("deputydev/search", {"query": "DB_PASSWORD", "limit": 50})
        assert not [t for t in TOKENS if t in json.dumps(found)]
        assert {r["path"] for r in found["results"]} <= {"settings.py", "id_rsa.pub"}
    result = await scene.query("look at the database password", focusItems=focus)
    assert result["stopReason"] == "stop"
    _assert_no_secret(scene)
    assert CONTROL_SHOWN[channel] in scene.sent_to_model()
    # Nor in the progress the editor was sent.
    assert not [t for t in TOKENS if t in json.dumps(client.progress_values)]


@pytest.fixture
def github() -> Iterator[HostingServer]:
    with HostingServer("github", auth="Bearer ghp_e2etoken0123456789abcdef") as server:
        yield server


async def test_no_secret_reaches_the_model_through_a_pull_request_review(
    github: HostingServer, scene: Scene
) -> None:
    # github before scene: the daemon (and its keep-alive connection to the fake host) is
    # gone before the fake host's loop closes.
    token = _token(99)
    files = github_files()
    files.append(
        {
            "sha": "9" * 40,
            "filename": "config/.env.production",
            "status": "modified",
            "additions": 1,
            "deletions": 1,
            "changes": 2,
            "blob_url": "",
            "patch": f"@@ -1 +1 @@\n-DB_PASSWORD=old\n+DB_PASSWORD={token}",
        }
    )
    seed_github_pull(github, files=files)
    github.json(
        "/repos/o/r/pulls/7/comments",
        [
            {
                "id": 12,
                "path": "config/.env.production",
                "line": 1,
                "original_line": 1,
                "side": "RIGHT",
                "body": f"```suggestion\nDB_PASSWORD={token}\n```",
                "user": github_user("carol"),
                "created_at": "2024-05-01T11:00:00Z",
            }
        ],
    )
    pr = "https://github.com/o/r/pull/7"
    await scene.start(
        calls(Call("w1", "fetch_work_item", {"url": pr})),
        answer(),
        env={
            "GITHUB_TOKEN": "ghp_e2etoken0123456789abcdef",
            "DEPUTYDEV_HOSTING__GITHUB__API_URL": github.url,
        },
    )
    await scene.query("review it", focusItems=[{"url": pr}])
    sent = scene.sent_to_model()
    assert token not in sent
    assert "config/.env.production" in sent and "withheld" in sent
    assert "src/mod_1.py" in sent  # the rest of the pull request arrived


async def test_a_file_indexed_before_it_became_secret_is_gone_after_the_next_run(
    scene: Scene,
) -> None:
    token = "npm_S3CRETtoken_indexed_0042"
    scene.write(".npmrc", f"//registry.npmjs.org/:_authToken={token}\nDB_PASSWORD here\n")
    scene.write("settings.py", f'DB_PASSWORD = "{CONTROL}"\n')
    # An older version, or the user's own choice then, let secrets into the index.
    scene.user_config("[solver.tools]\nallow_secret_files = true\n")
    client = await scene.start()
    await _indexed(scene)
    found = await client.request("deputydev/search", {"query": "DB_PASSWORD", "limit": 20})
    assert ".npmrc" in {r["path"] for r in found["results"]}
    await client.stop_daemon()

    # The same index, now under the default policy: the next run drops the file.
    scene.user_config("")
    client = await scene.start(calls(Call("c", "code_search", {"query": "DB_PASSWORD"})), answer())
    await _indexed(scene)
    found = await client.request("deputydev/search", {"query": "DB_PASSWORD", "limit": 20})
    assert {r["path"] for r in found["results"]} == {"settings.py"}
    status = await client.request("deputydev/index/status")
    assert status["roots"][0]["files"] == 2  # hello.py and settings.py
    await scene.query("where is the password?")
    assert token not in scene.sent_to_model() and CONTROL in scene.sent_to_model()


def test_the_table_covers_every_path_the_issue_lists() -> None:
    listed = [".git-credentials", ".npmrc", ".pypirc", ".netrc", ".pgpass", ".aws/credentials"]
    listed += [".docker/config.json", ".env", "credentials.json", "config/secrets.yaml"]
    assert all(p in PATHS for p in listed)
    for suffix in (".key", ".p12", ".pfx", ".kdbx", ".pem"):
        assert any(p.endswith(suffix) for p in PATHS)
    assert subprocess.run(["git", "--version"], capture_output=True).returncode == 0


@pytest.mark.parametrize("engine", ["ripgrep", "python"])
async def test_a_link_to_a_secret_file_is_the_secret_file(scene: Scene, engine: str) -> None:
    scene.user_config(f'[solver.tools]\ngrep_engine = "{engine}"\n')
    token = "S3CRETlinked_0077"
    scene.write(".env", f"DB_PASSWORD={token}\n")
    scene.write("settings.py", f'DB_PASSWORD = "{CONTROL}"\n')
    (scene.workspace / "notes.txt").symlink_to(".env")
    (scene.workspace / "docs").mkdir()
    (scene.workspace / "docs" / "env.md").symlink_to("../.env")
    client = await scene.start(
        calls(
            Call("c", "code_search", {"query": "DB_PASSWORD", "limit": 30}),
            Call("g", "grep_search", {"pattern": "DB_PASSWORD"}),
            Call("r1", "read_file", {"path": "notes.txt"}),
            Call("r2", "read_file", {"path": "docs/env.md"}),
        ),
        answer(),
    )
    await _indexed(scene)
    found = await client.request("deputydev/search", {"query": "DB_PASSWORD", "limit": 20})
    assert {r["path"] for r in found["results"]} == {"settings.py"}
    await scene.query("where is the password?", focusItems=[{"kind": "file", "path": "notes.txt"}])
    assert token not in scene.sent_to_model() and CONTROL in scene.sent_to_model()


async def test_no_secret_shape_reaches_a_reviewer_through_deputydev_review(scene: Scene) -> None:
    from tests.fakes.review_model import ReviewModel

    _hostile(scene.workspace)
    # Untracked secrets too: a review of uncommitted changes reads new files.
    (scene.workspace / "later").mkdir()
    (scene.workspace / "later" / ".env").write_text(f"DB_PASSWORD={_token(97)}\n")
    (scene.workspace / "later" / "key.txt").write_text(_key(_token(98)))
    scene.llm.responder = ReviewModel()
    client = await scene.start(env={"DEPUTYDEV_INDEX__ENABLED": "false"})
    result = await client.request("deputydev/review", {"scope": "uncommitted"}, timeout=120)
    sent = scene.sent_to_model()
    assert scene.llm.requests, "no reviewer was asked"
    assert [t for t in [*TOKENS, _token(97), _token(98)] if t in sent] == []
    assert f"{CONTROL}-diff" in sent  # the rest of the change was reviewed
    skipped = json.dumps(result)
    assert ".env" in skipped and "secret" in skipped
