"""The stakeholder grid (lesson 5) and the self-assessment (lesson 6): models, content, charts and widgets."""

from __future__ import annotations

import ipywidgets as widgets
import pytest

from course import charts_grid, loader, models
from course import widgets as widget_module
from course.widgets import SelfAssessmentWidget, StakeholderGridWidget, activity

# --- Models ---------------------------------------------------------------------

ACTORS = (
    models.Actor("Brukerne", "Målgruppen.", 2, 8, target_group=True),
    models.Actor("Kommunen", "Har budsjettet.", 8, 7),
    models.Actor("Bystyret", "Vedtar.", 9, 3),
    models.Actor("Butikken", "Ser mye.", 1, 1),
)
GRID = models.StakeholderGrid(
    id="g",
    title="Tittel",
    case="Oppdiktet sak.",
    actors=ACTORS,
    advice={"samarbeid_tett": "Råd ST.", "hold_tilfreds": "Råd HT.", "hold_informert": "Råd HI.", "folg_med": "Råd FM."},
    target_low_power="Gi dem mer makt.",
    target_high_power="Sjekk at makten er reell.",
)
START = [(a.power, a.interest) for a in ACTORS]


@pytest.mark.parametrize(
    "power, interest, expected",
    [
        (5, 5, "samarbeid_tett"),  # 5 is high on both scales: the boundary
        (10, 10, "samarbeid_tett"),
        (5, 4, "hold_tilfreds"),
        (4, 5, "hold_informert"),
        (4, 4, "folg_med"),
        (0, 0, "folg_med"),
    ],
)
def test_quadrant_uses_five_or_more_as_high(power, interest, expected):
    assert models.quadrant(power, interest) == expected


def test_quadrant_name_is_what_students_see():
    assert models.quadrant_name(power=2, interest=8) == "Hold informert"
    assert models.quadrant_name(power=9, interest=3) == "Hold tilfreds"


def test_place_puts_every_actor_in_its_quadrant():
    placements = GRID.place(START)
    assert [p.quadrant_name for p in placements] == ["Hold informert", "Samarbeid tett", "Hold tilfreds", "Følg med"]
    assert [(p.power, p.interest) for p in placements] == START


@pytest.mark.parametrize("bad", [11, -1, 2.5, "5", True, None])
def test_rating_outside_the_range_is_refused_in_norwegian(bad):
    ratings = [*START[:-1], (bad, 3)]
    with pytest.raises(ValueError, match=r"Makt for Butikken må være et helt tall fra 0 til 10.*Velg en verdi"):
        GRID.place(ratings)
    with pytest.raises(ValueError, match=r"Interesse må være et helt tall fra 0 til 10"):
        models.quadrant(3, bad)


def test_place_needs_one_rating_per_actor():
    with pytest.raises(ValueError, match="én vurdering for hver av de 4 aktørene, men fikk 3"):
        GRID.place(START[:3])


def test_target_group_feedback_depends_on_its_power():
    low = GRID.target_feedback(GRID.place(START))
    assert "Brukerne havner i «Hold informert»" in low and "Gi dem mer makt." in low
    high = GRID.target_feedback(GRID.place([(6, 8), *START[1:]]))
    assert "«Samarbeid tett»" in high and "Sjekk at makten er reell." in high
    assert "Gi dem mer makt." not in high


POINTS = (
    models.AssessmentPoint("Kapasitetsbygging", ("p1", "p2"), "Råd K."),
    models.AssessmentPoint("Kommunikasjon", ("p1", "p2"), "Råd C."),
    models.AssessmentPoint("Raushet", ("p1",), "Råd R."),
)
ASSESSMENT = models.SelfAssessment("s", "T", "I", ("a", "b", "c", "d", "e"), POINTS)


def test_assessment_means_and_single_weakest_point():
    result = ASSESSMENT.assess([[4, 3], [5, 4], [2]])
    assert result.scores == {"Kapasitetsbygging": 3.5, "Kommunikasjon": 4.5, "Raushet": 2.0}
    assert result.weakest == ("Raushet",)
    assert result.feedback.startswith("Ditt svakeste punkt er «Raushet» (snitt 2).")
    assert "Råd R." in result.feedback and "Råd K." not in result.feedback


