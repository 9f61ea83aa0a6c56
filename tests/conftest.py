"""Shared fixtures: the repository, and real nbgrader commands on temporary copies of it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course.instructor.common import nbgrader_in_process

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
COURSE_ID = "samskaping"  # as in nbgrader_config.py


# Layers of the suite, for the timing summary at the end of a run: the first prefix that
# a test's node id starts with names its layer.
LAYERS = (
    ("tests/browser/", "nettleser (JupyterLab + chromium)"),
    ("lessons/", "nbval: leksjonene"),
    ("solutions/", "nbval: løsningene"),
    ("solutions_nynorsk/", "nbval: løsningene på nynorsk"),
    ("tests/test_nbgrader_workflow.py", "nbgrader: hele semesteret"),
    ("tests/test_cli.py", "nbgrader: course grade/check/report"),
    ("tests/test_sandbox.py", "nbgrader: sandkassen"),
    ("tests/test_gradebook_backends.py", "nbgrader: karakterboken i SQLite og PostgreSQL"),
    ("tests/test_jupyterlab_assignments.py", "nbgrader: oppgavelisten"),
    ("tests/test_hub.py", "kursserveren (JupyterHub)"),
    ("tests/test_hub_drift.py", "kursserveren: drift (ubrukte servere, TLS)"),
    ("tests/test_hub_canvas.py", "kursserveren: Canvas (LTI 1.3)"),
    ("tests/test_hub_feide.py", "kursserveren: Feide (OpenID Connect)"),
    ("tests/test_hub_sider.py", "kursserveren: hubens sider"),
    ("tests/test_exchange_security.py", "kursserveren: utvekslingsmappen"),
    ("tests/test_language.py", "språkvasken (hunspell)"),
    ("tests/test_hygiene.py", "orden i depotet"),
    ("", "enhetstester"),
)


def _layer(nodeid: str) -> str:
    return next(name for prefix, name in LAYERS if nodeid.startswith(prefix))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Time per layer (set-up, test and tear-down added up), so the next slowdown shows where it is.

    With pytest-xdist the layers run side by side, so their sum is more than
    the wall-clock time of the run, which pytest prints on its last line.
    """
    totals: dict[str, list[float]] = {}
    seen: set[str] = set()
    for reports in terminalreporter.stats.values():
        for report in reports:
            if not hasattr(report, "duration") or not hasattr(report, "nodeid") or not report.nodeid:
                continue
            entry = totals.setdefault(_layer(report.nodeid), [0.0, 0])
            entry[0] += report.duration
            if report.nodeid not in seen:
                seen.add(report.nodeid)
                entry[1] += 1
    if not totals:
        return
    terminalreporter.section("tid per lag")
    for name, (seconds, count) in sorted(totals.items(), key=lambda kv: -kv[1][0]):
        terminalreporter.write_line(f"{seconds:7.1f} s  {count:4d} tester  {name}")


def pytest_collection_modifyitems(config, items):
    """Mark the notebook cells that nbval collects as slow, like the nbgrader tests."""
    for item in items:
        if item.__class__.__name__ == "IPyNbCell":
            item.add_marker(pytest.mark.slow)


CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


# One headless chromium per test process, for the browser tests (tests/browser/) and the
# class-server tests (tests/test_hub.py): Playwright's sync API runs one instance per thread.
@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium is missing ({CHROMIUM}); run `make system-deps` (Debian: apt-get install chromium).")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


def assignments() -> list[str]:
    """The exercise ids, from the folders in solutions/."""
    return sorted(p.name for p in (ROOT / "solutions").iterdir() if (p / f"{p.name}.ipynb").exists())


class Course:
    """A throw-away copy of the course with its own gradebook and exchange.

    Commands are the real nbgrader command-line tools, run in a subprocess with
    this environment's bin/ first on PATH (nbgrader shells out to alembic).
    """

    def __init__(self, root: Path, exchange: Path):
        self.root = root
        self.exchange = exchange
        self.env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "NBGRADER_EXCHANGE": str(exchange),
            "JUPYTER_PLATFORM_DIRS": "1",
        }

    def nbgrader(self, *args: str, cwd: Path | None = None, check: bool = True,
                 in_process: bool = True) -> subprocess.CompletedProcess:
        """Run ``nbgrader ARGS`` in ``cwd`` (the course folder by default).

        In this process by default, as nbgrader's own test suite does
        (``nbgrader.tests.run_nbgrader``): the same application, configuration
        files and exchange as the command line, without two seconds of imports
        per command. ``in_process=False`` runs the real console script.
        """
        if in_process:
            proc = nbgrader_in_process(list(args), cwd or self.root, self.env)
        else:
            proc = subprocess.run(
                [str(BIN / "nbgrader"), *args],
                cwd=cwd or self.root,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=600,
            )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        return proc


    def generate(self, assignment: str, cli: bool = False) -> None:
        """The student versions of an exercise, bokmål and nynorsk, as `course generate` makes them.

        A copy of the course without ``solutions_nynorsk/`` (the tests that are not
        about målform, to save the second generation) gets the bokmål version only.

        (``nbgrader generate_assignment`` alone makes only the bokmål one, and the
        course's release then refuses the exercise.)
        """
        if not (self.root / "solutions_nynorsk" / assignment).is_dir():
            # A copy without the nynorsk sources (tests that are not about målform): bokmål only, as before.
            self.nbgrader("generate_assignment", assignment, "--force", in_process=not cli)
        elif cli:
            proc = subprocess.run([str(BIN / "course"), "generate", assignment], cwd=self.root, env=self.env,
                                  capture_output=True, text=True, timeout=600)
            assert proc.returncode == 0, proc.stdout + proc.stderr
        else:
            from course.instructor.malform import generate_all

            generate_all(self.root, [assignment])

    def student(self, *args: str, home: Path, in_process: bool = True, check: bool = True) -> subprocess.CompletedProcess:
        """An nbgrader command as a student in their own folder, which has no course config.

        Each student gets their own exchange cache, as separate accounts would;
        otherwise fetch_feedback would hand one student everyone's feedback.
        """
        return self.nbgrader(
            *args,
            f"--CourseDirectory.course_id={COURSE_ID}",
            f"--Exchange.root={self.exchange}",
            f"--Exchange.assignment_dir={home}",
            f"--Exchange.cache={home / '.nbgrader_cache'}",
            cwd=home,
            in_process=in_process,
            check=check,
        )


@pytest.fixture
def course(tmp_path: Path) -> Course:
    """A copy of the course's config and solutions/ in a temporary folder."""
    root = tmp_path / "kurs"
    root.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", root)
    (root / "mine_oppgaver").mkdir()
    shutil.copy(ROOT / "mine_oppgaver" / "nbgrader_config.py", root / "mine_oppgaver")
    shutil.copytree(ROOT / "solutions", root / "solutions", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return Course(root, tmp_path / "exchange")
