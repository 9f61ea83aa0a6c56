"""Every lesson in a real JupyterLab: a student runs all cells and uses every activity.

Generic over ``lessons/*.ipynb``: the activities are the ``activity("...")``
calls in each lesson, and the controls are used by kind (see
``notebook.CONTROLS``). Each lesson is opened and run once; the tests below
share that page, in this order: render, errors, accessibility, keyboard,
mouse (screenshots), accessibility of the feedback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from browser.conftest import SCREENSHOTS, new_page
from browser.notebook import (
    RESPONSE,
    VERDICT,
    Activity,
    activities,
    checks_right_or_wrong,
    cell,
    error_outputs,
    feedback_text,
    response_text,
    output_area,
    run_all_cells,
    screenshot,
    use_with_keyboard,
    use_with_mouse,
    wait_until_settled,
    widget_views,
)
from conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LESSONS = sorted((ROOT / "lessons").glob("*.ipynb"))


@dataclass
class OpenLesson:
    path: Path
    page: Page
    activities: list[Activity]


@pytest.fixture(scope="module", params=LESSONS, ids=[p.stem for p in LESSONS])
def lesson(request, browser, lab, axe_source):
    path: Path = request.param
    page = new_page(browser, lab, f"lessons/{path.name}")
    try:
        run_all_cells(page)
        page.add_script_tag(path=str(axe_source))
        yield OpenLesson(path, page, activities(path))
    finally:
        page.context.close()
        lab.shutdown_kernels()


def _views(lesson: OpenLesson):
    """(activity, widget view) for every activity in the lesson, the view scrolled into sight."""
    for act in lesson.activities:
        for view in widget_views(lesson.page, act).all():
            view.scroll_into_view_if_needed()
            yield act, view


def test_every_activity_renders_as_a_widget(lesson: OpenLesson):
    """Does each activity("...") call show a working widget (not the text repr "VBox(children=...)")?"""
    expected = sum(len(a.ids) for a in lesson.activities)
    assert expected >= 2, "a lesson has at least two activities"
    for act in lesson.activities:
        views = widget_views(lesson.page, act)
        expect(views, f"{act.name}: the widget did not render").to_have_count(len(act.ids))
        reprs = cell(lesson.page, act.cell_index).locator('[data-mime-type="text/plain"]').all_text_contents()
        assert not reprs, f"{act.name} shows text instead of a widget: {reprs}"
    rendered = sum(widget_views(lesson.page, a).count() for a in lesson.activities)
    assert rendered == expected, f"{rendered} widgets rendered, {expected} activity() calls"


def test_no_cell_shows_an_error(lesson: OpenLesson):
    """After Run All Cells, does any cell show a traceback or an error?"""
    assert error_outputs(lesson.page) == []


def _axe(lesson: OpenLesson) -> dict[str, list[str]]:
    """Serious and critical axe-core violations in the course's own markup: the activities' outputs.

    JupyterLab's interface (menus, toolbars, prompts, the file browser) is out
    of scope: it is not the course's markup and the course cannot change it.
    Nothing inside an activity is excused: every control must have a name.
    """
    found: dict[str, list[str]] = {}
    for act, view in _views(lesson):
        output = view.locator("xpath=..")  # the .jp-OutputArea-output holding the view
        violations = lesson.page.evaluate(
            """async (el) => {
                const result = await axe.run(el, {resultTypes: ['violations']});
                return result.violations
                    .filter(v => v.impact === 'serious' || v.impact === 'critical')
                    .map(v => `${v.impact} ${v.id} (${v.help}): ` +
                              v.nodes.map(n => n.target.join(' ') + ' ' + n.failureSummary).join(' | '));
            }""",
            output.element_handle(),
        )
        if violations:
            found.setdefault(act.name, []).extend(violations)
    return found


def test_activities_are_accessible(lesson: OpenLesson):
    """Does axe-core find no serious or critical WCAG problem in the activities (labels, names, contrast, images)?"""
    assert _axe(lesson) == {}


def _wait_for_new_feedback(lesson: OpenLesson, act: Activity, view, before: str) -> str:
    """Wait until the activity shows something new (``before`` is its response_text); return the feedback."""
    try:
        lesson.page.wait_for_function(
            """([view, before, selector]) => {
                const text = [...view.querySelectorAll(selector)].map(e => e.textContent).join('\\n');
                return text !== before;
            }""",
            arg=[view.element_handle(), before, RESPONSE],
            polling=100,
        )
    except PlaywrightTimeout:
        pytest.fail(f"{act.name}: what the activity shows did not change after using it; it still says {before[-500:]!r}")
    # Every choice and click handled: the feedback now answers the last choice, not an earlier one.
    wait_until_settled(lesson.page, act.name)
    after = feedback_text(view)
    assert after.strip(), f"{act.name}: no feedback in a status region (role=status) after using it"
    # Not colour alone: words besides any ✔/✘; and an activity that checks answers says ✔ or ✘.
    assert len(re.sub(r"[✔✘\s]", "", after)) >= 3, f"{act.name}: feedback without words: {after!r}"
    if checks_right_or_wrong(view):
        assert VERDICT.search(after), f"{act.name}: no ✔/✘ in the feedback: {after!r}"
    return after


def test_activities_work_from_the_keyboard(lesson: OpenLesson):
    """Tab to each control, choose with arrow keys or Space, press the main button with Enter: does the feedback change?"""
    for act, view in _views(lesson):
        wait_until_settled(lesson.page, f"{act.name} (before using it)")
        before = response_text(view)
        keys = use_with_keyboard(lesson.page, view)
        changed_a_value = any(k in keys for k in ("ArrowDown", "ArrowRight", "Space", "Enter")) or any(
            k.startswith("type") for k in keys
        )
        assert changed_a_value, (
            f"{act.name}: the focus left the activity before anything was chosen (keys: {keys}). "
            "Did a JupyterLab shortcut take an arrow key (see config/jupyterlab-overrides.json)?"
        )
        _wait_for_new_feedback(lesson, act, view, before)


def test_using_each_activity_changes_the_feedback(lesson: OpenLesson):
    """Choose, type and press the main button with the mouse: does the feedback a student sees change?"""
    folder = SCREENSHOTS / lesson.path.stem
    folder.mkdir(parents=True, exist_ok=True)
    for number, (act, view) in enumerate(_views(lesson), start=1):
        wait_until_settled(lesson.page, f"{act.name} (before using it)")
        before = response_text(view)
        assert use_with_mouse(view) > 0, f"{act.name}: no control the test knows how to use (see CONTROLS)"
        _wait_for_new_feedback(lesson, act, view, before)
        screenshot(lesson.page, output_area(lesson.page, act), folder / f"{number:02d}_{act.name}.png")


def test_feedback_is_accessible(lesson: OpenLesson):
    """With the feedback showing (colours, symbols, status regions): still no serious or critical axe violation?"""
    assert _axe(lesson) == {}

