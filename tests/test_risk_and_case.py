"""Lessons 7 and 8: the risk register (model, loader, chart, widget) and the branching case (model, loader, widget)."""

from __future__ import annotations

from pathlib import Path

import ipywidgets as widgets
import pytest

from course import charts_risk, loader, models
from course.widgets import BranchingCaseWidget, RiskRegisterWidget, activity

# --- Risk register ------------------------------------------------------------

RISK = models.Risk("Tittel", "Beskrivelse", "Gjør slik.")
REGISTER = models.RiskRegister(
    id="reg",
    title="Register",
    instructions="Vurder.",
    project="Oppdiktet prosjekt.",
    likelihood_scale=("s1", "s2", "s3", "s4", "s5"),
    consequence_scale=("k1", "k2", "k3", "k4", "k5"),
    risks=(
        models.Risk("A", "a", "Tiltak A."),
        models.Risk("B", "b", "Tiltak B."),
        models.Risk("C", "c", "Tiltak C."),
    ),
    example=((1, 1), (2, 2), (3, 3)),
    top=2,
)


def test_score_is_likelihood_times_consequence_and_ranked_highest_first():
    """Is the score the product, ranked from highest, with ties broken by consequence and then by number?"""
    ranked = REGISTER.rate([(4, 3), (2, 5), (3, 4)])  # 12, 10, 12
    assert [(r.number, r.score, r.rank) for r in ranked] == [(3, 12, 1), (1, 12, 2), (2, 10, 3)]
    assert [r.level for r in ranked] == ["høy", "høy", "høy"]


@pytest.mark.parametrize("score, level", [(1, "lav"), (4, "lav"), (5, "middels"), (9, "middels"), (10, "høy"), (25, "høy")])
def test_risk_levels(score: int, level: str):
    assert models.risk_level(score) == level


@pytest.mark.parametrize("bad", [0, 6, -1, 2.5, "3", None, True])
def test_slider_value_outside_the_range_is_refused_in_norwegian(bad):
    """Does a likelihood or consequence outside 1-5 (or not a whole number) give a Norwegian ValueError saying what to do?"""
    with pytest.raises(ValueError, match=r"Risiko 2 \(«B»\): Sannsynligheten må være et helt tall fra 1 til 5"):
        REGISTER.rate([(1, 1), (bad, 3), (1, 1)])
    with pytest.raises(ValueError, match=r"Konsekvensen må være et helt tall fra 1 til 5.*Velg en verdi"):
        REGISTER.rate([(1, 1), (3, 3), (1, bad)])


def test_one_rating_per_risk():
    with pytest.raises(ValueError, match="én vurdering for hver av de 3"):
        REGISTER.rate([(1, 1)])


def test_feedback_names_the_top_risks_and_their_mitigation():
    text = REGISTER.feedback([(5, 5), (1, 1), (2, 3)])
    assert "De 2 høyeste risikoene" in text
    assert "1. A (25, høy), 3. C (6, middels)" in text
    assert "Tiltak for «A»: Tiltak A." in text and "Tiltak for «C»: Tiltak C." in text
    assert "Tiltak B." not in text


def test_feedback_warns_when_no_risk_is_high():
    assert "for optimistisk" in REGISTER.feedback([(1, 1), (2, 2), (3, 3)])
    assert "for optimistisk" not in REGISTER.feedback([(5, 5), (2, 2), (3, 3)])


def test_table_is_a_text_alternative_in_rank_order():
    lines = REGISTER.table([(1, 1), (5, 4), (2, 2)]).splitlines()
    assert lines[0].startswith("Plass | Risiko | Sannsynlighet")
    assert lines[1] == "1 | 2. B | 5 | 4 | 20 | høy"
    assert lines[3] == "3 | 1. A | 1 | 1 | 1 | lav"


def test_example_ranking_of_the_lesson_is_deterministic():
    text = charts_risk.example_ranking("l07_risikoregister")
    assert text.splitlines()[1] == "1 | 3. Noen grupper faller utenfor | 4 | 4 | 16 | høy"


# --- Risk matrix chart (tested on its data) -------------------------------------


def test_markers_sit_in_their_cells_and_share_a_cell_side_by_side():
    positions = charts_risk.marker_positions(REGISTER, [(4, 3), (4, 3), (1, 5)])
    assert [(n, y) for n, _, y in positions] == [(1, 3.0), (2, 3.0), (3, 5.0)]
    (_, x1, _), (_, x2, _), (_, x3, _) = positions
    assert 3.5 < x1 < x2 < 4.5, "two risks in one cell are spread out inside the cell"
    assert x3 == pytest.approx(1.0)


