"""Autograde collected submissions: one ``nbgrader autograde --student=X`` per student.

This module is the one seam between ``course grade`` and the grading itself: the
sandboxed, parallel grader replaces it with a module of the same names and
signature. Keep tamper detection, feedback and reporting out of it.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from .common import last_error, nbgrader

# Wall-clock limit for grading one submission. nbgrader's own per-cell limit
# (Execute.timeout in nbgrader_config.py) normally stops a stuck cell first.
SUBMISSION_TIMEOUT = 600

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


def grade_one(course_root: Path, assignment: str, student: str, timeout: float = SUBMISSION_TIMEOUT) -> Outcome:
    """Autograde one student's collected submission; never raises for a broken submission."""
    try:
        proc = nbgrader(course_root, "autograde", assignment, f"--student={student}", "--force", timeout=timeout)
    except subprocess.TimeoutExpired:
        return Outcome(student, "failed", f"tidsavbrudd (rettingen tok mer enn {timeout:g} sekunder)")
    output = proc.stdout + proc.stderr
    if proc.returncode != 0 or not (course_root / "autograded" / student / assignment).is_dir():
        reason = _reason(output) or f"nbgrader feilet: {last_error(proc)}"
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
    outcomes = []
    for student in students:
        outcome = grade_one(Path(course_root), assignment, student)
        outcomes.append(outcome)
        if progress is not None:
            progress(outcome)
    return outcomes
