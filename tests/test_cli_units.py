"""Fast unit tests of the instructor tooling's pieces (no kernels, no nbgrader subprocesses)."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from conftest import ROOT, assignments
from course.instructor.check import Result, check_giveaways, check_leaks, check_points, giveaways, points
from course.instructor.feedback import EXPLANATION_LABEL, HIDDEN_TEST_FAILED, explanation, sanitise_cell
from course.instructor.report import pseudonym
from course.instructor.tamper import find_tampering

ASSIGNMENT = assignments()[0]
RELEASED = ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"

TEST_CELL = '''assert isinstance(svar, str), "Svaret må stå mellom anførselstegn."
print("Formatet er riktig.")
### BEGIN HIDDEN TESTS
assert svar.strip().lower() == "samproduksjon", "Ikke riktig. Det er samproduksjon."
### END HIDDEN TESTS
'''
EXPLAINED_CELL = '''assert isinstance(svar, str), "Svaret må stå mellom anførselstegn."
print("Formatet er riktig.")
### BEGIN HIDDEN TESTS
# FORKLARING: Riktig svar: samproduksjon. De eldre leverer en del av
#   tjenesten, men kommunen har bestemt rammene.
assert svar.strip().lower() == "samproduksjon", "Ikke riktig."
### END HIDDEN TESTS
'''
WHY = "Riktig svar: samproduksjon. De eldre leverer en del av tjenesten, men kommunen har bestemt rammene."


def _error(ename: str, evalue: str, traceback: list[str]):
    return new_output("error", ename=ename, evalue=evalue, traceback=traceback)


def test_tampering_finds_edited_and_deleted_locked_cells(tmp_path: Path):
    """Are an edited test cell and a deleted locked cell reported, and an untouched release not?"""
    submitted = tmp_path / "innlevering.ipynb"
    shutil.copy(RELEASED, submitted)
    assert find_tampering(RELEASED, submitted) == []
    nb = nbformat.read(submitted, as_version=4)
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code")
    test.source = "pass"
    deleted = nb.cells.pop(1).metadata["nbgrader"]["grade_id"]
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    answer.source = 'svar = "noe annet"'  # answering is not tampering
    nbformat.write(nb, submitted)
    assert find_tampering(RELEASED, submitted) == [
        f"cellen «{deleted}» er slettet",
        f"cellen «{test.metadata['nbgrader']['grade_id']}» er endret",
    ]


def test_feedback_hides_a_failing_hidden_test():
    """Is a hidden test removed from the source and its traceback replaced by one Norwegian line?"""
    cell = new_code_cell(TEST_CELL, outputs=[
        new_output("stream", name="stdout", text="Formatet er riktig.\n"),
        _error("AssertionError", "Ikke riktig. Det er samproduksjon.",
               ["---> 4 assert svar.strip().lower() == \"samproduksjon\", \"Ikke riktig. Det er samproduksjon.\""]),
    ])
    sanitise_cell(cell)
    assert "samproduksjon" not in cell.source and "HIDDEN" not in cell.source
    assert "Svaret må stå mellom anførselstegn." in cell.source
    texts = [o.get("text", "") for o in cell.outputs]
    assert texts == ["Formatet er riktig.\n", HIDDEN_TEST_FAILED + "\n"]
    assert all(o.output_type != "error" for o in cell.outputs)


def test_feedback_keeps_the_visible_message_without_code():
    """Does a failing visible format test show its friendly message, and no traceback with code?"""
    cell = new_code_cell(TEST_CELL, outputs=[
        _error("AssertionError", "Svaret må stå mellom anførselstegn.",
               ["---> 1 assert isinstance(svar, str), \"Svaret må stå mellom anførselstegn.\"",
                "      2 print(\"Formatet er riktig.\")", "      3 ### BEGIN HIDDEN TESTS"]),
    ])
    sanitise_cell(cell)
    assert [o.text for o in cell.outputs] == ["AssertionError: Svaret må stå mellom anførselstegn.\n"]


def test_feedback_hides_a_traceback_that_shows_hidden_lines():
    """Is an error whose message is not from the hidden tests still hidden when its traceback shows them?"""
    cell = new_code_cell(TEST_CELL, outputs=[
        _error("AttributeError", "'int' object has no attribute 'strip'",
               ["----> 4 assert svar.strip().lower() == \"samproduksjon\", \"Ikke riktig. Det er samproduksjon.\""]),
    ])
    sanitise_cell(cell)
    assert [o.text for o in cell.outputs] == [HIDDEN_TEST_FAILED + "\n"]


def test_feedback_removes_the_mark_scheme():
    """Is the mark scheme cut out of a task cell, and the task text kept?"""
    cell = new_markdown_cell("Skriv en refleksjon.\n\n=== BEGIN MARK SCHEME ===\n4 p: alt er med.\n=== END MARK SCHEME ===\n")
    sanitise_cell(cell)
    assert cell.source.strip() == "Skriv en refleksjon."


def _failed_hidden_test():
    return new_code_cell(EXPLAINED_CELL, outputs=[
        new_output("stream", name="stdout", text="Formatet er riktig.\n"),
        _error("AssertionError", "Ikke riktig.",
               ["---> 6 assert svar.strip().lower() == \"samproduksjon\", \"Ikke riktig.\""]),
    ])


def test_explanation_is_read_from_the_hidden_tests():
    """Is the «# FORKLARING:» block, continuation lines included, read as one text, and nothing else?"""
    assert explanation(EXPLAINED_CELL) == WHY
    assert explanation(TEST_CELL) == ""