def test_six_risks_in_one_cell_stay_inside_it_without_overlapping():
    register = models.RiskRegister("r", "T", "I", "P", REGISTER.likelihood_scale, REGISTER.consequence_scale, (RISK,) * 6, ((1, 1),) * 6)
    positions = charts_risk.marker_positions(register, [(3, 3)] * 6)
    assert [n for n, _, _ in positions] == [1, 2, 3, 4, 5, 6]
    assert all(2.5 < x < 3.5 and 2.5 < y < 3.5 for _, x, y in positions)
    points = [(round(x, 3), round(y, 3)) for _, x, y in positions]
    assert len(set(points)) == 6
    assert min(abs(a[0] - b[0]) + abs(a[1] - b[1]) for a in points for b in points if a != b) >= 0.25


def test_risk_matrix_figure_shows_each_risk_number_at_its_rating():
    from matplotlib.figure import Figure

    fig = charts_risk.risk_matrix_figure(REGISTER, [(2, 5), (5, 1), (3, 3)])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    numbers = {t.get_text(): t.get_position() for t in ax.texts if t.get_fontweight() == "bold"}
    assert numbers == {"1": (2.0, 5.0), "2": (5.0, 1.0), "3": (3.0, 3.0)}
    cell_scores = sorted(int(t.get_text()) for t in ax.texts if t.get_fontweight() != "bold")
    assert cell_scores == sorted(x * y for x in range(1, 6) for y in range(1, 6)), "every cell shows its score"
    assert "Sannsynlighet" in ax.get_xlabel() and "Konsekvens" in ax.get_ylabel()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["lav (1–4)", "middels (5–9)", "høy (10–25)"], "levels are named, not only coloured"
    colours = {p.get_facecolor()[:3] for p in ax.patches}
    from matplotlib.colors import to_rgb

    assert colours == {to_rgb(c) for c in charts_risk.LEVEL_COLOURS.values()}


def test_risk_matrix_refuses_a_bad_rating():
    with pytest.raises(ValueError, match="helt tall fra 1 til 5"):
        charts_risk.risk_matrix_figure(REGISTER, [(2, 5), (5, 7), (3, 3)])


# --- Risk register widget -------------------------------------------------------


def test_risk_widget_updates_table_chart_and_advice_when_a_choice_changes():
    w = RiskRegisterWidget(REGISTER)
    assert [s.value for s in w.likelihood + w.consequence] == [3] * 6
    assert all(isinstance(c, widgets.Dropdown) for c in w.likelihood + w.consequence)
    assert all([v for _, v in c.options] == [1, 2, 3, 4, 5] for c in w.likelihood + w.consequence)
    assert w.likelihood[0].label == "3 – s3" and w.consequence[0].options[4] == ("5 – k5", 5)
    assert (w.likelihood[1].description, w.consequence[1].description) == ("Sannsynlighet, risiko 2:", "Konsekvens, risiko 2:")
    first_chart = w.chart.outputs[0]["data"]["image/png"]
    w.likelihood[1].value = 5
    w.consequence[1].value = 5
    assert "<tr><td>1</td><td>2. B</td><td>5</td><td>5</td><td>25</td><td>høy</td></tr>" in w.table.value
    assert "Sannsynlighet 5: s5. Konsekvens 5: k5." in w.readouts[1].value
    assert "Risikoscore 5 × 5 = 25 (høy)" in w.readouts[1].value
    assert "Tiltak for «B»: Tiltak B." in w.advice.value
    assert w.chart.outputs[0]["data"]["image/png"] != first_chart, "the matrix is redrawn"
    numbers = {t.get_text(): t.get_position() for t in w.figure.axes[0].texts if t.get_fontweight() == "bold"}
    assert numbers["2"] == (5.0, 5.0)


def test_risk_widget_escapes_content():
    register = models.RiskRegister(
        "r", "<b>T</b>", "I", "P", REGISTER.likelihood_scale, REGISTER.consequence_scale,
        (models.Risk("<script>", "d", "m & n"), RISK), ((1, 1), (1, 1)), 1,
    )
    w = RiskRegisterWidget(register)
    assert "<script>" not in w.table.value and "&lt;script&gt;" in w.table.value
    assert "<b>T</b>" not in w.children[0].value


# --- Content: risk register -------------------------------------------------------

