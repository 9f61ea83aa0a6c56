"""The estimate activity: guess a number, then see the real figure (model, content loader and widget)."""

from __future__ import annotations

import math

import pytest

from course import loader, models
from course.widgets import EstimateWidget, activity

ESTIMATE = models.Estimate(
    id="x",
    question="Hvor mange prosent?",
    answer=62,
    unit="prosent",
    minimum=0,
    maximum=100,
    tolerance=5,
    explanation="Fordi 139 av 223 er om lag 62 prosent.",
    source="SSB",
)


@pytest.mark.parametrize(
    "guess, correct, verdict",
    [(62, True, "Godt anslått!"), (57, True, "Godt anslått!"), (67.0, True, "Godt anslått!"),
     (56.9, False, "Du anslo for lavt."), (90, False, "Du anslo for høyt."), (0, False, "Du anslo for lavt.")],
)
def test_estimate_says_how_close_and_why(guess, correct, verdict):
    feedback = ESTIMATE.check(guess)
    assert feedback.correct is correct
    assert feedback.message.startswith(verdict)
    assert "det riktige tallet er 62 prosent" in feedback.message
    assert "Fordi 139 av 223" in feedback.message and "(Kilde: SSB)" in feedback.message


def test_estimate_without_a_guess_asks_for_one():
    feedback = ESTIMATE.check(None)
    assert not feedback.correct and "ikke skrevet inn" in feedback.message


@pytest.mark.parametrize("guess", [-1, 100.5, 1e9])
def test_guess_off_the_scale_says_what_to_do(guess):
    with pytest.raises(ValueError, match="utenfor skalaen. Skriv et tall fra 0 til 100"):
        ESTIMATE.check(guess)


@pytest.mark.parametrize("guess", ["62", True, math.nan])
def test_guess_that_is_not_a_number_is_refused(guess):
    with pytest.raises(ValueError, match="må være et tall"):
        ESTIMATE.check(guess)


@pytest.mark.parametrize("text, value", [("62", 62), ("62,3", 62.3), ("62.3", 62.3), (" 139 000 ", 139000), ("139\u00a0000", 139000)])
def test_typed_numbers_are_read_the_norwegian_way(text, value):
    assert models.parse_number(text) == value


@pytest.mark.parametrize("text", ["seksti", "62 %", "", "nan", "inf"])
def test_typed_text_that_is_not_a_number_gets_a_norwegian_message(text):
    with pytest.raises(ValueError, match="er ikke et tall"):
        models.parse_number(text)


def test_numbers_are_shown_the_norwegian_way():
    assert models.format_number(139000) == "139\u00a0000"
    assert models.format_number(62.33) == "62,3"


GOOD = """
anslag:
  kind: estimate
  question: Hvor mange?
  answer: 62
  unit: prosent
  minimum: 0
  maximum: 100
  tolerance: 5
  explanation: Fordi.
  source: SSB
"""


def test_a_valid_estimate_parses():
    entry = loader.parse("test.yaml", GOOD)["anslag"]
    assert entry == models.Estimate("anslag", "Hvor mange?", 62.0, "prosent", 0.0, 100.0, 5.0, "Fordi.", "SSB")


@pytest.mark.parametrize(
    "old, new, field, words",
    [
        ("  answer: 62\n", "", "answer", "feltet mangler"),
        ("answer: 62", "answer: mange", "answer", "må være et tall, men er teksten «mange»"),
        ("answer: 62", "answer: true", "answer", "må være et tall"),
        ("answer: 62", "answer: 120", "answer", "utenfor skalaen fra 0 til 100"),
        ("maximum: 100", "maximum: 0", "maximum", "må være større enn minimum"),
        ("tolerance: 5", "tolerance: 0", "tolerance", "må være større enn 0"),
        ("  source: SSB\n", "", "source", "feltet mangler"),
        ("unit: prosent", "unit: ''", "unit", "ikke er tom"),
    ],
)
def test_malformed_estimate_names_file_entry_and_field(old, new, field, words):
    assert old in GOOD
    with pytest.raises(loader.ContentError) as info:
        loader.parse("test.yaml", GOOD.replace(old, new))
    message = str(info.value)
    assert "«test.yaml»" in message and "«anslag»" in message and f"«{field}»" in message
    assert words in message


def test_widget_shows_the_real_figure_after_a_guess():
    w = EstimateWidget(ESTIMATE)
    assert w.feedback.value == ""
    w.guess.value = "40"
    w.check.click()
    assert "✘" in w.feedback.value and "Du anslo for lavt." in w.feedback.value
    w.guess.value = "60,5"
    w.check.click()
    assert "✔" in w.feedback.value and "Godt anslått!" in w.feedback.value


@pytest.mark.parametrize("typed, words", [("", "ikke skrevet inn"), ("mange", "er ikke et tall"), ("250", "utenfor skalaen")])
def test_widget_explains_bad_input_instead_of_failing(typed, words):
    w = EstimateWidget(ESTIMATE)
    w.guess.value = typed
    w.check.click()
    assert "✘" in w.feedback.value and words in w.feedback.value


def test_widget_escapes_content_and_labels_its_controls():
    estimate = models.Estimate("x", "<b>Hvor</b>", 1, "<i>kr</i>", 0, 2, 1, "E & F", "S")
    w = EstimateWidget(estimate)
    assert "<b>Hvor</b>" not in w.prompt.value and "&lt;b&gt;" in w.prompt.value
    assert "<i>" not in w.unit.value
    assert w.guess.description and w.check.description
    w.guess.value = "1"
    w.check.click()
    assert "E &amp; F" in w.feedback.value


def test_lesson_2_estimate_is_built_from_content():
    w = activity("l02_anslag_ulonnet")
    assert isinstance(w, EstimateWidget)
    assert w.model.answer == 62 and w.model.unit == "prosent"
