"""The shared exchange on a class server, with real Unix accounts (course/exchange/).

Can a student list, read, change, rename or delete another student's
submission, or the course's folders in the exchange? Is a submission changed
after it was submitted (a forged ``timestamp.txt``, an edited notebook), or a
folder planted in another student's name, caught by ``course grade``? Does each
student get only their own feedback?

One grader, three students who submit (kari, ola, per) and one who only
meddles (eva), an exchange made by ``prepare_exchange`` under a unique temporary
folder, and a copy of the course in the grader's home. The students run
nbgrader from their homes with the class server's environment, whose
``etc/jupyter/nbgrader_config.py`` (deploy/nbgrader_config.py) names the
course's exchange classes; the grader runs it in the course copy.
"""

from __future__ import annotations

import datetime as dt
import grp
import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from unix import ROOT, Accounts, run_as, skip_unless_class_server

from course.exchange import check_submission, describe_all, prepare_exchange

pytestmark = pytest.mark.slow

COURSE_ID = "samskaping"  # deploy/nbgrader_config.py's default
ASSIGNMENT = "oppgave_01"
GRACE = 5  # seconds: SecureExchangeCollect.grace_seconds in the course copy (30 in the course itself)

# Runs one statement as a user and says how it ended: DONE, DENIED (PermissionError) or OSERROR <errno>.
ATTEMPT = """
import os, shutil, sys
try:
    exec(sys.argv[1])
except PermissionError:
    print("DENIED")
except OSError as error:
    print("OSERROR", error.errno)
else:
    print("DONE")
"""


