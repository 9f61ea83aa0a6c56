"""Can an autograded answer be read somewhere instead of worked out? And does every item say its level?

The first tests take the pieces of course/instructor/copyable.py and levels.py
on small made-up cases (no kernel). The last ones run every solution notebook
in a real kernel, as `course check` does, and plant each exercise's real
answers where a student would find them: a lesson's stored output, a lesson
activity, the glossary, a docstring in the package. Each planted leak must be
named with the file it is in; the repository as committed must have none.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from conftest import ROOT, assignments
from course.instructor.check import Result, WHOLE_COURSE, check_course_levels, check_levels, giveaways
from course.instructor.copyable import (
    answer_values,
    code_examples,
    copyable,
    describe,
    find_number,
    find_ranking,
    item_stems,
    shape,
    solutions,
    student_texts,
    template_answers,
)
from course.instructor.levels import LEVELS, MIN_SHARE, autograded_items, share_beyond_recall


def _test_cell(grade_id: str, points: float, level: str | None) -> nbformat.NotebookNode:
    metadata = {"nbgrader": {"grade": True, "solution": False, "locked": True, "points": points, "grade_id": grade_id}}
    if level is not None:
        metadata["kurs"] = {"nivå": level}
    return new_code_cell("assert True", metadata=metadata)


# --- levels -----------------------------------------------------------------------------------

def test_every_autograded_item_of_the_course_has_a_level_and_most_points_ask_for_more_than_recall():
    """Does each autograded test cell in solutions/ carry a level, and do ≥ 60 % of the points ask for more than recall?"""
    items = []
    for assignment in assignments():
        nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
        found = autograded_items(nb)
        assert found, assignment
        missing = [item.grade_id for item in found if item.level is None]
        assert not missing, f"{assignment}: no level in {missing}"
        items += found
    beyond, total = share_beyond_recall(items)
    assert beyond / total >= MIN_SHARE, f"only {beyond:g} of {total:g} autograded points ask for more than recall"


def test_a_missing_or_unknown_level_fails_in_norwegian():
    """Is a test cell without a level, or with one outside the taxonomy, named with what to write?"""
    nb = new_notebook(cells=[_test_cell("test_1a", 1, "forstå"), _test_cell("test_1b", 2, None),
                             _test_cell("test_1c", 1, "gjette")])
    result = Result("oppgave_99")
    check_levels(nb, result)
    assert result.failed and "test_1b, test_1c" in result.failed[0] and "nivå" in result.failed[0]
    assert all(level in result.failed[0] for level in LEVELS)
    nb.cells[1].metadata["kurs"] = {"nivå": "analysere"}
    nb.cells[2].metadata["kurs"] = {"nivå": "huske"}
    ok = Result("oppgave_99")
    check_levels(nb, ok)
    assert ok.ok and "forstå 1, analysere 2" in ok.passed[0] and "huske 1" in ok.passed[0]


def test_the_course_fails_when_too_few_points_ask_for_more_than_recall(tmp_path: Path):
    """Does the course-wide check count points (not items) and fail below the 60 % line?"""
    folder = tmp_path / "solutions" / "oppgave_01"
    folder.mkdir(parents=True)
    path = folder / "oppgave_01.ipynb"
    # 3 of 5 points beyond recall: 60 %, on the line.
    nbformat.write(new_notebook(cells=[_test_cell("a", 3, "anvende"), _test_cell("b", 1, "huske"),
                                       _test_cell("c", 1, "huske")]), path)
    on_the_line = check_course_levels(tmp_path, ["oppgave_01"])
    assert on_the_line.assignment == WHOLE_COURSE and on_the_line.ok, on_the_line.failed
    # 2 of 5: 40 %.
    nbformat.write(new_notebook(cells=[_test_cell("a", 2, "anvende"), _test_cell("b", 3, "huske")]), path)
    below = check_course_levels(tmp_path, ["oppgave_01"])
    assert not below.ok and "Bare 2 av 5 automatiske poeng (40 %)" in below.failed[0]


# --- matching ---------------------------------------------------------------------------------

def test_a_number_is_found_in_the_forms_a_student_sees_and_not_by_chance():
    """Are 24,57 / 24.5706 found anywhere, 24,6 only beside the item's own column, and 124,57 never?"""
    value = 24.570588
    assert find_number("Svaret er 24,57 årsverk.", value) == "24,57"
    assert find_number("timer\n0    24.570588\n", value) == "24.570588"
    assert find_number("om lag 24,6 årsverk", value) is None
    assert find_number("timer: om lag 24,6 årsverk", value, ("timer",)) == "24,6"
    assert find_number("124,57 eller 24,575", value) is None
    assert find_number("nedgangen var −2,62 prosent", -2.6212, ("lønnede_årsverk",)) is None
    assert find_number("lønnede_årsverk falt med −2,62 prosent", -2.6212, ("lønnede_årsverk",)) == "2,62"
    assert find_number("90 538 årsverk i snitt", 90538.33) == "90 538"


