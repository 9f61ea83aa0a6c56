"""The course on a class server: a real JupyterHub, real Unix accounts, the shared exchange, PostgreSQL.

One hub for the module (deploy/jupyterhub_config.py from the class server's
environment), two students, an instructor and the grading account, each a
real Unix account with a private home. Everything a person does goes through
the hub's HTTP API with their own token, as their browser would: the
instructor through Formgrader (a hub service running as the grading account),
the students through their own servers' assignment-list endpoints. Grading is
`course grade`, run as the grading account in the course folder (what an
instructor types in Formgrader's terminal), against a PostgreSQL gradebook
that the test starts itself.
"""

from __future__ import annotations

import csv
import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
from pathlib import Path

import nbformat
import pytest
import requests
from sqlalchemy.engine import make_url

from answers import answer_like_the_solution, points
from hub import PASSWORD, Hub
from postgres import PG_BIN, postgres_cluster
from unix import ROOT, Accounts, admin, run_as, skip_unless_class_server, wait_for

pytestmark = pytest.mark.slow

ASSIGNMENT = "oppgave_01"
COURSE_ID = "samskaping"
REFLECTION = "Refleksjonen min om frivilligsentralen i bydelen."


class Klasse:
    """The module's class: accounts, course folder, exchange, gradebook and hub."""

    def __init__(self) -> None:
        self.accounts = Accounts("h")
        self.hub: Hub | None = None
        self.cleanups: list = []
        self.term_driven = False  # test_a_term_on_the_class_server has run to its end
        self.insight_counted = False  # the class-overview test has had first tries counted

    def set_up(self) -> "Klasse":
        a = self.accounts
        self.kari = a.student("kari")
        self.ola = a.student("ola")
        # Four more, so that six answer in the class-overview test (nobody else uses them).
        self.anne, self.bjorn, self.cato, self.dina = a.students(["anne", "bjorn", "cato", "dina"])
        self.per = a.instructor("per")
        self.grader = a.adopt(f"{a.tag}retter")  # made by deploy/setup-server.sh below
        srv = Path(f"/srv/{a.tag}")
        self.cleanups.append(lambda: shutil.rmtree(srv, ignore_errors=True))
        self.exchange = srv / "exchange"
        self.lessons = srv / "leksjoner"
        self.gitconfig = srv / "gitconfig"
        self.course = Path(f"/home/{self.grader}/samskaping-kurs")
        # A PostgreSQL cluster of the test's own; setup-server.sh makes the grader's gradebook in it.
        cluster = postgres_cluster(a)
        self.postgres = cluster.__enter__()
        self.cleanups.append(lambda: cluster.__exit__(None, None, None))
        self.db_url = None  # the grading account's own nbgrader configuration names it (set below)
        self.hub = Hub(a, grader=self.grader, course_dir=self.course, exchange=self.exchange,
                       gitconfig=self.gitconfig)
        self.hub.lessons = self.lessons
        self.cleanups.append(self.hub.remove_state)
        # The administrator's own set-up script, with this test's names.
        setup = admin([str(ROOT / "deploy" / "setup-server.sh")], env={
            **os.environ, **self.hub.env(), "SAMSKAPING_LEKSJONER": str(self.lessons),
            "PGHOST": str(self.postgres.socket), "PG_ADMIN": self.postgres.owner, "PG_BIN": str(PG_BIN)})
        self.db_url = next(line.split()[1] for line in setup.stdout.splitlines() if line.startswith("Karakterboken:"))
        assert self.db_url.startswith("postgresql+psycopg2://"), self.db_url
        self.cleanups.append(self.hub.stop)
        self.hub.start()
        return self

    def tear_down(self) -> None:
        for cleanup in reversed(self.cleanups):
            cleanup()
        self.accounts.remove_all()

    def as_grader(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """A command as the grading account in the course folder, as in Formgrader's terminal."""
        extra = {"NBGRADER_EXCHANGE": str(self.exchange), "SAMSKAPING_KURS_ID": COURSE_ID}
        return run_as(self.grader, list(args), cwd=self.course, check=check, **extra)


@pytest.fixture(scope="module")
def klasse():
    skip_unless_class_server()
    k = Klasse()
    try:
        yield k.set_up()
    finally:
        k.tear_down()


def _release(klasse: Klasse) -> None:
    """The instructor releases the exercise through Formgrader, unless an earlier test has."""
    per = klasse.hub.login(klasse.per)
    fg = "/services/formgrader/formgrader/api"
    if per.api("GET", f"{fg}/assignment/{ASSIGNMENT}").json().get("status") != "released":
        reply = per.api("POST", f"{fg}/assignment/{ASSIGNMENT}/release")
        assert reply.json()["success"], reply.json()


def _assignment(listing: dict, status: str | None = None) -> dict:
    assert listing.get("success") is True, f"the assignment list failed: {listing}"
    found = [a for a in listing["value"] if a["assignment_id"] == ASSIGNMENT and a["course_id"] == COURSE_ID
             and (status is None or a["status"] == status)]
    assert found, f"{ASSIGNMENT} with status {status} not in the list: {json.dumps(listing)[:1500]}"
    return found[0]


def test_a_term_on_the_class_server(klasse: Klasse):
    """Release, fetch, answer, validate, submit, collect, grade on PostgreSQL, grade by hand, feedback: all through the hub.

    Kari answers in the nynorsk version (issue 25), Ola hands in the blank exercise.
    """
    per = klasse.hub.login(klasse.per)
    fg = "/services/formgrader/formgrader/api"

    # The instructor releases the exercise through Formgrader (which runs as the grading account).
    reply = per.api("POST", f"{fg}/assignment/{ASSIGNMENT}/release")
    assert reply.status_code == 200, reply.text[:500]
    assert reply.json()["success"], f"release failed: {reply.json()}"

    source = klasse.course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nn_source = klasse.course / "solutions_nynorsk" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    auto_points = points(source, kind="auto")
    students = {klasse.kari: "answered", klasse.ola: "blank"}
    people = {}
    for student, how in students.items():
        person = people[student] = klasse.hub.login(student)
        person.start_server()
        listing = person.server("GET", f"assignments?course_id={COURSE_ID}").json()
        _assignment(listing, "released")

        # Fetch: nbgrader's answer says "success" even when the fetch failed, so the
        # returned list must show the exercise as fetched, and the file must be there.
        reply = person.server("POST", "assignments/fetch", data={"course_id": COURSE_ID, "assignment_id": ASSIGNMENT})
        assert reply.status_code == 200, reply.text[:500]
        fetched = _assignment(reply.json(), "fetched")
        ids = sorted(nb["notebook_id"] for nb in fetched["notebooks"])
        assert ids == [ASSIGNMENT, f"{ASSIGNMENT}_nynorsk"], fetched
        path = f"{ASSIGNMENT}/{ASSIGNMENT}_nynorsk.ipynb" if how == "answered" else f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
        content = person.server("GET", f"api/contents/{path}?content=1")
        assert content.status_code == 200, f"{student} has no fetched notebook: {content.status_code}"

        if how == "answered":
            nb = nbformat.from_dict(content.json()["content"])
            nb = answer_like_the_solution(nb, nn_source, REFLECTION)
            saved = person.server("PUT", f"api/contents/{path}",
                                  json={"type": "notebook", "format": "json", "content": nb})
            assert saved.status_code == 200, saved.text[:500]

        # Validate, as the assignment list's «Validate» button does.
        result = person.server("POST", "assignments/validate", data={"path": path}).json()
        assert result["success"], result
        validation = result["value"] if isinstance(result["value"], dict) else json.loads(result["value"])
        if how == "answered":
            assert not validation.get("failed") and not validation.get("changed"), validation
        else:
            assert validation.get("failed"), f"a blank notebook must fail validation: {validation}"

        reply = person.server("POST", "assignments/submit", data={"course_id": COURSE_ID, "assignment_id": ASSIGNMENT})
        submitted = _assignment(reply.json(), "submitted")
        assert submitted["submissions"], f"{student}'s submission is not listed: {submitted}"

    # Grading runs as the grading account in the course folder.
    graded = klasse.as_grader("course", "grade", ASSIGNMENT, check=False)
    report = graded.stdout + graded.stderr
    assert f"Retting av {ASSIGNMENT}: 2 innleveringer, 2 rettet, 0 ikke rettet." in report, report
    assert "Målform: 1 svarte på bokmål, 1 på nynorsk" in report, report

    submissions = {s["student"]: s for s in per.api("GET", f"{fg}/submissions/{ASSIGNMENT}").json()}
    assert submissions[klasse.kari]["code_score"] == auto_points, submissions[klasse.kari]
    assert submissions[klasse.ola]["code_score"] == 0, submissions[klasse.ola]
    assert submissions[klasse.kari]["needs_manual_grade"], "the reflection must wait for a human grader"

    # The grades are in PostgreSQL (the grading account's own nbgrader configuration), not in a gradebook.db.
    assert not (klasse.course / "gradebook.db").exists()
    scores = klasse.as_grader(str(PG_BIN / "psql"), make_url(klasse.db_url).database, "-h", str(klasse.postgres.socket),
                              "-XAtc", "select s.student_id, sum(g.auto_score) from submitted_notebook n "
                              "join submitted_assignment s on n.assignment_id = s.id "
                              "join grade g on g.notebook_id = n.id group by s.student_id order by 1")
    assert f"{klasse.kari}|{auto_points:g}" in scores.stdout.replace(".0", ""), scores.stdout

    # The instructor grades Kari's reflection by hand in Formgrader.
    notebook_id = submissions[klasse.kari]["id"]
    nbs = per.api("GET", f"{fg}/submitted_notebooks/{ASSIGNMENT}/{ASSIGNMENT}").json()
    kari_nb = next(nb for nb in nbs if nb["student"] == klasse.kari)
    grades = per.api("GET", f"{fg}/grades", params={"submission_id": kari_nb["id"]}).json()
    manual = [g for g in grades if g["auto_score"] is None]
    assert manual, f"no manually graded cell in {notebook_id}: {grades}"
    for grade in manual:
        reply = per.api("PUT", f"{fg}/grade/{grade['id']}", json={"manual_score": grade["max_score"], "extra_credit": 0})
        assert reply.status_code == 200, reply.text[:300]

    manual_points = points(source, kind="manual")
    submissions = {s["student"]: s for s in per.api("GET", f"{fg}/submissions/{ASSIGNMENT}").json()}
    assert submissions[klasse.kari]["score"] == auto_points + manual_points, submissions[klasse.kari]
    assert not submissions[klasse.kari]["needs_manual_grade"]

    # Feedback: generated and released through Formgrader, fetched by each student.
    for action in ("generate_feedback", "release_feedback"):
        reply = per.api("POST", f"{fg}/assignment/{ASSIGNMENT}/{action}")
        assert reply.json()["success"], f"{action}: {reply.json()}"
    for student, person in people.items():
        reply = person.server("POST", "assignments/fetch_feedback",
                              data={"course_id": COURSE_ID, "assignment_id": ASSIGNMENT})
        submitted = _assignment(reply.json(), "submitted")
        feedback = [s for s in submitted["submissions"] if s.get("has_local_feedback")]
        assert feedback, f"{student} got no feedback: {submitted}"
        folder = person.server("GET", f"api/contents/{ASSIGNMENT}/feedback").json()
        stamps = [entry["name"] for entry in folder["content"]]
        assert len(stamps) == 1, stamps
        page = person.server("GET", f"api/contents/{ASSIGNMENT}/feedback/{stamps[0]}/{ASSIGNMENT}.html?content=1")
        text = page.json()["content"]
        # Each student's own feedback: Kari's holds her reflection, Ola's does not; each in their målform.
        assert (REFLECTION in text) == (student == klasse.kari), f"{student} got someone else's feedback"
        lang = "nn" if student == klasse.kari else "nb"
        assert f'<html lang="{lang}">' in text, f"{student}'s feedback is not in their målform"
    klasse.term_driven = True


def _pull_lessons(person) -> list[dict]:
    """nbgitpuller's pull, as its link page starts it: read the event stream to its last event."""
    reply = person.server("GET", "git-pull/api", stream=True,
                          params={"repo": f"file://{person.hub.lessons}", "branch": "main", "targetpath": "leksjoner"})
    assert reply.status_code == 200, reply.text[:300]
    events = [json.loads(line[len("data:"):]) for line in reply.iter_lines(decode_unicode=True)
              if line and line.startswith("data:")]
    return events


def test_students_get_the_lessons_through_nbgitpuller(klasse: Klasse):
    """The student-only repository, pulled into a student's home through the hub: the lessons, and nothing else."""
    ola = klasse.hub.login(klasse.ola)
    ola.start_server()
    events = _pull_lessons(ola)
    # The HTTP status is 200 whether or not the pull worked: the last event says.
    assert events and events[-1].get("phase") == "finished", events[-3:]
    home = Path(f"/home/{klasse.ola}/leksjoner")
    arrived = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file() and ".git" not in p.parts)
    published = sorted(str(p.relative_to(klasse.lessons)) for p in klasse.lessons.rglob("*")
                       if p.is_file() and ".git" not in p.parts)
    assert arrived == published
    lessons = sorted(p.name for p in (ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
    assert sorted(p.name for p in (home / "lessons").glob("*.ipynb")) == lessons
    assert not any(part in ("solutions", "exercises", "course", "deploy") for name in arrived for part in Path(name).parts)
    assert all(home.joinpath(name).stat().st_uid == pwd.getpwnam(klasse.ola).pw_uid for name in arrived)
    listing = ola.server("GET", "api/contents/leksjoner/lessons").json()
    assert sorted(entry["name"] for entry in listing["content"] if entry["type"] == "notebook") == lessons


# --- Isolation: each an assertion of its own --------------------------------------------


def _denied(user: str, *args: str) -> None:
    proc = run_as(user, list(args), check=False)
    assert proc.returncode != 0, f"{user} could run {' '.join(args)}:\n{proc.stdout[:500]}"
    assert "Permission denied" in proc.stderr, proc.stderr


def test_a_student_cannot_read_another_students_home(klasse: Klasse):
    ola_home = Path(f"/home/{klasse.ola}")
    (ola_home / "utkast.txt").write_text("Ola sitt utkast\n")
    shutil.chown(ola_home / "utkast.txt", klasse.ola, klasse.ola)
    assert oct(ola_home.stat().st_mode & 0o777) == "0o700"
    _denied(klasse.kari, "ls", str(ola_home))
    _denied(klasse.kari, "cat", str(ola_home / "utkast.txt"))


def test_a_student_cannot_read_the_solutions(klasse: Klasse):
    solution = klasse.course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert solution.is_file()
    _denied(klasse.kari, "cat", str(solution))
    _denied(klasse.kari, "ls", str(klasse.course / "solutions"))
    nynorsk = klasse.course / "solutions_nynorsk" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert nynorsk.is_file()
    _denied(klasse.kari, "cat", str(nynorsk))


def test_a_student_gets_403_on_another_students_server_and_on_formgrader(klasse: Klasse):
    kari, ola = klasse.hub.login(klasse.kari), klasse.hub.login(klasse.ola)
    ola.start_server()
    assert ola.server("GET", "api/contents").status_code == 200
    assert kari.api("GET", f"/user/{klasse.ola}/api/contents").status_code == 403
    assert kari.api("GET", "/services/formgrader/formgrader").status_code == 403
    assert kari.api("GET", "/services/formgrader/formgrader/api/assignments").status_code == 403
    # Nor can an instructor open a student's server: nobody is a hub admin.
    per = klasse.hub.login(klasse.per)
    assert per.api("GET", f"/user/{klasse.ola}/api/contents").status_code == 403
    assert per.api("GET", "/services/formgrader/formgrader/api/assignments").status_code == 200


def test_a_student_cannot_connect_to_the_gradebook(klasse: Klasse):
    database = make_url(klasse.db_url).database
    # As herself (she has no role), and posing as the grader (peer authentication checks who asks).
    for role, refusal in ((klasse.kari, f'role "{klasse.kari}" does not exist'),
                          (klasse.grader, "Peer authentication failed")):
        proc = run_as(klasse.kari, [str(PG_BIN / "psql"), "-h", str(klasse.postgres.socket), "-U", role,
                                    "-d", database, "-XAtc", "select 1"], check=False)
        assert proc.returncode != 0 and refusal in proc.stderr, proc.stdout + proc.stderr
    # The grading account gets in (so the refusal above is about who asks).
    ok = run_as(klasse.grader, [str(PG_BIN / "psql"), "-h", str(klasse.postgres.socket), "-d", database,
                                "-XAtc", "select 1"])
    assert ok.stdout.strip() == "1"


# --- In a real browser --------------------------------------------------------------------

def _log_in(browser, hub: Hub, user: str):
    """A new browser that logs in on the hub's own login page and waits for the person's JupyterLab."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="nb-NO")
    context.set_default_timeout(90_000)
    expect.set_options(timeout=90_000)
    page = context.new_page()
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf"/user/{user}/lab"))
    page.locator("#jp-main-dock-panel").wait_for()
    return page


@pytest.mark.browser
def test_the_instructor_sees_formgraders_grading_view_in_the_browser(klasse: Klasse, browser):
    """Formgrader opens framed in the grading account's JupyterLab (JupyterHub >= 4.1 forbids frames by default)."""
    from playwright.sync_api import expect

    page = _log_in(browser, klasse.hub, klasse.per)
    try:
        page.goto(f"{klasse.hub.url}/services/formgrader/lab")
        page.locator("#jp-main-dock-panel").wait_for()
        expect(page.get_by_role("tab", name="Create Assignment")).to_have_count(1)
        page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
        page.get_by_role("menuitem", name="Formgrader").click()
        grader = page.frame_locator(".nbgrader-mainarea-widget iframe, #formgrader iframe").first
        grader.get_by_role("link", name="Manual Grading").click()
        expect(grader.get_by_role("link", name=ASSIGNMENT, exact=True)).to_be_visible()
    finally:
        page.context.close()


LESSON = "01_hva_er_samskaping.ipynb"


@pytest.mark.browser
def test_a_student_opens_a_lesson_and_the_assignment_list_in_the_browser(klasse: Klasse, browser):
    """Log in on the hub's page, follow the lesson's nbgitpuller link, use a widget, see the exercise listed."""
    from playwright.sync_api import expect

    from browser.notebook import RESPONSE, activities, notebook, response_text, use_with_mouse, widget_views

    _release(klasse)
    page = _log_in(browser, klasse.hub, klasse.kari)
    try:
        link = (f"{klasse.hub.url}/hub/user-redirect/git-pull?repo=file://{klasse.lessons}&branch=main"
                f"&urlpath=lab/tree/leksjoner/lessons/{LESSON}")
        page.goto(link)
        page.wait_for_url(re.compile(rf"/user/{klasse.kari}/lab/tree/leksjoner/lessons/{LESSON}"))
        expect(notebook(page)).to_be_visible()
        # Run All before the kernel has started asks which kernel to use; a student waits for «Idle».
        expect(page.locator("#jp-main-statusbar")).to_contain_text("Python 3 (ipykernel) | Idle")
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        page.wait_for_function(
            """() => {
                const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
                const prompts = [...nb.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent.trim());
                return prompts.length > 0 && prompts.every(p => /^\\[\\d+\\]:$/.test(p));
            }""",
            polling=200,
        )
        act = activities(ROOT / "lessons" / LESSON)[0]
        view = widget_views(page, act).first
        view.scroll_into_view_if_needed()
        before = response_text(view)
        assert use_with_mouse(view) > 0, f"{act.name}: no control to use"
        page.wait_for_function(
            """([view, before, selector]) =>
                [...view.querySelectorAll(selector)].map(e => e.textContent).join('\\n') !== before""",
            arg=[view.element_handle(), before, RESPONSE],
            polling=100,
        )
        assert response_text(view).strip(), "the widget showed no feedback"
        # The first lesson's class-overview choice is there and ticked; Kari's first try is counted, once.
        expect(page.get_by_role("checkbox", name=INSIGHT_CHOICE)).to_be_checked()
        wait_for(lambda: _counted(klasse, act.ids[0]) == 1, f"Kari's first try at {act.ids[0]} to be counted")

        page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
        page.get_by_role("menuitem", name="Assignment List").click()
        expect(page.locator("#nbgrader-assignment-list")).to_contain_text(ASSIGNMENT)
        # nbgrader's instructor panels are not offered to students.
        page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
        expect(page.get_by_role("menuitem", name="Assignment List")).to_be_visible()
        expect(page.get_by_role("menuitem", name="Formgrader")).to_have_count(0)
        page.keyboard.press("Escape")
        expect(page.get_by_role("tab", name="Create Assignment")).to_have_count(0)
    finally:
        page.context.close()


# --- Deadlines: Kari has an extension, Ola does not (course/frister.py, the deadline service) ---

DEADLINE_EXERCISE = "oppgave_02"


def _as_grader_file(klasse: Klasse, path: Path, text: str) -> None:
    """Write a file in the course folder as the grading account would (owned by it, 0600)."""
    path.write_text(text, encoding="utf-8")
    entry = pwd.getpwnam(klasse.grader)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    path.chmod(0o600)


@pytest.fixture
def deadlines(klasse: Klasse):
    """oppgave_02's class deadline passed an hour ago; Kari has 24 hours more; the course refuses late work."""
    import datetime as dt

    from course import frister

    per = klasse.hub.login(klasse.per)
    fg = "/services/formgrader/formgrader/api"
    if per.api("GET", f"{fg}/assignment/{DEADLINE_EXERCISE}").json().get("status") != "released":
        reply = per.api("POST", f"{fg}/assignment/{DEADLINE_EXERCISE}/release")
        assert reply.json()["success"], reply.json()
    deadline = frister.now_utc() - dt.timedelta(hours=1)
    minute = deadline.astimezone(frister.OSLO).strftime("%Y-%m-%d %H:%M")
    config = klasse.course / "nbgrader_config.py"
    original = config.read_text(encoding="utf-8")
    _as_grader_file(klasse, klasse.course / "frister.csv",
                    f"oppgave;student;frist\n{DEADLINE_EXERCISE};;{minute}\n{DEADLINE_EXERCISE};{klasse.kari};+24\n")
    _as_grader_file(klasse, config, original + '\nc.DeadlinePolicy.late = "avvis"\n')
    try:
        yield deadline
    finally:
        _as_grader_file(klasse, config, original)
        (klasse.course / "frister.csv").unlink(missing_ok=True)


def test_each_student_keeps_their_own_deadline_on_the_class_server(klasse: Klasse, deadlines):
    """Kari (extension) hands in after the class deadline and is collected; Ola is refused at submit.

    Each student's submit asks the deadline service with their server's own
    token; each sees only their own deadline, in the service's answer too.
    """
    people = {student: klasse.hub.login(student) for student in (klasse.kari, klasse.ola)}
    mine = {}
    for student, person in people.items():
        reply = person.api("GET", "/services/frister/api/mine")
        assert reply.status_code == 200, reply.text[:300]
        mine[student] = reply.json()
    kari_row, ola_row = mine[klasse.kari]["oppgaver"][0], mine[klasse.ola]["oppgaver"][0]
    assert kari_row["forlenget"] and kari_row["sekunder_igjen"] > 22 * 3600, kari_row
    assert not ola_row["forlenget"] and ola_row["sekunder_igjen"] == 0, ola_row
    assert kari_row["frist_tekst"] not in str(mine[klasse.ola]), "Kari's extension reached Ola"
    assert mine[klasse.ola]["regel"]["sen_innlevering"] == "avvis"
    # Nobody reaches the service without logging in.
    assert requests.get(f"{klasse.hub.url}/services/frister/api/mine", timeout=30).status_code == 403

    results = {}
    for student, person in people.items():
        person.start_server()
        reply = person.server("POST", "assignments/fetch",
                              data={"course_id": COURSE_ID, "assignment_id": DEADLINE_EXERCISE})
        assert reply.status_code == 200, reply.text[:300]
        results[student] = person.server("POST", "assignments/submit",
                                         data={"course_id": COURSE_ID, "assignment_id": DEADLINE_EXERCISE}).json()
    assert results[klasse.kari]["success"], results[klasse.kari]
    refused = results[klasse.ola]
    assert not refused["success"] and "Innleveringen er ikke levert" in refused["value"], refused
    inbound = sorted(p.name.split("+")[0] for p in (klasse.exchange / COURSE_ID / "inbound").iterdir()
                     if f"+{DEADLINE_EXERCISE}+" in p.name)
    assert inbound == [klasse.kari], inbound

    klasse.as_grader("nbgrader", "collect", DEADLINE_EXERCISE)
    collected = sorted(p.name for p in (klasse.course / "submitted").iterdir()
                       if (p / DEADLINE_EXERCISE).is_dir())
    assert collected == [klasse.kari], collected


@pytest.mark.browser
def test_a_student_sees_their_own_deadline_in_the_browser(klasse: Klasse, browser, deadlines):
    """The deadline page: Kari's extension for her (and her own time zone's clock), not for Ola; no axe violation."""
    from playwright.sync_api import expect

    from browser.conftest import AXE

    for student, zone in ((klasse.kari, "America/New_York"), (klasse.ola, "Europe/Oslo")):
        context = browser.new_context(locale="nb-NO", timezone_id=zone)
        try:
            page = context.new_page()
            page.set_default_timeout(90_000)
            page.goto(f"{klasse.hub.url}/hub/login?next=/services/frister/")
            page.fill("#username_input", student)
            page.fill("#password_input", PASSWORD)
            page.click("#login_submit")
            page.wait_for_url(re.compile(r"/services/frister/$"))
            expect(page.get_by_role("heading", level=1)).to_have_text("Fristene dine")
            row = page.get_by_role("row", name=re.compile(DEADLINE_EXERCISE))
            if student == klasse.kari:
                # The hub's own menu (Tjenester) leads here too, as the student guide says.
                page.goto(f"{klasse.hub.url}/hub/home")
                page.get_by_role("button", name="Tjenester").or_(page.get_by_role("link", name="Tjenester")).click()
                page.get_by_role("link", name="Fristene dine").click()
                page.wait_for_url(re.compile(r"/services/frister/$"))
                row = page.get_by_role("row", name=re.compile(DEADLINE_EXERCISE))
                expect(row).to_contain_text("Fristen din er forlenget til")
                expect(row).to_contain_text("Der du er nå (America/New_York)")
                expect(row).to_contain_text("igjen")
            else:
                expect(row).not_to_contain_text("forlenget")
                expect(row).to_contain_text("Fristen er ute")
                expect(page.locator("body")).not_to_contain_text("Der du er nå")
            page.add_script_tag(path=str(AXE))
            violations = page.evaluate(
                """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
                       .map(v => `${v.impact} ${v.id}: ` + v.nodes.map(n => n.target.join(' ')).join(' | '))""")
            assert violations == [], violations
        finally:
            context.close()


# --- The class overview: first tries without names (course/innsikt.py, the class-insight service) ---

INSIGHT = "/services/innsikt"
INSIGHT_CHOICE = "Send mine første svar, uten navn, til klasseoversikten"
CLASS_ACTIVITY = "l01_testdeg_1"    # six students answer it here; no other test does
STOPPED_ACTIVITY = "l01_testdeg_2"  # answered while the service is stopped


def _counted(klasse: Klasse, activity: str) -> int:
    """How many students the service has counted for ``activity`` (read in the database itself)."""
    database = make_url(klasse.db_url).database
    reply = klasse.postgres.psql(f"SELECT coalesce(sum(antall), 0) FROM klasseinnsikt_besvart "
                                 f"WHERE aktivitet = '{activity}'", database=database)
    return int(reply.stdout.strip())


def _answer(run, activity: str, choice: int) -> str:
    """Answer a multiple-choice activity in the person's own kernel, as the lesson's widget does; return the feedback."""
    return run(f"from course.widgets import activity\nw = activity({activity!r})\nw.choice.value = {choice}\n"
               "w.check.click()\nprint(w.feedback.value)")


def _right_option(activity: str) -> int:
    from course import loader

    return next(i for i, o in enumerate(loader.get(activity).options) if o.correct)


def test_the_lecturer_sees_what_the_class_chose_and_no_student_is_exposed(klasse: Klasse, browser):
    """Six students answer through their kernels: with four the counts are hidden, the one who said no adds nothing,
    at five they are shown; students get 403 and cannot post for another; a stopped service delays no feedback."""
    from playwright.sync_api import expect

    from browser.conftest import AXE

    right = _right_option(CLASS_ACTIVITY)
    four = [klasse.anne, klasse.bjorn, klasse.cato, klasse.dina]
    people = {name: klasse.hub.login(name) for name in [*four, klasse.ola, klasse.kari]}
    for person in people.values():  # all asked at once, as a class does
        reply = person.api("POST", f"/hub/api/users/{person.name}/server")
        assert reply.status_code in (201, 202, 400), reply.text
    for person in people.values():
        wait_for(person.ready, f"{person.name}'s server to be ready", timeout=180, on_timeout=klasse.hub.log)
    per = klasse.hub.login(klasse.per)

    for name in four:
        with people[name].kernel() as run:
            assert "✔" in _answer(run, CLASS_ACTIVITY, right)
            run("from course import innsikt\ninnsikt.wait_for_sending()")
    wait_for(lambda: _counted(klasse, CLASS_ACTIVITY) == 4, "four first tries to be counted")
    klasse.insight_counted = True
    page = per.api("GET", f"{INSIGHT}/leksjon/01")
    assert page.status_code == 200, page.text[:500]
    section = page.text.split(f'id="h-{CLASS_ACTIVITY}"')[1].split("</section>")[0]
    assert "Færre enn 5 studenter har svart" in section, section

    # Ola says no with the first lesson's one click, then answers: the feedback comes, nothing is counted.
    with people[klasse.ola].kernel() as run:
        assert run("from course.widgets import insight_choice\nc = insight_choice()\nc.send.value = False\n"
                   "print(c.status.value)").count("Ingen av svarene dine blir sendt") == 1
        assert "✔" in _answer(run, CLASS_ACTIVITY, right)
        run("from course import innsikt\ninnsikt.wait_for_sending()")
    assert _counted(klasse, CLASS_ACTIVITY) == 4, "an answer was counted after the student said no"

    # Kari is the fifth: now the counts can be shown.
    with people[klasse.kari].kernel() as run:
        assert "✔" in _answer(run, CLASS_ACTIVITY, right)
        run("from course import innsikt\ninnsikt.wait_for_sending()")
    wait_for(lambda: _counted(klasse, CLASS_ACTIVITY) == 5, "the fifth first try to be counted")
    page = per.api("GET", f"{INSIGHT}/leksjon/01").text
    section = page.split(f'id="h-{CLASS_ACTIVITY}"')[1].split("</section>")[0]
    assert "5 studenter har svart" in section and "riktig i første forsøk: 100 %" in section, section
    export = per.api("GET", f"{INSIGHT}/eksport.csv")
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("text/csv")
    rows = [r for r in csv.DictReader(export.text.lstrip("\ufeff").splitlines(), delimiter=";")
            if r["aktivitet"] == CLASS_ACTIVITY]
    assert sorted(r["antall_forste_forsok"] for r in rows) == ["0"] * (len(rows) - 1) + ["5"], rows
    assert not any(name in export.text for name in people), "a user name is in the export"

    # A student sees no counts, and cannot post for someone else, for what does not exist, or too often.
    anne = people[klasse.anne]
    for path in ("/", "/leksjon/01", "/eksport.csv", "/notat/01"):
        assert anne.api("GET", f"{INSIGHT}{path}").status_code == 403, path
    post = lambda body, **kw: anne.api("POST", f"{INSIGHT}/api/svar", data=body, **kw)  # noqa: E731
    as_other = post(json.dumps({"aktivitet": CLASS_ACTIVITY, "svar": right, "student": klasse.bjorn}))
    assert as_other.status_code == 400 and "ingen andre" in as_other.json()["feil"], as_other.text
    assert post(json.dumps({"aktivitet": "l01_finnes_ikke", "svar": 0})).status_code == 400
    assert post(json.dumps({"aktivitet": CLASS_ACTIVITY, "svar": 99})).status_code == 400
    assert post("ikke json").status_code == 400
    assert post(json.dumps({"aktivitet": CLASS_ACTIVITY, "svar": "x" * 5000})).status_code == 413
    again = post(json.dumps({"aktivitet": CLASS_ACTIVITY, "svar": right}))
    assert again.status_code == 200 and again.json() == {"talt": False}, again.text
    assert requests.post(f"{klasse.hub.url}{INSIGHT}/api/svar", data="{}", timeout=30,
                         allow_redirects=False).status_code in (302, 403), "a post without a token was taken"
    # With the service's cookie (after its log-in) but no token, as another web page would post: refused.
    assert anne.session.get(f"{klasse.hub.url}{INSIGHT}/", timeout=60).status_code == 403
    cookie_post = anne.session.post(f"{klasse.hub.url}{INSIGHT}/api/svar", timeout=60, allow_redirects=False,
                                    data=json.dumps({"aktivitet": STOPPED_ACTIVITY, "svar": 0}))
    assert cookie_post.status_code == 403, cookie_post.text
    assert _counted(klasse, STOPPED_ACTIVITY) == 0, "a post with a cookie and no XSRF token was counted"
    codes = [post(json.dumps({"aktivitet": CLASS_ACTIVITY, "svar": right})).status_code for _ in range(70)]
    assert 429 in codes and codes.count(200) < 60, codes
    assert _counted(klasse, CLASS_ACTIVITY) == 5, "a refused post changed the counts"

    # The service stopped (its process paused): the feedback comes at once, the answer is only missing from the counts.
    [pid] = subprocess.run(["pgrep", "-u", klasse.grader, "-f", "course.instructor.innsikt_tjeneste"], capture_output=True,
                           text=True).stdout.split()
    os.kill(int(pid), signal.SIGSTOP)
    try:
        with people[klasse.bjorn].kernel() as run:
            out = _answer(run, STOPPED_ACTIVITY, 0) + run("from course import innsikt\n"
                                                           "print(innsikt._sender.queue.unfinished_tasks)")
            assert "role=\"status\"" in out and out.rstrip().endswith("1"), out  # shown, the send still waiting
            os.kill(int(pid), signal.SIGCONT)
            run("innsikt.wait_for_sending()")
    finally:
        os.kill(int(pid), signal.SIGCONT)

    # The lecturer's page in Chromium: keyboard and screen reader (axe), and the teaching note one link away.
    context = browser.new_context(locale="nb-NO", bypass_csp=True)  # the page runs no script; axe is injected
    try:
        tab = context.new_page()
        tab.set_default_timeout(90_000)
        tab.goto(f"{klasse.hub.url}/hub/login?next={INSIGHT}/leksjon/01")
        tab.fill("#username_input", klasse.per)
        tab.fill("#password_input", PASSWORD)
        tab.click("#login_submit")
        tab.wait_for_url(re.compile(r"/services/innsikt/leksjon/01$"))
        expect(tab.get_by_role("heading", level=1)).to_have_text("Før seminaret: Leksjon 1: Hva er samskaping?")
        expect(tab.get_by_role("table", name=re.compile("strevde mest"))).to_contain_text("100 %")
        tab.add_script_tag(path=str(AXE))
        violations = tab.evaluate(
            """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
                   .map(v => `${v.impact} ${v.id}: ` + v.nodes.map(n => n.target.join(' ')).join(' | '))""")
        assert violations == [], violations
        tab.get_by_role("link", name="Les undervisningsnotatet for leksjonen").focus()
        tab.keyboard.press("Enter")
        tab.wait_for_url(re.compile(r"/services/innsikt/notat/01$"))
        expect(tab.get_by_role("heading", level=2, name="Misoppfatninger aktivitetene skal fange")).to_be_visible()
    finally:
        context.close()


# --- After the term: the last test of the module (it deletes the students) ----------------


def _what_is_there(klasse: Klasse, backups: Path) -> dict:
    """Everything deploy/end-of-term.sh deletes, as facts a test can compare before and after."""
    database = make_url(klasse.db_url).database
    hub_state = klasse.hub.state / "state"
    hub_files = b"".join(p.read_bytes() for p in hub_state.rglob("*") if p.is_file())
    students = (klasse.kari, klasse.ola)
    return {
        "accounts": [s for s in students if subprocess.run(["getent", "passwd", s], capture_output=True).returncode == 0],
        "homes": [s for s in students if Path(f"/home/{s}").exists()],
        "exchange": (klasse.exchange / COURSE_ID).exists(),
        "course folder": sorted(p.name for p in klasse.course.iterdir()
                                if p.name in ("submitted", "autograded", "feedback", "innleveringskontroll",
                                              "frister.csv", ".frister-godkjent.json", ".klasseinnsikt-nokkel")),
        "databases": klasse.postgres.psql(f"SELECT string_agg(datname, ' ' ORDER BY datname) FROM pg_database "
                                          f"WHERE datname LIKE '{database}%'").stdout.strip(),
        "backups": sorted(p.name for p in backups.glob(f"{database}-*.dump")),
        "hub state": [s for s in students if s.encode() in hub_files],
    }


def test_after_the_term_the_students_data_is_deleted(klasse: Klasse):
    """deploy/end-of-term.sh: a dry run changes nothing; with --slett (hub stopped) the grades are archived, then every
    student account, home, submission, feedback, gradebook, backup and hub record is gone; the course itself stays."""
    if not klasse.term_driven:  # run alone (-k): drive the term the earlier test drives
        test_a_term_on_the_class_server(klasse)
    srv = klasse.exchange.parent  # the test's /srv folder, removed by the module's teardown
    backups, archive = srv / "sikkerhetskopier", srv / "arkiv"
    env = {**klasse.hub.env(), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PGHOST": str(klasse.postgres.socket),
           "PG_ADMIN": klasse.postgres.owner, "PG_BIN": str(PG_BIN), "SAMSKAPING_SIKKERHETSKOPI": str(backups)}
    env.pop("NBGRADER_DB_URL", None)  # the grading account's own configuration names the gradebook
    # The script finds the server's names where systemd gives them to the hub: its settings file.
    settings = srv / "hub.env"
    settings.write_text("# The hub's settings\n" + "".join(f'{k}="{v}"\n' for k, v in env.items() if k != "PATH"))

    def end_of_term(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(ROOT / "deploy" / "end-of-term.sh"), str(archive), *args], capture_output=True,
                              text=True, timeout=300, env={"PATH": env["PATH"], "SAMSKAPING_MILJOFIL": str(settings)})

    # A nightly backup, as the grading account's own role (the systemd timer runs this), and a copy restored
    # from it under another name (as after an accident): both are student data too.
    database = make_url(klasse.db_url).database
    backup = subprocess.run([str(ROOT / "deploy" / "backup-gradebook.sh"), klasse.grader, database], env=env,
                            capture_output=True, text=True, timeout=120)
    assert backup.returncode == 0, backup.stdout + backup.stderr
    [dump] = backups.iterdir()
    copy = f"{database}_gjenopprettet"
    restore = subprocess.run([str(ROOT / "deploy" / "restore-gradebook.sh"), str(dump), copy, klasse.grader], env=env,
                             capture_output=True, text=True, timeout=120)
    assert restore.returncode == 0, restore.stdout + restore.stderr
    # The term's deadlines name the students with extensions, and so does what `course frister` has seen.
    _as_grader_file(klasse, klasse.course / "frister.csv", f"oppgave;student;frist\n{ASSIGNMENT};;2026-09-18 23:59\n"
                                                           f"{ASSIGNMENT};{klasse.kari};+48\n")
    _as_grader_file(klasse, klasse.course / ".frister-godkjent.json", f'["{ASSIGNMENT};{klasse.kari};+48"]')
    before = _what_is_there(klasse, backups)
    assert before["accounts"] == before["homes"] == [klasse.kari, klasse.ola] and before["hub state"] == before["accounts"]
    assert {"submitted", "autograded", "feedback", "frister.csv", ".frister-godkjent.json",
            ".klasseinnsikt-nokkel"} <= set(before["course folder"]), before
    # The class overview's counts are in the gradebook database, which goes below.
    if klasse.insight_counted:
        assert klasse.postgres.psql("SELECT count(*) FROM klasseinnsikt_sett", database=database).stdout.strip() != "0"
    assert before["exchange"] and before["databases"] == f"{database} {copy}" and len(before["backups"]) == 1, before

    # The dry run names what would go, and changes nothing (the hub is still running).
    dry = end_of_term()
    out = dry.stdout + dry.stderr
    assert dry.returncode == 0, out
    assert "PRØVEKJØRING" in out and "Huben kjører" in out, out
    for name in (klasse.kari, klasse.ola, str(klasse.exchange / COURSE_ID), "submitted", "autograded", "feedback",
                 database, copy):
        assert name in out, f"the dry run does not name {name}:\n{out}"
    assert klasse.per not in out.split("Dette blir stående")[0], "an instructor is listed for deletion"
    assert _what_is_there(klasse, backups) == before and not archive.exists()
    # Deleting while the hub runs is refused, before anything is exported or deleted.
    refused = end_of_term("--slett")
    assert refused.returncode == 1 and "Stopp huben først" in refused.stderr, refused.stdout + refused.stderr
    assert _what_is_there(klasse, backups) == before and not archive.exists()

    klasse.hub.stop()
    done = end_of_term("--slett")
    assert done.returncode == 0, done.stdout + done.stderr
    after = _what_is_there(klasse, backups)
    assert after == {"accounts": [], "homes": [], "exchange": False, "course folder": [], "databases": "",
                     "backups": [], "hub state": []}, after

    # The grades were archived first, readable by root only, with Kari's full score.
    [saved] = archive.iterdir()
    assert stat.S_IMODE(saved.stat().st_mode) == 0o700 and saved.stat().st_uid == 0
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in saved.rglob("*") if p.is_file())
    source = klasse.course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    full = points(source, kind="auto") + points(source, kind="manual")
    grades = {row["student_id"]: row for row in csv.DictReader((saved / "karakterer.csv").open(encoding="utf-8"))}
    assert float(grades[klasse.kari][ASSIGNMENT]) == full and float(grades[klasse.ola][ASSIGNMENT]) == 0, grades
    exported = {row["student_id"]: row for row in csv.DictReader((saved / "nbgrader-eksport.csv").open(encoding="utf-8"))}
    assert float(exported[klasse.kari]["score"]) == full, exported

    # What stays: the instructor, the grading account and its role, the course's own files.
    for account in (klasse.per, klasse.grader):
        assert subprocess.run(["getent", "passwd", account], capture_output=True).returncode == 0, account
    assert klasse.postgres.psql(f"SELECT count(*) FROM pg_roles WHERE rolname = '{klasse.grader}'").stdout.strip() == "1"
    for kept in ("nbgrader_config.py", f"solutions/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
                 f"exercises/{ASSIGNMENT}/{ASSIGNMENT}.ipynb", "lessons"):
        assert (klasse.course / kept).exists(), kept
