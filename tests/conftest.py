"""Shared fixtures: the repository, and real nbgrader commands on temporary copies of it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
COURSE_ID = "samskaping"  # as in nbgrader_config.py


def pytest_collection_modifyitems(config, items):
    """Mark the notebook cells that nbval collects as slow, like the nbgrader tests."""
    for item in items:
        if item.__class__.__name__ == "IPyNbCell":
            item.add_marker(pytest.mark.slow)


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

    def nbgrader(self, *args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
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


    def student(self, *args: str, home: Path) -> subprocess.CompletedProcess:
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