@dataclass
class ClassServer:
    grader: str
    kari: str
    ola: str
    per: str
    eva: str
    exchange: Path
    course: Path  # the grader's copy of the course folder
    submissions: dict[str, Path]  # student -> their folder in inbound/

    @property
    def course_dir(self) -> Path:
        return self.exchange / COURSE_ID

    @property
    def inbound(self) -> Path:
        return self.course_dir / "inbound"

    @property
    def outbound(self) -> Path:
        return self.course_dir / "outbound"

    def env(self) -> dict[str, str]:
        return {"NBGRADER_EXCHANGE": str(self.exchange)}

    def as_grader(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run_as(self.grader, list(args), cwd=self.course, check=check, **self.env())

    def as_student(self, student: str, *args: str) -> subprocess.CompletedProcess:
        return run_as(student, list(args), **self.env())

    def attempt(self, user: str, statement: str) -> str:
        return run_as(user, ["/usr/bin/python3", "-c", ATTEMPT, statement], check=False).stdout.strip()

    def home(self, user: str) -> Path:
        return Path(pwd.getpwnam(user).pw_dir)


def _chown_tree(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for dirpath, dirnames, filenames in os.walk(path):
        os.chown(dirpath, entry.pw_uid, entry.pw_gid)
        for name in filenames:
            os.chown(os.path.join(dirpath, name), entry.pw_uid, entry.pw_gid)


def _answer(notebook: Path, student: str) -> None:
    """Write an answer only this student gives into the first solution cell (no locked cell changes)."""
    nb = nbformat.read(notebook, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution"))
    cell.source += f"\n# svar fra {student}"
    nbformat.write(nb, notebook)
    _chown_tree(notebook, student)


def _recorded_time(submission: Path) -> float:
    """The submit time in the folder's name (student+assignment+timestamp+random) as seconds since the epoch."""
    stamp = submission.name.split("+")[2]
    return dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f UTC").replace(tzinfo=dt.timezone.utc).timestamp()


@pytest.fixture(scope="module")
def server():
    """Accounts, a prepared exchange, the course copy, oppgave_01 released, and three submissions."""
    skip_unless_class_server()
    accounts = Accounts("x")
    tmp = Path(tempfile.mkdtemp(prefix="skexchange-"))
    try:
        os.chmod(tmp, 0o755)  # students must reach the exchange inside it
        grader = accounts.plain("retter")
        kari, ola, per, eva = (accounts.student(name) for name in ("kari", "ola", "per", "eva"))
        exchange = tmp / "exchange"
        prepare_exchange(exchange, COURSE_ID, grader)

        course = Path(pwd.getpwnam(grader).pw_dir) / "kurs"
        course.mkdir()
        shutil.copy(ROOT / "nbgrader_config.py", course)
        (course / "mine_oppgaver").mkdir()
        shutil.copy(ROOT / "mine_oppgaver" / "nbgrader_config.py", course / "mine_oppgaver")
        for folder in ("solutions", "exercises"):
            shutil.copytree(ROOT / folder, course / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        with (course / "nbgrader_config.py").open("a", encoding="utf-8") as fh:
            # The change-time check's grace, short enough for the test's edits seconds after submitting.
            fh.write(f"\nc.SecureExchangeCollect.grace_seconds = {GRACE}\n")
        _chown_tree(course, grader)

        srv = ClassServer(grader, kari, ola, per, eva, exchange, course, {})
        srv.as_grader("nbgrader", "release_assignment", ASSIGNMENT)

        def fetch_and_submit(student: str) -> None:
            srv.as_student(student, "nbgrader", "fetch_assignment", ASSIGNMENT)
            _answer(srv.home(student) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", student)
            srv.as_student(student, "nbgrader", "submit", ASSIGNMENT)

        with ThreadPoolExecutor(3) as pool:
            list(pool.map(fetch_and_submit, (kari, ola, per)))
        for student in (kari, ola, per):
            (found,) = [p for p in srv.inbound.iterdir() if p.name.startswith(f"{student}+{ASSIGNMENT}+")]
            srv.submissions[student] = found
        yield srv
    finally:
        accounts.remove_all()
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------
# The layout and each submission's permissions


def test_submission_is_private_to_its_student_and_the_grader(server):
    """Did the student's own `nbgrader submit` (configured only by the environment) make a 0750 folder, files 0640, in the grader's group?"""
    folder = server.submissions[server.kari]
    grader_group = pwd.getpwnam(server.grader).pw_gid
    st = folder.stat()
    assert pwd.getpwuid(st.st_uid).pw_name == server.kari
    assert stat.S_IMODE(st.st_mode) == 0o750, oct(st.st_mode)
    assert st.st_gid == grader_group, grp.getgrgid(st.st_gid).gr_name
    files = {p.name: p.stat() for p in folder.iterdir()}
    assert {f"{ASSIGNMENT}.ipynb", "timestamp.txt", "submission_secret.txt"} <= set(files)
    for name, fst in files.items():
        assert stat.S_IMODE(fst.st_mode) == 0o640 and fst.st_gid == grader_group, (name, oct(fst.st_mode))


def test_layout_made_by_prepare_exchange(server):
    """Root sticky, course folder and outbound the grader's 0755, inbound 3733 in the grader's group, feedback 0711?"""
    grader = pwd.getpwnam(server.grader)
    assert stat.S_IMODE(server.exchange.stat().st_mode) == 0o1777 and server.exchange.stat().st_uid == 0
    for path, mode in ((server.course_dir, 0o755), (server.outbound, 0o755), (server.inbound, 0o3733),
                       (server.course_dir / "feedback", 0o711)):
        st = path.stat()
        assert (stat.S_IMODE(st.st_mode), st.st_uid) == (mode, grader.pw_uid), (path, oct(st.st_mode))
    assert server.inbound.stat().st_gid == grader.pw_gid


# ---------------------------------------------------------------------------
# Isolation: ola against kari's submission and the course's folders


def test_student_cannot_list_inbound(server):
    assert server.attempt(server.ola, f"os.listdir({str(server.inbound)!r})") == "DENIED"


def test_student_cannot_read_anothers_submission_by_its_name(server):
    folder = server.submissions[server.kari]
    assert server.attempt(server.ola, f"os.listdir({str(folder)!r})") == "DENIED"
    for name in (f"{ASSIGNMENT}.ipynb", "submission_secret.txt", "timestamp.txt"):
        assert server.attempt(server.ola, f"open({str(folder / name)!r}).read()") == "DENIED", name


def test_student_cannot_write_into_anothers_submission(server):
    folder = server.submissions[server.kari]
    before = (folder / f"{ASSIGNMENT}.ipynb").read_bytes()
    assert server.attempt(server.ola, f"open({str(folder / 'ekstra.txt')!r}, 'w').write('x')") == "DENIED"
    assert server.attempt(server.ola, f"open({str(folder / f'{ASSIGNMENT}.ipynb')!r}, 'w').write('{{}}')") == "DENIED"
    assert not (folder / "ekstra.txt").exists()
    assert (folder / f"{ASSIGNMENT}.ipynb").read_bytes() == before


def test_student_cannot_rename_anothers_submission(server):
    folder = server.submissions[server.kari]
    target = server.inbound / f"{server.ola}+{ASSIGNMENT}+stjaalet"
    assert server.attempt(server.ola, f"os.rename({str(folder)!r}, {str(target)!r})") == "DENIED"
    assert folder.is_dir() and not target.exists()


def test_student_cannot_delete_anothers_submission(server):
    folder = server.submissions[server.kari]
    before = sorted(p.name for p in folder.iterdir())
    assert server.attempt(server.ola, f"shutil.rmtree({str(folder)!r})") == "DENIED"
    assert server.attempt(server.ola, f"os.rmdir({str(folder)!r})") in ("DENIED", "OSERROR 39")  # 39: not empty
    assert sorted(p.name for p in folder.iterdir()) == before


def test_student_cannot_rename_or_delete_the_course_folder(server):
    course_dir = server.course_dir
    assert server.attempt(server.ola, f"os.rename({str(course_dir)!r}, {str(server.exchange / 'borte')!r})") == "DENIED"
    assert server.attempt(server.ola, f"shutil.rmtree({str(course_dir)!r})") == "DENIED"
    assert course_dir.is_dir() and (server.outbound / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()


def test_student_cannot_rename_or_delete_inbound(server):
    inbound = server.inbound
    assert server.attempt(server.ola, f"os.rename({str(inbound)!r}, {str(server.course_dir / 'borte')!r})") == "DENIED"
    assert server.attempt(server.ola, f"os.rmdir({str(inbound)!r})") == "DENIED"
    assert inbound.is_dir()


def test_student_cannot_write_into_outbound(server):
    released = server.outbound / ASSIGNMENT
    assert server.attempt(server.ola, f"open({str(server.outbound / 'falsk')!r}, 'w')") == "DENIED"
    assert server.attempt(server.ola, f"open({str(released / 'falsk.ipynb')!r}, 'w')") == "DENIED"
    assert server.attempt(server.ola, f"open({str(released / f'{ASSIGNMENT}.ipynb')!r}, 'a').write(' ')") == "DENIED"
    assert server.attempt(server.ola, f"os.rename({str(released)!r}, {str(server.outbound / 'borte')!r})") == "DENIED"
    # Nothing added: exactly the released exercise, in bokmål and nynorsk.
    assert sorted(p.name for p in released.iterdir()) == [f"{ASSIGNMENT}.ipynb", f"{ASSIGNMENT}_nynorsk.ipynb"]


def test_grader_collects_every_submission_intact(server):
    """`nbgrader collect` as the grader: each student's notebook arrives exactly as they submitted it."""
    server.as_grader("nbgrader", "collect", ASSIGNMENT)
    for student in (server.kari, server.ola, server.per):
        submitted = server.course / "submitted" / student / ASSIGNMENT
        own = server.home(student) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert (submitted / f"{ASSIGNMENT}.ipynb").read_bytes() == own.read_bytes(), student
        assert f"# svar fra {student}" in own.read_text(encoding="utf-8")
        assert (submitted / "timestamp.txt").read_text() == server.submissions[student].name.split("+")[2]
    assert not (server.course / "innleveringskontroll").exists() or not any(
        (server.course / "innleveringskontroll").rglob("*.json")), "an honest submission was recorded as changed"


# ---------------------------------------------------------------------------
# Changed after submitting, and planted in another's name: `course grade` as the grader


@pytest.fixture(scope="module")
def graded(server):
    """kari moves timestamp.txt an hour back, ola edits his notebook, eva plants a folder in kari's name; then `course grade`."""
    # ctime is the real clock: the edits must come after the grace has passed (usually long since).
    deadline = time.monotonic() + 30
    latest = max(_recorded_time(p) for p in server.submissions.values())
    while time.time() < latest + GRACE + 0.5:
        assert time.monotonic() < deadline
        time.sleep(0.1)

    kari_stamp = server.submissions[server.kari] / "timestamp.txt"
    earlier = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    assert server.attempt(server.kari, f"open({str(kari_stamp)!r}, 'w').write("
                                       f"{earlier.strftime('%Y-%m-%d %H:%M:%S.%f UTC')!r})") == "DONE"
    ola_nb = server.submissions[server.ola] / f"{ASSIGNMENT}.ipynb"
    text = ola_nb.read_text(encoding="utf-8")
    changed = text.replace(f"# svar fra {server.ola}", f"# svar fra {server.ola}, rettet etter fristen")
    assert changed != text
    assert server.attempt(server.ola, f"open({str(ola_nb)!r}, 'w').write({changed!r})") == "DONE"
    # ... and links the grader's solution into it: a collect that follows links would hand it to him as feedback.
    solution = server.course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    link = server.submissions[server.ola] / "losning.ipynb"
    assert server.attempt(server.ola, f"os.symlink({str(solution)!r}, {str(link)!r})") == "DONE"

    later = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    fake = server.inbound / f"{server.kari}+{ASSIGNMENT}+{later}+falsk"
    blank = server.outbound / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    plant = (f"os.mkdir({str(fake)!r}); shutil.copy({str(blank)!r}, {str(fake)!r}); "
             f"open({str(fake / 'timestamp.txt')!r}, 'w').write({later!r})")
    assert server.attempt(server.eva, plant) == "DONE"

    # As if nothing had been collected yet (the test above collected the honest submissions).
    shutil.rmtree(server.course / "submitted", ignore_errors=True)
    proc = server.as_grader("course", "grade", ASSIGNMENT, "--uten-fremdrift", "--arbeidere", "2", check=False)
    return proc


def _section(out: str, heading: str) -> str:
    assert heading in out, out
    return out.split(heading, 1)[1].split("\n\n", 1)[0]


def test_forged_timestamp_is_flagged(server, graded):
    section = _section(graded.stdout, "Endret etter innlevering")
    line = next((l for l in section.splitlines() if l.strip().startswith(server.kari)), "")
    assert "timestamp.txt endret" in line and "etter registrert innleveringstid" in line, graded.stdout
    assert "har en annen tid enn mappenavnet" in line, graded.stdout
    assert "Alt er rettet." not in graded.stdout and graded.returncode == 1


def test_notebook_edited_after_submitting_is_flagged(server, graded):
    section = _section(graded.stdout, "Endret etter innlevering")
    line = next((l for l in section.splitlines() if l.strip().startswith(server.ola)), "")
    assert f"{ASSIGNMENT}.ipynb endret" in line, graded.stdout
    assert "timestamp.txt" not in line, graded.stdout


def test_link_in_a_submission_is_not_followed(server, graded):
    """ola's link to the grader's solution is reported, and neither the link nor the solution is collected."""
    line = next((l for l in _section(graded.stdout, "Endret etter innlevering").splitlines()
                 if l.strip().startswith(server.ola)), "")
    assert "losning.ipynb er en symbolsk lenke" in line, graded.stdout
    collected = server.course / "submitted" / server.ola / ASSIGNMENT
    assert not os.path.lexists(collected / "losning.ipynb")
    assert sorted(p.name for p in collected.iterdir()) == [f"{ASSIGNMENT}.ipynb", "submission_secret.txt", "timestamp.txt"]


def test_honest_submission_is_not_flagged(server, graded):
    out = graded.stdout
    assert "Endret etter innlevering (2):" in out, out
    assert server.per not in _section(out, "Endret etter innlevering"), out
    assert server.per in out.split("Kunne ikke rettes")[0], "the honest submission was not graded:\n" + out


def test_folder_planted_in_anothers_name_is_not_collected(server, graded):
    """eva's folder named as kari's (with a later time, so nbgrader would take it) is reported, and kari's own is graded."""
    section = _section(graded.stdout, "Ikke samlet inn fra utvekslingsmappen")
    line = next((l for l in section.splitlines() if l.strip().startswith(server.kari)), "")
    assert f"eies av brukeren {server.eva}" in line, graded.stdout
    collected = server.course / "submitted" / server.kari / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert f"# svar fra {server.kari}" in collected.read_text(encoding="utf-8")


def test_each_student_fetches_only_their_own_feedback(server, graded):
    """After release_feedback, each student's fetch_feedback brings exactly their own feedback; feedback/ is unlistable."""
    server.as_grader("nbgrader", "release_feedback", ASSIGNMENT)
    students = (server.kari, server.ola, server.per)
    with ThreadPoolExecutor(4) as pool:  # eva submitted nothing
        list(pool.map(lambda s: server.as_student(s, "nbgrader", "fetch_feedback", ASSIGNMENT), (*students, server.eva)))

    originals = {s: (server.course / "feedback" / s / ASSIGNMENT / f"{ASSIGNMENT}.html").read_bytes() for s in students}
    assert len(set(originals.values())) == len(students), "the students' feedback files should differ"
    for student in students:
        fetched = list((server.home(student) / ASSIGNMENT / "feedback").rglob("*.html"))
        assert [p.read_bytes() for p in fetched] == [originals[student]], student
    assert not (server.home(server.eva) / ASSIGNMENT / "feedback").exists()
    assert server.attempt(server.eva, f"os.listdir({str(server.course_dir / 'feedback')!r})") == "DENIED"
    for released in (server.course_dir / "feedback").iterdir():
        assert stat.S_IMODE(released.stat().st_mode) == 0o644, released


def test_change_record_is_kept_outside_submitted(server, graded):
    """The check's records lie in innleveringskontroll/, which students' submissions never reach."""
    records = server.course / "innleveringskontroll" / ASSIGNMENT
    kari = json.loads((records / f"{server.kari}.json").read_text(encoding="utf-8"))
    assert kari["submission"] == server.submissions[server.kari].name
    assert {f["kind"] for f in kari["findings"]} >= {"endret", "ulik_tid"}
    assert not (records / f"{server.per}.json").exists()


# ---------------------------------------------------------------------------
# One machine, one user (`make lab`): the same classes, no root, no groups


def test_one_user_with_a_local_exchange(server):
    """The grader alone, as on a laptop: release, fetch and submit from mine_oppgaver/, collect, all in .exchange/."""
    alone = server.home(server.grader) / "kurs_alene"
    alone.mkdir()
    shutil.copy(server.course / "nbgrader_config.py", alone)
    for folder in ("solutions", "exercises", "mine_oppgaver"):
        shutil.copytree(server.course / folder, alone / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    _chown_tree(alone, server.grader)
    mine = alone / "mine_oppgaver"

    def run(*args: str, cwd: Path = alone) -> None:
        run_as(server.grader, ["nbgrader", *args], cwd=cwd)  # no NBGRADER_EXCHANGE: the course folder's .exchange/

    run("release_assignment", ASSIGNMENT)
    run("fetch_assignment", ASSIGNMENT, cwd=mine)
    run("submit", ASSIGNMENT, cwd=mine)
    exchange = alone / ".exchange"
    assert stat.S_IMODE(exchange.stat().st_mode) == 0o1777
    assert stat.S_IMODE((exchange / COURSE_ID / "inbound").stat().st_mode) == 0o3733
    (submission,) = (exchange / COURSE_ID / "inbound").iterdir()
    assert stat.S_IMODE(submission.stat().st_mode) == 0o750
    run("collect", ASSIGNMENT)
    collected = alone / "submitted" / server.grader / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert collected.read_bytes() == (mine / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes()
    assert not (alone / "innleveringskontroll").exists()


# ---------------------------------------------------------------------------
# The change-time check on its own (any user, no accounts)


def _submission(tmp_path: Path, timestamp: str | None) -> tuple[Path, str]:
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    folder = tmp_path / f"kari+{ASSIGNMENT}+{now}+abc"
    folder.mkdir()
    (folder / f"{ASSIGNMENT}.ipynb").write_text("{}")
    if timestamp is not None:
        (folder / "timestamp.txt").write_text(timestamp)
    return folder, now


def test_check_passes_a_fresh_submission(tmp_path):
    folder, now = _submission(tmp_path, None)
    (folder / "timestamp.txt").write_text(now)
    assert check_submission(folder, now, 30)[0] == []


@pytest.mark.parametrize("content", ["", "i går", "\xff\xfe"])
def test_check_flags_an_unreadable_timestamp(tmp_path, content):
    folder, now = _submission(tmp_path, content)
    findings, used = check_submission(folder, now, 30)
    assert [f["kind"] for f in findings] == ["uleselig_tid"]
    assert used is not None, "the time in the folder's name is used instead"
    assert describe_all(findings) == ["timestamp.txt mangler eller kan ikke leses (tiden i mappenavnet er brukt)"]


def test_check_flags_a_pipe_as_timestamp_without_blocking(tmp_path):
    folder, now = _submission(tmp_path, None)
    os.mkfifo(folder / "timestamp.txt")
    assert "uleselig_tid" in [f["kind"] for f in check_submission(folder, now, 30)[0]]


def test_check_flags_files_changed_long_after_the_recorded_time(tmp_path):
    """A folder whose name and timestamp.txt both say an hour ago, made now: everything changed after."""
    hour_ago = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    folder, _ = _submission(tmp_path, hour_ago)
    findings, _ = check_submission(folder, hour_ago, 30)
    changed = {f["path"] for f in findings if f["kind"] == "endret"}
    assert changed == {".", "timestamp.txt", f"{ASSIGNMENT}.ipynb"}
    assert "timestamp.txt endret 60 min etter registrert innleveringstid" in describe_all(findings)
