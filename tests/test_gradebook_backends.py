"""The gradebook on SQLite and on PostgreSQL: the course's tools follow nbgrader's ``CourseDirectory.db_url``.

The same submissions (one answered like the solution, one blank, downloaded
from an LMS as a zip file) are graded with `course grade` and reported on with
`course report`, once with SQLite (the default) and once with a PostgreSQL
cluster of the test's own (tests/postgres.py: socket only, peer
authentication, no password anywhere); both must give the same scores, tables
and grade export. The role and database are made by deploy/setup-gradebook.sh,
the administrator's script. Then: who can connect (the grader, from the class
server's environment; no student; no code graded in the sandbox), what an
instructor reads when the database cannot be reached, and a nightly backup
restored into a fresh database (deploy/backup-gradebook.sh,
deploy/restore-gradebook.sh) giving the same grades.
"""

from __future__ import annotations

import csv
import getpass
import pwd
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.engine import make_url

from conftest import BIN, ROOT, Course, assignments
from course.instructor.cli import main as course_main
from course.instructor.common import gradebook_url
from course.instructor.sandbox import sandbox_command
from postgres import PG_BIN, postgres_cluster, skip_unless_root
from test_cli import REFLECTION, copy_course, source_nb
from answers import answer_file_like_the_solution as _answer_like_the_solution
from unix import HUB_ENV, Accounts, run_as, skip_unless_class_server, unique

ASSIGNMENT = assignments()[0]
SETUP = ROOT / "deploy" / "setup-gradebook.sh"
BACKUP = ROOT / "deploy" / "backup-gradebook.sh"
RESTORE = ROOT / "deploy" / "restore-gradebook.sh"
# Canvas-style names (see nbgrader_config.py): the user id becomes the student id.
SUBMISSIONS = {"111111": "riktig", "222222": "blank"}


def run_course(course: Course, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The real console script, as an instructor runs it in the course folder."""
    return subprocess.run([str(BIN / "course"), *args], cwd=course.root, env=env, capture_output=True, text=True,
                          timeout=900)


def admin_script(cluster, script: Path, *args: str) -> subprocess.CompletedProcess:
    """One of deploy/'s gradebook scripts against the test's cluster, as an administrator (root) runs it."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "PGHOST": str(cluster.socket),
           "PG_ADMIN": cluster.owner, "PG_BIN": str(PG_BIN)}
    return subprocess.run([str(script), *args], env=env, capture_output=True, text=True, timeout=120)


def setup_gradebook(cluster, account: str, database: str) -> subprocess.CompletedProcess:
    """deploy/setup-gradebook.sh against the test's cluster."""
    return admin_script(cluster, SETUP, account, database)


def printed_url(proc: subprocess.CompletedProcess) -> str:
    return re.search(r"^NBGRADER_DB_URL=(\S+)$", proc.stdout, re.M).group(1)


def psql_as(user: str, cluster, database: str, sql: str, *, role: str | None = None) -> subprocess.CompletedProcess:
    args = [str(PG_BIN / "psql"), "-X", "-A", "-t", "-h", str(cluster.socket), "-d", database, "-c", sql]
    return run_as(user, args + (["-U", role] if role else []), check=False, timeout=60)


# ---------------------------------------------------------------------------
# Which database: nbgrader's configuration decides


def test_gradebook_url_is_the_one_nbgrader_uses(tmp_path, monkeypatch):
    """Does gradebook_url follow nbgrader's own configuration: default, Jupyter's config path, NBGRADER_DB_URL?"""
    monkeypatch.delenv("NBGRADER_DB_URL", raising=False)
    course = copy_course(tmp_path / "kurs", tmp_path / "exchange")
    assert gradebook_url(course.root) == f"sqlite:///{course.root / 'gradebook.db'}"

    # A folder on Jupyter's config path (as <env>/etc/jupyter is on the class server) names the database.
    config_dir = tmp_path / "etc-jupyter"
    config_dir.mkdir()
    elsewhere = tmp_path / "et-annet-sted" / "karakterer.db"
    elsewhere.parent.mkdir()
    (config_dir / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.db_url = 'sqlite:///{elsewhere}'\n", encoding="utf-8")
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(config_dir))
    assert gradebook_url(course.root) == f"sqlite:///{elsewhere}"
    # nbgrader itself writes there: the same configuration, the same database.
    course.env["JUPYTER_CONFIG_PATH"] = str(config_dir)
    course.nbgrader("db", "student", "add", "elev_1")
    with Gradebook(gradebook_url(course.root)) as gb:
        assert [s.id for s in gb.students] == ["elev_1"]
    assert not (course.root / "gradebook.db").exists()

    # The course folder's nbgrader_config.py comes on top: the class server sets NBGRADER_DB_URL.
    url = "postgresql+psycopg2://@/gradebook_samskaping?host=/run/postgresql"
    monkeypatch.setenv("NBGRADER_DB_URL", url)
    assert gradebook_url(course.root) == url


