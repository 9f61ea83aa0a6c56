"""Autograde collected submissions with nbgrader's own API, one student at a time.

Each student is graded by ``NbGraderAPI.autograde`` (what formgrader calls), in
this process: starting a fresh ``nbgrader`` process per student costs seconds of
imports each. The student's code still runs in its own kernel, with nbgrader's
per-cell timeout (Execute.timeout in nbgrader_config.py); a broken submission
gives a failed result, never an exception.

This module is the one seam between ``course grade`` and the grading itself: the
sandboxed, parallel grader replaces it with a module of the same names and
signature. Keep tamper detection, feedback and reporting out of it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from .common import nbgrader_env

# What nbgrader or the kernel says, and the Norwegian reason we report.
REASONS = [
    (("NotJSONError", "not valid JSON", "Notebook does not appear to be JSON", "JSONDecodeError",
      "Unreadable Notebook", "NBFormatError", "ValidationError"), "uleselig notatbok"),
    (("DeadKernelError", "Kernel died", "kernel died", "UnresponsiveKernelError"), "kjernen stoppet"),
    (("CellTimeoutError", "TimeoutError", "Timeout waiting"), "tidsavbrudd"),
]


@dataclass
class Outcome:
    student: str
    status: str            # "ok" | "review" | "failed"
    reason: str = ""       # Norwegian, empty when ok: e.g. "tidsavbrudd", "kjernen stoppet", "uleselig notatbok"
    score: float | None = None
    max_score: float | None = None


def _reason(text: str) -> str:
    for needles, reason in REASONS:
        if any(needle in text for needle in needles):
            return reason
    return ""


def _scores(course_root: Path, assignment: str, student: str) -> tuple[float | None, float | None]:
    try:
        with Gradebook(f"sqlite:///{course_root / 'gradebook.db'}") as gb:
            submission = gb.find_submission(assignment, student)
            return float(submission.score), float(submission.max_score)
    except MissingEntry:
        return None, None


def _cell_errors(course_root: Path, assignment: str, student: str) -> str:
    """Error names in the autograded notebooks that point at a stuck cell or a dead kernel."""
    names = []
    for path in sorted((course_root / "autograded" / student / assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    names.append(output.get("ename", ""))
    return " ".join(names)


def _api(course_root: Path):
    """nbgrader's Python API with the course's nbgrader_config.py loaded."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()
    config.CourseDirectory.root = str(course_root)
    return NbGraderAPI(CourseDirectory(config=config), config=config)


def grade_one(api, course_root: Path, assignment: str, student: str) -> Outcome:
    """Autograde one student's collected submission; never raises for a broken submission."""
    try:
        result = api.autograde(assignment, student, force=True, create=True)
    except Exception as error:  # nbgrader reports most failures in the result; be safe anyway
        result = {"success": False, "error": f"{type(error).__name__}: {error}", "log": ""}
    output = f"{result.get('log', '')}\n{result.get('error', '')}"
    if not result.get("success") or not (course_root / "autograded" / student / assignment).is_dir():
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        reason = _reason(output) or "nbgrader feilet: " + (lines[-1][:300] if lines else "ukjent feil")
        return Outcome(student, "failed", reason)
    score, max_score = _scores(course_root, assignment, student)
    # A cell that was stopped after Execute.timeout, or a kernel that died and
    # was restarted, still gives a graded notebook: a human should look at it.
    reason = _reason(_cell_errors(course_root, assignment, student))
    if reason:
        return Outcome(student, "review", f"{reason} i en celle", score, max_score)
    return Outcome(student, "ok", "", score, max_score)


def autograde_submissions(course_root: Path, assignment: str, students: list[str], *, workers: int = 1,
                          progress: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Autograde each student's collected submission (sequentially; ``workers`` is accepted for the interface)."""
    course_root = Path(course_root)
    # nbgrader runs `alembic` for the gradebook, from this environment's bin/.
    os.environ["PATH"] = nbgrader_env()["PATH"]
    api = _api(course_root)
    outcomes = []
    for student in students:
        outcome = grade_one(api, course_root, assignment, student)
        outcomes.append(outcome)
        if progress is not None:
            progress(outcome)
    return outcomes
