"""An exercise from release to feedback, clicked through JupyterLab's nbgrader panels.

The student fetches the exercise in the Assignment List, types the solution's
answers and a reflection into the notebook, validates and submits; the
instructor collects and autogrades with the real nbgrader commands, then grades
the reflection in Formgrader and generates the feedback. The first exercise is
used: the command-line workflow for every exercise is in test_nbgrader_workflow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import nbformat
import pytest
from nbgrader.api import Gradebook
from playwright.sync_api import Page, expect

from browser.conftest import SCREENSHOTS, Lab, new_page
from browser.notebook import cell
from conftest import assignments
from answers import points as _points

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ASSIGNMENT = assignments()[0]
REFLECTION = "Frivilligsentralen og kommunen planla et tilbud sammen med de unge, og alle tre partene var med fra starten."
COMMENT = "Godt eksempel, og du begrunner hvorfor alle tre partene trengs."


@dataclass
class Submission:
    student: str
    code_score: float
    auto_points: float
    manual_points: float


def _answers(lab: Lab) -> dict[str, str]:
    """The solution's answer for each answer cell (grade_id -> source without the solution markers)."""
    source = lab.root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    answers = {}
    for c in nbformat.read(source, as_version=4).cells:
        meta = c.metadata.get("nbgrader", {})
        if meta.get("solution") and c.cell_type == "code":
            lines = [line for line in c.source.splitlines() if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line]
            answers[meta["grade_id"]] = "\n".join(lines)
    return answers


def _type_into(page: Page, index: int, text: str) -> None:
    """Replace a cell's text as a student does: into the editor, select all, type."""
    target = cell(page, index)
    target.scroll_into_view_if_needed()
    rendered = target.locator(".jp-MarkdownOutput")
    if rendered.count() and rendered.is_visible():
        rendered.dblclick()  # a rendered markdown cell opens its editor on double-click
    target.locator(".cm-content").click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text(text)
    expect(target.locator(".cm-content")).to_contain_text(text.splitlines()[-1])


def _manual_tasks(lab: Lab) -> dict[str, float]:
    """grade_id -> points of the cells graded by hand (reflections)."""
    source = lab.root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    tasks = {}
    for c in nbformat.read(source, as_version=4).cells:
        meta = c.metadata.get("nbgrader", {})
        if meta.get("task") or (meta.get("grade") and meta.get("solution") and c.cell_type == "markdown"):
            tasks[meta["grade_id"]] = float(meta["points"])
    return tasks


def _open_assignment_list(page: Page) -> None:
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    page.get_by_role("menuitem", name="Assignment List").click()