def test_unreachable_database_is_a_norwegian_message(tmp_path, monkeypatch, capsys):
    """Do `course grade` and `course report` say in Norwegian what to check when PostgreSQL is not there?"""
    course = copy_course(tmp_path / "kurs", tmp_path / "exchange")
    no_server = tmp_path / "ingen-tjener"  # a socket folder where no PostgreSQL runs
    no_server.mkdir()
    url = f"postgresql+psycopg2://@/gradebook_samskaping?host={no_server}"
    monkeypatch.setenv("NBGRADER_DB_URL", url)
    for args in (("grade", ASSIGNMENT, "--uten-fremdrift"), ("report",)):
        # The command's own entry point, in this process: an exception would fail the test here.
        assert course_main(["--kurs", str(course.root), *args]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"Feil: Fant ikke karakterdatabasen ({url}): Sjekk at PostgreSQL kjører"), err
        assert "Traceback" not in err
    assert not (course.root / "gradebook.db").exists(), "no SQLite gradebook in its place"


# ---------------------------------------------------------------------------
# The same grading on both backends


@pytest.fixture(scope="module")
def cluster():
    """A PostgreSQL cluster of this module, with a gradebook for the account that runs the tests."""
    skip_unless_root()
    accounts = Accounts("gb")
    try:
        with postgres_cluster(accounts) as pg:
            # `course grade` runs as this account here (root in CI); peer authentication lets it in as its role.
            proc = setup_gradebook(pg, getpass.getuser(), unique("gradebook_"))
            assert proc.returncode == 0, proc.stdout + proc.stderr
            yield {"pg": pg, "url": printed_url(proc), "accounts": accounts}
    finally:
        accounts.remove_all()


def _submissions(tmp: Path, course: Course) -> Path:
    """A zip file as downloaded from Canvas: one answered like the solution; one blank, late and renamed
    by the student («-1»); and a file whose name has no Canvas id, which is skipped with a warning."""
    blank = ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    answered = tmp / "riktig.ipynb"
    shutil.copy(blank, answered)
    _answer_like_the_solution(answered, source_nb(course), REFLECTION)
    archive = tmp / "nedlasting.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(answered, f"studentriktig_111111_7890123_{ASSIGNMENT}.ipynb")
        zf.write(blank, f"studentblank_late_222222_8901234_{ASSIGNMENT}-1.ipynb")
        zf.write(answered, "min_innlevering_uten_id.ipynb")
    return archive


def gradebook_scores(url: str) -> dict[str, dict | None]:
    """Each submission's total and per-cell scores in the gradebook at ``url`` (None: not graded)."""
    scores = {}
    with Gradebook(url) as gb:
        for user_id in SUBMISSIONS:
            try:
                sub = gb.find_submission(ASSIGNMENT, user_id)
            except MissingEntry:  # not graded: the test says so, with `course grade`'s output
                scores[user_id] = None
                continue
            scores[user_id] = {"total": sub.score, **{g.name: g.score for g in sub.notebooks[0].grades}}
    return scores


_RUNS: dict[str, dict] = {}


