"""Both målformer (issue 25): every exercise in nynorsk too, in step with bokmål, and graded as one.

The fast tests check the committed nynorsk sources against bokmål and what the
drift check catches; the slow ones run the real tools: a student's submit
through the course's exchange, `course grade` on a class where some answer in
each målform, the feedback, nbgrader's own autograde (formgrader's button),
`course report`'s export, and `course check` on a planted drift.
"""

from __future__ import annotations

import csv
import html
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from answers import answer_file_like_the_solution, points
from conftest import BIN, ROOT, Course, assignments
from course.exchange import MalformError, hand_in_one_malform
from course.instructor.feedback import explanation
from course.instructor.malform import drift, nynorsk_source
from course.malform import BOKMAL, NYNORSK, choose, malform_of, nynorsk_file

ASSIGNMENT = "oppgave_01"


def bokmal_nb(assignment: str = ASSIGNMENT):
    return nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)


def nynorsk_nb(assignment: str = ASSIGNMENT):
    return nbformat.read(nynorsk_source(ROOT, assignment), as_version=4)


def cell_by_id(nb, grade_id: str):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


# ---------------------------------------------------------------------------
# The committed course


@pytest.mark.parametrize("assignment", assignments())
def test_every_exercise_has_a_nynorsk_version_in_step(assignment: str):
    """Is there a nynorsk source for the exercise, translated from today's bokmål, with the same code and points?"""
    path = nynorsk_source(ROOT, assignment)
    assert path.is_file(), f"{path} is missing"
    assert drift(bokmal_nb(assignment), nynorsk_nb(assignment)) == []
    released = ROOT / "exercises" / assignment / nynorsk_file(f"{assignment}.ipynb")
    assert released.is_file(), f"{released} is missing: run `make exercises`"
    assert malform_of(nbformat.read(released, as_version=4)) == NYNORSK


@pytest.mark.parametrize("assignment", assignments())
def test_the_nynorsk_version_is_written_in_nynorsk(assignment: str):
    """Is the nynorsk text really translated (not the bokmål copied with new hashes)?

    Bokmål's most common function words are rare in nynorsk; the share of them
    in the running text must fall well below bokmål's own.
    """
    words = re.compile(r"\b(ikke|hva|hvem|hvordan|hvilke[tn]?|jeg|mye|bare|noen|også|fra)\b", re.I)

    def share(nb) -> float:
        text = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
        return len(words.findall(text)) / max(1, len(text.split()))

    bokmal, nynorsk = share(bokmal_nb(assignment)), share(nynorsk_nb(assignment))
    assert bokmal > 0.01, "the measure found too few bokmål words in the bokmål version"
    assert nynorsk < bokmal / 5, f"nynorsk text has {nynorsk:.3f} bokmål function words per word (bokmål: {bokmal:.3f})"


# ---------------------------------------------------------------------------
# What the drift check catches


def _pair():
    return bokmal_nb(), nynorsk_nb()


def test_drift_accepts_translated_messages_and_data_text():
    """A translated assert message, print text or comment, and text in a data cell: not drift."""
    bokmal, nynorsk = _pair()
    test = cell_by_id(nynorsk, "test_1a")
    test.source = test.source.replace("Formatet er", "Forma er").replace("# Sjekkar", "# Kontrollerer")
    assert drift(bokmal, nynorsk) == []


@pytest.mark.parametrize("plant, expected", [
    ("bokmål_text", "bokmålsteksten er endret etter at den ble oversatt, i celle 3 (tilfelle_1a)"),
    ("hidden_answer", "celle 5 (test_1a): koden er ulik"),
    ("solution", "celle 4 (svar_1a): koden er ulik"),
    ("points", "celle 5 (test_1a): nbgrader-metadataene"),
    ("level", "celle 5 (test_1a): kursmetadataene (nivå) er ulike"),
    ("deleted", "bokmål har 31 celler, nynorsk 30"),
    ("marker", "«# FORKLARING:» står 1 gang(er) på bokmål og 0 på nynorsk"),
    ("not_nynorsk", "ikke merket som nynorsk i metadataene"),
])
def test_drift_catches_each_kind_of_change(plant: str, expected: str):
    """Does a change that reaches one målform and not the other show, naming the cell?"""
    bokmal, nynorsk = _pair()
    assert drift(bokmal, nynorsk) == []
    if plant == "bokmål_text":
        cell_by_id(bokmal, "tilfelle_1a").source += " Tilbudet har ventelister."
    elif plant == "hidden_answer":
        cell = cell_by_id(nynorsk, "test_1a")
        cell.source = cell.source.replace('== "samproduksjon"', '== "samskaping"')
    elif plant == "solution":
        cell = cell_by_id(nynorsk, "svar_1a")
        cell.source = cell.source.replace('svar_1a = "samproduksjon"', 'svar_1a = "samskaping"')
    elif plant == "points":
        cell_by_id(nynorsk, "test_1a").metadata["nbgrader"]["points"] = 2
    elif plant == "level":
        cell_by_id(nynorsk, "test_1a").metadata["kurs"]["nivå"] = "huske"
    elif plant == "deleted":
        del nynorsk.cells[-1]
    elif plant == "marker":
        cell = cell_by_id(nynorsk, "test_1a")
        cell.source = cell.source.replace("# FORKLARING:", "# Forklaring:")
    elif plant == "not_nynorsk":
        nynorsk.metadata["kurs"]["målform"] = BOKMAL
    problems = drift(bokmal, nynorsk)
    assert any(expected in p for p in problems), problems


