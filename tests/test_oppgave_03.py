"""Exercise 3's ladder answers: the visible test explains a wrong format, the hidden test judges the rung.

The test cells' code is run here directly (fast, no kernel); the nbgrader
workflow tests run the whole notebook with real nbgrader.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from conftest import ROOT

SOURCE = ROOT / "solutions" / "oppgave_03" / "oppgave_03.ipynb"


def _test_cell(grade_id: str) -> tuple[str, str]:
    """The visible and the hidden part of a test cell in the source notebook."""
    cell = next(c for c in nbformat.read(SOURCE, as_version=4).cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    visible, hidden = re.split(r"### BEGIN HIDDEN TESTS\n", cell.source)
    return visible, hidden.replace("### END HIDDEN TESTS", "")


@pytest.mark.parametrize("answer", [9, 0, "9", "stige", "Konsultering", 4.0, True, ["4"]])
def test_an_answer_off_the_ladder_gets_a_clear_message(answer):
    visible, _ = _test_cell("test_2a")
    with pytest.raises(AssertionError) as caught:
        exec(visible, {"svar_2a": answer})
    message = str(caught.value)
    assert "ikke et trinn på Arnsteins stige" in message or "Skriv et tall fra 1 til 8" in message


def test_a_blank_answer_is_told_to_answer():
    visible, _ = _test_cell("test_2a")
    with pytest.raises(AssertionError, match="Du har ikke svart ennå"):
        exec(visible, {"svar_2a": "  "})


@pytest.mark.parametrize("answer, right", [(4, True), ("4", True), (" Konsultasjon ", True), (3, False), ("informasjon", False), ("5", False)])
def test_hidden_test_accepts_the_rung_by_number_or_name(answer, right, capsys):
    visible, hidden = _test_cell("test_2a")
    exec(visible, {"svar_2a": answer})
    assert "Formatet er riktig" in capsys.readouterr().out
    if right:
        exec(hidden, {"svar_2a": answer})
    else:
        with pytest.raises(AssertionError, match="Ikke riktig"):
            exec(hidden, {"svar_2a": answer})


def test_hidden_test_explains_the_rung_for_the_feedback():
    """Does the explanation the student gets after the deadline name the rung, its number and why?"""
    from course.instructor.feedback import explanation

    _, hidden = _test_cell("test_2a")
    text = explanation(hidden)
    assert text.startswith("Riktig svar: konsultasjon, trinn 4") and "delegert makt (trinn 7)" in text


@pytest.mark.parametrize("answer", ["Kommune 2.0", "npm ", "marked"])
def test_governance_answer_format(answer):
    visible, hidden = _test_cell("test_1a")
    if answer.strip().upper() == "NPM":
        exec(visible, {"svar_1a": answer})
        exec(hidden, {"svar_1a": answer})
    else:
        with pytest.raises(AssertionError, match="PA, NPM eller NPG"):
            exec(visible, {"svar_1a": answer})