@pytest.fixture(scope="module")
def submission(browser, lab: Lab) -> Submission:
    lab.course.generate(ASSIGNMENT)
    lab.course.nbgrader("release_assignment", ASSIGNMENT)
    page = new_page(browser, lab, "mine_oppgaver")
    try:
        # Fetch in the Assignment List.
        _open_assignment_list(page)
        page.locator("#released_assignments_list .list_item", has_text=ASSIGNMENT).get_by_role("button", name="Fetch").click()
        fetched = page.locator("#fetched_assignments_list > .list_item", has_text=ASSIGNMENT)
        expect(fetched.get_by_role("button", name="Submit")).to_be_visible()
        student_nb = lab.root / "mine_oppgaver" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert student_nb.is_file(), "Fetch did not put the exercise in mine_oppgaver/"

        # Open it from the list, and answer.
        fetched.locator("a.assignment-notebooks-link").click()  # unfold the exercise's notebooks
        page.locator("#fetched_assignments_list .nested_list_item a", has_text=ASSIGNMENT).first.click()
        expect(page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-cell").first).to_be_visible()
        answers = _answers(lab)
        cells = nbformat.read(student_nb, as_version=4).cells
        for index, c in enumerate(cells):
            meta = c.metadata.get("nbgrader", {})
            if meta.get("grade_id") in answers and meta.get("solution"):
                _type_into(page, index, answers[meta["grade_id"]])
            if meta.get("task") and index + 1 < len(cells) and "nbgrader" not in cells[index + 1].metadata:
                _type_into(page, index + 1, REFLECTION)
        page.keyboard.press("Escape")
        panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        panel.locator("[data-jp-item-name=save]").click()  # the toolbar's save button
        expect(page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty")).to_have_count(0)

        # Validate from the notebook's toolbar.
        panel.locator(".jp-Toolbar").get_by_text("Validate", exact=True).click()
        dialog = page.locator(".jp-Dialog")
        expect(dialog).to_contain_text("Success! Your notebook passes all the tests.", timeout=120_000)
        (SCREENSHOTS / "oppgaver").mkdir(parents=True, exist_ok=True)
        dialog.locator(".jp-Dialog-content").screenshot(path=SCREENSHOTS / "oppgaver" / f"{ASSIGNMENT}_validate.png")
        dialog.get_by_role("button").last.click()
        expect(dialog).to_have_count(0)

        # Submit in the Assignment List.
        page.locator(".lm-TabBar-tab", has_text="Assignments").first.click()
        fetched.get_by_role("button", name="Submit").click()
        expect(page.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT).first).to_be_visible()
        page.locator("#nbgrader-assignment-list .panel-group").screenshot(path=SCREENSHOTS / "oppgaver" / f"{ASSIGNMENT}_innlevert.png")
    finally:
        page.context.close()
        lab.shutdown_kernels()

    # The instructor: real nbgrader commands.
    lab.course.nbgrader("collect", ASSIGNMENT)
    lab.course.nbgrader("autograde", ASSIGNMENT)
    source = lab.root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    with Gradebook(f"sqlite:///{lab.root / 'gradebook.db'}") as gb:
        [student] = [s.id for s in gb.students]
        code_score = gb.find_submission(ASSIGNMENT, student).code_score
    return Submission(student, code_score, _points(source, kind="auto"), _points(source, kind="manual"))


def test_student_submission_scores_full_autograded_points(submission: Submission):
    """Fetched, answered with the solution, validated and submitted in JupyterLab: full autograded points?"""
    assert submission.auto_points > 0
    assert submission.code_score == submission.auto_points


def test_instructor_grades_reflection_in_formgrader(browser, lab: Lab, submission: Submission):
    """Does Formgrader show the submission, take a manual grade and a comment, and do both reach the feedback?"""
    page = new_page(browser, lab, "lessons")
    try:
        page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
        page.get_by_role("menuitem", name="Formgrader").click()
        grader = page.frame_locator(".nbgrader-mainarea-widget iframe, #formgrader iframe").first
        grader.get_by_role("link", name="Manual Grading").click()
        grader.get_by_role("link", name=ASSIGNMENT, exact=True).click()
        grader.get_by_role("link", name=ASSIGNMENT, exact=True).click()  # the notebook
        grader.get_by_role("link", name=re.compile("Submission #1")).click()
        for grade_id, points in _manual_tasks(lab).items():
            score = grader.locator(f"input.score#{grade_id}")
            comment = grader.locator(f"textarea.comment#{grade_id}-comment")
            expect(score).to_have_class(re.compile("needs_manual_grade"))
            with page.expect_response(lambda r: "/api/grade/" in r.url and r.request.method == "PUT"):
                score.fill(f"{points:g}")
                score.press("Tab")
            with page.expect_response(lambda r: "/api/comment/" in r.url and r.request.method == "PUT"):
                comment.fill(COMMENT)
                comment.press("Tab")
            expect(score).not_to_have_class(re.compile("needs_manual_grade"))
            (SCREENSHOTS / "oppgaver").mkdir(parents=True, exist_ok=True)
            comment.scroll_into_view_if_needed()
            page.screenshot(path=SCREENSHOTS / "oppgaver" / f"{ASSIGNMENT}_formgrader.png")
    finally:
        page.context.close()

    lab.course.nbgrader("generate_feedback", ASSIGNMENT)
    [feedback] = (lab.root / "feedback" / submission.student / ASSIGNMENT).glob("*.html")
    text = re.sub(r"<[^>]+>", " ", feedback.read_text(encoding="utf-8"))
    assert COMMENT in text, "the comment from Formgrader is missing in the feedback"
    total = submission.auto_points + submission.manual_points
    assert re.search(rf"\(Poeng:\s*{total:g}(\.0)?\s*/\s*{total:g}(\.0)?\)", text), "the feedback shows the wrong total"