def graded_with(backend: str, cluster_info: dict | None, tmp_path_factory) -> dict:
    """`course grade` and `course report` on the same submissions with ``backend``; run once per module."""
    if backend in _RUNS:
        return _RUNS[backend]
    tmp = tmp_path_factory.mktemp(backend)
    course = copy_course(tmp / "kurs", tmp / "exchange")
    env = {k: v for k, v in course.env.items() if k != "NBGRADER_DB_URL"}
    if backend == "postgresql":
        env["NBGRADER_DB_URL"] = cluster_info["url"]
    archive = _submissions(tmp, course)
    grade = run_course(course, "grade", ASSIGNMENT, "--zip", str(archive), "--uten-fremdrift", env=env)
    report = run_course(course, "report", env=env)
    url = cluster_info["url"] if backend == "postgresql" else f"sqlite:///{course.root / 'gradebook.db'}"
    scores = gradebook_scores(url)
    with Gradebook(url) as gb:
        students = sorted(s.id for s in gb.students)
        late = {user_id: gb.find_submission(ASSIGNMENT, user_id).total_seconds_late
                for user_id in SUBMISSIONS if user_id in students}
    _RUNS[backend] = {
        "course": course, "grade": grade, "report": report, "scores": scores, "students": students, "late": late,
        "cells_csv": (course.root / "rapport" / f"{ASSIGNMENT}_celler.csv").read_text(encoding="utf-8"),
        "grades_csv": (course.root / "karakterer.csv").read_text(encoding="utf-8"),
    }
    return _RUNS[backend]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The graded runs, once per backend; the PostgreSQL one needs the module's cluster (root only)."""
    yield lambda backend, cluster=None: graded_with(backend, cluster, tmp_path_factory)
    _RUNS.clear()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_grade_and_report_with_each_backend(runs, backend, request):
    """Do `course grade` and `course report` grade and report every submission, in the configured database?"""
    run = runs(backend, request.getfixturevalue("cluster") if backend == "postgresql" else None)
    out = run["grade"].stdout
    assert run["grade"].returncode == 0, out + run["grade"].stderr
    assert "2 innleveringer, 2 rettet, 0 ikke rettet" in out, out
    assert re.search(r"111111\s+8 av 12 poeng", out), out
    assert re.search(r"222222\s+0 av 12 poeng", out), out
    # Canvas's names: «late» and a renamed file («-1») still match; a name without an id is skipped, with a warning.
    assert "«min_innlevering_uten_id.ipynb»" in out, out
    assert run["students"] == ["111111", "222222"]
    assert run["late"]["222222"] == 0, "no due date was set, so nothing is late"
    right, blank = run["scores"]["111111"], run["scores"]["222222"]
    assert right and blank, f"not in the gradebook ({backend}): {run['scores']}"
    assert right["total"] == 8 and blank["total"] == 0
    assert right.keys() == blank.keys() and len(right) > 5, "every graded cell has a grade"
    assert run["report"].returncode == 0, run["report"].stdout + run["report"].stderr
    assert f"## {ASSIGNMENT} (2 rettede innleveringer, maks 12 poeng)" in run["report"].stdout
    rows = list(csv.reader(run["grades_csv"].splitlines()))
    assert [(r[0], r[-1]) for r in rows[1:]] == [("111111", "8"), ("222222", "0")]
    # The grades are where nbgrader's db_url points, and only there.
    assert (run["course"].root / "gradebook.db").exists() == (backend == "sqlite")


@pytest.mark.slow
def test_both_backends_give_the_same_scores_and_report(runs, cluster):
    """Do SQLite and PostgreSQL give the same score for every cell, the same report table and grade export?"""
    sqlite, postgresql = runs("sqlite"), runs("postgresql", cluster)
    assert postgresql["scores"] == sqlite["scores"]
    assert postgresql["cells_csv"] == sqlite["cells_csv"]
    assert postgresql["grades_csv"] == sqlite["grades_csv"]
    lines = lambda run: [l for l in run["grade"].stdout.splitlines() if re.match(r"\s+\d{6}\s", l)]  # noqa: E731
    assert lines(postgresql) == lines(sqlite) and len(lines(sqlite)) == 2


# ---------------------------------------------------------------------------
# Backup and restore


