"""Deadlines (course/frister.py): the file, Norwegian time, the late policy, and the exchange that keeps them.

The class server's version (real accounts, the deadline service, Chromium) is
in test_hub.py; here the rules themselves, and the whole course on one
machine through nbgrader's own commands and `course grade`.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from answers import answer_file_like_the_solution, points
from conftest import BIN, ROOT, Course
from course import frister
from course.exchange import read_late_refused, submission_time
from course.frister import DeadlineError, DeadlinePolicy, LatePenalty, parse_plan

EXERCISES = {"oppgave_01", "oppgave_02"}
HEAD = "oppgave;student;frist\n"


def _plan(body: str, students=frozenset({"kari", "ola"})) -> frister.Plan:
    return parse_plan(HEAD + body, exercises=EXERCISES, students=set(students))


def _utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.timezone.utc)


# --- The file --------------------------------------------------------------------------


def test_bad_lines_are_refused_each_named_by_its_line():
    text = (HEAD
            + "oppgave_01;;2026-09-18 23:59\n"
            + "# a comment and a blank line are skipped\n\n"
            + "oppgave_09;;2026-09-18 23:59\n"      # 5: unknown exercise
            + "oppgave_01;per;+24\n"                 # 6: unknown student
            + "oppgave_02;;18.09.2026\n"             # 7: no time
            + "oppgave_02;kari;+24\n"                # 8: an extension with no class deadline (line 7 failed)
            + "oppgave_01;ola;2026-09-17 12:00\n"    # 9: earlier than the class's
            + "oppgave_01;kari;i morgen\n"           # 10: malformed
            + "oppgave_01;;2026-09-19 23:59\n"       # 11: a second class deadline
            + "oppgave_01;ola\n")                    # 12: two fields
    with pytest.raises(DeadlineError) as caught:
        parse_plan(text, exercises=EXERCISES, students={"kari", "ola"})
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == [f"linje {n}" for n in (5, 6, 7, 8, 9, 10, 11, 12)], problems
    assert "ukjent oppgave «oppgave_09»" in problems[0]
    assert "ukjent student «per»" in problems[1]
    assert "mangler klokkeslett" in problems[2]
    assert "har ingen frist for klassen" in problems[3]
    assert "ikke senere enn klassens frist" in problems[4]
    assert "ikke en tid kurset kan lese" in problems[5]
    assert "allerede en frist for klassen (linje 2)" in problems[6]
    assert "tre felt" in problems[7]


def test_a_comma_separated_file_is_told_to_use_semicolons():
    with pytest.raises(DeadlineError) as caught:
        parse_plan("oppgave,student,frist\noppgave_01,,2026-09-18 23:59\n", exercises=EXERCISES)
    assert caught.value.problems == ["linje 1: første linje skal være «oppgave;student;frist» "
                                     "(skilletegnet er semikolon, ikke komma)"]


def test_each_student_sees_their_own_deadline_and_nobody_elses():
    plan = _plan("oppgave_01;;2026-09-18 23:59\noppgave_01;kari;2026-09-25 23:59\n")
    now = _utc(2026, 9, 1)
    kari, ola = plan.for_student("kari", now), plan.for_student("ola", now)
    assert kari[0]["forlenget"] and kari[0]["frist_tekst"] == "fredag 25. september 2026 kl. 23.59"
    assert not ola[0]["forlenget"] and ola[0]["frist_tekst"] == "fredag 18. september 2026 kl. 23.59"
    assert "25. september" not in repr(ola), "Kari's extension must not reach Ola"


# --- Norwegian time ----------------------------------------------------------------------


def test_2359_on_the_days_the_clocks_change():
    plan = _plan("oppgave_01;;2026-03-29 23:59\noppgave_02;;25.10.2026 kl. 23.59\n")
    # Summer time (UTC+2) from 29 March, winter time (UTC+1) from 25 October.
    assert plan.deadlines["oppgave_01"].end == _utc(2026, 3, 29, 21, 59, 59, 999999)
    assert plan.deadlines["oppgave_02"].end == _utc(2026, 10, 25, 22, 59, 59, 999999)
    assert plan.deadlines["oppgave_02"].text() == "søndag 25. oktober 2026 kl. 23.59"


@pytest.mark.parametrize("written, what", [("2026-03-29 02:30", "finnes ikke i norsk tid"),
                                           ("2026-10-25 02:30", "finnes to ganger i norsk tid")])
def test_a_time_the_clocks_skip_or_repeat_is_refused(written: str, what: str):
    with pytest.raises(DeadlineError) as caught:
        _plan(f"oppgave_01;;{written}\n")
    assert what in caught.value.problems[0]


def test_the_last_second_of_the_minute_is_on_time():
    deadline = _plan("oppgave_01;;2026-09-18 23:59\n").deadlines["oppgave_01"]
    assert deadline.late_by(_utc(2026, 9, 18, 21, 59, 59, 999999)) == 0
    assert deadline.late_by(_utc(2026, 9, 18, 22, 0, 0)) > 0


def test_extra_hours_count_on_the_clock_face_across_the_change_of_the_clocks():
    plan = _plan("oppgave_01;;2026-10-23 23:59\noppgave_01;kari;+48 t\n")
    own = plan.extensions[("oppgave_01", "kari")]
    assert own.text() == "søndag 25. oktober 2026 kl. 23.59"  # 49 real hours: the clocks went back that night
    assert own.end - plan.deadlines["oppgave_01"].end == dt.timedelta(hours=49)


def test_the_server_clocks_zone_changes_nothing(monkeypatch):
    """The same deadline and the same Norwegian text whatever zone the server's clock is set to (TZ)."""
    seen = set()
    try:
        for zone in ("UTC", "Europe/Oslo", "America/New_York", "Asia/Tokyo"):
            monkeypatch.setenv("TZ", zone)
            time.tzset()
            assert (zone == "UTC") == (time.timezone == 0), "the process's zone did not change"
            deadline = frister.parse_plan(f"{HEAD}oppgave_01;;2026-03-29 23:59\n").deadlines["oppgave_01"]
            seen.add(f"{deadline.end.isoformat()} {deadline.text()} {deadline.late_by(frister.now_utc()) > 0}")
    finally:
        monkeypatch.undo()
        time.tzset()
    assert seen == {"2026-03-29T21:59:59.999999+00:00 søndag 29. mars 2026 kl. 23.59 True"}, seen


