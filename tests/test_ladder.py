"""The participation ladder (Arnstein, IAP2): the model's verdicts, the loader's checks, the widget."""

from __future__ import annotations

import pytest

from course import loader, models
from course.widgets import LadderWidget, activity

GROUPS = ("Ikke-deltakelse", "Symbolsk deltakelse", "Borgermakt")
LADDER = models.LadderTask(
    id="stige",
    title="Stigen",
    instructions="Velg trinn.",
    ladder="Arnsteins stige",
    rungs=(
        models.Rung("Manipulasjon", "Bare fasade.", GROUPS[0]),
        models.Rung("Informasjon", "Én vei.", GROUPS[1]),
        models.Rung("Konsultasjon", "Blir spurt.", GROUPS[1]),
        models.Rung("Partnerskap", "Deler makt.", GROUPS[2]),
    ),
    scenarios=(
        models.Scenario("Et folkemøte uten oppfølging.", "Konsultasjon", "De blir spurt, men uten garanti."),
        models.Scenario("Et felles styre.", "Partnerskap", "Makten er delt."),
    ),
)
SPECTRUM = models.LadderTask(
    id="spekter",
    title="Spekteret",
    instructions="Velg nivå.",
    ladder="IAP2-spekteret",
    rungs=(
        models.Rung("Informere", "Vi holder dere informert."),
        models.Rung("Konsultere", "Vi lytter."),
        models.Rung("Involvere", "Vi arbeider med dere."),
    ),
    scenarios=(models.Scenario("Et brev.", "Informere", "Bare informasjon."),),
)


def test_right_rung_is_named_with_number_and_group():
    feedback = LADDER.check_one(0, "Konsultasjon")
    assert feedback.correct
    assert feedback.message == (
        "Riktig: trinn 3, Konsultasjon (gruppen Symbolsk deltakelse). De blir spurt, men uten garanti."
    )


def test_near_miss_in_the_same_group_is_acknowledged():
    """Does a wrong rung in the right group say so, and name both the chosen and the right rung?"""
    feedback = LADDER.check_one(0, 2)
    assert not feedback.correct
    assert feedback.message.startswith("Nesten. Du er i riktig gruppe, Symbolsk deltakelse")
    assert "Du valgte trinn 2, Informasjon (gruppen Symbolsk deltakelse)" in feedback.message
    assert "riktig er trinn 3, Konsultasjon" in feedback.message
    assert "uten garanti" in feedback.message


def test_far_miss_names_both_groups_and_why():
    feedback = LADDER.check_one(1, "Manipulasjon")
    assert not feedback.correct
    assert feedback.message.startswith("Ikke riktig.")
    assert "trinn 1, Manipulasjon (gruppen Ikke-deltakelse)" in feedback.message
    assert "trinn 4, Partnerskap (gruppen Borgermakt)" in feedback.message
    assert "Makten er delt." in feedback.message


def test_ladder_without_groups_counts_one_step_away_as_near():
    assert SPECTRUM.check_one(0, "Konsultere").message.startswith("Nesten. Du er bare ett trinn unna.")
    assert SPECTRUM.check_one(0, "Involvere").message.startswith("Ikke riktig.")
    assert "gruppen" not in SPECTRUM.check_one(0, "Informere").message


@pytest.mark.parametrize("choice, number", [("konsultasjon", 3), (" Partnerskap ", 4), (1, 1), ("2", 2)])
def test_a_rung_can_be_given_by_name_or_number(choice, number):
    assert LADDER.rung_number(choice) == number


@pytest.mark.parametrize("bad", [0, 5, -1, True, "Terapi", "", 3.0])
def test_an_answer_off_the_ladder_is_refused_with_what_to_do(bad):
    with pytest.raises(ValueError) as caught:
        LADDER.check_one(0, bad)
    message = str(caught.value)
    assert "er ikke et trinn på Arnsteins stige" in message
    assert "Velg et tall fra 1 til 4 eller et av navnene: Manipulasjon, Informasjon" in message


def test_check_scores_and_leaves_unanswered_empty():
    result = LADDER.check(["Konsultasjon", None])
    assert (result.score, result.total, result.unanswered) == (1, 2, 1)
    assert result.feedback[1] is None
    with pytest.raises(ValueError, match="ett svar for hver av de 2 sakene"):
        LADDER.check(["Konsultasjon"])


GOOD = """
stige:
  kind: participation_ladder
  title: Stigen
  ladder: Arnsteins stige
  instructions: Velg.
  groups: [Lav, Høy]
  rungs:
    - {name: En, group: Lav, description: Nederst.}
    - {name: To, group: Lav, description: Midt.}
    - {name: Tre, group: Høy, description: Øverst.}
  scenarios:
    - {text: Sak, answer: To, explanation: Fordi.}
"""