def test_feedback_explains_a_wrong_answer_without_code():
    """With explanations on: does a wrong answer's feedback say why, and show no hidden-test line?"""
    cell = _failed_hidden_test()
    sanitise_cell(cell, show_explanations=True)
    texts = [o.get("text", "") for o in cell.outputs]
    assert texts == ["Formatet er riktig.\n", HIDDEN_TEST_FAILED + "\n", EXPLANATION_LABEL + WHY + "\n"]
    shown = cell.source + "".join(texts)
    for line in EXPLAINED_CELL.split("### BEGIN HIDDEN TESTS")[1].splitlines():
        if len(line.strip()) >= 8 and "END HIDDEN" not in line:
            assert line.strip() not in shown


def test_feedback_without_explanations_shows_neither():
    """With explanations off: is there neither the explanation nor a hidden-test line?"""
    cell = _failed_hidden_test()
    sanitise_cell(cell, show_explanations=False)
    shown = cell.source + "".join(o.get("text", "") for o in cell.outputs)
    assert "samproduksjon" not in shown and "FORKLARING" not in shown and EXPLANATION_LABEL not in shown
    assert [o.text for o in cell.outputs] == ["Formatet er riktig.\n", HIDDEN_TEST_FAILED + "\n"]


def test_every_autograded_item_has_an_explanation():
    """Does every autograded test cell of the explained exercises carry a «# FORKLARING:» block?"""
    missing = []
    for assignment in assignments():
        nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
                if len(explanation(cell.source)) < 40:
                    missing.append(f"{assignment}:{meta['grade_id']}")
    assert not missing, missing


def test_giveaway_check_passes_the_repository_and_catches_a_planted_example(tmp_path: Path):
    """Does the check pass every committed exercise, and name the exercise, question and value of a planted one?"""
    for assignment in assignments():
        source = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
        released = ROOT / "exercises" / assignment / f"{assignment}.ipynb"
        assert giveaways(nbformat.read(source, as_version=4), nbformat.read(released, as_version=4)) == [], assignment
    source = ROOT / "solutions" / "oppgave_01" / "oppgave_01.ipynb"
    planted = tmp_path / "oppgave_01.ipynb"
    nb = nbformat.read(ROOT / "exercises" / "oppgave_01" / "oppgave_01.ipynb", as_version=4)
    test_1d = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_1d")
    test_1d.source = test_1d.source.replace("'Svaret må stå mellom anførselstegn",
                                            "'Svaret må stå mellom anførselstegn, for eksempel svar_1d = \"samarbeid\"", 1)
    nbformat.write(nb, planted)
    result = Result("oppgave_01")
    check_giveaways("oppgave_01", source, planted, result)
    assert not result.ok
    assert "oppgave_01, spørsmål 1d" in result.failed[0] and "«samarbeid»" in result.failed[0]


