"""Grading that survives anything students submit: the bad-submission corpus, isolation, parallel writes.

One batch grades the whole corpus (tests/corpus.py, generated from the first
exercise) in parallel in the sandbox; the tests then read its outcomes, the
gradebook and the files it left. Short caps keep it fast: 4 seconds a cell,
15 seconds a notebook.
"""

from __future__ import annotations

import ast
import getpass
import grp
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT, Course, assignments
from corpus import auto_points, build_corpus, cheat_code
from course.instructor.sandbox import sandbox_command

pytestmark = pytest.mark.slow

ASSIGNMENT = assignments()[0]
TIME_LIMIT = 15
CELL_TIMEOUT = 4
MEMORY_LIMIT = 1024**3
# Cases that also run in a second, sequential batch, to compare the gradebooks.
SEQUENTIAL = ["riktig", "tom", "syntaksfeil", "slettet_test", "like_id", "ekstra_filer", "leser_fasit", "dreper_kjernen"]


def _new_course(base: Path) -> Course:
    root = base / "kurs"
    root.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "solutions", root / "solutions", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    course = Course(root, base / "exchange")
    course.generate(ASSIGNMENT)
    return course


def _tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(str(p.relative_to(folder)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def _rows(db: Path) -> dict[str, tuple]:
    """Per student: (submissions, submitted notebooks, grades, comments, autograded score)."""
    con = sqlite3.connect(db)
    rows = {}
    for (student,) in con.execute("select id from student"):
        subs = con.execute("select id from submitted_assignment where student_id = ?", (student,)).fetchall()
        nbs = con.execute(
            "select n.id from submitted_notebook n join submitted_assignment a on n.assignment_id = a.id where a.student_id = ?",
            (student,),
        ).fetchall()
        ids = [n for (n,) in nbs] or [""]
        marks = ",".join("?" * len(ids))
        grades = con.execute(f"select count(*), sum(auto_score) from grade where notebook_id in ({marks})", ids).fetchone()
        comments = con.execute(f"select count(*) from comment where notebook_id in ({marks})", ids).fetchone()[0]
        rows[student] = (len(subs), len(nbs), grades[0], comments, grades[1])
    con.close()
    return rows


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The whole corpus graded once, in parallel, in the sandbox."""
    from course.instructor.autograde import autograde_submissions

    course = _new_course(tmp_path_factory.mktemp("parallell"))
    expected = build_corpus(course.root, ASSIGNMENT, time_limit=TIME_LIMIT, cell_timeout=CELL_TIMEOUT)
    solutions_before = _tree_digest(course.root / "solutions")
    seen = []
    outcomes = autograde_submissions(
        course.root,
        ASSIGNMENT,
        list(expected),
        workers=2,
        progress=seen.append,
        time_limit=TIME_LIMIT,
        cell_timeout=CELL_TIMEOUT,
        memory_limit=MEMORY_LIMIT,
    )
    return {
        "course": course,
        "expected": expected,
        "outcomes": {o.student: o for o in outcomes},
        "order": [o.student for o in outcomes],
        "seen": seen,
        "solutions_before": solutions_before,
        "rows": _rows(course.root / "gradebook.db"),
    }


@pytest.fixture(scope="module")
def sequential(tmp_path_factory):
    """A subset of the corpus graded one at a time (workers=1) in another copy of the course."""
    from course.instructor.autograde import autograde_submissions

    course = _new_course(tmp_path_factory.mktemp("sekvensiell"))
    build_corpus(course.root, ASSIGNMENT, time_limit=TIME_LIMIT, cell_timeout=CELL_TIMEOUT)
    outcomes = autograde_submissions(
        course.root, ASSIGNMENT, SEQUENTIAL, workers=1, time_limit=TIME_LIMIT, cell_timeout=CELL_TIMEOUT, memory_limit=MEMORY_LIMIT
    )
    return {"course": course, "outcomes": {o.student: o for o in outcomes}, "rows": _rows(course.root / "gradebook.db")}


CASES = [
    "riktig", "tom", "evig_lokke", "ignorerer_avbrudd", "treg", "dreper_kjernen", "minnebombe", "stor_utskrift",
    "syntaksfeil", "input", "slettet_test", "endret_test", "test_som_svar", "like_id", "nytt_navn", "mangler",
    "tom_fil", "ikke_json", "ikke_utf8", "ekstra_filer", "skjuler_feil", "leser_fasit", "fasit_lenke", "skriver_utenfor",
]  # fmt: skip


def test_corpus_lists_every_case(batch):
    """Does the corpus have exactly the cases this module checks (none added or lost silently)?"""
    assert sorted(batch["expected"]) == sorted(CASES)


@pytest.mark.parametrize("student", CASES)
def test_bad_submission_ends_as_expected(batch, student: str):
    """Does each bad submission end with the right score, or an explicit flag with a Norwegian reason?"""
    expect = batch["expected"][student]
    outcome = batch["outcomes"][student]
    assert outcome.status == expect.status, f"{student}: {outcome.status} ({outcome.reason})\n{outcome.log[-2000:]}"
    assert expect.reason in outcome.reason, outcome.reason
    if expect.score is not None:
        assert outcome.score == expect.score, f"{student}: {outcome.score} points, expected {expect.score}"
    if outcome.status == "ok":
        assert outcome.reason == ""
    else:
        assert outcome.reason, "a flagged submission needs a reason"
    graded = batch["course"].root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert graded.exists() == (outcome.status != "failed")


def test_batch_reports_every_student_once_in_order(batch):
    """Is every student reported through progress exactly once, and the result in the order given?"""
    assert batch["order"] == list(batch["expected"])
    assert sorted(o.student for o in batch["seen"]) == sorted(batch["expected"])


def test_only_graded_students_are_in_the_gradebook(batch):
    """Does the gradebook hold one submission for each graded student, and nothing for a failed one?"""
    graded = {s for s, o in batch["outcomes"].items() if o.status != "failed"}
    rows = batch["rows"]
    assert {s for s, r in rows.items() if r[0]} == graded
    for student in graded:
        assert rows[student][:2] == (1, 1), student
        assert rows[student][4] == batch["outcomes"][student].score


def test_output_is_bounded_by_bytes(batch):
    """Is a 5 MB line (50 times the cap) cut to a bounded size, with a Norwegian note, in the graded notebook?"""
    graded = batch["course"].root / "autograded" / "stor_utskrift" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert graded.stat().st_size < 1_000_000
    assert "Utskriften er kuttet her" in graded.read_text(encoding="utf-8")


def test_nothing_outside_the_sandbox_changed(batch):
    """Did code writing outside its own folder leave solutions/, the course root and others' results alone?"""
    root = batch["course"].root
    assert _tree_digest(root / "solutions") == batch["solutions_before"]
    assert not list(root.rglob("hacket.txt"))
    other = (root / "autograded" / "riktig" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text(encoding="utf-8")
    assert "hacket" not in other and nbformat.reads(other, as_version=4).cells
    graded = (root / "autograded" / "skriver_utenfor" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text(encoding="utf-8")
    assert "skrev /" not in graded and "kunne ikke skrive" in graded


def _outputs(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_isolation_cheater_gets_nothing_honest_scores_full(batch):
    """In the sandbox, does code reading the solutions, the gradebook or another student's work find nothing
    and score nothing, while the honest submission scores full points?"""
    root = batch["course"].root
    source = nbformat.read(root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    assert batch["outcomes"]["riktig"].score == auto_points(source) > 0
    for cheater in ("leser_fasit", "fasit_lenke"):
        assert batch["outcomes"][cheater].score == 0
        out = _outputs(root / "autograded" / cheater / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        assert "funnet: []" in out, out
        assert "fant ikke" in out and "gradebook.db" in out


def test_the_cheat_works_without_the_sandbox(tmp_path: Path):
    """Would the cheating code find the solution and the gradebook in an ordinary kernel (so the test above can fail)?"""
    from nbclient import NotebookClient

    course = Course(tmp_path / "kurs", tmp_path / "exchange")
    shutil.copytree(ROOT / "solutions", course.root / "solutions")
    sqlite3.connect(course.root / "gradebook.db").execute("create table student (id text)").connection.commit()
    cwd = course.root / "autograded" / "leser_fasit" / ASSIGNMENT
    cwd.mkdir(parents=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cheat_code(course.root, ASSIGNMENT))])
    NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    out = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert "solutions" in out.split("funnet:")[1] and "gradebook.db" in out.split("funnet:")[1], out


def test_graded_code_sees_no_other_accounts_and_its_files_do_not_change_underneath(tmp_path: Path):
    """Does graded code see only root, the grader and nobody in /etc/passwd and /etc/group, not the server's accounts?

    The server's files list every student; they are also replaced by useradd while
    a hub makes accounts, which bwrap failed on when it bound them (the kernel
    died at its start). The sandbox has its own copies, so neither happens.
    """
    probe = ("import grp, os, pwd\n"
             "print(sorted(p.pw_name for p in pwd.getpwall()))\n"
             "print(sorted(g.gr_name for g in grp.getgrall()))\n"
             "print(pwd.getpwuid(os.getuid()).pw_name, pwd.getpwuid(os.getuid()).pw_dir, os.path.expanduser('~'))\n")
    (tmp_path / "arbeid").mkdir()
    (tmp_path / "kjerne").mkdir()
    command = sandbox_command([sys.executable, "-c", probe], workdir=str(tmp_path / "arbeid"),
                              runtime_dir=str(tmp_path / "kjerne"))
    inside = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert inside.returncode == 0, inside.stderr
    users, groups, me = inside.stdout.splitlines()
    grader, group = getpass.getuser(), grp.getgrgid(os.getgid()).gr_name
    assert ast.literal_eval(users) == sorted({"root", grader, "nobody"}), users
    assert ast.literal_eval(groups) == sorted({"root", group, "nogroup"}), groups
    assert me == f"{grader} /tmp/hjem /tmp/hjem"
    # The server has more accounts than that (the probe would pass on the server's own files otherwise).
    outside = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert ast.literal_eval(outside.stdout.splitlines()[0]) != ast.literal_eval(users), outside.stdout


def test_parallel_batch_writes_the_same_rows_as_sequential(batch, sequential):
    """Does grading in parallel give exactly the rows and scores of grading one at a time (no row lost or doubled)?"""
    for student in SEQUENTIAL:
        assert batch["outcomes"][student].status == sequential["outcomes"][student].status, student
        assert batch["outcomes"][student].score == sequential["outcomes"][student].score, student
        assert batch["rows"].get(student) == sequential["rows"].get(student), student


def test_regrading_in_parallel_doubles_nothing(batch):
    """Does grading the same students again replace their rows instead of adding new ones?"""
    from course.instructor.autograde import autograde_submissions

    root = batch["course"].root
    again = ["riktig", "tom", "syntaksfeil", "like_id"]
    outcomes = autograde_submissions(root, ASSIGNMENT, again, workers=2, time_limit=TIME_LIMIT, cell_timeout=CELL_TIMEOUT)
    assert [o.score for o in outcomes] == [batch["outcomes"][s].score for s in again]
    rows = _rows(root / "gradebook.db")
    assert {s: rows[s] for s in again} == {s: batch["rows"][s] for s in again}
    assert sum(r[0] for r in rows.values()) == sum(r[0] for r in batch["rows"].values())


def test_plain_nbgrader_autograde_uses_the_sandbox(sequential):
    """Does plain `nbgrader autograde` with the course's config also keep the cheater away from the solutions?"""
    course = sequential["course"]
    for student in ("leser_fasit", "riktig"):
        course.nbgrader("autograde", ASSIGNMENT, f"--student={student}", "--force", in_process=False)  # the real command
    con = sqlite3.connect(course.root / "gradebook.db")
    scores = dict(
        con.execute(
            "select a.student_id, sum(g.auto_score) from grade g join submitted_notebook n on g.notebook_id = n.id "
            "join submitted_assignment a on n.assignment_id = a.id group by a.student_id"
        ).fetchall()
    )
    assert scores["leser_fasit"] == 0
    assert scores["riktig"] == auto_points(nbformat.read(course.root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4))
    out = _outputs(course.root / "autograded" / "leser_fasit" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    assert "funnet: []" in out, out


def test_grading_works_in_a_copy_of_the_course_that_has_its_own_package(tmp_path: Path):
    """In a copy of the course folder with its own course/ (as on a server), does a correct oppgave_02 get full points?

    oppgave_02 imports ``course`` in the student's notebook. The grader, run in
    the copy, imports the copy's package; the kernel imports the one its
    environment has installed. The sandbox must let the kernel see its own
    (it once bound only the grader's, and a correct notebook scored 0).
    """
    from answers import answer_file_like_the_solution as _answer_like_the_solution

    assignment = "oppgave_02"
    course = _new_course(tmp_path / "kopi")
    shutil.copytree(ROOT / "course", course.root / "course", ignore=shutil.ignore_patterns("__pycache__"))
    source = course.root / "solutions" / assignment / f"{assignment}.ipynb"
    course.generate(assignment)
    course.nbgrader("release_assignment", assignment)
    home = tmp_path / "elev"
    home.mkdir()
    course.student("fetch_assignment", assignment, home=home)
    _answer_like_the_solution(home / assignment / f"{assignment}.ipynb", source, "Refleksjonen min.")
    course.student("submit", assignment, "--student=elev", home=home)
    course.nbgrader("collect", assignment)
    course.nbgrader("autograde", assignment, in_process=False)  # the real command, in the copy
    graded = course.root / "autograded" / "elev" / assignment / f"{assignment}.ipynb"
    assert "ModuleNotFoundError" not in graded.read_text(encoding="utf-8")
    con = sqlite3.connect(course.root / "gradebook.db")
    (score,) = con.execute("select sum(auto_score) from grade").fetchone()
    con.close()
    assert score == auto_points(nbformat.read(source, as_version=4))