@pytest.mark.slow
def test_a_restored_backup_gives_the_same_grades(runs, cluster, tmp_path):
    """Does a dump from deploy/backup-gradebook.sh, restored into a fresh database, give the same grades?

    The PostgreSQL gradebook graded above is backed up three times keeping two,
    the newest is restored under a new name with deploy/restore-gradebook.sh,
    and `course report` against it must give the same scores, tables and grade
    export. Then: a restore never overwrites a database with data in it, and an
    empty gradebook gives a loud failure, not an empty backup.
    """
    pg, grader = cluster["pg"], getpass.getuser()
    graded = runs("postgresql", cluster)
    database = make_url(cluster["url"]).database
    folder = tmp_path / "sikkerhetskopier"
    for _ in range(3):
        proc = admin_script(pg, BACKUP, "--mappe", str(folder), "--behold", "2", grader, database)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    newest = Path(re.search(r"«[a-z0-9_]+»: (/\S+\.dump) ", proc.stdout).group(1))
    dumps = sorted(folder.iterdir())
    assert len(dumps) == 2 and dumps[-1] == newest, (dumps, proc.stdout)
    assert re.fullmatch(rf"{database}-\d{{4}}-\d\d-\d\d_\d{{6}}\.\d{{3}}\.dump", newest.name), newest.name
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and folder.stat().st_uid == 0
    assert all(stat.S_IMODE(d.stat().st_mode) == 0o600 and d.stat().st_uid == 0 for d in dumps)

    fresh = unique("gjenopprettet_")
    proc = admin_script(pg, RESTORE, str(newest), fresh, grader)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    url = printed_url(proc)
    assert url == pg.url(fresh) and url != cluster["url"]
    assert pg.psql(f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{fresh}'").stdout.strip() == grader

    course = graded["course"]
    env = {**{k: v for k, v in course.env.items() if k != "NBGRADER_DB_URL"}, "NBGRADER_DB_URL": url}
    report = run_course(course, "report", "--mappe", str(tmp_path / "rapport"), "--csv",
                        str(tmp_path / "karakterer.csv"), env=env)
    assert report.returncode == 0, report.stdout + report.stderr
    assert (tmp_path / "karakterer.csv").read_text(encoding="utf-8") == graded["grades_csv"]
    assert (tmp_path / "rapport" / f"{ASSIGNMENT}_celler.csv").read_text(encoding="utf-8") == graded["cells_csv"]
    assert ((tmp_path / "rapport" / "rapport.md").read_text(encoding="utf-8")
            == (course.root / "rapport" / "rapport.md").read_text(encoding="utf-8"))
    assert gradebook_scores(url) == graded["scores"] and graded["scores"]["111111"]["total"] == 8

    # The restored database now has data: a second restore into it is refused, saying what to do.
    again = admin_script(pg, RESTORE, str(newest), fresh, grader)
    assert again.returncode == 1 and "finnes allerede og har innhold" in again.stderr, again.stdout + again.stderr
    assert f"{fresh}_gjenopprettet" in again.stderr
    # A gradebook without tables (the wrong database, say) fails loudly; the good copies stay.
    empty = unique("tom_")
    assert setup_gradebook(pg, grader, empty).returncode == 0
    proc = admin_script(pg, BACKUP, "--mappe", str(folder), "--behold", "1", grader, empty)
    assert proc.returncode == 1 and "SIKKERHETSKOPIEN FEILET" in proc.stderr and "ingen tabeller" in proc.stderr, \
        proc.stdout + proc.stderr
    assert sorted(folder.iterdir()) == dumps


# ---------------------------------------------------------------------------
# Who can connect


def test_setup_script_gives_the_grader_and_no_student_access(cluster):
    """Does deploy/setup-gradebook.sh (run twice) give the grader a database, and no student a way in?"""
    pg, accounts = cluster["pg"], cluster["accounts"]
    grader = accounts.plain("retter")
    student = accounts.student("kari")
    database = unique("gradebook_")
    first = setup_gradebook(pg, grader, database)
    again = setup_gradebook(pg, grader, database)
    for proc in (first, again):
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert printed_url(proc) == pg.url(database)
        assert "Karakterdatabasen" in proc.stdout and "er klar" in proc.stdout
    assert pg.psql(f"SELECT count(*) FROM pg_authid WHERE rolname = '{grader}' AND rolcanlogin "
                   "AND rolpassword IS NULL AND NOT rolsuper").stdout.strip() == "1"
    assert pg.psql(f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{database}'").stdout.strip() == grader

    # The grader logs in over the socket with no password, as its own role, and can make nbgrader's tables.
    proc = psql_as(grader, pg, database, "CREATE TABLE proeve (id int); SELECT current_user;")
    assert proc.returncode == 0 and proc.stdout.split()[-1] == grader, proc.stderr
    # A student has no role, and cannot pose as the grader either.
    proc = psql_as(student, pg, database, "SELECT 1")
    assert proc.returncode != 0 and f'role "{student}" does not exist' in proc.stderr, proc.stdout + proc.stderr
    proc = psql_as(student, pg, database, "SELECT 1", role=grader)
    assert proc.returncode != 0 and "Peer authentication failed" in proc.stderr, proc.stdout + proc.stderr
    # Nor can another role reach this database (CONNECT is revoked from PUBLIC).
    other = accounts.plain("annen")
    assert setup_gradebook(pg, other, unique("gradebook_")).returncode == 0
    proc = psql_as(other, pg, database, "SELECT 1")
    assert proc.returncode != 0 and "permission denied for database" in proc.stderr, proc.stdout + proc.stderr


def test_setup_script_refuses_bad_input_in_norwegian(cluster):
    """Does deploy/setup-gradebook.sh refuse an unknown account and a bad database name, saying what to do?"""
    pg = cluster["pg"]
    proc = setup_gradebook(pg, "finnesikke" + unique("x"), "gradebook_x")
    assert proc.returncode == 1 and "Fant ingen Unix-konto" in proc.stderr, proc.stderr
    proc = setup_gradebook(pg, getpass.getuser(), "gradebook; DROP DATABASE postgres")
    assert proc.returncode == 2 and "Ugyldig databasenavn" in proc.stderr, proc.stderr


def test_graded_code_cannot_reach_the_gradebook(cluster, tmp_path):
    """Can a student's code, run by the grader in the grading sandbox, not connect to the gradebook as the grader?

    Peer authentication lets in whatever runs as the grader's account, student
    code being graded included; the sandbox must not show it PostgreSQL's socket.
    """
    url = make_url(cluster["url"])
    probe = ("import psycopg2\n"
             f"try:\n    psycopg2.connect(host={url.query['host']!r}, dbname={url.database!r}).close()\n"
             "except psycopg2.OperationalError as error:\n    print('INGEN TILGANG', error)\n"
             "else:\n    print('TILKOBLET')\n")
    outside = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert outside.stdout.startswith("TILKOBLET"), outside.stdout + outside.stderr  # the grader gets in
    (tmp_path / "arbeid").mkdir()
    (tmp_path / "kjerne").mkdir()
    command = sandbox_command([sys.executable, "-c", probe], workdir=str(tmp_path / "arbeid"),
                              runtime_dir=str(tmp_path / "kjerne"))
    inside = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert inside.stdout.startswith("INGEN TILGANG"), inside.stdout + inside.stderr


def test_grader_account_opens_the_gradebook_in_the_class_server_environment(cluster):
    """Does the grader's account, in the class server's environment, open the PostgreSQL gradebook with nbgrader?

    With the URL deploy/setup-gradebook.sh printed, given as NBGRADER_DB_URL to
    the course folder's nbgrader_config.py: no password, peer authentication,
    and nbgrader creates its tables in the empty database.
    """
    skip_unless_class_server()
    pg, accounts = cluster["pg"], cluster["accounts"]
    grader = accounts.plain("kursleder")
    database = unique("gradebook_")
    url = printed_url(setup_gradebook(pg, grader, database))
    home = Path(pwd.getpwnam(grader).pw_dir)
    course_dir = home / "kurs"
    course_dir.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course_dir)
    shutil.chown(course_dir, grader, grader)
    code = ("from pathlib import Path\n"
            "from course.instructor.common import gradebook_url, open_gradebook\n"
            "print(gradebook_url(Path('.')))\n"
            "with open_gradebook(Path('.')) as gb:\n"
            "    gb.add_student('elev_fra_retteren')\n")
    proc = run_as(grader, [str(HUB_ENV / "bin" / "python"), "-c", code], cwd=course_dir, NBGRADER_DB_URL=url)
    assert proc.stdout.splitlines()[0] == url, proc.stdout + proc.stderr
    assert pg.psql("SELECT id FROM student", database=database).stdout.split() == ["elev_fra_retteren"]
    assert not (course_dir / "gradebook.db").exists()