# ---------------------------------------------------------------------------
# Which version a student hands in


@pytest.fixture
def fetched(tmp_path: Path) -> tuple[Path, Path]:
    """A student's folder and the release it came from, both målformer, from exercises/."""
    release = tmp_path / "release"
    shutil.copytree(ROOT / "exercises" / ASSIGNMENT, release)
    folder = tmp_path / "student" / ASSIGNMENT
    shutil.copytree(release, folder)
    return folder, release


def _answer(path: Path, grade_id: str = "svar_1a", value: str = "samproduksjon") -> None:
    nb = nbformat.read(path, as_version=4)
    cell_by_id(nb, grade_id).source = f'svar_1a = "{value}"'
    nbformat.write(nb, path)


def test_a_blank_exercise_is_handed_in_in_bokmal(fetched):
    folder, release = fetched
    assert choose(folder, f"{ASSIGNMENT}.ipynb", release).malform == BOKMAL
    hand_in_one_malform(folder, release)
    assert sorted(p.name for p in folder.glob("*.ipynb")) == [f"{ASSIGNMENT}.ipynb"]


def test_answers_in_nynorsk_are_handed_in_under_the_exercises_name(fetched):
    """The nynorsk file with answers becomes oppgave_01.ipynb, marked nynorsk; the blank bokmål one is left out."""
    folder, release = fetched
    _answer(folder / nynorsk_file(f"{ASSIGNMENT}.ipynb"))
    hand_in_one_malform(folder, release)
    assert sorted(p.name for p in folder.glob("*.ipynb")) == [f"{ASSIGNMENT}.ipynb"]
    nb = nbformat.read(folder / f"{ASSIGNMENT}.ipynb", as_version=4)
    assert malform_of(nb) == NYNORSK
    assert cell_by_id(nb, "svar_1a").source == 'svar_1a = "samproduksjon"'
    assert nb.cells[0].source.startswith("# Oppgåve 1")


def test_answers_in_both_are_refused_and_nothing_is_lost(fetched):
    """Answers in both versions: no guess, a message in both målformer, both files untouched."""
    folder, release = fetched
    _answer(folder / f"{ASSIGNMENT}.ipynb")
    _answer(folder / nynorsk_file(f"{ASSIGNMENT}.ipynb"), value="samskaping")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(MalformError) as error:
        hand_in_one_malform(folder, release)
    assert "Bare én av dem kan leveres" in str(error.value) and "Berre éi av dei kan leverast" in str(error.value)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_typing_and_deleting_again_is_no_answer(fetched):
    """A student who peeked into the nynorsk file and typed a space is still handed in in bokmål, with their answers."""
    folder, release = fetched
    _answer(folder / f"{ASSIGNMENT}.ipynb")
    nn = folder / nynorsk_file(f"{ASSIGNMENT}.ipynb")
    nb = nbformat.read(nn, as_version=4)
    cell_by_id(nb, "svar_1a").source += "\n   "
    nbformat.write(nb, nn)
    hand_in_one_malform(folder, release)
    assert malform_of(nbformat.read(folder / f"{ASSIGNMENT}.ipynb", as_version=4)) == BOKMAL


# ---------------------------------------------------------------------------
# A class in both målformer, graded


REFLECTION = "Refleksjonen min om eit eksempel frå nærmiljøet."


def _course_copy(tmp_path: Path, *folders: str) -> Course:
    """A throw-away copy of the course's configuration and the given folders, with its own exchange."""
    root = tmp_path / "kurs"
    root.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", root)
    for folder in folders:
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return Course(root, tmp_path / "exchange")


