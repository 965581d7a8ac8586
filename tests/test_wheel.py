"""The wheel as a hospital's server would install it: built from this checkout, installed in a fresh venv.

The package comes only from the wheel (the venv has no path to this checkout);
its dependencies come from the environment running the tests, through a
``.pth`` line, so the test needs no package index. Built with pip's isolated
build (setuptools from the pip cache or the index), as ``pip install .`` does.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "bot", "intents", "knowledge", "storage")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the wheel of this checkout installed (and the test environment's dependencies)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"  # a copy, so the build leaves no egg-info or build/ in the checkout
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=IGNORED)
        else:
            shutil.copy(ROOT / name, source / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(tmp / "dist"), str(source)],
        capture_output=True,
        text=True,
        check=False,
        env=_env(tmp),
    )
    assert built.returncode == 0, built.stdout + built.stderr
    assert "would be ignored" not in built.stdout + built.stderr
    (wheel,) = (tmp / "dist").glob("madoguchi-*.whl")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp / "venv")], check=True)
    python = tmp / "venv" / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index"]
    installed = subprocess.run(
        [*pip, "--ignore-installed", str(wheel)],
        capture_output=True,
        text=True,
        check=False,
        env=_env(tmp),
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return tmp / "venv"


def _env(tmp: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MADOGUCHI_", "PYTHON"))}
    return env | {"MADOGUCHI_DATABASE_URL": f"sqlite:///{tmp / 'wheel.db'}", "PYTHONNOUSERSITE": "1"}


def test_the_wheel_holds_every_package_and_data_file(venv: Path, tmp_path: Path) -> None:
    probe = (
        "import bot, bot.channels.line, bot.channels.telegram, bot.web.app, bot.runtime.receiver, pathlib, "
        "storage.migrations as m, knowledge.loader as k; print(bot.__file__); "
        "print(k.DATA_DIR.is_dir() and any(pathlib.Path(m.__path__[0], 'versions').glob('*.py')))"
    )
    shown = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe], cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    where, data = shown.stdout.split()
    assert Path(where).is_relative_to(venv) and data == "True"
    tools = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import tools"], cwd=tmp_path, env=_env(tmp_path), capture_output=True
    )
    assert tools.returncode != 0  # the benchmarks stay in the checkout


def test_madoguchi_classify_runs_from_the_wheel(venv: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(venv / "bin" / "madoguchi"), "classify"],
        input='母が倒れました\n{"text": "体験の 申し込みは？"}\n',
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    for answer in (first, second):
        assert answer["urgency"] in ("now", "check", "none") and answer["intents"] and answer["reply"]


def test_madoguchi_serve_starts_from_the_wheel(venv: Path, tmp_path: Path) -> None:
    port = _free_port()
    env = _env(tmp_path) | {
        "LINE_CHANNEL_SECRET": "s" * 32,
        "LINE_CHANNEL_ACCESS_TOKEN": "t",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(venv / "bin" / "madoguchi"), "serve", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, log.read_text()
            try:
                with opener.open(f"{base}/healthz", timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
        with opener.open(f"{base}/chat/", timeout=5) as page:  # templates and static files came with the wheel
            assert page.status == 200 and b"<html" in page.read().lower()
        refused = urllib.request.Request(f"{base}/webhooks/line", data=b"{}", headers={"X-Line-Signature": "x"})
        with pytest.raises(urllib.error.HTTPError) as error:
            opener.open(refused, timeout=5)
        assert error.value.code == 401  # the LINE channel's code is in the wheel and verifies
    finally:
        server.terminate()
        server.wait(timeout=30)
