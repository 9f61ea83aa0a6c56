"""The student's side of nbgrader in JupyterLab, through the server extension's own code.

JupyterLab's assignment list loads nbgrader's configuration twice: once from
the server's root and once from inside the students' assignment folder. These
tests call that code (nbgrader's AssignmentList, the object behind the
"Assignment List" panel) on a real released exercise; the browser tests click
the same panel.
"""

from __future__ import annotations

import pytest
from nbgrader.server_extensions.assignment_list.handlers import AssignmentList

from conftest import COURSE_ID, Course

pytestmark = pytest.mark.slow


@pytest.fixture
def released(course: Course, monkeypatch) -> Course:
    course.generate("oppgave_01")
    course.nbgrader("release_assignment", "oppgave_01")
    monkeypatch.setenv("NBGRADER_EXCHANGE", str(course.exchange))
    return course


def _panel(course: Course) -> AssignmentList:
    panel = AssignmentList()
    panel.root_dir = str(course.root)
    return panel


def test_assignment_list_shows_released_exercise(released: Course):
    """Does the Assignment List panel find the course and the released exercise with the repo's config?"""
    result = _panel(released).list_assignments(course_id=COURSE_ID)
    assert result["success"], result.get("value")
    assert [(a["course_id"], a["assignment_id"], a["status"]) for a in result["value"]] == [
        (COURSE_ID, "oppgave_01", "released")
    ]


def test_fetch_puts_exercise_in_mine_oppgaver(released: Course):
    """Does pressing Fetch put the student's copy in mine_oppgaver/?"""
    result = _panel(released).fetch_assignment(COURSE_ID, "oppgave_01")
    assert result["success"], result.get("value")
    assert (released.root / "mine_oppgaver" / "oppgave_01" / "oppgave_01.ipynb").is_file()