def test_a_valid_ladder_parses():
    task = loader.parse("leksjon_99.yaml", GOOD)["stige"]
    assert [r.name for r in task.rungs] == ["En", "To", "Tre"]
    assert task.rungs[2].group == "Høy"
    assert task.scenarios[0].answer == "To"


def test_groups_are_optional():
    text = GOOD.replace("  groups: [Lav, Høy]\n", "").replace(", group: Lav", "").replace(", group: Høy", "")
    task = loader.parse("leksjon_99.yaml", text)["stige"]
    assert {r.group for r in task.rungs} == {""}


@pytest.mark.parametrize(
    "broken, field, words",
    [
        (GOOD.replace("answer: To", "answer: Fire"), "scenarios[0].answer", "«Fire» er ikke et trinn på stigen (En, To, Tre)"),
        (GOOD.replace("group: Høy", "group: Midt"), "rungs[2].group", "«Midt» er ikke en av gruppene (Lav, Høy)"),
        (GOOD.replace("name: Tre", "name: en"), "rungs", "mer enn én gang"),
        (GOOD.replace("  ladder: Arnsteins stige\n", ""), "ladder", "mangler"),
        (GOOD.replace("groups: [Lav, Høy]", "groups: Lav"), "groups", "må være en liste"),
        (GOOD.replace("    - {name: Tre, group: Høy, description: Øverst.}\n", ""), "rungs", "minst 3"),
        (GOOD.replace("    - {text: Sak, answer: To, explanation: Fordi.}", "    - Sak"), "scenarios[0]", "oppføring med felter"),
        (GOOD.replace(", explanation: Fordi.", ""), "scenarios[0].explanation", "mangler"),
    ],
)
def test_malformed_ladder_names_file_entry_and_field(broken, field, words):
    with pytest.raises(loader.ContentError) as caught:
        loader.parse("leksjon_99.yaml", broken)
    message = str(caught.value)
    assert "«leksjon_99.yaml»" in message and "«stige»" in message
    assert f"«{field}»" in message
    assert words in message


def test_widget_lists_rungs_from_the_top_and_names_them_in_feedback():
    w = LadderWidget(LADDER)
    assert [label for label, _ in w.choices[0].options] == [
        "4. Partnerskap (Borgermakt)",
        "3. Konsultasjon (Symbolsk deltakelse)",
        "2. Informasjon (Symbolsk deltakelse)",
        "1. Manipulasjon (Ikke-deltakelse)",
    ]
    assert all(c.value is None and c.description for c in w.choices)
    w.choices[0].value = 2
    w.check.click()
    assert "Nesten." in w.case_feedback[0].value and "✘" in w.case_feedback[0].value
    assert w.case_feedback[1].value == ""
    assert "Du har 0 av 2 riktige. 1 er ikke besvart ennå." in w.summary.value
    w.choices[0].value = 3
    w.choices[1].value = 4
    w.check.click()
    assert "✔" in w.case_feedback[1].value
    assert "Du har 2 av 2 riktige. Godt jobbet!" in w.summary.value


def test_widget_shows_the_ladder_as_a_table_with_escaped_text():
    task = models.LadderTask(
        "x", "T", "I", "<stige>", (models.Rung("A", "<b>", "G"), models.Rung("B", "b", "G"), models.Rung("C", "c", "G")),
        (models.Scenario("<script>", "A", "E & F"),),
    )
    w = LadderWidget(task)
    table = w.children[0].value
    assert "<caption>&lt;stige&gt;, fra øverste til nederste trinn</caption>" in table
    assert "<td>&lt;b&gt;</td>" in table and "<th>Gruppe</th>" in table
    assert "<script>" not in w.children[1].children[0].value
    w.choices[0].value = 1
    w.check.click()
    assert "E &amp; F" in w.case_feedback[0].value


def test_lesson_ladders_are_built_by_activity():
    for entry_id in ("l04_arnsteins_stige", "l04_iap2_spekteret"):
        w = activity(entry_id)
        assert isinstance(w, LadderWidget)
        for choice, scenario in zip(w.choices, w.model.scenarios):
            choice.value = w.model.rung_number(scenario.answer)
        w.check.click()
        assert "Godt jobbet!" in w.summary.value


def test_arnsteins_ladder_in_the_content_has_eight_rungs_in_three_groups():
    task = loader.get("l04_arnsteins_stige", models.LadderTask)
    assert [r.group for r in task.rungs] == [GROUPS[0]] * 2 + [GROUPS[1]] * 3 + [GROUPS[2]] * 3
    assert len({s.answer for s in task.scenarios}) == len(task.scenarios), "each scenario is a different rung"