GOOD_REGISTER = """
reg:
  kind: risk_register
  title: T
  instructions: I
  project: P
  likelihood_scale: [a, b, c, d, e]
  consequence_scale: [a, b, c, d, e]
  risks:
    - title: R1
      description: D
      mitigation: M
      example_likelihood: 2
      example_consequence: 3
    - title: R2
      description: D
      mitigation: M
      example_likelihood: 5
      example_consequence: 1
"""


def test_a_valid_risk_register_parses():
    reg = loader.parse("test.yaml", GOOD_REGISTER)["reg"]
    assert reg.example == ((2, 3), (5, 1))
    assert reg.top == 2, "the default top is 3, or every risk when there are fewer"


@pytest.mark.parametrize(
    "broken, field, words",
    [
        (GOOD_REGISTER.replace("example_likelihood: 2", "example_likelihood: 6"), "risks[0].example_likelihood", "fra 1 til 5"),
        (GOOD_REGISTER.replace("      mitigation: M\n      example_likelihood: 5", "      example_likelihood: 5"),
         "risks[1].mitigation", "mangler"),
        (GOOD_REGISTER.replace("likelihood_scale: [a, b, c, d, e]", "likelihood_scale: [a, b, c, d]"), "likelihood_scale", "minst 5"),
        (GOOD_REGISTER.replace("consequence_scale: [a, b, c, d, e]", "consequence_scale: [a, b, c, d, e, f]"),
         "consequence_scale", "nøyaktig fem"),
        (GOOD_REGISTER.replace("  project: P\n", ""), "project", "mangler"),
        (GOOD_REGISTER.replace("project: P\n", "project: P\n  top: 9\n"), "top", "fra 1 til 2"),
    ],
)
def test_a_malformed_risk_register_names_file_entry_and_field(broken: str, field: str, words: str):
    with pytest.raises(loader.ContentError) as error:
        loader.parse("leksjon_x.yaml", broken)
    message = str(error.value)
    assert "«leksjon_x.yaml»" in message and "«reg»" in message and f"«{field}»" in message, message
    assert words in message, message


# --- Branching case: content and graph validation -----------------------------------

GOOD_CASE = """
case:
  kind: branching_case
  title: Case
  intro: Oppdiktet.
  start: a
  nodes:
    - id: a
      stage: Oppdage
      situation: Hvem inviterer du?
      choices:
        - text: Alle
          consequence: Bra.
          next: b
        - text: Få
          consequence: Mindre bra.
          next: c
    - id: b
      stage: Definere
      situation: Hvem setter dagsorden?
      choices:
        - text: Målgruppen
          consequence: Godt.
          next: c
    - id: c
      stage: Levere
      situation: Slutt.
      summary: Oppsummering.
"""


def test_a_valid_case_parses():
    case = loader.parse("test.yaml", GOOD_CASE)["case"]
    assert [n.id for n in case.nodes] == ["a", "b", "c"]
    assert case.node("c").is_ending and not case.node("a").is_ending
    assert case.node("a").choices[1].next == "c"


@pytest.mark.parametrize(
    "broken, field, words",
    [
        # a branch that points nowhere
        (GOOD_CASE.replace("next: b", "next: x"), "nodes[0] (noden «a»).choices[0].next", "peker til noden «x», som ikke finnes"),
        # a cycle: b leads back to a
        (GOOD_CASE.replace("          next: c\n    - id: c", "          next: a\n    - id: c"),
         "nodes[1] (noden «b»).choices[0].next", "går i ring (a → b → a)"),
        # a node leading to itself
        (GOOD_CASE.replace("next: b", "next: a"), "nodes[0] (noden «a»).choices[0].next", "går i ring (a → a)"),
        # an unreachable node: nothing points to b
        (GOOD_CASE.replace("next: b", "next: c"), "nodes[1] (noden «b»)", "kan ikke nås fra startnoden «a»"),
        # a start node that does not exist
        (GOOD_CASE.replace("start: a", "start: z"), "start", "startnoden «z» finnes ikke"),
        # missing fields
        (GOOD_CASE.replace("          consequence: Godt.\n", ""), "nodes[1] (noden «b»).choices[0].consequence", "mangler"),
        (GOOD_CASE.replace("      situation: Slutt.\n", ""), "nodes[2] (noden «c»).situation", "mangler"),
        (GOOD_CASE.replace("      summary: Oppsummering.\n", ""), "nodes[2] (noden «c»)", "enten «choices»"),
        (GOOD_CASE.replace("    - id: b\n", "    - id: a\n"), "nodes[1] (noden «a»).id", "finnes allerede"),
        (GOOD_CASE.replace("stage: Definere", "stage: Planlegge"), "nodes[1] (noden «b»).stage", "doble diamanten"),
        (GOOD_CASE.replace("  start: a\n", ""), "start", "mangler"),
    ],
)
def test_a_broken_case_names_file_entry_field_and_node(broken: str, field: str, words: str):
    """Does a dangling branch, a cycle, an unreachable node or a missing field give a Norwegian ContentError that says where?"""
    with pytest.raises(loader.ContentError) as error:
        loader.parse("leksjon_x.yaml", broken)
    message = str(error.value)
    assert "«leksjon_x.yaml»" in message and "«case»" in message, message
    assert f"feltet «{field}»" in message, message
    assert words in message, message


