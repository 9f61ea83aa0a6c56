"""The plain models: checking answers and the Norwegian feedback they give."""

from __future__ import annotations

import pytest

from course import loader, models

QUESTION = models.MultipleChoice(
    id="q",
    question="Hva er riktig?",
    options=(
        models.Option("Første", False, "Første er feil fordi X."),
        models.Option("Andre", True, "Andre er riktig fordi Y."),
    ),
)

TASK = models.SortingTask(
    id="t",
    title="Sorter",
    instructions="Velg.",
    categories=("Samarbeid", "Samskaping"),
    cases=(
        models.Case("Sak en", "Samskaping", "Fordi alle berørte er invitert."),
        models.Case("Sak to", "Samarbeid", "Fordi løsningen var gitt."),
    ),
)


def test_correct_option_is_praised_with_its_explanation():
    feedback = QUESTION.check(1)
    assert feedback.correct
    assert feedback.message == "Riktig! Andre er riktig fordi Y."


def test_wrong_option_gets_its_own_explanation():
    feedback = QUESTION.check(0)
    assert not feedback.correct
    assert "Første er feil fordi X." in feedback.message


def test_no_choice_asks_the_student_to_choose():
    feedback = QUESTION.check(None)
    assert not feedback.correct
    assert "ikke valgt" in feedback.message


@pytest.mark.parametrize("bad", [2, -1, True, "1"])
def test_option_off_the_list_is_refused(bad):
    with pytest.raises(ValueError, match="finnes ikke"):
        QUESTION.check(bad)


def test_sorting_scores_and_explains_every_case():
    result = TASK.check(["Samskaping", "Samskaping"])
    assert result.score == 1 and result.total == 2
    assert result.feedback[0].correct
    assert not result.feedback[1].correct
    assert "riktig svar er Samarbeid" in result.feedback[1].message
    assert "løsningen var gitt" in result.feedback[1].message
    assert result.summary.startswith("Du har 1 av 2 riktige.")


def test_sorting_all_right_is_praised():
    assert TASK.check(["Samskaping", "Samarbeid"]).summary == "Du har 2 av 2 riktige. Godt jobbet!"


def test_sorting_counts_unanswered_cases():
    result = TASK.check([None, "Samarbeid"])
    assert result.feedback[0] is None
    assert result.unanswered == 1
    assert "1 er ikke besvart" in result.summary


def test_sorting_refuses_unknown_category_and_wrong_length():
    with pytest.raises(ValueError, match="«Samhandling» er ikke en av kategoriene"):
        TASK.check(["Samhandling", None])
    with pytest.raises(ValueError, match="ett svar for hver av de 2 sakene"):
        TASK.check(["Samarbeid"])


def test_every_shipped_sorting_task_has_a_full_score_path():
    """Can every shipped sorting task be answered fully right, and is every answer a category?"""
    for entry in loader.load_all().values():
        if isinstance(entry, models.SortingTask):
            result = entry.check([case.answer for case in entry.cases])
            assert result.score == result.total == len(entry.cases), entry.id


def test_every_shipped_question_has_one_right_option():
    for entry in loader.load_all().values():
        if isinstance(entry, models.MultipleChoice):
            verdicts = [entry.check(i).correct for i in range(len(entry.options))]
            assert verdicts.count(True) == 1, entry.id