def test_a_ranking_is_found_as_a_run_of_its_labels_and_not_in_a_list_of_all_of_them():
    """Is a sorted table's order found, while a sentence naming every id («R1, R2 … eller R6») is not?"""
    order = ["R3", "R6", "R1", "R2", "R4", "R5"]
    assert find_ranking("Plass | id\n1 | R3\n2 | R6\n3 | R1\n4 | R2\n5 | R4\n6 | R5\n", order)
    assert not find_ranking("Skriv en av id-ene R1, R2, R3, R4, R5 eller R6, for eksempel R3 eller R6 eller R1.", order)
    assert not find_ranking("R3, R6, R2, R1", order)
    assert not find_ranking("R3 og R1 henger sammen, R6 og R2 også, og R1 kommer før R2.", order)


def test_a_sorted_table_is_a_ranking_by_its_own_names_only():
    """Does a table sorted by score describe its ids as a ranking, but not a column of repeated categories?"""
    import pandas as pd

    table = pd.DataFrame({"id": ["R1", "R2", "R3", "R4"], "ansvar": ["kommunen", "kommunen", "frivilligheten", "kommunen"],
                          "score": [6, 12, 9, 16]})
    ranked = describe(table.sort_values("score", ascending=False))
    assert ranked == {"rekkefølger": [["R4", "R2", "R3", "R1"]]}
    assert describe(table) is None  # built in the order it was given: no ranking


def test_shapes_ignore_names_and_values_but_keep_the_operations():
    """Is `eksempel.mean()` the same shape as `tabell.mean()`, and a composed expression another?"""
    def s(code):
        return shape(ast.parse(code, mode="eval").body)

    assert s("eksempel.mean()") == s("egenvurdering.mean()")
    assert s('innsats["frivillige"].max()') == s('årsverk["lønnede_årsverk"].mean()')
    assert s("100 * a / b") == s("100 * c / d") != s("100 * c / (d + e)")
    assert s('tabell.sort_values("x", ascending=False)') == s('risikoer.sort_values("score", ascending=True)')
    assert s('a["x"].sum() / 1700') != s('a["x"].sum()')


def test_a_code_answer_shaped_like_an_example_is_a_template():
    """Is a solution caught when a comment, a markdown example or a test message shows its shape, and not otherwise?"""
    source = new_notebook(cells=[new_code_cell(
        'snitt = None\n### BEGIN SOLUTION\nsnitt = egenvurdering.mean()\n### END SOLUTION\n',
        metadata={"nbgrader": {"solution": True, "grade_id": "svar_2a"}})])
    answers = solutions(source)
    for shown in (new_markdown_cell("Eksempel: `eksempel.mean()` gir snittet."),
                  new_code_cell("# Eksempel på formen: snitt = tabell.max()\nsnitt = None"),
                  new_code_cell('assert snitt is not None, "Bytt ut None, for eksempel med data.sum()."')):
        assert template_answers(answers, new_notebook(cells=[shown])) == [("2a", "egenvurdering.mean()")]
    toolbox = new_markdown_cell('Verktøy: `tabell["kolonne"]` gir en kolonne, `tabell["kolonne"].mean()` snittet av den, '
                                'og `tabell.loc["rad", "kolonne"]` én verdi.')
    assert 'Call(N.A,[],[])' not in code_examples(new_notebook(cells=[toolbox]))
    assert template_answers(answers, new_notebook(cells=[toolbox])) == []


