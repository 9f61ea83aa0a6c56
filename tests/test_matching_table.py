"""The matching table (systems' logics): the model's verdicts, the loader's checks, the widget."""

from __future__ import annotations

import re

import pytest

from course import loader, models
from course.widgets import MatchingTableWidget, activity

TABLE = models.MatchingTable(
    id="tabell",
    title="Logikker",
    instructions="Fyll ut.",
    columns=(
        models.Column("Optimaliserer for", ("Likebehandling", "Saken")),
        models.Column("Frykter", ("Lovbrudd", "Å bli et redskap")),
    ),
    rows=(
        models.Row("Kommunal tjeneste", (models.Cell("Likebehandling", "Loven gjelder alle."), models.Cell("Lovbrudd", "Rettssikkerhet."))),
        models.Row("Frivillig organisasjon", (models.Cell("Saken", "Engasjement."), models.Cell("Å bli et redskap", "Egenart."))),
    ),
)


def test_every_cell_gets_its_own_explanation():
    result = TABLE.check([["Likebehandling", "Å bli et redskap"], [None, "Å bli et redskap"]])
    assert (result.score, result.total, result.unanswered) == (2, 4, 1)
    first, second, third, fourth = result.feedback
    assert first.message == "Riktig (Kommunal tjeneste, optimaliserer for): Likebehandling. Loven gjelder alle."
    assert not second.correct
    assert second.message == (
        "Ikke riktig (Kommunal tjeneste, frykter): Du valgte «Å bli et redskap», men riktig er «Lovbrudd». Rettssikkerhet."
    )
    assert third is None and fourth.correct


def test_an_option_from_another_column_is_refused():
    with pytest.raises(ValueError, match="«Saken» er ikke et av alternativene i kolonnen"):
        TABLE.check([["Likebehandling", "Saken"], [None, None]])


@pytest.mark.parametrize("bad", [[["Likebehandling", None]], [["Likebehandling"], ["Saken"]]])
def test_wrong_shape_of_answers_is_refused(bad):
    with pytest.raises(ValueError, match="2 rader med 2 svar i hver"):
        TABLE.check(bad)


GOOD = """
tabell:
  kind: matching_table
  title: Logikker
  instructions: Fyll ut.
  columns:
    - {title: Optimaliserer for, options: [Likebehandling, Saken]}
    - {title: Frykter, options: [Lovbrudd, Å bli et redskap]}
  rows:
    - name: Kommunal tjeneste
      cells:
        - {answer: Likebehandling, explanation: Loven.}
        - {answer: Lovbrudd, explanation: Rettssikkerhet.}
"""


def test_a_valid_table_parses():
    table = loader.parse("leksjon_99.yaml", GOOD)["tabell"]
    assert table.columns[1].options == ("Lovbrudd", "Å bli et redskap")
    assert table.rows[0].cells[1] == models.Cell("Lovbrudd", "Rettssikkerhet.")


@pytest.mark.parametrize(
    "broken, field, words",
    [
        (GOOD.replace("answer: Lovbrudd", "answer: Saken"), "rows[0].cells[1].answer", "ikke et av alternativene i kolonnen «Frykter»"),
        (GOOD.replace("        - {answer: Lovbrudd, explanation: Rettssikkerhet.}\n", ""), "rows[0].cells", "én celle for hver av de 2 kolonnene"),
        (GOOD.replace("options: [Lovbrudd, Å bli et redskap]", "options: [Lovbrudd]"), "columns[1].options", "minst 2"),
        (GOOD.replace("options: [Likebehandling, Saken]", "options: [Saken, Saken]"), "columns[0].options", "mer enn én gang"),
        (GOOD.replace("    - name: Kommunal tjeneste\n", "    - navn: Kommunal tjeneste\n"), "rows[0].name", "mangler"),
        (GOOD.replace("{title: Frykter, ", "{"), "columns[1].title", "mangler"),
        (GOOD.replace(", explanation: Loven.", ""), "rows[0].cells[0].explanation", "mangler"),
    ],
)
def test_malformed_table_names_file_entry_and_field(broken, field, words):
    with pytest.raises(loader.ContentError) as caught:
        loader.parse("leksjon_99.yaml", broken)
    message = str(caught.value)
    assert "«leksjon_99.yaml»" in message and "«tabell»" in message
    assert f"«{field}»" in message
    assert words in message