def test_assessment_ties_give_advice_on_every_weakest_point():
    result = ASSESSMENT.assess([[2, 3], [5, 4], [2]])  # 2.5 vs 2.0: no tie
    assert result.weakest == ("Raushet",)
    result = ASSESSMENT.assess([[2, 2], [5, 4], [2]])
    assert result.weakest == ("Kapasitetsbygging", "Raushet")
    assert "to like svake punkter: «Kapasitetsbygging» og «Raushet» (snitt 2)" in result.feedback
    assert "Råd K." in result.feedback and "Råd R." in result.feedback and "Råd C." not in result.feedback


def test_assessment_with_all_points_equal_names_no_weakest():
    result = ASSESSMENT.assess([[3, 3], [3, 3], [3]])
    assert len(result.weakest) == 3
    assert "samme snitt (3) på alle punktene" in result.feedback
    assert "Råd" not in result.feedback


def test_mean_is_shown_with_a_decimal_comma():
    result = ASSESSMENT.assess([[1, 2], [5, 4], [3]])
    assert "(snitt 1,5)" in result.feedback
    assert models.format_mean(2.33) == "2,33"


def test_summary_lists_means_then_feedback():
    lines = ASSESSMENT.summary([[4, 3], [5, 4], [2]]).splitlines()
    assert lines[:4] == ["Snitt per punkt (1–5):", "Kapasitetsbygging: 3,5", "Kommunikasjon: 4,5", "Raushet: 2"]
    assert lines[-1].startswith("Ditt svakeste punkt er «Raushet»")


@pytest.mark.parametrize("bad", [0, 6, 3.5, "3", None, False])
def test_rating_off_the_scale_is_refused_in_norwegian(bad):
    with pytest.raises(ValueError, match=r"«Kommunikasjon».*helt tall fra 1 til 5"):
        ASSESSMENT.assess([[3, 3], [3, bad], [3]])


def test_assessment_needs_one_answer_per_statement_and_point():
    with pytest.raises(ValueError, match="hvert av de 3 punktene"):
        ASSESSMENT.assess([[3, 3], [3, 3]])
    with pytest.raises(ValueError, match="«Raushet» har 1 påstander, men fikk 2 svar"):
        ASSESSMENT.assess([[3, 3], [3, 3], [3, 3]])


# --- Content ----------------------------------------------------------------------

GOOD_GRID = """
kart:
  kind: stakeholder_grid
  title: Tittel
  case: Oppdiktet sak.
  actors:
    - name: Brukerne
      description: Målgruppen.
      power: 2
      interest: 8
      target_group: true
    - name: Kommunen
      description: Har budsjettet.
      power: 8
      interest: 7
  advice:
    samarbeid_tett: A
    hold_tilfreds: B
    hold_informert: C
    folg_med: D
  target_low_power: Lav.
  target_high_power: Høy.
"""

GOOD_ASSESSMENT = """
vurdering:
  kind: self_assessment
  title: Tittel
  instructions: Gjør slik.
  scale: [a, b, c, d, e]
  points:
    - name: Raushet
      statements: [Jeg deler.]
      advice: Del mer.
    - name: Kommunikasjon
      statements: [Jeg forklarer., Jeg lytter.]
      advice: Forklar mer.
"""


def test_valid_grid_and_assessment_parse():
    grid = loader.parse("t.yaml", GOOD_GRID)["kart"]
    assert [a.name for a in grid.actors] == ["Brukerne", "Kommunen"]
    assert grid.actors[0].target_group and not grid.actors[1].target_group
    assert grid.advice["folg_med"] == "D"
    assessment = loader.parse("t.yaml", GOOD_ASSESSMENT)["vurdering"]
    assert assessment.points[1].statements == ("Jeg forklarer.", "Jeg lytter.")