def test_a_new_deadline_already_past_is_questioned_once(tmp_path: Path):
    plan = _plan("oppgave_01;;2025-09-18 23:59\noppgave_02;;2026-12-18 23:59\n")
    now = _utc(2026, 12, 5, 12)
    past = frister.check_past(tmp_path, plan, now)
    assert len(past) == 1 and past[0].startswith("linje 2: fristen (torsdag 18. september 2025") and "feil dato eller år" in past[0]
    frister.accept(tmp_path, plan)
    assert frister.check_past(tmp_path, plan, now) == []
    later = _plan("oppgave_01;;2025-09-18 23:59\noppgave_01;kari;2026-12-01 23:59\noppgave_02;;2026-12-18 23:59\n")
    assert [p.split(":")[0] for p in frister.check_past(tmp_path, later, now)] == ["linje 3"]


# --- The policy and the time to trust ------------------------------------------------------


@pytest.mark.parametrize("penalty, expected", [("ingen", 0), ("fast", 2.5), ("null", 7.0)])
def test_the_late_penalty_follows_the_policy(penalty: str, expected: float):
    from traitlets.config import Config

    config = Config()
    config.DeadlinePolicy.penalty = penalty
    config.DeadlinePolicy.fixed_penalty = 2.5
    plugin = LatePenalty(config=config)
    assert plugin.late_submission_penalty("kari", 7.0, 3600) == expected
    assert plugin.late_submission_penalty("kari", 1.0, 3600) == min(1.0, expected)
    assert plugin.late_submission_penalty("kari", 7.0, 0) == 0


def test_a_forged_time_does_not_make_a_late_submission_on_time():
    claimed = _utc(2026, 9, 18, 21, 0)
    genuine = [claimed.timestamp() + 0.05, claimed.timestamp() + 0.1]
    assert frister.trusted_time(claimed, genuine, grace=30) == claimed
    moved_back = [claimed.timestamp() + 7200]  # timestamp.txt rewritten two hours later
    assert frister.trusted_time(claimed, genuine + moved_back, grace=30) == _utc(2026, 9, 18, 23, 0)


