"""``course frister``: check the term's deadlines file, show the plan, and put it into the gradebook.

The file and its rules are in course/frister.py. This is the instructor's
side: the class list to check names against, the gradebook (nbgrader's due
date and per-student extension, which its late penalty reads), and the plan
as a table in Norwegian.
"""

from __future__ import annotations

import grp
import os
from pathlib import Path

from course import frister
from .common import CourseError, assignments, gradebook_url, nbgrader_config, open_gradebook


def policy(root: Path) -> frister.DeadlinePolicy:
    return frister.DeadlinePolicy(config=nbgrader_config(root))


def class_list(root: Path) -> set[str] | None:
    """Everyone who may hand in: the students' Unix group on a class server, and the gradebook's students.

    None when neither knows anyone (names are then not checked).
    """
    names: set[str] = set()
    group = os.environ.get("SAMSKAPING_STUDENTER", "samskaping-studenter")
    try:
        names |= set(grp.getgrnam(group).gr_mem)
    except KeyError:
        pass
    from .report import _missing_sqlite_file

    url = gradebook_url(root)
    if _missing_sqlite_file(url) is None:  # opening a missing SQLite gradebook would create an empty one
        try:
            with open_gradebook(root, url) as gb:
                names |= {s.id for s in gb.students}
        except CourseError:
            pass
    return names or None


def load(root: Path, *, check_names: bool = True) -> tuple[frister.DeadlinePolicy, frister.Plan]:
    """The course's policy and plan, every line checked; a CourseError (Norwegian, naming the lines) if not usable."""
    rules = policy(root)
    try:
        plan = frister.read_plan(root, file=rules.file, exercises=set(assignments(root)),
                                 students=class_list(root) if check_names else None)
    except frister.DeadlineError as error:
        raise CourseError(f"{error}\nRett linjene over i {rules.file}, og kjør «course frister» igjen.") from None
    return rules, plan


def _naive_utc(instant):
    return instant.astimezone(frister.UTC).replace(tzinfo=None)


def sync_gradebook(root: Path, assignment: str, plan: frister.Plan, students: list[str]) -> None:
    """Put ``assignment``'s deadline and these students' extensions into the gradebook, for nbgrader's penalty.

    nbgrader measures lateness against the assignment's due date plus the
    submission's extension. Nothing is changed for an exercise the file gives
    no deadline (a due date set with `nbgrader db assignment add --duedate` stays).
    """
    base = plan.deadlines.get(assignment)
    if base is None:
        return
    with open_gradebook(root) as gb:
        gb.update_or_create_assignment(assignment, duedate=_naive_utc(base.end))
        for student in students:
            if not any(s.id == student for s in gb.students):
                gb.add_student(student)
            gb.update_or_create_submission(assignment, student)
            own = plan.deadline_for(assignment, student)
            extra = (own.end - base.end).total_seconds() / 60
            gb.grant_extension(assignment, student, minutes=extra)


def format_plan(rules: frister.DeadlinePolicy, plan: frister.Plan, course_exercises: list[str]) -> str:
    lines = ["Fristene for emnet (norsk tid):"]
    width = max((len(a) for a in course_exercises), default=10)
    for exercise in course_exercises:
        deadline = plan.deadlines.get(exercise)
        lines.append(f"  {exercise:<{width}}  {deadline.text() if deadline else 'ingen frist'}")
    lines.append("")
    extensions = sorted(plan.extensions.values(), key=lambda d: (d.exercise, d.student))
    lines.append(f"Forlengede frister ({len(extensions)}):")
    for d in extensions:
        lines.append(f"  {d.exercise:<{width}}  {d.student}: {d.text()} (linje {d.line})")
    if not extensions:
        lines.append("  ingen")
    lines.append("")
    lines.append(f"Regel: {rules.describe()} (DeadlinePolicy i nbgrader_config.py).")
    return "\n".join(lines)


def run(root: Path, *, accept_past: bool = False, now=None) -> str:
    """`course frister`: check the file, question new deadlines already past, show the plan; raise CourseError."""
    rules, plan = load(root)
    path = root / rules.file
    if not path.is_file():
        return (f"Fant ingen fristfil ({path}). Uten den håndheves ingen frister. Lag den slik "
                "lærerveiledningen viser (avsnittet om frister), og kjør «course frister» igjen.")
    past = frister.check_past(root, plan, now)
    if past and not accept_past:
        raise CourseError(f"Fristfilen {path} har {len(past)} frist(er) som allerede er passert:\n"
                          + "\n".join(f"  {p}" for p in past))
    frister.accept(root, plan)
    return format_plan(rules, plan, assignments(root))
