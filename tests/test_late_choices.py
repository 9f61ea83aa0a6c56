"""A choice that reaches the kernel after the click meant for it still decides the feedback.

ipywidgets buffers a control's new value while the kernel is busy with the
previous one, but sends a button click at once; on a busy server a student's
last choice can therefore arrive just after their «Sjekk» click. These tests
replay that order in the kernel: click first, the changed value second.
"""

from __future__ import annotations

from course import loader, models
from course.widgets import LadderWidget, MatchingTableWidget, MultipleChoiceWidget, SortingWidget, activity
from test_models import QUESTION, TASK
from test_risk_and_case import GOOD_CASE


def _value_of(control, label: str):
    """The value of the option a student sees as ``label``."""
    return dict(control.options)[label]


def test_multiple_choice_feedback_follows_a_choice_that_arrives_after_the_click():
    w = MultipleChoiceWidget(QUESTION)
    w.choice.value = _value_of(w.choice, "Første")
    w.check.click()
    assert "Første er feil" in w.feedback.value
    w.choice.value = _value_of(w.choice, "Andre")  # the late value
    assert "Andre er riktig" in w.feedback.value and "✔" in w.feedback.value


def test_no_feedback_appears_before_the_first_check():
    w = MultipleChoiceWidget(QUESTION)
    w.choice.value = _value_of(w.choice, "Andre")
    assert w.feedback.value == "", "choosing alone must not reveal the answer"
    s = SortingWidget(TASK)
    s.choices[0].value = "Samskaping"
    assert s.summary.value == "" and s.case_feedback[0].value == ""


def test_sorting_feedback_follows_a_late_choice():
    w = SortingWidget(TASK)
    w.choices[0].value = "Samarbeid"
    w.check.click()
    assert "Du har 0 av 2 riktige" in w.summary.value
    w.choices[0].value = "Samskaping"
    assert "Riktig: Samskaping" in w.case_feedback[0].value
    assert "Du har 1 av 2 riktige" in w.summary.value


def test_ladder_and_matching_table_follow_a_late_choice():
    ladder = next(activity(key) for key, entry in loader.load_all().items() if isinstance(entry, models.LadderTask))
    assert isinstance(ladder, LadderWidget)
    ladder.check.click()
    before = ladder.summary.value
    ladder.choices[0].value = ladder.choices[0].options[0][1]
    assert ladder.summary.value != before and ladder.case_feedback[0].value
    table = next(
        activity(key) for key, entry in loader.load_all().items() if isinstance(entry, models.MatchingTable)
    )
    assert isinstance(table, MatchingTableWidget)
    table.check.click()
    first = table.choices[0][0]
    first.value = first.options[1][1]
    assert table.cell_feedback[0][0].value, "the changed cell is judged without a new click"


def test_a_late_choice_in_the_branching_case_replaces_the_step_it_was_meant_for():
    from course.widgets import BranchingCaseWidget

    case = loader.parse("test.yaml", GOOD_CASE)["case"]
    w = BranchingCaseWidget(case)
    first = w.choice
    first.value = _value_of(first, "Få")
    w.choose.click()  # the click is handled with «Få» (which ends the case) ...
    assert "Oppdage: Få" in w.path.value and "Oppsummering." in w.situation.value
    first.value = _value_of(first, "Alle")  # ... but the student had chosen «Alle»
    assert "Oppdage: Alle" in w.path.value and "Oppdage: Få" not in w.path.value
    assert "Bra." in w.consequence.value and "Hvem setter dagsorden?" in w.situation.value
    assert len(w.walk.path) == 1, "the step is replaced, not added"
    # The new step has a control of its own; once the student has moved on from it,
    # a stray value on the old control no longer counts.
    second = w.choice
    assert second is not first and second.value is None
    second.value = _value_of(second, "Målgruppen")
    w.choose.click()
    assert len(w.walk.path) == 2
    first.value = _value_of(first, "Få")
    assert len(w.walk.path) == 2 and "Oppdage: Alle" in w.path.value


def test_step_back_undoes_the_last_choice():
    case = loader.parse("test.yaml", GOOD_CASE)["case"]
    walk = models.CaseWalk(case)
    start = walk.current
    walk.choose(0)
    walk.step_back()
    assert walk.current is start and walk.path == []
