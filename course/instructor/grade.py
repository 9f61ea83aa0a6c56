"""``course grade``: collect, autograde, check for tampering, generate feedback, and report in Norwegian."""

from __future__ import annotations

import datetime as dt
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import MissingEntry

from course import frister as deadlines
from course.exchange import read_late_refused, read_records
from . import autograde
from .collect import check_zip, collect_exchange, collect_zip, submitted_students
from .common import CourseError, check_assignment, last_error, nbgrader, open_gradebook, submitted_notebook
from .malform import released_version, submitted_version
from .frister import load as load_deadlines, sync_gradebook
from .tamper import find_tampering
from ..malform import NYNORSK


@dataclass
class GradeReport:
    assignment: str
    outcomes: list = field(default_factory=list)
    tampered: dict[str, list[str]] = field(default_factory=dict)
    malform: dict[str, str] = field(default_factory=dict)  # student -> "nb" or "nn" (the version graded)
    manual: list[str] = field(default_factory=list)
    feedback: list[str] = field(default_factory=list)
    feedback_error: str = ""
    # From the exchange's collect (course/exchange/): changed after submitting, and folders not collected.
    changed: dict[str, list[str]] | None = None  # None: collected from a zip file, not checked
    rejected: dict[str, list[str]] = field(default_factory=dict)
    # Deadlines (course/frister.py): the policy, submissions graded late, and late ones not collected.
    policy: str = ""
    late: dict[str, str] = field(default_factory=dict)          # student -> "how late, deadline, penalty"
    late_refused: dict[str, str] = field(default_factory=dict)  # student -> "how late, deadline"

    @property
    def ok(self) -> bool:
        return (not self.tampered and all(o.status != "failed" for o in self.outcomes) and not self.feedback_error
                and not self.changed and not self.rejected)


def ensure_in_gradebook(root: Path, assignment: str) -> None:
    """autograde needs the assignment's cells in the gradebook; generate_assignment puts them there."""
    try:
        with open_gradebook(root) as gb:
            if gb.find_assignment(assignment).notebooks:
                return
    except MissingEntry:
        pass
    proc = nbgrader(root, "generate_assignment", assignment, "--force", in_process=True)
    if proc.returncode != 0:
        raise CourseError(f"Kunne ikke legge oppgaven inn i karakterboken (nbgrader generate_assignment): {last_error(proc)}")


