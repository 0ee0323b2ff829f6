"""[completion] settings (who may set them, bad values) and the usage ledger."""

from __future__ import annotations

import asyncio
import datetime
from pathlib import Path

import pytest

from daemon.completion.settings import ContextShares
from daemon.completion.usage import Ledger, today
from daemon.config import load_settings


def test_a_repository_cannot_choose_the_completion_model(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".deputydev").mkdir(parents=True)
    (root / ".deputydev" / "config.toml").write_text(
        '[completion]\nmodel = "evil"\n\n[completion.shares]\nprefix = 1\n'
    )
    user = tmp_path / "config.toml"
    user.write_text('[completion]\nmodel = "local"\n')

    loaded = load_settings(roots=[root], user_file=user, env={})

    assert loaded.settings.completion.model == "local"
    refused = {i.key for i in loaded.issues if i.refused}
    assert {"completion.model", "completion.shares.prefix"} <= refused


def test_a_bad_value_names_its_key_and_keeps_the_default(tmp_path: Path) -> None:
    user = tmp_path / "config.toml"
    user.write_text("[completion]\nmax_lines = 0\n\n[completion.shares]\nprefix = 0\nsuffix = 0\n")
    loaded = load_settings(user_file=user, env={})
    keys = {i.key for i in loaded.issues}
    assert "completion.max_lines" in keys and "completion.shares" in keys
    assert loaded.settings.completion.max_lines == 16


def test_shares_are_weights() -> None:
    shares = ContextShares(prefix=2, suffix=1, definitions=1, callers=0, neighbours=0, imports=0)
    assert shares.fraction("prefix") == pytest.approx(0.5)
    assert shares.fraction("callers") == 0


async def test_every_daemon_adds_to_the_same_days_spending(tmp_path: Path) -> None:
    path = tmp_path / "completions.db"
    first, second = Ledger(path), Ledger(path)
    day = today()
    first.count(day, "codestral", requests=3, model_calls=1, cost_usd=0.25, input_tokens=900)
    second.count(day, "codestral", requests=1, cache_hits=1)
    second.count(day, "local", model_calls=2, cost_usd=0.0)
    await first.flush()
    await second.flush()
    assert first.spent(day) == pytest.approx(0.25)
    second.count(day, "codestral", cost_usd=0.5)  # not written yet: counted all the same
    assert second.spent(day) == pytest.approx(0.75)

    totals = await second.today()
    assert totals["requests"] == 4 and totals["cacheHits"] == 1
    assert totals["modelCalls"] == 3 and totals["inputTokens"] == 900
    assert totals["costUsd"] == pytest.approx(0.75)

    third = Ledger(path)
    await third.load()
    assert third.spent(day) == pytest.approx(0.25)
    for ledger in (first, second, third):
        ledger.close()


async def test_the_last_seven_days_are_counted_apart(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "completions.db")
    now = datetime.date.today()
    day = today()
    old = (now - datetime.timedelta(days=7)).isoformat()
    yesterday = (now - datetime.timedelta(days=1)).isoformat()
    ledger.count(old, "codestral", requests=9, cost_usd=9.0)
    ledger.count(yesterday, "codestral", requests=2, cost_usd=0.5, output_tokens=40)
    ledger.count(yesterday, "local", requests=1)
    await ledger.flush()
    ledger.count(day, "codestral", requests=1, cost_usd=0.25)  # not written yet

    days = await ledger.days(7)

    assert [d["day"] for d in days] == [day, yesterday]  # a week ago is out
    assert (days[1]["requests"], days[1]["outputTokens"]) == (3, 40)
    assert days[1]["costUsd"] == pytest.approx(0.5)
    assert days[0]["costUsd"] == pytest.approx(0.25)
    ledger.close()


async def test_spending_being_written_still_counts(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "completions.db")
    day = today()
    ledger.count(day, "codestral", cost_usd=0.5)
    flushing = asyncio.ensure_future(ledger.flush())
    await asyncio.sleep(0)  # the write is under way in its thread
    assert ledger.spent(day) == pytest.approx(0.5)
    await flushing
    assert ledger.spent(day) == pytest.approx(0.5)
    ledger.close()


def test_doctor_says_whether_completions_can_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daemon.completion.checks import check_completion
    from daemon.doctor import check_model_servers

    config = tmp_path / "config.toml"
    [off] = check_completion(load_settings(user_file=config, env={}))
    assert (off.status, off.detail) == ("ok", "off")

    config.write_text('[completion]\nmodel = "codestral"\ndaily_budget_usd = 2\n')
    [missing] = check_completion(load_settings(user_file=config, env={}))
    assert missing.status == "fail" and "CODESTRAL_API_KEY" in missing.fix
    # A hosted server without its key is not probed on the network.
    servers = {c.name for c in check_model_servers(load_settings(user_file=config, env={}))}
    assert "server codestral" not in servers

    monkeypatch.setenv("CODESTRAL_API_KEY", "cs-doctor-key")
    [ready] = check_completion(load_settings(user_file=config, env={}))
    assert (ready.status, ready.detail) == (
        "ok",
        "codestral through FIM (mistral), daily budget $2.00",
    )

    config.write_text('[completion]\nmodel = "nope"\n')
    [unknown] = check_completion(load_settings(user_file=config, env={}))
    assert unknown.status == "fail" and "unknown model 'nope'" in unknown.detail
