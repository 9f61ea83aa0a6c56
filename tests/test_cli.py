"""The instructor's `course` command against a real temporary course, real nbgrader and real kernels.

One course is released, submitted to by six students (correct, partly correct,
blank, unreadable, tampered, and one whose kernel dies), graded with
`course grade`, graded by hand, and reported on with `course report`; the tests
share it (module-scoped fixture) to keep the run time modest.
"""

from __future__ import annotations

import csv
import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from conftest import BIN, ROOT, Course, assignments
from course.instructor.check import exemplar_leaks, exemplar_sentences
from course.instructor.feedback import explanation
from answers import answer_file_like_the_solution as _answer_like_the_solution

ASSIGNMENT = assignments()[0]
REFLECTION = "Refleksjonen min om et eksempel fra nærmiljøet."
COMMENT = "Godt begrunnet eksempel, og alle tre partene er med."
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", re.S)
MARK_SCHEME = re.compile(r"=== BEGIN MARK SCHEME ===(.*?)=== END MARK SCHEME ===", re.S)
# Lines put into the first two test cells: warnings that must not cost points.
WARNINGS = [
    'import warnings\nwarnings.warn("Denne funksjonen er utdatert.", DeprecationWarning)\n',
    'import warnings\nwarnings.warn("Bare en advarsel.", UserWarning)\n',
]


def run_course(course: Course, *args: str) -> subprocess.CompletedProcess:
    """The real console script, as an instructor runs it in the course folder."""
    return subprocess.run([str(BIN / "course"), *args], cwd=course.root, env=course.env,
                          capture_output=True, text=True, timeout=900)


def copy_course(root: Path, exchange: Path) -> Course:
    root.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "solutions", root / "solutions", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copytree(ROOT / "exercises", root / "exercises", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return Course(root, exchange)


def source_nb(course: Course) -> Path:
    return course.root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def grade_test_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
            and not c.metadata["nbgrader"].get("solution")]


def add_warnings(path: Path) -> list[str]:
    """Make the first two test cells warn (as a library might); returns their grade ids."""
    nb = nbformat.read(path, as_version=4)
    cells = grade_test_cells(nb)[:2]
    for cell, warning in zip(cells, WARNINGS):
        cell.source = warning + cell.source
    nbformat.write(nb, path)
    return [c.metadata["nbgrader"]["grade_id"] for c in cells]


def plain(text: str) -> str:
    """Feedback HTML as text, markup and whitespace ignored."""
    text = re.sub(r"<style.*?</style>|<script.*?</script>", " ", text, flags=re.S)
    return re.sub(r"\s+", "", html.unescape(re.sub(r"<[^>]+>", " ", text)))


def answer_wrong(path: Path) -> None:
    """Give the first answer cell the second one's (right) value: a well-formed answer that is wrong."""
    nb = nbformat.read(path, as_version=4)
    first, second = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"][:2]
    name = re.search(r"^(\w+)\s*=", first.source, re.M).group(1)
    value = re.search(r"^\w+\s*=\s*(.+)$", second.source.strip().splitlines()[-1]).group(1)
    first.source = f"{name} = {value}"
    nbformat.write(nb, path)