@pytest.mark.parametrize(
    "broken, field, words",
    [
        (GOOD_GRID.replace("      description: Har budsjettet.\n", ""), "actors[1].description", "mangler"),
        (GOOD_GRID.replace("      power: 8\n", ""), "actors[1].power", "mangler"),
        (GOOD_GRID.replace("power: 8", "power: 11"), "actors[1].power", "fra 0 til 10, men er tallet 11"),
        (GOOD_GRID.replace("interest: 8", "interest: høy"), "actors[0].interest", "helt tall fra 0 til 10"),
        (GOOD_GRID.replace("target_group: true", "target_group: false"), "actors", "nøyaktig én aktør"),
        (GOOD_GRID.replace("name: Kommunen", "name: Brukerne"), "actors", "samme navn"),
        (GOOD_GRID.replace("    folg_med: D\n", ""), "advice.folg_med", "mangler"),
        (GOOD_GRID.replace("folg_med: D", "folg_med: D\n    lek: E"), "advice", "ukjent kvadrant «lek»"),
        (GOOD_ASSESSMENT.replace("[a, b, c, d, e]", "[a, b, c]"), "scale", "nøyaktig 5 trinn"),
        (GOOD_ASSESSMENT.replace("[a, b, c, d, e]", "[a, b, '', d, e]"), "scale[2]", "ikke er tom"),
        (GOOD_ASSESSMENT.replace("      advice: Del mer.\n", ""), "points[0].advice", "mangler"),
        (GOOD_ASSESSMENT.replace("[Jeg deler.]", "[]"), "points[0].statements", "minst én påstand"),
        (GOOD_ASSESSMENT.replace("[Jeg forklarer., Jeg lytter.]", "[Jeg forklarer., '']"), "points[1].statements[1]", "ikke er tom"),
        (GOOD_ASSESSMENT.replace("name: Kommunikasjon", "name: Raushet"), "points", "samme navn"),
    ],
)
def test_malformed_entry_names_file_entry_and_field(broken, field, words):
    with pytest.raises(loader.ContentError) as info:
        loader.parse("feil.yaml", broken)
    message = str(info.value)
    assert "«feil.yaml»" in message
    assert "«kart»" in message or "«vurdering»" in message
    assert f"feltet «{field}»" in message
    assert words in message


def test_shipped_lesson_content_loads():
    grid = loader.get("l05_interessentkart", models.StakeholderGrid)
    assert sum(a.target_group for a in grid.actors) == 1
    assert "oppdiktet" in grid.case.lower() and "oppdiktet" in grid.title.lower()
    assessment = loader.get("l06_egenvurdering", models.SelfAssessment)
    assert [p.name for p in assessment.points] == [
        "Kapasitetsbygging", "Kommunikasjon", "Raushet", "Energi gjennom mål og verdier", "Sosial kompetanse",
    ]


# --- Charts (their data, not their pixels) ----------------------------------------------


def _points_of(ax, gid):
    collection = next(c for c in ax.collections if c.get_gid() == gid)
    return [tuple(xy) for xy in collection.get_offsets().tolist()]


def test_stakeholder_chart_places_actors_by_interest_and_power():
    fig = charts_grid.stakeholder_figure(GRID.place(START), "T")
    ax = fig.axes[0]
    assert _points_of(ax, "target") == [(8, 2)]  # (interest, power)
    assert _points_of(ax, "actors") == [(7, 8), (3, 9), (1, 1)]
    texts = {t.get_text() for t in ax.texts}
    assert {"Samarbeid tett", "Hold tilfreds", "Hold informert", "Følg med"} <= texts
    assert {"Brukerne", "Kommunen", "Bystyret", "Butikken"} <= texts
    assert ax.get_xlabel() == "Interesse (0–10)" and ax.get_ylabel() == "Makt (0–10)"
    assert charts_grid.png(fig).startswith(b"\x89PNG")


def test_stakeholder_chart_quadrant_labels_sit_in_their_quadrants():
    ax = charts_grid.stakeholder_figure(GRID.place(START)).axes[0]
    where = {t.get_text(): t.get_position() for t in ax.texts}
    for name, (x, y) in where.items():
        if name in models.QUADRANTS.values():
            key = models.quadrant(max(0, min(10, round(y))), max(0, min(10, round(x))))
            assert models.QUADRANTS[key] == name


def test_radar_chart_draws_the_scores_closed():
    scores = {"A": 3.5, "B": 4.5, "C": 2.0}
    ax = charts_grid.radar_figure(scores).axes[0]
    line = next(l for l in ax.lines if l.get_gid() == "scores")
    assert list(line.get_ydata()) == [3.5, 4.5, 2.0, 3.5]
    assert len(line.get_xdata()) == 4 and line.get_xdata()[0] == line.get_xdata()[-1]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["A", "B", "C"]


# --- Widgets ----------------------------------------------------------------------------


