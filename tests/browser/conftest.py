"""One real JupyterLab and one headless chromium for all browser tests.

The server is started exactly as a student starts it, with ``make lab`` (same
flags and settings), but on a free port, with a token of its own, and with its
root in a temporary copy of the course: running a lesson never writes outputs
into the committed notebooks, and nbgrader's exchange, the student's
``mine_oppgaver/`` and Jupyter's own folders all live in the temporary folder.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT, Course

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "build" / "skjermbilder"
SERVER_START_TIMEOUT = 120  # seconds; a cold start on a busy CI machine takes ~10
UI_TIMEOUT = 60_000  # ms for any one condition in the page (kernel start, a cell run)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Lab:
    """A running JupyterLab on a copy of the course."""

    url: str
    token: str
    root: Path
    course: Course
    log: Path

    def api(self, path: str, method: str = "GET") -> object:
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Stop every kernel, so the next page starts from a clean server (and the CPU is free)."""
        for session in self.api("/api/sessions"):
            self.api(f"/api/sessions/{session['id']}", method="DELETE")


def _copy_course(root: Path) -> None:
    root.mkdir()
    for name in ("lessons", "solutions", "docs"):  # docs/: the glossary and reading list the lessons link to
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copy(ROOT / "nbgrader_config.py", root)
    (root / "mine_oppgaver").mkdir()
    shutil.copy(ROOT / "mine_oppgaver" / "nbgrader_config.py", root / "mine_oppgaver")


@pytest.fixture(scope="session")
def lab(tmp_path_factory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "kurs"
    _copy_course(root)
    course = Course(root, base / "exchange")
    env = {
        **course.env,
        "NBGRADER_ASSIGNMENT_DIR": str(root / "mine_oppgaver"),
        # Jupyter's per-user folders (config, workspaces, nbgrader's exchange cache) in tmp too.
        "JUPYTER_CONFIG_DIR": str(base / "jupyter-config"),
        "JUPYTER_DATA_DIR": str(base / "jupyter-data"),
        "JUPYTER_RUNTIME_DIR": str(base / "jupyter-runtime"),
        "IPYTHONDIR": str(base / "ipython"),
    }
    port, token = _free_port(), secrets.token_hex(16)
    log = base / "jupyterlab.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [
                "make", "-s", "--no-print-directory", "-C", str(ROOT),
                "-o", ".venv/.installed",  # never rebuild the environment from inside a test run
                "lab", f"PORT={port}", f"LAB_ROOT={root}",
                f"LAB_ARGS=--IdentityProvider.token={token} --ServerApp.port_retries=0 --LabApp.expose_app_in_browser=True",
            ],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    running = Lab(url, token, root, course, log)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:  # poll until the server answers
            if server.poll() is not None:
                pytest.fail(f"JupyterLab stopped at start ({server.returncode}):\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer in {SERVER_START_TIMEOUT} s:\n{log.read_text()[-3000:]}")
            try:
                running.api("/api/status")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        yield running
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.fixture(scope="session")
def axe_source() -> Path:
    """axe-core from npm (package-lock.json), installed with `npm ci` if `make test` has not done it."""
    if not AXE.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT, check=True)
    return AXE


def new_page(browser, lab: Lab, path: str):
    """A fresh browser context on JupyterLab with ``path`` open, in a new workspace (nothing else reopens).

    A new workspace rather than ``?reset``: JupyterLab re-reads the URL when a
    link changes its #hash (the assignment list does), and ``reset`` would then
    close every panel.
    """
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="nb-NO")
    context.set_default_timeout(UI_TIMEOUT)
    expect.set_options(timeout=UI_TIMEOUT)
    page = context.new_page()
    page.goto(f"{lab.url}/lab/workspaces/test-{secrets.token_hex(4)}/tree/{path}?token={lab.token}")
    page.locator("#jp-main-dock-panel").wait_for()
    return page
