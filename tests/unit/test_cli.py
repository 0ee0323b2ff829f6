"""The command line: help for every command; bad configuration warns and the command goes on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from daemon.cli import build_parser, main


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "daemon", *args], capture_output=True, text=True, cwd=cwd, timeout=60
    )


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    action = parser._subparsers._group_actions[0]  # type: ignore[union-attr]
    commands: dict[str, object] = dict(action.choices or {})
    assert {"serve", "doctor", "version"} <= set(commands)
    for name in commands:
        with pytest.raises(SystemExit) as exc:
            main([name, "--help"])
        assert exc.value.code == 0
        assert "usage: deputydev " + name in capsys.readouterr().out


def test_version_prints_the_version() -> None:
    from daemon import __version__

    result = run_cli("version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"deputydev {__version__}"


def test_doctor_with_a_broken_config_fails_naming_file_and_line(
    hermetic_env: Path, tmp_path: Path
) -> None:
    config = hermetic_env / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[index]\nmax_chunk_lines = -\n")
    result = run_cli("doctor", "--root", str(tmp_path))
    assert result.returncode == 1
    assert f"{config}:2" in result.stderr
    assert "not valid TOML" in result.stderr and "the file is ignored" in result.stderr


def test_a_config_key_typo_warns_and_every_command_goes_on(
    hermetic_env: Path, tmp_path: Path
) -> None:
    config = hermetic_env / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[index]\nmax_chunk_line = 50\n")
    (tmp_path / "a.py").write_text("def greet():\n    return 1\n")
    warning = f"deputydev: warning: {config}:2: index.max_chunk_line: unknown setting"
    for args in (
        ("index", str(tmp_path)),
        ("search", "greet", "--root", str(tmp_path)),
        ("sync", "status"),
    ):
        result = run_cli(*args, cwd=tmp_path)
        assert warning in result.stderr, args
        assert "using the previous value" in result.stderr, args
        assert result.returncode == 0, (args, result.stderr)
    doctor = run_cli("doctor", "--json", "--root", str(tmp_path))
    assert warning in doctor.stderr
    import json

    [row] = [c for c in json.loads(doctor.stdout) if c["name"] == "config"]
    assert row["status"] == "warn"


def test_doctor_reports_sqlite_and_directories(tmp_path: Path, hermetic_env: Path) -> None:
    result = run_cli("doctor", "--json", "--root", str(tmp_path))
    assert result.returncode in (0, 1), result.stderr
    import json

    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert checks["python"]["status"] == "ok"
    assert "FTS5" in checks["sqlite (sqlite3)"]["detail"]
    assert str(hermetic_env) in checks["data directory"]["detail"]
    assert str(hermetic_env) in checks["log folder"]["detail"]
    assert checks["default model"]["status"] == "fail"  # hermetic: no key, no local server
    assert "OPENAI_API_KEY" in checks["default model"]["fix"]