def test_a_format_example_may_show_no_items_key():
    """Is «for eksempel svar_1a = "samarbeid"» caught when «samarbeid» is 1d's key, and a neutral example not?"""
    source = new_notebook(cells=[
        new_code_cell('svar_1a = ""\n### BEGIN SOLUTION\nsvar_1a = "samproduksjon"\n### END SOLUTION\n',
                      metadata={"nbgrader": {"solution": True, "grade_id": "svar_1a"}}),
        new_code_cell('svar_1d = ""\n### BEGIN SOLUTION\nsvar_1d = "samarbeid"\n### END SOLUTION\n',
                      metadata={"nbgrader": {"solution": True, "grade_id": "svar_1d"}}),
        new_code_cell('svar_2b = None\n### BEGIN SOLUTION\nsvar_2b = 6\n### END SOLUTION\n',
                      metadata={"nbgrader": {"solution": True, "grade_id": "svar_2b"}}),
    ])
    intro = new_markdown_cell('Skriv svaret mellom anførselstegnene, for eksempel `svar_1a = "samarbeid"`.')
    assert giveaways(source, new_notebook(cells=[intro])) == [("1d", "samarbeid")]
    number = new_markdown_cell("Eksempler på riktig format: `svar_2a = 6` eller `svar_2a = \"trinn\"`.")
    assert giveaways(source, new_notebook(cells=[number])) == [("2b", "6")]
    neutral = new_markdown_cell('Skriv ett av ordene mellom anførselstegnene, for eksempel `svar_1a = "kategori"`. '
                                "Eksempelvik kommune er oppdiktet; samarbeid er overbegrepet.")
    assert giveaways(source, new_notebook(cells=[neutral])) == []


def test_item_stems_leave_out_options_and_dataset_names():
    """Are a case's sentences and a data cell's prose compared, but not the options or a dataset's name?"""
    release = new_notebook(cells=[
        new_markdown_cell("### 1a. Et tilfelle\n\nKommunen driver et dagsenter der de eldre dekker bordene selv hver dag.\n\n"
                          "- **A.** Det finnes et problem eller en utfordring som ingen av partene kan løse alene.",
                          metadata={"nbgrader": {"grade_id": "tilfelle_1a"}}),
        new_code_cell('data = load("oppdiktet_frivillig_innsats")\nrisiko = ["Frivillige guider slutter fordi ingen følger dem opp"]',
                      metadata={"nbgrader": {"grade_id": "data", "locked": True}}),
    ])
    stems = item_stems(release, ["1a"])
    assert any(stem.startswith("kommunendriveretdagsenter") for stem in stems)
    assert "frivilligeguiderslutterfordiingenfølgerdemopp" in stems
    assert not any("detfinnesetproblem" in stem or "oppdiktet_frivillig" in stem for stem in stems)


# --- the real answers, planted where a student would find them ---------------------------------