def test_giveaway_check_catches_a_code_answer_and_an_example_line():
    """Is a solution expression in a visible hint caught, and a quoted answer on a question's «eksempel» line?"""
    source = new_notebook(cells=[
        new_code_cell("svar_2a = None\n### BEGIN SOLUTION\nsvar_2a = tabell.mean()\n### END SOLUTION\n",
                      metadata={"nbgrader": {"solution": True, "grade_id": "svar_2a"}}),
        new_code_cell("svar_2b = \"\"\n### BEGIN SOLUTION\nsvar_2b = \"raushet\"\n### END SOLUTION\n",
                      metadata={"nbgrader": {"solution": True, "grade_id": "svar_2b"}}),
    ])
    release = new_notebook(cells=[
        new_code_cell('assert svar_2a is not None, "Bytt ut None, for eksempel med tabell.mean()."'),
        new_markdown_cell("Skriv navnet, for eksempel `\"raushet\"`.", metadata={"nbgrader": {"grade_id": "oppgave_2b"}}),
    ])
    assert giveaways(source, release) == [("2a", "tabell.mean()"), ("2b", "raushet")]
    # Under another question the example still shows 2b's key (issue 20); a line without «eksempel» does not.
    release.cells[1].metadata["nbgrader"]["grade_id"] = "oppgave_2c"
    assert giveaways(source, release) == [("2a", "tabell.mean()"), ("2b", "raushet")]
    release.cells[1].source = "Skriv navnet på punktet, for eksempel `\"energi\"`.\nPunktene er `\"raushet\"` og fire andre."
    assert giveaways(source, release) == [("2a", "tabell.mean()")]


def _exercise(total: str, auto: int = 2, manual: int = 3):
    return new_notebook(cells=[
        new_markdown_cell(f"# Oppgave\n\nOppgaven gir til sammen **{total} poeng**: {auto} poeng rettes automatisk "
                          f"og {manual} poeng rettes av faglæreren."),
        new_code_cell("assert True", metadata={"nbgrader": {"grade": True, "solution": False, "points": auto, "grade_id": "t"}}),
        new_markdown_cell("Refleksjon", metadata={"nbgrader": {"task": True, "points": manual, "grade_id": "r"}}),
    ])


def test_points_must_add_up():
    """Does the points check accept a matching total and explain, in Norwegian, one that does not add up?"""
    assert points(_exercise("5")) == (2, 3)
    good, bad, split = Result("a"), Result("b"), Result("c")
    check_points(_exercise("5"), good)
    check_points(_exercise("6"), bad)
    nb = _exercise("5")
    nb.cells[0].source = nb.cells[0].source.replace("2 poeng rettes automatisk og 3", "3 poeng rettes automatisk og 2")
    check_points(nb, split)
    assert good.ok
    assert split.failed == ["Poeng: Innledningen sier 3 poeng automatisk og 2 for hånd, men cellene gir 2 automatisk og 3 for hånd."]
    assert bad.failed == ["Poeng: Innledningen sier 6 poeng til sammen, men cellene gir 5 (2 automatisk + 3 for hånd)."]
    missing = Result("d")
    nb = _exercise("5")
    nb.cells[0].source = "# Oppgave uten poeng"
    check_points(nb, missing)
    assert "sier ikke hvor mange poeng" in missing.failed[0]


def test_leak_check_finds_a_solution_line(tmp_path: Path):
    """Does the leak check pass on the committed exercise and catch a solution line copied into it?"""
    source = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    folder = tmp_path / ASSIGNMENT
    folder.mkdir()
    shutil.copy(RELEASED, folder)
    clean = Result(ASSIGNMENT)
    check_leaks(source, folder, clean)
    assert clean.ok, clean.failed
    nb = nbformat.read(folder / RELEASED.name, as_version=4)
    solution = nbformat.read(source, as_version=4)
    secret = next(c for c in solution.cells if "### BEGIN HIDDEN TESTS" in c.source).source
    line = secret.split("### BEGIN HIDDEN TESTS")[1].strip().splitlines()[0]
    nb.cells[0].source += "\n" + line
    nbformat.write(nb, folder / RELEASED.name)
    leaky = Result(ASSIGNMENT)
    check_leaks(source, folder, leaky)
    assert not leaky.ok and "Lekkasje til studentene" in leaky.failed[0]