def _run_course(course: Course, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "course"), *args], cwd=course.root, env=course.env,
                          capture_output=True, text=True, timeout=900)


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))


@pytest.mark.slow
def test_a_class_answering_in_both_malformer(tmp_path: Path):
    """Release, fetch, submit (the course's exchange), `course grade`, grade by hand, feedback, report, export.

    Four students: full marks in bokmål (one answer written in nynorsk,
    «medverknad»), full marks in nynorsk, blank in each. Is each graded once,
    with the same points, in their own målform, and exported in one row each?
    """
    course = _course_copy(tmp_path, "solutions", "solutions_nynorsk", "exercises")
    root = course.root
    course.nbgrader("release_assignment", ASSIGNMENT)
    source = root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nn_source = nynorsk_source(root, ASSIGNMENT)
    auto, manual = points(source, kind="auto"), points(source, kind="manual")
    submit = "--ExchangeFactory.submit=course.exchange.SecureExchangeSubmit"

    students = {"bm_alt": (BOKMAL, True), "nn_alt": (NYNORSK, True), "bm_blank": (BOKMAL, False),
                "nn_blank": (NYNORSK, False)}
    for student, (malform, answers) in students.items():
        home = tmp_path / student
        home.mkdir()
        course.student("fetch_assignment", ASSIGNMENT, home=home)
        folder = home / ASSIGNMENT
        assert sorted(p.name for p in folder.glob("*.ipynb")) == [f"{ASSIGNMENT}.ipynb", nynorsk_file(f"{ASSIGNMENT}.ipynb")]
        mine = folder / (nynorsk_file(f"{ASSIGNMENT}.ipynb") if malform == NYNORSK else f"{ASSIGNMENT}.ipynb")
        if answers:
            answer_file_like_the_solution(mine, nn_source if malform == NYNORSK else source, REFLECTION)
            if malform == BOKMAL:  # the nynorsk word for one answer, in the bokmål version: right too
                nb = nbformat.read(mine, as_version=4)
                cell = cell_by_id(nb, "svar_1c")
                cell.source = cell.source.replace('"medvirkning"', '"medverknad"')
                assert '"medverknad"' in cell.source
                nbformat.write(nb, mine)
        elif malform == NYNORSK:  # blank, in nynorsk: the student removed the bokmål file
            (folder / f"{ASSIGNMENT}.ipynb").unlink()
        course.student("submit", ASSIGNMENT, f"--student={student}", submit, home=home)

    grade = _run_course(course, "grade", ASSIGNMENT, "--uten-fremdrift")
    out = grade.stdout + grade.stderr
    assert f"Retting av {ASSIGNMENT}: 4 innleveringer, 4 rettet, 0 ikke rettet." in out, out
    assert "Målform: 2 svarte på bokmål, 2 på nynorsk" in out, out
    assert "Endret eller slettet låste celler (0)" in out, out

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "samskaping") as gb:
        scores = {s: gb.find_submission(ASSIGNMENT, s).code_score for s in students}
        assert scores == {"bm_alt": auto, "nn_alt": auto, "bm_blank": 0, "nn_blank": 0}, scores
        assert [n.name for n in gb.find_assignment(ASSIGNMENT).notebooks] == [ASSIGNMENT], "one notebook per exercise"
        for student in ("bm_alt", "nn_alt"):
            notebook = gb.find_submission(ASSIGNMENT, student).notebooks[0]
            for g in notebook.grades:
                if g.cell_type == "markdown":
                    g.manual_score = g.max_score
                    g.needs_manual_grade = False
        gb.db.commit()

    # What the grader sees in formgrader: the student's own målform, marked.
    graded_nn = nbformat.read(root / "autograded" / "nn_alt" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    graded_bm = nbformat.read(root / "autograded" / "bm_alt" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    assert malform_of(graded_nn) == NYNORSK and graded_nn.cells[0].source.startswith("# Oppgåve 1")
    assert malform_of(graded_bm) == BOKMAL and graded_bm.cells[0].source.startswith("# Oppgave 1")

    course.nbgrader("generate_feedback", ASSIGNMENT, "--force")
    feedback = {s: (root / "feedback" / s / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text(encoding="utf-8")
                for s in students}
    assert '<html lang="nn">' in feedback["nn_alt"] and '<html lang="nb">' in feedback["bm_alt"]
    nn_text, bm_text = _plain(feedback["nn_alt"]), _plain(feedback["bm_alt"])
    assert re.search(rf"Poeng: {auto + manual:g}", nn_text) and re.search(rf"Poeng: {auto + manual:g}", bm_text)
    # The template's own words: the reflection (a task cell) in the table of contents.
    assert re.search(r'">Oppgåve</a>', feedback["nn_alt"]) and re.search(r'">Oppgave</a>', feedback["bm_alt"])
    for cell in nbformat.read(nn_source, as_version=4).cells:
        why = explanation(cell.source)
        if why:
            assert _plain(why).strip() in nn_text, f"nynorsk explanation missing: {why[:60]}"
    bokmal_why = [explanation(c.source) for c in nbformat.read(source, as_version=4).cells if explanation(c.source)]
    assert not any(_plain(w).strip() in nn_text for w in bokmal_why), "bokmål explanations in nynorsk feedback"
    assert "Her står skjulte testar" in _plain(feedback["nn_blank"]) and "Her står skjulte tester" in _plain(feedback["bm_blank"])

    report = _run_course(course, "report", "--uten-navn")
    assert report.returncode == 0, report.stdout + report.stderr
    rows = list(csv.DictReader((root / "karakterer.csv").open(encoding="utf-8")))
    assert sorted(r["student_id"] for r in rows) == sorted(students), "one row per student"
    exported = {r["student_id"]: float(r[ASSIGNMENT]) for r in rows}
    assert exported == {"bm_alt": auto + manual, "nn_alt": auto + manual, "bm_blank": 0, "nn_blank": 0}, exported
    assert not any("nynorsk" in column for column in rows[0]), "the nynorsk version counted as an exercise of its own"

    # Formgrader's «Autograde» button runs nbgrader itself (the course's configuration): same score, same målform.
    course.nbgrader("autograde", ASSIGNMENT, "--student=nn_alt", "--force")
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        assert gb.find_submission(ASSIGNMENT, "nn_alt").code_score == auto
    regraded = nbformat.read(root / "autograded" / "nn_alt" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    assert malform_of(regraded) == NYNORSK
    assert cell_by_id(regraded, "test_1a").source == cell_by_id(nbformat.read(nn_source, as_version=4), "test_1a").source


@pytest.mark.slow
def test_a_submission_in_both_malformer_is_refused(tmp_path: Path):
    """Through nbgrader's submit with the course's exchange: refused, with the message, and nothing submitted."""
    course = _course_copy(tmp_path, "exercises")
    course.nbgrader("release_assignment", ASSIGNMENT)
    home = tmp_path / "elev"
    home.mkdir()
    course.student("fetch_assignment", ASSIGNMENT, home=home)
    _answer(home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    _answer(home / ASSIGNMENT / nynorsk_file(f"{ASSIGNMENT}.ipynb"))
    proc = course.student("submit", ASSIGNMENT, "--student=elev",
                          "--ExchangeFactory.submit=course.exchange.SecureExchangeSubmit", home=home, check=False)
    assert proc.returncode != 0
    assert "Bare én av dem kan leveres" in proc.stdout + proc.stderr
    inbound = course.exchange / "samskaping" / "inbound"
    assert not [p for p in inbound.iterdir() if not p.name.startswith(".")], "something was submitted"


@pytest.mark.slow
def test_course_check_fails_on_a_planted_drift_until_the_translation_follows(tmp_path: Path):
    """A case text changed in bokmål only: `course check` fails and names the cell; once the nynorsk
    text has followed and the new fingerprint is recorded (``--godkjenn``), the two are in step again."""
    from course.instructor.malform import accept

    course = _course_copy(tmp_path, "solutions", "solutions_nynorsk", "exercises")
    root = course.root
    source = root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(source, as_version=4)
    cell_by_id(nb, "tilfelle_1a").source += " Tilbudet har venteliste."
    nbformat.write(nb, source)
    generated = _run_course(course, "generate", ASSIGNMENT)
    assert generated.returncode == 0, generated.stdout + generated.stderr

    proc = _run_course(course, "check", ASSIGNMENT)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "Nynorsk og bokmål er ikke i takt" in out
    assert "bokmålsteksten er endret etter at den ble oversatt, i celle 3 (tilfelle_1a)" in out
    assert "✔ exercises/ er identisk med det som genereres fra solutions/." in out  # only the drift is wrong

    nn_path = nynorsk_source(root, ASSIGNMENT)
    nn = nbformat.read(nn_path, as_version=4)
    cell_by_id(nn, "tilfelle_1a").source += " Tilbodet har venteliste."
    nbformat.write(nn, nn_path)
    assert accept(root, ASSIGNMENT) == ["celle 3 (tilfelle_1a)"]
    assert drift(nbformat.read(source, as_version=4), nbformat.read(nn_path, as_version=4)) == []