def test_the_lesson_case_is_fair_and_reaches_every_stage():
    """Does every path of the shipped case pass through all four stages and end with a summary?"""
    case = loader.get("l08_bosetting_case", models.BranchingCase)

    def paths(node_id, trail):
        node = case.node(node_id)
        if node.is_ending:
            yield [*trail, node]
        for c in node.choices:
            yield from paths(c.next, [*trail, node])

    all_paths = list(paths(case.start, []))
    assert len(all_paths) >= 4
    for path in all_paths:
        assert [n.stage for n in path] == list(models.STAGES)
        assert path[-1].summary


# --- Branching case: walk and widget ----------------------------------------------------


@pytest.fixture
def case() -> models.BranchingCase:
    return loader.parse("test.yaml", GOOD_CASE)["case"]


def test_walk_records_the_path_and_refuses_bad_choices(case):
    walk = models.CaseWalk(case)
    with pytest.raises(ValueError, match="ikke valgt noe"):
        walk.choose(None)
    with pytest.raises(ValueError, match="fra 0 til 1"):
        walk.choose(2)
    assert walk.choose(0).consequence == "Bra."
    assert walk.current.id == "b"
    walk.choose(0)
    assert walk.current.is_ending
    with pytest.raises(ValueError, match="Start på nytt"):
        walk.choose(0)
    text = walk.markdown("  Notatet mitt.  ")
    assert "1. **Oppdage:** Hvem inviterer du?" in text and "   - Valget ditt: Alle" in text
    assert "   - Konsekvens: Godt." in text and "Oppsummering." in text and "Notatet mitt." in text
    walk.restart()
    assert walk.current.id == "a" and walk.path == []
    assert "(ingen notater)" in walk.markdown()


def test_widget_shows_consequence_and_next_node_then_starts_over(case):
    w = BranchingCaseWidget(case)
    assert "Hvem inviterer du?" in w.situation.value
    assert "Fase 1 av 4" in w.stage.value
    assert w.choice.description and w.notes.description
    w.choose.click()
    assert "ikke valgt noe" in w.message.value and "✘" in w.message.value
    w.choice.value = 0
    w.choose.click()
    assert "Konsekvens av valget ditt:</strong> Bra." in w.consequence.value
    assert "Hvem setter dagsorden?" in w.situation.value
    assert "Fase 2 av 4" in w.stage.value
    assert w.message.value == ""
    assert "Oppdage: Alle" in w.path.value
    w.choice.value = 0
    w.choose.click()
    assert "Oppsummering." in w.situation.value
    assert w.choice.layout.display == "none" and w.choose.layout.display == "none"
    w.restart.click()
    assert "Hvem inviterer du?" in w.situation.value
    assert w.consequence.value == "" and w.path.value == ""
    assert w.choice.layout.display is None
    assert w.choice.options == (("Alle", 0), ("Få", 1))


def test_save_writes_markdown_with_path_and_notes_and_never_overwrites(case, tmp_path: Path):
    w = BranchingCaseWidget(case, folder=tmp_path)
    w.choice.value = 1
    w.choose.click()
    w.notes.value = "Jeg ville invitere målgruppen neste gang."
    w.save.click()
    first = tmp_path / "sammendrag_case.md"
    text = first.read_text(encoding="utf-8")
    assert "Valget ditt: Få" in text and "Konsekvens: Mindre bra." in text
    assert "Jeg ville invitere målgruppen neste gang." in text
    assert "✔" in w.saved.value and "«sammendrag_case.md»" in w.saved.value
    w.notes.value = "Andre notat."
    w.save.click()
    assert first.read_text(encoding="utf-8") == text, "the first file is untouched"
    second = tmp_path / "sammendrag_case_2.md"
    assert "Andre notat." in second.read_text(encoding="utf-8")
    assert "«sammendrag_case_2.md»" in w.saved.value


