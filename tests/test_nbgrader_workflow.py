"""The exercises through real nbgrader commands on a temporary copy of the course."""

from __future__ import annotations

import csv
import functools
import html
import re
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from answers import answer_file_like_the_solution, points
from conftest import Course, assignments
from course.instructor.check import exemplar_leaks, exemplar_sentences
from course.instructor.feedback import explanation

pytestmark = pytest.mark.slow

ASSIGNMENTS = assignments()


# The sync gate (exercises/ regenerates from solutions/ with no diff), validation
# of every solution and `validate --invert` of every blank exercise are checked
# once, by `course check` over the repository (tests/test_cli.py), which also
# checks the stated point totals and that no solution text reaches students.


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_whole_term_workflow(course: Course, tmp_path: Path, assignment: str):
    """Release -> fetch -> submit -> collect -> autograde -> manual grade -> feedback -> export: are the scores right?

    For the first exercise the instructor's commands go through the `nbgrader`
    console script, one process per command, exactly as an instructor runs
    them; everything else runs the same commands in this process (see
    ``Course.nbgrader``), which saves two to four seconds of imports per
    command. The students' console script is run for real, as real accounts,
    in tests/test_exchange_security.py.
    """
    cli = assignment == ASSIGNMENTS[0]

    run = functools.partial(course.nbgrader, in_process=not cli)
    run_as_student = course.student

    source = course.root / "solutions" / assignment / f"{assignment}.ipynb"
    auto_points = points(source, kind="auto")
    manual_points = points(source, kind="manual")
    assert auto_points > 0 and manual_points > 0, "an exercise needs both autograded and manually graded points"

    course.generate(assignment, cli=cli)
    run("release_assignment", assignment)

    students = {"elev_a": "answered", "elev_b": "blank", "elev_c": "half"}
    homes = {}
    for student, how in students.items():
        home = tmp_path / student
        home.mkdir()
        homes[student] = home
        run_as_student("fetch_assignment", assignment, home=home)
        fetched = home / assignment / f"{assignment}.ipynb"
        assert fetched.exists()
        if how != "blank":
            share = 1.0 if how == "answered" else 0.5
            answer_file_like_the_solution(fetched, source, "Refleksjonen min om et eksempel fra nærmiljøet.", share)
        run_as_student("submit", assignment, f"--student={student}", home=home)

    run("collect", assignment)
    run("autograde", assignment)

    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:
        answered = gb.find_submission(assignment, "elev_a")
        blank = gb.find_submission(assignment, "elev_b")
        assert answered.code_score == auto_points
        assert blank.code_score == 0
        assert 0 < gb.find_submission(assignment, "elev_c").code_score < auto_points
        assert answered.needs_manual_grade, "the reflection must wait for a human grader"
        # The instructor grades the reflection by hand, as in formgrader.
        task_grades = [g for g in answered.notebooks[0].grades if g.cell_type == "markdown"]
        assert task_grades, "no manually graded cell found"
        for grade in task_grades:
            grade.manual_score = grade.max_score
        for comment in answered.notebooks[0].comments:
            comment.manual_comment = "Godt begrunnet eksempel."
        gb.db.commit()

    run("generate_feedback", assignment)
    run("release_feedback", assignment)
    home = homes["elev_a"]
    run_as_student("fetch_feedback", assignment, "--student=elev_a", home=home)
    feedback = list((home / assignment / "feedback").rglob(f"{assignment}.html"))
    assert len(feedback) == 1, "the student did not receive their feedback"
    text = feedback[0].read_text(encoding="utf-8")
    assert "Godt begrunnet eksempel." in text
    # The course's Norwegian feedback template (course/instructor/templates/feedback) says "Poeng".
    assert re.search(rf"Poeng:\s*{auto_points + manual_points:g}", re.sub(r"<[^>]+>", " ", text)), "feedback shows the wrong total"
    # No exemplar answer from the mark scheme, and every autograded item's explanation ("why", after the deadline).
    shown = re.sub(r"\s+", "", html.unescape(re.sub(r"<[^>]+>", " ", text)))
    source_cells = nbformat.read(source, as_version=4).cells
    assert not exemplar_leaks(shown, exemplar_sentences(nbformat.read(source, as_version=4)))
    for cell in source_cells:
        why = re.sub(r"\s+", "", explanation(cell.source))
        assert why in shown, f"explanation missing from the feedback: {why[:60]}"

    export = course.root / "karakterer.csv"
    run("export", f"--CsvExportPlugin.to={export}")
    rows = {row["student_id"]: row for row in csv.DictReader(export.open(encoding="utf-8"))}
    assert set(rows) == set(students)
    assert float(rows["elev_a"]["score"]) == auto_points + manual_points
    assert float(rows["elev_b"]["score"]) == 0
    assert 0 < float(rows["elev_c"]["score"]) < auto_points
    assert float(rows["elev_a"]["max_score"]) == auto_points + manual_points