@pytest.fixture(scope="module")
def course_copy(tmp_path_factory) -> Path:
    """What a student can read, copied: lessons, the package, the student documents, exercises, solutions."""
    root = tmp_path_factory.mktemp("kurs")
    for folder in ("lessons", "course", "exercises", "solutions"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    (root / "docs").mkdir()
    for doc in ("ordliste.md", "litteratur.md", "studentveiledning.md", "emneplan.md"):
        shutil.copy(ROOT / "docs" / doc, root / "docs" / doc)
    return root


@pytest.fixture(scope="module")
def answers(course_copy: Path) -> dict[str, dict]:
    """Every exercise's answers, from its solution run in a real kernel."""
    return {a: answer_values(course_copy / "solutions" / a / f"{a}.ipynb", course_copy / "solutions" / a)
            for a in assignments()}


def _messages(root: Path, assignment: str, values: dict) -> list[str]:
    source = nbformat.read(root / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    release = nbformat.read(root / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)
    return copyable(assignment, source, release, values, student_texts(root))


@pytest.mark.slow
def test_no_answer_of_the_course_can_be_read_elsewhere(course_copy: Path, answers):
    """As committed, can any exercise's answer be read from a lesson, the package, a document or another exercise?"""
    assert all(answers.values()), "every exercise has answers the kernel could describe"
    for assignment, values in answers.items():
        assert _messages(course_copy, assignment, values) == [], assignment


@pytest.mark.slow
def test_planted_leaks_in_a_lesson_the_glossary_and_the_package_are_each_named(course_copy: Path, answers, tmp_path):
    """Planted in a lesson's stored output, an activity, the glossary and a docstring: is each real answer found there?"""
    root = tmp_path / "kurs"
    shutil.copytree(course_copy, root)
    lesson = root / "lessons" / "07_gevinster_risiko_dilemmaer.ipynb"
    nb = nbformat.read(lesson, as_version=4)
    glossary = root / "course" / "content" / "ordliste.yaml"
    activity = root / "course" / "content" / "leksjon_03.yaml"
    planted: dict[str, list[str]] = {}  # assignment -> the file each planted leak is in

    def plant(assignment: str, where: str) -> None:
        planted.setdefault(assignment, []).append(where)

    for assignment, values in answers.items():
        for target, described in values.items():
            for order in described.get("rekkefølger", [])[:1]:
                rows = "\n".join(f"{i + 1} | {label}" for i, label in enumerate(order))
                cell = new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(tabell)")
                cell.outputs = [new_output("stream", name="stdout", text=f"Plass | Risiko\n{rows}\n")]
                nb.cells.append(cell)
                plant(assignment, "lessons/07_gevinster_risiko_dilemmaer.ipynb, lagret utdata")
            for number in described.get("tall", [])[:1]:
                shown = f"{abs(number):.2f}"
                if len(shown.replace(".", "").lstrip("0")) >= 4 and not shown.endswith("0"):
                    with glossary.open("a", encoding="utf-8") as out:
                        out.write(f"# Et eksempel: {shown.replace('.', ',')} er svaret.\n")
                    plant(assignment, "course/content/ordliste.yaml")
    nbformat.write(nb, lesson)
    # A case sentence of every exercise in a lesson activity's feedback, and one answer in a docstring.
    with activity.open("a", encoding="utf-8") as out:
        for assignment in answers:
            release = nbformat.read(root / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)
            questions = sorted({q for _t, q, _v, _e in solutions(nbformat.read(
                root / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)) if q})
            stem = max(item_stems(release, questions), key=len)  # a sentence as the check reads it
            out.write(f"# Tilbakemelding: {stem}\n")
            plant(assignment, "course/content/leksjon_03.yaml")
    source = nbformat.read(root / "solutions" / "oppgave_01" / "oppgave_01.ipynb", as_version=4)
    target, _question, value, _expression = next(a for a in solutions(source) if isinstance(a[2], str))
    (root / "course" / "widgets.py").write_text(
        (root / "course" / "widgets.py").read_text(encoding="utf-8")
        + f'\n\ndef _eksempel():\n    """For eksempel {target} = {json.dumps(value, ensure_ascii=False)}."""\n',
        encoding="utf-8")
    plant("oppgave_01", "course/widgets.py")

    assert sum(len(v) for v in planted.values()) >= 8, planted
    for assignment, values in answers.items():
        messages = " | ".join(_messages(root, assignment, values))
        for where in planted.get(assignment, []):
            assert where in messages, f"{assignment}: nothing found in {where}: {messages}"