STUDENTS = ["elev_riktig", "elev_delvis", "elev_blank", "elev_uleselig", "elev_endret", "elev_krasj"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A released exercise, six submissions through the exchange, `course grade`, a manual grade, `course report`."""
    tmp = tmp_path_factory.mktemp("cli")
    course = copy_course(tmp / "kurs", tmp / "exchange")
    warned = add_warnings(source_nb(course))
    course.generate(ASSIGNMENT)
    course.nbgrader("release_assignment", ASSIGNMENT)
    source = source_nb(course)
    for student in STUDENTS:
        home = tmp / student
        home.mkdir()
        course.student("fetch_assignment", ASSIGNMENT, home=home)
        nb_path = home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        if student in ("elev_riktig", "elev_endret", "elev_krasj"):
            _answer_like_the_solution(nb_path, source, REFLECTION)
        elif student == "elev_delvis":
            _answer_like_the_solution(nb_path, source, REFLECTION, share=0.5)
            answer_wrong(nb_path)
        if student == "elev_uleselig":
            nb_path.write_text("Dette er ikke en notatbok {", encoding="utf-8")
        if student == "elev_endret":
            # The student edits a locked test cell (so it always passes) and the intro.
            nb = nbformat.read(nb_path, as_version=4)
            grade_test_cells(nb)[0].source = "pass"
            nb.cells[0].source += "\nJeg har endret innledningen."
            nbformat.write(nb, nb_path)
        if student == "elev_krasj":
            nb = nbformat.read(nb_path, as_version=4)
            answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code")
            answer.source += "\nimport os\nos._exit(1)"
            nbformat.write(nb, nb_path)
        course.student("submit", ASSIGNMENT, f"--student={student}", home=home)

    grade = run_course(course, "grade", ASSIGNMENT)

    # The instructor grades the reflections by hand, as in formgrader, and names one student.
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:
        gb.update_or_create_student("elev_riktig", first_name="Kari", last_name="Nordmann", email="kari@example.org")
        for student, points in (("elev_riktig", None), ("elev_delvis", 1.0)):
            notebook = gb.find_submission(ASSIGNMENT, student).notebooks[0]
            for g in notebook.grades:
                if g.cell_type == "markdown":
                    g.manual_score = g.max_score if points is None else points
                    g.needs_manual_grade = False  # as formgrader does when a grade is saved
            for comment in notebook.comments:
                comment.manual_comment = COMMENT
        gb.db.commit()
    course.nbgrader("generate_feedback", ASSIGNMENT, "--force")
    report = run_course(course, "report")
    return {"course": course, "grade": grade, "report": report, "warned": warned}


def auto_scores(course: Course, student: str) -> dict[str, float]:
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:
        return {g.name: g.score for g in gb.find_submission(ASSIGNMENT, student).notebooks[0].grades
                if g.cell_type == "code"}


@pytest.mark.slow
def test_grade_reports_every_submission(graded):
    """Does `course grade` grade the good submissions, name the broken and tampered ones, and exit non-zero?"""
    proc = graded["grade"]
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "Retting av " + ASSIGNMENT + ": 6 innleveringer" in out, out
    graded_part = out.split("Kunne ikke rettes")[0]
    assert re.search(r"elev_riktig\s+8 av 12 poeng", graded_part), out
    assert re.search(r"elev_blank\s+0 av 12 poeng", graded_part), out
    assert re.search(r"elev_endret\s+8 av 12 poeng", graded_part), out
    partly = float(re.search(r"elev_delvis\s+(\S+) av 12 poeng", graded_part).group(1))
    assert 0 < partly < 8
    failed_part = out.split("Kunne ikke rettes")[1].split("Endret eller slettet")[0]
    assert re.search(r"elev_uleselig\s+uleselig notatbok", failed_part), out
    assert re.search(r"elev_krasj\s+kjernen stoppet", failed_part), out
    tampered = out.split("Endret eller slettet låste celler")[1].split("Trenger manuell")[0]
    first_test = grade_test_cells(nbformat.read(source_nb(graded["course"]), as_version=4))[0].metadata["nbgrader"]["grade_id"]
    assert f"«{first_test}» er endret" in tampered and "«intro» er endret" in tampered, out
    # nbgrader issue #1961: untouched cells with hidden tests are not reported as changed.
    assert "(1):" in out.split("Endret eller slettet låste celler")[1].splitlines()[0], out
    manual = out.split("Trenger manuell vurdering i formgrader")[1].splitlines()[0]
    assert "elev_riktig" in manual and "elev_delvis" in manual and "elev_uleselig" not in manual
    assert "Tilbakemelding laget for 4 av 4" in out
    assert "Noe trenger oppmerksomhet" in out


@pytest.mark.slow
def test_warnings_in_test_cells_cost_no_points(graded):
    """Do a DeprecationWarning and a UserWarning in test cells leave full points, while a wrong answer still fails?"""
    course = graded["course"]
    right, blank = auto_scores(course, "elev_riktig"), auto_scores(course, "elev_blank")
    for grade_id in graded["warned"]:
        assert right[grade_id] == 1, f"a warning cost points in {grade_id}"
        assert blank[grade_id] == 0, f"a blank answer got points in {grade_id}"
    assert sum(right.values()) == 8


def hidden_texts(course: Course) -> list[str]:
    """Every line of every hidden test and mark scheme in the source, whitespace removed."""
    source = source_nb(course).read_text(encoding="utf-8")
    nb = nbformat.read(source_nb(course), as_version=4)
    lines = []
    for cell in nb.cells:
        for region in HIDDEN.findall(cell.source) + MARK_SCHEME.findall(cell.source):
            lines += [re.sub(r"\s+", "", line) for line in region.splitlines()]
    assert source and lines
    return [line for line in lines if len(line) >= 8]


@pytest.mark.slow
@pytest.mark.parametrize("student", ["elev_riktig", "elev_delvis", "elev_blank"])
def test_feedback_never_shows_hidden_tests(graded, student):
    """Is no line of any hidden test or mark scheme in the feedback, for a correct and for failing submissions?"""
    course = graded["course"]
    files = list((course.root / "feedback" / student / ASSIGNMENT).glob("*.html"))
    assert len(files) == 1
    text = plain(files[0].read_text(encoding="utf-8"))
    leaked = [line for line in hidden_texts(course) if line in text]
    assert not leaked, f"hidden tests or mark scheme in {student}'s feedback: {leaked[:3]}"
    assert "Poeng:" in text and "Svaretditt" in text and "Score:" not in text
    if student == "elev_blank":
        assert "Enskjulttestfeilet" in text or "AssertionError" in text
    if student == "elev_delvis":
        assert "Enskjulttestfeilet:svareterikkeriktig." in text
    if student == "elev_riktig":
        assert re.sub(r"\s+", "", COMMENT) in text and "Poeng:12.0/12.0" in text
        assert "Enskjulttestfeilet" not in text
        assert 'svar_1a="samproduksjon"' in text  # the student's own answer is shown


def explanations(course: Course) -> dict[str, str]:
    """grade id -> the explanation in that test cell's hidden tests, whitespace removed."""
    nb = nbformat.read(source_nb(course), as_version=4)
    return {cell.metadata["nbgrader"]["grade_id"]: re.sub(r"\s+", "", explanation(cell.source))
            for cell in grade_test_cells(nb) if explanation(cell.source)}


def feedback_text(course: Course, student: str, folder: str = "feedback") -> str:
    files = list((course.root / folder / student / ASSIGNMENT).glob("*.html"))
    assert len(files) == 1, f"no feedback in {folder}/ for {student}"
    return plain(files[0].read_text(encoding="utf-8"))


@pytest.mark.slow
def test_feedback_explains_each_item_and_the_lecturer_can_turn_it_off(graded):
    """Does a wrong answer's feedback say what was right and why (no hidden-test line, no exemplar), and with
    HideHiddenTests.show_explanations=False neither the explanation nor a hidden-test line?"""
    course = graded["course"]
    whys = explanations(course)
    assert len(whys) == len(grade_test_cells(nbformat.read(source_nb(course), as_version=4)))
    wrong = graded["warned"][0]  # elev_delvis answered the first item wrong (answer_wrong)
    text = feedback_text(course, "elev_delvis")
    assert "Enskjulttestfeilet:svareterikkeriktig.Forklaring:" + whys[wrong] in text
    assert all(why in text for why in whys.values()), "every autograded item is explained"
    assert not [line for line in hidden_texts(course) if line in text]
    assert not exemplar_leaks(text, exemplar_sentences(nbformat.read(source_nb(course), as_version=4)))

    course.nbgrader("generate_feedback", ASSIGNMENT, "--force", "--HideHiddenTests.show_explanations=False",
                    "--CourseDirectory.feedback_directory=uten_forklaring")
    off = feedback_text(course, "elev_delvis", "uten_forklaring")
    assert "Enskjulttestfeilet:svareterikkeriktig." in off and "Poeng:" in off
    assert "Forklaring:" not in off and not [why for why in whys.values() if why[:60] in off]
    assert not [line for line in hidden_texts(course) if line in off]


@pytest.mark.slow
def test_report_tables_and_plots(graded):
    """Does `course report` print the score distribution and the share with full marks per cell, and save plots?"""
    proc = graded["report"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    course = graded["course"]
    assert f"## {ASSIGNMENT} (4 rettede innleveringer, maks 12 poeng)" in out, out
    first = graded["warned"][0]
    # riktig and endret answered the first test right; delvis (wrong) and blank did not (krasj and uleselig
    # were not graded).
    assert re.search(rf"\| {first} \| 1 \| 4 \| 0\.50 \| 50 % \| 0: 2, 1: 2 \| 0 \|", out), out
    assert re.search(r"\| refleksjon \| 4 \| 2 \| 2\.50 \| 50 % \| 1: 1, 4: 1 \| 2 \|", out), out
    assert (course.root / "rapport" / f"{ASSIGNMENT}.png").stat().st_size > 1000
    assert (course.root / "rapport" / "rapport.md").read_text(encoding="utf-8").startswith("# Rapport")


@pytest.mark.slow
def test_grade_export_value_by_value(graded):
    """Is the CSV one row per student, one column per exercise plus the total, with the right values?"""
    course = graded["course"]
    partly = sum(auto_scores(course, "elev_delvis").values()) + 1
    rows = list(csv.reader((course.root / "karakterer.csv").open(encoding="utf-8")))
    assert rows[0] == ["student_id", "fornavn", "etternavn", "epost", ASSIGNMENT, "totalt"]
    assert rows[1:] == [
        ["elev_blank", "", "", "", "0", "0"],
        ["elev_delvis", "", "", "", f"{partly:g}", f"{partly:g}"],
        ["elev_endret", "", "", "", "8", "8"],
        ["elev_krasj", "", "", "", "", "0"],
        ["elev_riktig", "Kari", "Nordmann", "kari@example.org", "12", "12"],
        ["elev_uleselig", "", "", "", "", "0"],
    ]


@pytest.mark.slow
def test_export_without_names_and_with_pseudonyms(graded):
    """Do --uten-navn and --pseudonymiser leave out names and e-mail, with the same pseudonym every time?"""
    course = graded["course"]
    proc = run_course(course, "report", "--uten-navn", "--csv", "uten_navn.csv")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader((course.root / "uten_navn.csv").open(encoding="utf-8")))
    assert rows[0] == ["student_id", ASSIGNMENT, "totalt"] and ["elev_riktig", "12", "12"] in rows
    runs = []
    for name in ("p1.csv", "p2.csv"):
        assert run_course(course, "report", "--pseudonymiser", "--csv", name).returncode == 0
        runs.append((course.root / name).read_text(encoding="utf-8"))
    assert runs[0] == runs[1], "pseudonyms must be stable"
    assert runs[0].splitlines()[0] == f"pseudonym,{ASSIGNMENT},totalt"
    assert not any(word in runs[0] for word in ("elev_", "Kari", "Nordmann", "example.org"))
    assert len({line.split(",")[0] for line in runs[0].splitlines()[1:]}) == len(STUDENTS)


@pytest.mark.slow
def test_check_passes_on_the_repository():
    """Does `course check` pass on the course as committed?"""
    proc = subprocess.run([str(BIN / "course"), "--kurs", str(ROOT), "check"], capture_output=True, text=True,
                          timeout=1800, env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for assignment in assignments():
        assert f"{assignment}: i orden" in proc.stdout
    assert "Alle oppgavene er i orden" in proc.stdout
    assert "hele kurset: i orden" in proc.stdout and "krever mer enn å huske" in proc.stdout


@pytest.mark.slow
def test_check_fails_on_a_broken_copy(tmp_path):
    """Does `course check` fail, in Norwegian, on a hand-edited exercise, a failing hidden test and wrong points?"""
    course = copy_course(tmp_path / "kurs", tmp_path / "exchange")
    exercise = course.root / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    solution = nbformat.read(source_nb(course), as_version=4)
    # A solution's hidden test that fails, and a total in the intro that does not add up.
    cell = next(c for c in grade_test_cells(solution) if "BEGIN HIDDEN TESTS" in c.source)
    cell.source = cell.source.replace("### END HIDDEN TESTS", "assert False, 'feil'\n### END HIDDEN TESTS")
    solution.cells[0].source = re.sub(r"til sammen \*\*(\d+) poeng", "til sammen **99 poeng", solution.cells[0].source)
    nbformat.write(solution, source_nb(course))
    # An exercise edited by hand: the first answer filled in with the solution.
    nb = nbformat.read(exercise, as_version=4)
    answer_id = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")).metadata["nbgrader"]["grade_id"]
    right = next(c for c in solution.cells if c.metadata.get("nbgrader", {}).get("grade_id") == answer_id)
    answer_line = re.search(r"### BEGIN SOLUTION\n(.+)\n", right.source).group(1)
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == answer_id:
            c.source += "\n" + answer_line
    nbformat.write(nb, exercise)
    # A lesson whose stored output tells one of the exercise's cases (issue 20: a cross-lesson leak).
    case = next(c.source for c in nb.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get(
        "grade_id", "").startswith(("tilfelle_", "sporsmal_", "utsagn_", "oppgave_")) and len(c.source) > 200)
    sentence = max(case.replace("\n", " ").split(". "), key=len)
    shutil.copytree(ROOT / "lessons", course.root / "lessons", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    lesson_path = next((course.root / "lessons").glob("01_*.ipynb"))
    lesson = nbformat.read(lesson_path, as_version=4)
    told = nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(tilbakemelding)")
    told.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"Et tilfelle: {sentence}.\n")]
    lesson.cells.append(told)
    nbformat.write(lesson, lesson_path)

    proc = run_course(course, "check", ASSIGNMENT)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert f"{ASSIGNMENT}: FEIL" in out
    assert "exercises/ er ikke identisk med det som genereres fra solutions/" in out
    assert "Løsningen består ikke alle testene" in out
    assert "Innledningen sier 99 poeng til sammen, men cellene gir 12" in out
    assert "Lekkasje til studentene" in out and answer_line.strip()[:40] in out
    assert "Svaret kan leses i stedet for å finnes" in out and f"{lesson_path.relative_to(course.root)}, lagret utdata" in out
    assert "Nynorskversjonen mangler" in out  # the copy has no solutions_nynorsk/
    assert "1 av 1 oppgaver har feil" in out


def test_unknown_assignment_is_a_norwegian_error(tmp_path):
    """Does `course grade` with an unknown exercise fail with a Norwegian message naming the known ones?"""
    course = copy_course(tmp_path / "kurs", tmp_path / "exchange")
    proc = run_course(course, "grade", "oppgave_99")
    assert proc.returncode == 1
    assert "Oppgaven «oppgave_99» finnes ikke i solutions/" in proc.stderr and ASSIGNMENT in proc.stderr


def test_report_without_gradebook_and_missing_zip(tmp_path):
    """Do `course report` before any grading, and `course grade --zip` with a missing file, say what to do?"""
    course = copy_course(tmp_path / "kurs", tmp_path / "exchange")
    proc = run_course(course, "report")
    assert proc.returncode == 1 and "Fant ingen karakterbok" in proc.stderr and "course grade" in proc.stderr
    proc = run_course(course, "grade", ASSIGNMENT, "--zip", "finnes_ikke.zip")
    assert proc.returncode == 1 and "Fant ikke zip-filen" in proc.stderr


def test_outside_a_course_folder(tmp_path):
    """Does `course` outside a course folder say how to find one?"""
    proc = subprocess.run([str(BIN / "course"), "report"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 1 and "Fant ikke kursmappen" in proc.stderr and "--kurs" in proc.stderr


def test_help_is_norwegian(capsys):
    """Is `course --help` (and each command's) in Norwegian?"""
    from course.instructor.cli import main

    for args in ([], ["check"], ["grade"], ["report"]):
        with pytest.raises(SystemExit) as stop:
            main([*args, "--help"])
        out = capsys.readouterr().out
        assert stop.value.code == 0
        assert out.startswith("bruk: course") and "valg:" in out
        assert "usage" not in out and "show this help" not in out


def test_grade_rejects_a_file_that_is_not_a_zip(tmp_path):
    """Does `course grade --zip` with a notebook instead of a zip file say what to download?"""
    course = copy_course(tmp_path / "kurs", tmp_path / "exchange")
    proc = run_course(course, "grade", ASSIGNMENT, "--zip", str(ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    assert proc.returncode == 1 and "er ikke en zip-fil" in proc.stderr


def test_course_canvas_posts_each_score_to_its_line_item_once(graded, tmp_path, capsys):
    """`course canvas` against an LTI platform on loopback (lti1p3platform): dry run, one line item,
    each score once (run twice), manual grading waited for or sent as pending, a passing 503 retried,
    a refusal explained in Norwegian and sent on the next run."""
    from lti_plattform import Platform

    from course.instructor import lti

    course = graded["course"]
    key_file = tmp_path / "verktoynokkel.pem"
    platform = Platform("http://127.0.0.1:9", tool_jwks=lti.public_jwks(lti.tool_key(key_file))).start()
    try:
        for student in STUDENTS:
            platform.add_member(f"canvas-{student}", login_id=student, name=student, roles=["Learner"])
        platform.add_member("canvas-laerer", login_id="laerer", name="Lærer", roles=["Instructor"])
        lti.Context(issuer=platform.issuer, client_id=platform.client_id, deployment_id="1:emne-samskaping",
                    token_url=platform.token_url, key_file=str(key_file),
                    memberships_url=platform.memberships_url, lineitems_url=platform.lineitems_url,
                    resource_link_id=platform.resource_link_id).save(course.root)
        expected = {s.student: s for s in lti.gradebook_scores(course.root, ASSIGNMENT)}
        done = {name for name, s in expected.items() if not s.needs_manual}
        pending = set(expected) - done
        assert {"elev_riktig", "elev_delvis"} <= done and pending, expected  # graded by hand in the fixture

        dry = run_course(course, "canvas", ASSIGNMENT, "--prov")
        assert dry.returncode == 0, dry.stderr
        assert f"{len(done)} poengsummer ville blitt sendt" in dry.stdout
        assert "ville sendt elev_riktig" in dry.stdout
        assert platform.scores() == [] and platform.lineitems() == []

        platform.fail_next_scores(1, 503)  # a passing failure: retried, not reported
        sent = run_course(course, "canvas", ASSIGNMENT)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert f"{len(done)} poengsummer sendt til Canvas" in sent.stdout
        assert f"{len(pending)} venter på retting for hånd" in sent.stdout
        (item,) = platform.lineitems()
        assert item["resourceId"] == ASSIGNMENT and item["label"] == ASSIGNMENT
        posted = platform.scores()
        assert sorted(s["userId"] for s in posted) == sorted(f"canvas-{n}" for n in done)
        for score in posted:
            mine = expected[score["userId"].removeprefix("canvas-")]
            assert score["scoreGiven"] == mine.score and score["scoreMaximum"] == mine.max_score
            assert score["gradingProgress"] == "FullyGraded"
            assert score["https://canvas.instructure.com/lti/submission"]["submitted_at"] == mine.submitted
            assert "Fra kursserveren:" in score["comment"]

        # The later runs call the same entry point in this process (a new interpreter costs seconds here).
        from course.instructor.cli import main

        def course_canvas(*args: str) -> tuple[int, str]:
            code = main(["--kurs", str(course.root), "canvas", ASSIGNMENT, *args])
            return code, capsys.readouterr().out

        capsys.readouterr()
        code, out = course_canvas()
        assert code == 0 and "0 poengsummer sendt" in out
        assert len(platform.scores()) == len(done) and len(platform.lineitems()) == 1

        platform.fail_next_scores(99, 403)  # a refusal that will not pass: named, in Norwegian
        code, out = course_canvas("--uten-manuell-retting")
        assert code == 1 and "Canvas avviste forespørselen (403)" in out
        platform.fail_next_scores(0)
        code, out = course_canvas("--uten-manuell-retting")
        assert code == 0, out
        now_pending = [s for s in platform.scores() if s["gradingProgress"] == "PendingManual"]
        assert sorted(s["userId"] for s in now_pending) == sorted(f"canvas-{n}" for n in pending)
        assert len(platform.scores()) == len(expected)  # every graded student exactly once
        # What was posted is remembered per Canvas user id, and nothing else about the student.
        import json

        ledger = json.loads((course.root / lti.LEDGER_FILE).read_text())
        assert set(ledger[ASSIGNMENT]) == {f"canvas-{n}" for n in expected}
    finally:
        platform.stop()