@contextmanager
def _kernel_noise_hidden():
    """Send what kernels and nbgrader write to stderr to /dev/null; yield the real stderr for the progress bar.

    Every kernel started while grading prints a warning of its own; the
    outcome of each submission is reported from nbgrader's captured log.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    terminal = os.fdopen(os.dup(saved), "w", encoding="utf-8", errors="replace")
    try:
        yield terminal
    finally:
        terminal.flush()
        terminal.close()
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def grade(root: Path, assignment: str, *, archive: Path | None = None, workers: int = 1,
          show_progress: bool = True) -> GradeReport:
    check_assignment(root, assignment)
    if archive is not None:
        archive = check_zip(archive)
    ensure_in_gradebook(root, assignment)
    rules, plan = load_deadlines(root)  # before collecting: a mistake in the file must not decide what is collected
    if archive is not None:
        collect_zip(root, assignment, archive)
    else:
        collect_exchange(root, assignment)
    students = submitted_students(root, assignment)
    report = GradeReport(assignment)
    if archive is None:
        report.changed, report.rejected = read_records(root, assignment)
        report.late_refused = _late_refused(read_late_refused(root, assignment))
    if not students:
        where = f"zip-filen {archive}" if archive else "utvekslingsmappen"
        refused = f" ({len(report.late_refused)} levert etter fristen ble ikke samlet inn)" if report.late_refused else ""
        raise CourseError(f"Fant ingen innleveringer av {assignment} i {where}{refused}.")
    sync_gradebook(root, assignment, plan, students)
    if assignment in plan.deadlines:
        report.policy = rules.describe()
    from tqdm import tqdm

    with _kernel_noise_hidden() as terminal, tqdm(
        total=len(students), desc=f"Retter {assignment}", unit=" innlevering",
        disable=not show_progress, ascii=True, file=terminal,
    ) as bar:
        def progress(outcome) -> None:
            bar.set_postfix_str(outcome.student)
            bar.update(1)

        report.outcomes = autograde.autograde_submissions(root, assignment, students, workers=workers,
                                                          progress=progress)

    release = root / "exercises" / assignment
    for outcome in report.outcomes:
        if outcome.status == "failed":
            continue
        try:
            path, malform, _ = submitted_version(submitted_notebook(root, assignment, outcome.student).parent,
                                                 assignment, release)
            report.malform[outcome.student] = malform
            changes = find_tampering(released_version(release, assignment, malform), path)
        except Exception:  # an unreadable notebook was graded anyway: nothing to compare
            changes = []
        if changes:
            report.tampered[outcome.student] = changes

    graded = [o.student for o in report.outcomes if o.status != "failed"]
    if graded:
        proc = nbgrader(root, "generate_feedback", assignment, "--force", in_process=True)
        if proc.returncode != 0:
            report.feedback_error = last_error(proc)
    for student in graded:
        if list((root / "feedback" / student / assignment).glob("*.html")):
            report.feedback.append(student)
    with open_gradebook(root) as gb:
        for student in graded:
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                continue
            if submission.needs_manual_grade:
                report.manual.append(student)
            if submission.total_seconds_late > 0:
                report.late[student] = _late_note(submission, plan.is_extended(assignment, student))
    return report


def _late_note(submission, extended: bool) -> str:
    """«3 timer etter fristen (fredag … kl. 23.59, forlenget), trekk 2 poeng» for one graded submission."""
    due = deadlines.format_time(submission.duedate.replace(tzinfo=deadlines.UTC) - deadlines.MINUTE_END)
    penalty = float(submission.late_submission_penalty or 0)
    own = ", forlenget" if extended else ""
    return (f"{deadlines.format_duration(submission.total_seconds_late)} etter fristen ({due}{own}), "
            f"trekk {penalty:g} poeng")


def _late_refused(found: dict[str, list[dict]]) -> dict[str, str]:
    notes = {}
    for student, entries in found.items():
        entry = max(entries, key=lambda e: e.get("seconds_late") or 0)
        due = deadlines.format_time(dt.datetime.fromisoformat(entry["deadline"]) - deadlines.MINUTE_END)
        own = ", forlenget" if entry.get("extended") else ""
        late = deadlines.format_duration(entry["seconds_late"] or 0)
        notes[student] = f"{late} etter fristen ({due}{own})"
    return notes


def format_report(report: GradeReport) -> str:
    outcomes = report.outcomes
    done = [o for o in outcomes if o.status != "failed"]
    failed = [o for o in outcomes if o.status == "failed"]
    width = max((len(o.student) for o in outcomes), default=8)
    lines = [f"Retting av {report.assignment}: {len(outcomes)} innleveringer, {len(done)} rettet, {len(failed)} ikke rettet.", ""]
    lines.append(f"Rettet automatisk ({len(done)}):")
    for o in done:
        note = f"  ({o.reason}: se over innleveringen)" if o.status == "review" else ""
        form = "  nynorsk" if report.malform.get(o.student) == NYNORSK else ""
        lines.append(f"  {o.student:<{width}}  {_fmt(o.score)} av {_fmt(o.max_score)} poeng{form}{note}")
    if not done:
        lines.append("  ingen")
    lines.append("")
    lines.append(f"Kunne ikke rettes ({len(failed)}):")
    lines.extend(f"  {o.student:<{width}}  {o.reason}" for o in failed)
    if not failed:
        lines.append("  ingen")
    lines.append("")
    lines.append(f"Endret eller slettet låste celler ({len(report.tampered)}):")
    for student, changes in report.tampered.items():
        lines.append(f"  {student:<{width}}  {'; '.join(changes)}")
    if not report.tampered:
        lines.append("  ingen")
    else:
        lines.append("  (Poengene er satt med de opprinnelige cellene; nbgrader har lagt dem tilbake.)")
    lines.append("")
    if report.changed is not None:
        lines.append(f"Endret etter innlevering ({len(report.changed)}):")
        lines.extend(f"  {student:<{width}}  {'; '.join(notes)}" for student, notes in report.changed.items())
        lines.append("  (Se docs/utveksling.md før du setter poeng.)" if report.changed else "  ingen")
        lines.append("")
    if report.rejected:
        lines.append(f"Ikke samlet inn fra utvekslingsmappen ({len(report.rejected)}):")
        lines.extend(f"  {student:<{width}}  {'; '.join(notes)}" for student, notes in report.rejected.items())
        lines.append("")
    if report.policy:
        lines.append(f"Levert etter fristen ({len(report.late)}):")
        lines.extend(f"  {student:<{width}}  {note}" for student, note in sorted(report.late.items()))
        if not report.late:
            lines.append("  ingen")
        if report.late_refused:
            lines.append(f"Levert etter fristen og ikke samlet inn ({len(report.late_refused)}):")
            lines.extend(f"  {student:<{width}}  {note}" for student, note in sorted(report.late_refused.items()))
        lines.append(f"  (Regel: {report.policy}. Tiden er den innleveringen kan stoles på, målt mot "
                     "studentens egen frist.)")
        lines.append("")
    if done:
        nynorsk = sum(1 for o in done if report.malform.get(o.student) == NYNORSK)
        lines.append(f"Målform: {len(done) - nynorsk} svarte på bokmål, {nynorsk} på nynorsk (samme oppgave, samme retting).")
    lines.append(f"Trenger manuell vurdering i formgrader ({len(report.manual)}): {', '.join(report.manual) or 'ingen'}")
    lines.append(f"Tilbakemelding laget for {len(report.feedback)} av {len(done)} i feedback/.")
    if report.feedback_error:
        lines.append(f"Tilbakemeldingene kunne ikke lages for alle: {report.feedback_error}")
    lines.append("")
    lines.append("Alt er rettet." if report.ok else "Noe trenger oppmerksomhet: se listene over.")
    return "\n".join(lines)