def test_widget_has_a_labelled_dropdown_per_cell_and_feedback_per_cell():
    w = MatchingTableWidget(TABLE)
    assert [[c.description for c in row] for row in w.choices] == [["Optimaliserer for", "Frykter"]] * 2
    assert all(c.value is None and c.label == "Velg" for row in w.choices for c in row)
    w.choices[1][0].value = "Likebehandling"
    w.check.click()
    assert "✘" in w.cell_feedback[1][0].value and "riktig er «Saken»" in w.cell_feedback[1][0].value
    assert w.cell_feedback[0][0].value == ""
    assert "Du har 0 av 4 riktige. 3 er ikke besvart ennå." in w.summary.value


def test_widget_escapes_content_text():
    table = models.MatchingTable(
        "x", "<b>T</b>", "I", (models.Column("K", ("<a>", "b")),), (models.Row("<script>", (models.Cell("<a>", "E & F"),)),)
    )
    w = MatchingTableWidget(table)
    assert "<b>T</b>" not in w.children[0].value
    assert "<script>" not in w.children[1].children[0].value
    w.choices[0][0].value = "<a>"
    w.check.click()
    assert "E &amp; F" in w.cell_feedback[0][0].value and "&lt;a&gt;" in w.cell_feedback[0][0].value


def test_lesson_table_is_fair_and_solvable():
    """Does every column of the lesson's table offer one option per row, each the answer of exactly one row?"""
    w = activity("l03_systemenes_logikk")
    assert isinstance(w, MatchingTableWidget)
    table = w.model
    for j, column in enumerate(table.columns):
        assert sorted(row.cells[j].answer for row in table.rows) == sorted(column.options)
    for row, choices in zip(table.rows, w.choices):
        for cell, choice in zip(row.cells, choices):
            choice.value = cell.answer
    w.check.click()
    assert "Du har 12 av 12 riktige. Godt jobbet!" in w.summary.value


# Words that give a governance regime away without any understanding of it
# (issue 13: the old table could be solved by «frivillige», «loven», «hverdag»).
TELLTALE = re.compile(
    r"\b(lov|loven|lovens|regel\w*|hierarki\w*|marked\w*|kunde\w*|anbud\w*|konkurranse\w*|"
    r"nettverk\w*|samskap\w*|samstyr\w*|tillit\w*|frivillig\w*|hverdag\w*|byråkrat\w*|service\w*)\b",
    re.I,
)


def telltale_words(table: models.MatchingTable) -> list[tuple[str, str]]:
    """(option, word) for every option of the table that contains a tell-tale word."""
    return [(o, m.group(0)) for c in table.columns for o in c.options for m in TELLTALE.finditer(o)]


def test_lesson_table_cannot_be_solved_by_keywords():
    """Do the options of the lesson's governance table avoid the words that would give a row away?"""
    table = loader.get("l03_systemenes_logikk", models.MatchingTable)
    assert [r.name.split(" (")[0] for r in table.rows] == ["Klassisk forvaltning", "New Public Management", "New Public Governance"]
    assert telltale_words(table) == []


def test_keyword_check_catches_a_telltale_option():
    """Would the keyword check have failed on the old table's options?"""
    old = models.MatchingTable(
        "x", "T", "I",
        (models.Column("Optimaliserer for", ("Likebehandling innenfor loven", "Saken, drevet av frivillige", "Et bedre hverdagsliv")),),
        (),
    )
    assert [w for _, w in telltale_words(old)] == ["loven", "frivillige", "hverdagsliv"]