def test_leak_check_finds_one_sentence_of_an_exemplar(tmp_path: Path):
    """Does `course check` name a single exemplar sentence (not a whole line) pasted into an exercise?"""
    source = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    scheme = next(c.source for c in nbformat.read(source, as_version=4).cells if "**Eksempelsvar" in c.source)
    quote = next(line for line in scheme.split("**Eksempelsvar", 1)[1].splitlines() if line.startswith("> "))
    sentence = quote[2:].split(". ")[1] + "."
    folder = tmp_path / ASSIGNMENT
    folder.mkdir()
    nb = nbformat.read(RELEASED, as_version=4)
    nb.cells[0].source += "\n\nFor eksempel: " + sentence + " Slik kan det se ut."
    nbformat.write(nb, folder / RELEASED.name)
    leaky = Result(ASSIGNMENT)
    check_leaks(source, folder, leaky)
    assert not leaky.ok and "eksempelsvarene i vurderingskriteriene" in leaky.failed[0]


def test_pseudonyms_are_stable_and_keyed():
    """Is a pseudonym the same for the same student and key, and different for another key or student?"""
    assert pseudonym("elev_a", b"k1") == pseudonym("elev_a", b"k1")
    assert pseudonym("elev_a", b"k1") != pseudonym("elev_a", b"k2")
    assert pseudonym("elev_a", b"k1") != pseudonym("elev_b", b"k1")
    assert pseudonym("elev_a", b"k1").startswith("p-") and "elev" not in pseudonym("elev_a", b"k1")


def _imports(source: str, package: str) -> set[str]:
    """Every module a Python source imports, relative imports resolved against ``package``."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return found


def test_student_facing_code_never_imports_the_instructor_tooling():
    """Do the student-facing modules (all of course/ but course/instructor/), lessons and exercises stay clear of it?"""
    modules = [p for p in (ROOT / "course").rglob("*.py") if "instructor" not in p.relative_to(ROOT / "course").parts]
    assert ROOT / "course" / "exchange" / "submit.py" in modules
    for path in modules:
        package = ".".join(path.relative_to(ROOT).parent.parts)
        used = {m for m in _imports(path.read_text(encoding="utf-8"), package) if m.startswith("course.instructor")}
        assert not used, f"{path.relative_to(ROOT)} imports {sorted(used)}"
    notebooks = sorted((ROOT / "lessons").glob("*.ipynb")) + sorted((ROOT / "exercises").rglob("*.ipynb"))
    assert notebooks
    for path in notebooks:
        source = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code")
        assert "instructor" not in source, f"{path.name} refers to course.instructor"


def test_the_import_check_sees_a_relative_import_of_the_instructor_tooling():
    assert "course.instructor.common" in _imports("from ..instructor import common", "course.exchange")
    assert "course.instructor.common" in _imports("from .instructor.common import x", "course")
    assert "course.instructor.common" in _imports("from course.instructor.common import x", "course")

def test_the_gradebook_revision_found_in_process_is_the_one_alembic_prints(tmp_path: Path):
    """course/alembic_head.py must give nbgrader what its own `alembic heads` call gives, and nbgrader must use it."""
    import subprocess
    import sys

    import nbgrader.api
    from nbgrader.dbutil import write_alembic_ini

    from course.alembic_head import alembic_head, install

    ini = tmp_path / "alembic.ini"
    write_alembic_ini(str(ini), f"sqlite:///{tmp_path / 'x.db'}")
    heads = subprocess.run([str(Path(sys.executable).parent / "alembic"), "-c", str(ini), "heads"],
                           capture_output=True, text=True, check=True).stdout
    assert alembic_head() == heads.split("\n")[0].split(" ")[0]
    install()
    assert nbgrader.api.get_alembic_version is alembic_head
    with nbgrader.api.Gradebook(f"sqlite:///{tmp_path / 'ny.db'}") as gb:
        assert gb.db.execute(nbgrader.api.text("SELECT version_num FROM alembic_version")).scalar() == alembic_head()
