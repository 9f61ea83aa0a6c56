"""The widgets: create them, choose, click, and read the feedback a student sees."""

from __future__ import annotations

import ipywidgets as widgets
import pytest

from course import loader, models
from course.widgets import _VIEWS, EstimateWidget, MultipleChoiceWidget, SortingWidget, activity
from test_models import QUESTION, TASK


def test_multiple_choice_shows_explanation_of_chosen_option():
    w = MultipleChoiceWidget(QUESTION)
    assert w.feedback.value == ""
    w.choice.value = 0
    w.check.click()
    assert "Første er feil fordi X." in w.feedback.value
    assert "✘" in w.feedback.value
    w.choice.value = 1
    w.check.click()
    assert "Riktig! Andre er riktig fordi Y." in w.feedback.value
    assert "✔" in w.feedback.value


def test_multiple_choice_without_choice_asks_for_one():
    w = MultipleChoiceWidget(QUESTION)
    w.check.click()
    assert "ikke valgt" in w.feedback.value


def test_sorting_gives_feedback_per_case_and_summary():
    w = SortingWidget(TASK)
    assert [c.label for c in w.choices] == ["Velg kategori", "Velg kategori"]
    assert [c.value for c in w.choices] == [None, None]
    w.choices[0].value = "Samskaping"
    w.check.click()
    assert "Riktig: Samskaping" in w.case_feedback[0].value
    assert w.case_feedback[1].value == ""
    assert "Du har 1 av 2 riktige. 1 er ikke besvart ennå." in w.summary.value
    w.choices[1].value = "Samskaping"
    w.check.click()
    assert "riktig svar er Samarbeid" in w.case_feedback[1].value


def test_feedback_text_is_escaped():
    """Is content text shown as text, never interpreted as HTML?"""
    task = models.SortingTask("x", "<b>T</b>", "I", ("A", "B"), (models.Case("<script>", "A", "E & F"),))
    w = SortingWidget(task)
    w.choices[0].value = "A"
    w.check.click()
    assert "<script>" not in w.children[1].children[0].value
    assert "E &amp; F" in w.case_feedback[0].value


def test_every_control_has_a_label():
    """Does every dropdown and radio group carry a visible description (read by screen readers)?"""
    for entry_id, entry in loader.load_all().items():
        if isinstance(entry, (models.SortingTask, models.MultipleChoice)):
            w = activity(entry_id)
            controls = getattr(w, "choices", None) or [w.choice]
            for control in controls:
                assert control.description.strip(), entry_id


def test_activity_builds_the_right_widget_for_each_kind():
    assert _VIEWS[models.SortingTask] is SortingWidget and _VIEWS[models.MultipleChoice] is MultipleChoiceWidget
    assert _VIEWS[models.Estimate] is EstimateWidget
    for entry_id, entry in loader.load_all().items():
        if type(entry) in _VIEWS:
            assert isinstance(activity(entry_id), _VIEWS[type(entry)]), entry_id
        else:
            with pytest.raises(TypeError, match="ikke en aktivitet"):
                activity(entry_id)


def test_widget_is_not_displayed_on_construction(capsys):
    w = MultipleChoiceWidget(QUESTION)
    assert isinstance(w, widgets.VBox)
    assert capsys.readouterr().out == ""


def test_multiple_choice_widget_shows_the_models_shuffled_order():
    """Does the widget list the options in the order the model (and the feedback) uses?"""
    for entry_id, entry in loader.load_all().items():
        if isinstance(entry, models.MultipleChoice):
            w = activity(entry_id)
            assert w.choice.options == tuple((o.text, i) for i, o in enumerate(entry.options)), entry_id
            w.choice.value = entry.correct_index
            w.check.click()
            assert "Riktig!" in w.feedback.value, entry_id