def test_the_submission_time_comes_from_the_files_when_the_stamp_is_moved_back(tmp_path: Path):
    folder = tmp_path / "kari+oppgave_01+2026-09-18 20:00:00.000000 UTC"
    folder.mkdir()
    (folder / "timestamp.txt").write_text("2026-09-18 20:00:00.000000 UTC")
    when = submission_time(folder, "2026-09-18 20:00:00.000000 UTC", grace=30)
    assert when > dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc), "the files were written now, not in September"


def test_the_student_is_told_what_happens_to_a_late_submission():
    info = {"oppgave": "oppgave_01", "frist": _utc(2026, 9, 18, 21, 59, 59, 999999).isoformat(),
            "frist_tekst": "fredag 18. september 2026 kl. 23.59", "forlenget": True,
            "regel": DeadlinePolicy(late="avvis").to_dict()}
    assert frister.late_message(info, _utc(2026, 9, 18, 21, 59, 59)) is None
    refused = frister.late_message(info, _utc(2026, 9, 18, 23, 30))
    assert refused.startswith("Fristen din for oppgave_01 var fredag 18. september 2026 kl. 23.59 (norsk tid), "
                              "og du leverer 1 time og 30 minutter etter den. Innleveringen er ikke levert")
    info["regel"] = DeadlinePolicy(late="godta", penalty="fast", fixed_penalty=2).to_dict()
    assert "levert og merket som for sen (innleveringer etter fristen blir tatt imot med 2 poeng i trekk)" \
        in frister.late_message(info, _utc(2026, 9, 19, 8))


# --- The course on one machine: submit, collect, grade, export ------------------------------------


ASSIGNMENT = "oppgave_01"
SUBMIT = "--ExchangeFactory.submit=course.exchange.SecureExchangeSubmit"


def _minute(instant: dt.datetime) -> str:
    return instant.astimezone(frister.OSLO).strftime("%Y-%m-%d %H:%M")


