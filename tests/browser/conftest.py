"""JupyterLab in headless Chromium, as a person sees the runbooks.

Fixtures
--------
``lab``
    A JupyterLab server started from this environment (``sys.executable -m
    jupyter lab``) on a free loopback port with a random token, serving a
    temporary copy of ``notebooks/``; stopped when the test ends.
``page``
    A Playwright page in Debian's Chromium (``/usr/bin/chromium``) started
    with the flags this machine needs (no network lookups, no sandbox as
    root). Playwright gives every launch a fresh, empty profile directory.

Both skip with the reason when Chromium is missing, except under ``CI=true``,
where a missing browser is a failure (``.ci/run`` installs it).

The steps and checks live in ``_lab.py``, so the tests read as the steps a
person takes.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _skip_or_fail(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def chromium() -> Path:
    """Path of Debian's Chromium; skip (fail under CI) when it is absent."""
    if not CHROMIUM.exists():
        _skip_or_fail(
            f"{CHROMIUM} is missing; install Debian's chromium package "
            "(apt-get install -y chromium) to run the browser tests"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _skip_or_fail("playwright is missing: pip install -e '.[dev]'")
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Lab:
    """A running JupyterLab server; ``url(name)`` opens a notebook."""

    def __init__(self, root: Path, port: int, token: str, proc, log: Path):
        self.root, self.port, self.token = root, port, token
        self.proc, self.log = proc, log

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/lab/tree/{name}?token={self.token}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def _write_settings(folder: Path) -> None:
    """No virtual scrolling (every cell in the DOM), no news pop-ups."""
    settings = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
            "windowingMode": "none"
        },
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
    }
    for name, value in settings.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


@pytest.fixture
def lab(tmp_path, chromium):
    """Start JupyterLab on a copy of notebooks/; stop it after the test."""
    root = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_*"))
    demo = ROOT / "data" / "demo"
    if (demo / "spans.parquet").is_file():  # reuse `make demo` output when present
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "demo").symlink_to(demo)
    _write_settings(tmp_path / "settings")
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        MPLBACKEND="agg",
    )
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
        f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = tmp_path / "jupyterlab.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    server = Lab(root, port, token, proc, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited at start:\n{log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2
                )
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"JupyterLab did not answer:\n{log.read_text()[-3000:]}"
                    )
                time.sleep(0.3)
        yield server
    finally:
        server.stop()


@pytest.fixture
def page(chromium):
    """A Playwright page in headless Debian Chromium, 1400 x 1000."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            yield context.new_page()
        finally:
            browser.close()
