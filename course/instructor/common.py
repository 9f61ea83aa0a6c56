"""Shared helpers for the instructor tooling: the course root, nbgrader subprocesses, notebooks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat

BIN = Path(sys.executable).parent
HIDDEN_TESTS = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)
MARK_SCHEME = re.compile(r"=== BEGIN MARK SCHEME ===.*?=== END MARK SCHEME ===\n?", re.S)
SOLUTION = re.compile(r"### BEGIN SOLUTION.*?### END SOLUTION\n?", re.S)


class CourseError(Exception):
    """An error the instructor can act on; the message is Norwegian and says what to do."""


def find_root(start: Path | None = None) -> Path:
    """The course root: the nearest folder (from ``start`` upwards) holding nbgrader_config.py and solutions/."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").is_file() and (folder / "solutions").is_dir():
            return folder
    raise CourseError(
        f"Fant ikke kursmappen fra {here}: Ingen mappe over den har både nbgrader_config.py og solutions/. "
        "Gå til kursmappen, eller oppgi den med --kurs."
    )


def assignments(root: Path) -> list[str]:
    """The exercise ids: every solutions/oppgave_* folder that holds a notebook of the same name."""
    return sorted(p.name for p in (root / "solutions").glob("oppgave_*") if (p / f"{p.name}.ipynb").is_file())


def check_assignment(root: Path, assignment: str) -> None:
    if assignment not in assignments(root):
        known = ", ".join(assignments(root)) or "ingen"
        raise CourseError(f"Oppgaven «{assignment}» finnes ikke i solutions/. Kjente oppgaver: {known}.")


def nbgrader_env() -> dict[str, str]:
    """The environment for nbgrader subprocesses: this environment's bin/ first (nbgrader calls alembic)."""
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "JUPYTER_PLATFORM_DIRS": "1",
    }


def nbgrader(root: Path, *args: str, timeout: float | None = 900) -> subprocess.CompletedProcess:
    """Run an nbgrader command in the course root; never raises on a non-zero exit (the caller decides)."""
    return subprocess.run(
        [str(BIN / "nbgrader"), *args],
        cwd=root,
        env=nbgrader_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def last_error(proc: subprocess.CompletedProcess) -> str:
    """The most telling line of a failed nbgrader run (its last ERROR line, or its last line)."""
    lines = [line.strip() for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    errors = [line for line in lines if "ERROR" in line or "Error" in line]
    return (errors or lines or ["(ingen utdata)"])[-1][:300]


def read_notebook(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def submitted_notebook(root: Path, assignment: str, student: str) -> Path:
    return root / "submitted" / student / assignment / f"{assignment}.ipynb"
