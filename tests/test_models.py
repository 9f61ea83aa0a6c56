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


# --- Shuffled options --------------------------------------------------------------


def _yaml_questions() -> dict[str, list[dict]]:
    """The multiple-choice entries as the content files write them: id -> options in file order."""
    import yaml
    from importlib import resources

    found = {}
    for f in (resources.files("course") / "content").iterdir():
        if f.name.endswith(".yaml"):
            for entry_id, data in yaml.safe_load(f.read_text(encoding="utf-8")).items():
                if data.get("kind") == "multiple_choice":
                    found[entry_id] = data["options"]
    return found


def test_option_order_is_a_fixed_permutation():
    """Is the order a permutation that depends on the id only, the same on every machine and Python version?"""
    assert sorted(models.option_order("l01_testdeg_1", 5)) == [0, 1, 2, 3, 4]
    assert models.option_order("q", 4) == models.option_order("q", 4)
    # A pinned value: if this changes, every student's order changes (SHA-256, not hash() or random).
    assert models.option_order("eksempel", 4) == EKSEMPEL_ORDER
    assert {models.option_order(f"sp_{n}", 4) for n in range(30)} != {(0, 1, 2, 3)}


EKSEMPEL_ORDER = (1, 2, 3, 0)


def test_shuffled_question_keeps_each_explanation_with_its_option():
    question = models.MultipleChoice(
        "eksempel",
        "Hva?",
        tuple(models.Option(t, t == "c", f"Forklaring {t}") for t in "abcd"),
    ).shuffled()
    assert [o.text for o in question.options] == ["b", "c", "d", "a"]
    assert all(o.explanation == f"Forklaring {o.text}" for o in question.options)
    assert question.check(question.correct_index).message == "Riktig! Forklaring c"


def test_shipped_questions_are_shuffled_and_stable_across_loads():
    """Is the order students see the same on every load, and not the file's order for many questions?"""
    raw = _yaml_questions()
    assert raw, "no multiple-choice questions found"
    loaded = loader.load_all()
    loader.load_all.cache_clear()
    try:
        again = loader.load_all()
    finally:
        loader.load_all.cache_clear()
    moved = 0
    for entry_id, options in raw.items():
        shown = [o.text for o in loaded[entry_id].options]
        assert shown == [o.text for o in again[entry_id].options], entry_id
        moved += shown != [o["text"].strip() for o in options]
    assert moved >= len(raw) // 3, f"only {moved} of {len(raw)} questions differ from the file's order"


def test_shipped_explanations_follow_their_options():
    """After shuffling, does every option keep the explanation and the verdict the content file gives it?"""
    for entry_id, options in _yaml_questions().items():
        written = {o["text"].strip(): (bool(o.get("correct", False)), o["explanation"].strip()) for o in options}
        shown = {o.text: (o.correct, o.explanation) for o in loader.get(entry_id, models.MultipleChoice).options}
        assert shown == written, entry_id


def test_right_option_is_not_always_in_the_same_place():
    """Across the shipped questions, is the right option found in more than one position?"""
    positions = [e.correct_index for e in loader.load_all().values() if isinstance(e, models.MultipleChoice)]
    assert len(set(positions)) > 1, positions