def test_save_failure_gives_a_clear_norwegian_message(case, tmp_path: Path):
    w = BranchingCaseWidget(case, folder=tmp_path / "finnes_ikke")
    w.save.click()
    assert "✘" in w.saved.value and "Kunne ikke lagre sammendraget" in w.saved.value
    assert "kopier notatene dine" in w.saved.value


def test_save_uses_the_current_folder_by_default(case, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = BranchingCaseWidget(case)
    w.save.click()
    assert (tmp_path / "sammendrag_case.md").exists()


def test_case_widget_escapes_content(case):
    node = models.CaseNode("a", "Oppdage", "<img src=x>", (models.CaseChoice("t", "<b>k</b>", "b"),))
    end = models.CaseNode("b", "Levere", "s", summary="<i>o</i>")
    w = BranchingCaseWidget(models.BranchingCase("c", "<h1>T</h1>", "i", "a", (node, end)))
    assert "<img" not in w.situation.value and "<h1>T</h1>" not in w.children[0].value
    w.choice.value = 0
    w.choose.click()
    assert "<b>k</b>" not in w.consequence.value and "<i>o</i>" not in w.situation.value


def test_activity_builds_the_new_widgets_without_displaying(capsys):
    assert isinstance(activity("l07_risikoregister"), RiskRegisterWidget)
    assert isinstance(activity("l08_bosetting_case"), BranchingCaseWidget)
    assert isinstance(activity("l08_bosetting_case"), widgets.VBox)
    assert capsys.readouterr().out == ""


def test_case_overview_counts_situations_endings_and_paths(case):
    assert case.paths() == 2  # a -> b -> c and a -> c
    lines = case.overview().splitlines()
    assert lines[0] == "Casen har 2 valgsituasjoner, 1 mulig slutt og 2 ulike veier fra start til slutt."
    assert lines[1:] == [
        "1. Oppdage: 1 valgsituasjon med til sammen 2 valg",
        "2. Definere: 1 valgsituasjon med til sammen 1 valg",
        "3. Utvikle: ingen situasjoner",
        "4. Levere: 1 slutt",
    ]


# --- Multiple-choice items of lessons 7 and 8: no length giveaway ----------------

SENTENCE = 30  # options at least this long are sentences; shorter ones are labels (names of concepts)


def _length_problems(items: list[models.MultipleChoice]) -> list[str]:
    """Items whose sentence options differ too much in length, and too many items where the right option is longest."""
    problems = []
    for item in items:
        lengths = [len(o.text) for o in item.options]
        if min(lengths) >= SENTENCE and max(lengths) > 1.5 * min(lengths):
            problems.append(f"{item.id}: option lengths {lengths} differ by more than half")
    longest = [i.id for i in items if len(i.options[i.correct_index].text) > max(len(o.text) for o in i.options if not o.correct)]
    if len(longest) * 3 > len(items):
        problems.append(f"the right option is the longest in {len(longest)} of {len(items)} items: {longest}")
    return problems


def _lesson_items(*prefixes: str) -> list[models.MultipleChoice]:
    return [e for e in loader.load_all().values() if isinstance(e, models.MultipleChoice) and e.id.startswith(prefixes)]


def test_lesson_7_and_8_options_give_no_length_giveaway():
    """Are the options of every multiple-choice item in lessons 7 and 8 of comparable length, with the right one rarely the longest?"""
    items = _lesson_items("l07_", "l08_")
    assert len(items) >= 10
    assert _length_problems(items) == []


def test_length_check_catches_a_long_right_option():
    """Would an item whose right option is twice as long as the others fail the check (so the check can fail at all)?"""
    def item(n: int) -> models.MultipleChoice:
        right = models.Option("Det riktige svaret, forklart med mange ekstra ord og forbehold slik at det blir langt.", True, "x")
        wrong = models.Option("Et kort galt svar som ingen tror på.", False, "y")
        return models.MultipleChoice(f"q{n}", "Hva?", (wrong, right, wrong))

    problems = _length_problems([item(n) for n in range(3)])
    assert any("differ by more than half" in p for p in problems)
    assert any("the right option is the longest in 3 of 3 items" in p for p in problems)