def test_grid_widget_follows_the_choices():
    w = StakeholderGridWidget(GRID)
    assert [p.quadrant for p in w.placements] == ["hold_informert", "samarbeid_tett", "hold_tilfreds", "folg_med"]
    assert "Gi dem mer makt." in w.feedback.value
    assert len(w.chart.outputs) == 1
    before = w.chart.outputs
    w.choices[0][0].value = 7  # the target group's power
    assert w.placements[0].quadrant == "samarbeid_tett"
    assert "<td>Brukerne</td><td>7</td><td>8</td><td>Samarbeid tett</td><td>Råd ST.</td>" in w.text_alternative.value
    assert "Sjekk at makten er reell." in w.feedback.value and "Gi dem mer makt." not in w.feedback.value
    assert w.chart.outputs != before and len(w.chart.outputs) == 1
    w.choices[3][1].value = 6  # the shop's interest
    assert "<td>Butikken</td><td>1</td><td>6</td><td>Hold informert</td><td>Råd HI.</td>" in w.text_alternative.value


def test_grid_widget_choices_are_labelled_and_bounded():
    """Labelled drop-downs (not sliders, whose handle has no accessible name) with the scale 0-10 in words."""
    w = StakeholderGridWidget(GRID)
    power, interest = w.choices[1]
    assert isinstance(power, widgets.Dropdown) and isinstance(interest, widgets.Dropdown)
    assert power.description == "Makt: Kommunen" and interest.description == "Interesse: Kommunen"
    assert [v for _, v in power.options] == list(range(0, 11)) == [v for _, v in interest.options]
    assert (power.value, interest.value) == (8, 7)
    assert (power.label, interest.label) == ("8 – svært høy", "7 – høy")


def test_grid_words_agree_with_the_model_on_what_is_high():
    """A rating called "høy" or "svært høy" is exactly one the model counts as high (GRID_HIGH or more)."""
    labels = dict((v, label) for label, v in widget_module.GRID_OPTIONS)
    assert labels[0] == "0 – ingen" and labels[1] == "1 – svært lav" and labels[10] == "10 – svært høy"
    for value, label in labels.items():
        assert ("høy" in label) == (value >= models.GRID_HIGH), label


def test_assessment_widget_follows_the_choices():
    w = SelfAssessmentWidget(ASSESSMENT)
    assert w.result.scores == {"Kapasitetsbygging": 3.0, "Kommunikasjon": 3.0, "Raushet": 3.0}
    assert "samme snitt" in w.feedback.value
    before = w.chart.outputs
    w.ratings[1][0].value = 1
    assert w.result.weakest == ("Kommunikasjon",)
    assert "<li>Kommunikasjon: 2</li>" in w.text_alternative.value
    assert "Ditt svakeste punkt er «Kommunikasjon»" in w.feedback.value and "Råd C." in w.feedback.value
    assert w.chart.outputs != before


def test_assessment_widget_shows_the_scale_in_words():
    w = SelfAssessmentWidget(ASSESSMENT)
    choice = w.ratings[0][0]
    assert isinstance(choice, widgets.Dropdown) and choice.description == "Kapasitetsbygging 1"
    assert [v for _, v in choice.options] == [1, 2, 3, 4, 5] and choice.label == "3 – c"
    assert [label for label, _ in choice.options] == ["1 – a", "2 – b", "3 – c", "4 – d", "5 – e"]


def test_activity_builds_the_new_widgets_from_content():
    assert isinstance(activity("l05_interessentkart"), StakeholderGridWidget)
    assert isinstance(activity("l06_egenvurdering"), SelfAssessmentWidget)


def test_widget_content_is_escaped():
    actor = models.Actor("<b>x</b>", "a & b", 1, 1, target_group=True)
    grid = models.StakeholderGrid("g", "<i>t</i>", "c", (actor, ACTORS[1]), GRID.advice, "<script>", "h")
    w = StakeholderGridWidget(grid)
    assert "<b>x</b>" not in w.text_alternative.value and "&lt;b&gt;x&lt;/b&gt;" in w.text_alternative.value
    assert "<script>" not in w.feedback.value
    actor_text = w.children[1].children[0].value
    assert "a &amp; b" in actor_text and "<b>x</b>" not in actor_text


def test_lesson_6_names_the_five_points_alike_and_practises_each():
    """Do lesson 6's sorting task and self-assessment name the five points identically, with a case for every point?"""
    assessment = loader.get("l06_egenvurdering", models.SelfAssessment)
    sorting = loader.get("l06_fem_punkter_i_praksis", models.SortingTask)
    assert list(sorting.categories) == [p.name for p in assessment.points]
    assert {case.answer for case in sorting.cases} == set(sorting.categories)