def _course(tmp_path: Path, policy: str, *, release: bool = True) -> tuple[Course, dt.datetime]:
    """A course copy whose class deadline for oppgave_01 passed an hour ago; Kari has a day more."""
    root = tmp_path / "kurs"
    root.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", root)
    with (root / "nbgrader_config.py").open("a", encoding="utf-8") as config:
        config.write(f"\n{policy}\n")
    shutil.copytree(ROOT / "solutions" / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    shutil.copytree(ROOT / "exercises" / ASSIGNMENT, root / "exercises" / ASSIGNMENT)
    course = Course(root, tmp_path / "exchange")
    deadline = frister.now_utc() - dt.timedelta(hours=1)
    (root / "frister.csv").write_text(
        f"{HEAD}{ASSIGNMENT};;{_minute(deadline)}\n{ASSIGNMENT};kari;+24\n", encoding="utf-8")
    if release:
        course.nbgrader("release_assignment", ASSIGNMENT)
    return course, deadline


def _hand_in(course: Course, tmp_path: Path, student: str, *, answered: bool = True, told: bool = False):
    """Fetch, answer like the solution, submit. ``told``: the submit sees the course's deadlines (as in make lab)."""
    home = tmp_path / student
    home.mkdir()
    course.student("fetch_assignment", ASSIGNMENT, home=home)
    if answered:
        answer_file_like_the_solution(home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                                      course.root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", "Min refleksjon.")
    extra = [f"--CourseDirectory.root={course.root}"] if told else []
    return course.student("submit", ASSIGNMENT, f"--student={student}", SUBMIT, *extra, home=home, check=False)


def _course_cmd(course: Course, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "course"), *args], cwd=course.root, env=course.env,
                          capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_late_work_refused_then_accepted_with_a_fixed_penalty_and_a_forged_time_not_believed(tmp_path: Path):
    """One course, first refusing late work, then taking it with a fixed penalty (the lecturer changes the rule).

    Refused: Ola is stopped at submit; Kari (extension) is on time; Nils, whose
    submit did not check, is left out at collect. Accepted: Ola hands in and is
    told it is late; Nils moves his submission's time back, and is not believed.
    """
    course, deadline = _course(tmp_path, 'c.DeadlinePolicy.late = "avvis"')
    refused = _hand_in(course, tmp_path, "ola", told=True)
    assert refused.returncode != 0
    assert "Innleveringen er ikke levert: i dette emnet blir innleveringer etter fristen ikke tatt imot" \
        in refused.stdout + refused.stderr
    inbound = course.exchange / "samskaping" / "inbound"
    assert not [p for p in inbound.iterdir() if p.name.startswith("ola+")], "a refused submission reached the exchange"
    assert _hand_in(course, tmp_path, "kari", told=True).returncode == 0   # her own deadline is tomorrow
    assert _hand_in(course, tmp_path, "nils").returncode == 0              # a submit that did not check
    course.nbgrader("collect", ASSIGNMENT, "--update")
    assert sorted(p.name for p in (course.root / "submitted").iterdir()) == ["kari"]
    refused_late = read_late_refused(course.root, ASSIGNMENT)
    assert list(refused_late) == ["nils"] and refused_late["nils"][0]["seconds_late"] > 3000

    # The lecturer takes late work from now on, with two points off.
    with (course.root / "nbgrader_config.py").open("a", encoding="utf-8") as config:
        config.write('\nc.DeadlinePolicy.late = "godta"\nc.DeadlinePolicy.penalty = "fast"\n'
                     "c.DeadlinePolicy.fixed_penalty = 2\n")
    shutil.rmtree(tmp_path / "ola")
    sen = _hand_in(course, tmp_path, "ola", told=True)
    assert sen.returncode == 0 and "levert og merket som for sen" in sen.stdout + sen.stderr
    # Nils moves his submission's time back to before the deadline, in timestamp.txt and in the folder's name.
    folder = next(p for p in inbound.iterdir() if p.name.startswith("nils+"))
    forged = (deadline - dt.timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    (folder / "timestamp.txt").write_text(forged)
    folder.rename(inbound / f"nils+{ASSIGNMENT}+{forged}+{folder.name.rsplit('+', 1)[1]}")

    graded = _course_cmd(course, "grade", ASSIGNMENT, "--uten-fremdrift")
    out = graded.stdout + graded.stderr
    assert "Retting av oppgave_01: 3 innleveringer, 3 rettet" in out, out
    assert "Levert etter fristen (2):" in out, out
    late_lines = [line for line in out.splitlines() if line.startswith("  ") and "etter fristen (" in line]
    assert [line.split()[0] for line in late_lines] == ["nils", "ola"], out
    assert all(line.rstrip().endswith("trekk 2 poeng") for line in late_lines), late_lines
    assert "Regel: innleveringer etter fristen blir tatt imot med 2 poeng i trekk" in out, out

    auto = points(course.root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", kind="auto")
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}", "samskaping") as gb:
        kari, ola, nils = (gb.find_submission(ASSIGNMENT, s) for s in ("kari", "ola", "nils"))
        assert ola.late_submission_penalty == 2 and nils.late_submission_penalty == 2
        assert not kari.late_submission_penalty, "Kari's extension was not honoured"
        assert nils.timestamp.replace(tzinfo=dt.timezone.utc) > deadline, "the forged time was believed"
    report = _course_cmd(course, "report", "--uten-navn")
    assert report.returncode == 0, report.stdout + report.stderr
    rows = {r["student_id"]: float(r[ASSIGNMENT]) for r in csv.DictReader((course.root / "karakterer.csv").open())}
    assert rows == {"kari": auto, "ola": auto - 2, "nils": auto - 2}, rows


@pytest.mark.slow
def test_course_frister_shows_the_plan_and_names_bad_lines(tmp_path: Path):
    course, deadline = _course(tmp_path, "", release=False)  # the plan is checked against solutions/
    questioned = _course_cmd(course, "frister")
    assert questioned.returncode == 1 and "linje 2: fristen (" in questioned.stderr, questioned.stderr
    assert "er allerede passert" in questioned.stderr
    shown = _course_cmd(course, "frister", "--godta-passerte")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert _course_cmd(course, "frister").returncode == 0, "an accepted deadline is questioned again"
    assert f"oppgave_01  {frister.format_time(deadline.replace(second=0, microsecond=0))}" in shown.stdout
    assert "Forlengede frister (1):" in shown.stdout and "kari:" in shown.stdout
    with (course.root / "frister.csv").open("a", encoding="utf-8") as file:
        file.write("oppgave_01;ola;2025-01-01 12:00\n")
    bad = _course_cmd(course, "frister")
    assert bad.returncode == 1
    assert "linje 4: den nye fristen for ola er ikke senere enn klassens frist" in bad.stderr, bad.stderr
