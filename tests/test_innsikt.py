"""The class overview without a hub: what a first try becomes, what is stored, what may be shown, and that the lesson
never waits for the service. The hub, its roles and PostgreSQL are tested in tests/test_hub.py."""

from __future__ import annotations

import csv
import http.server
import io
import json
import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import ROOT
from course import innsikt, loader, models
from course import innsikt_lager as lager
from course.instructor import innsikt_tjeneste as tjeneste
from course.widgets import EstimateWidget, InsightChoice, MultipleChoiceWidget, SortingWidget

MC = "l01_repetisjon_1"


def _mc() -> models.MultipleChoice:
    return loader.get(MC, models.MultipleChoice)


def _right(entry: models.MultipleChoice) -> int:
    return next(i for i, o in enumerate(entry.options) if o.correct)


def _wrong(entry: models.MultipleChoice) -> list[int]:
    return [i for i, o in enumerate(entry.options) if not o.correct]


# --- What a first try becomes -----------------------------------------------------------------


def test_a_multiple_choice_answer_is_its_option_and_whether_it_is_right():
    entry = _mc()
    assert innsikt.parts(entry, _right(entry)) == [innsikt.Part(0, str(_right(entry)), True)]
    assert innsikt.parts(entry, _wrong(entry)[0]) == [innsikt.Part(0, str(_wrong(entry)[0]), False)]
    for bad in (len(entry.options), -1, True, "0", None, 0.0, [0]):
        with pytest.raises(innsikt.AnswerError):
            innsikt.parts(entry, bad)


def test_an_estimate_keeps_only_too_low_good_or_too_high_never_the_number():
    entry = next(e for e in loader.load_all().values() if isinstance(e, models.Estimate))
    low, high = entry.answer - entry.tolerance * 2, entry.answer + entry.tolerance * 2
    assert innsikt.parts(entry, entry.answer) == [innsikt.Part(0, "godt anslag", True)]
    if low >= entry.minimum:
        assert innsikt.parts(entry, low) == [innsikt.Part(0, "for lavt", False)]
    if high <= entry.maximum:
        assert innsikt.parts(entry, high) == [innsikt.Part(0, "for høyt", False)]
    for bad in (entry.maximum + 1, float("nan"), "12", True):
        with pytest.raises(innsikt.AnswerError):
            innsikt.parts(entry, bad)


def test_a_sorting_answer_counts_each_answered_case_and_refuses_what_is_not_a_category():
    entry = next(e for e in loader.load_all().values() if isinstance(e, models.SortingTask))
    answer = [None] * len(entry.cases)
    answer[1] = entry.cases[1].answer
    answer[2] = next(c for c in entry.categories if c != entry.cases[2].answer)
    assert innsikt.parts(entry, answer) == [innsikt.Part(1, answer[1], True), innsikt.Part(2, answer[2], False)]
    with pytest.raises(innsikt.AnswerError, match="ingenting er valgt"):
        innsikt.parts(entry, [None] * len(entry.cases))
    with pytest.raises(innsikt.AnswerError, match="ikke en av kategoriene"):
        innsikt.parts(entry, ["<script>"] + [None] * (len(entry.cases) - 1))
    with pytest.raises(innsikt.AnswerError, match="ett valg for hver"):
        innsikt.parts(entry, answer[:-1])


def test_a_ladder_and_a_table_answer_are_checked_against_their_own_rungs_and_options():
    ladder = next(e for e in loader.load_all().values() if isinstance(e, models.LadderTask))
    right = ladder.rung_number(ladder.scenarios[0].answer)
    answer = [right] + [None] * (len(ladder.scenarios) - 1)
    assert innsikt.parts(ladder, answer) == [innsikt.Part(0, str(right), True)]
    with pytest.raises(innsikt.AnswerError, match="velg et trinn"):
        innsikt.parts(ladder, [len(ladder.rungs) + 1] + [None] * (len(ladder.scenarios) - 1))
    table = next(e for e in loader.load_all().values() if isinstance(e, models.MatchingTable))
    cells = [[None] * len(table.columns) for _ in table.rows]
    cells[1][1] = table.rows[1].cells[1].answer
    assert innsikt.parts(table, cells) == [innsikt.Part(len(table.columns) + 1, cells[1][1], True)]
    cells[0][0] = "ikke et alternativ"
    with pytest.raises(innsikt.AnswerError):
        innsikt.parts(table, cells)


# --- What is stored ---------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> lager.Store:
    return lager.Store(f"sqlite:///{tmp_path / 'innsikt.db'}", lager.read_key(tmp_path))


def test_a_student_is_counted_once_per_activity_and_no_name_is_stored(store: lager.Store, tmp_path: Path):
    entry = _mc()
    assert store.add("kari", MC, innsikt.parts(entry, _wrong(entry)[0]))
    assert not store.add("kari", MC, innsikt.parts(entry, _right(entry))), "a second try was counted"
    assert store.add("ola", MC, innsikt.parts(entry, _right(entry)))
    counts = store.counts()[MC]
    assert counts.answered == 2
    assert counts.choices == {0: {str(_wrong(entry)[0]): 1, str(_right(entry)): 1}}
    with store.engine.connect() as conn:
        stored = [str(v) for t in lager.metadata.sorted_tables for row in conn.execute(select(t)) for v in row]
    assert not [v for v in stored if "kari" in v or "ola" in v], stored
    # The marks are keyed: the same name gives another mark under another key, and the key file is private.
    other = lager.Store(f"sqlite:///{tmp_path / 'annen.db'}", b"en annen nokkel")
    assert other.mark("kari", MC) != store.mark("kari", MC)
    assert stat.S_IMODE((tmp_path / lager.KEY_FILE).stat().st_mode) == 0o600
    assert lager.read_key(tmp_path) == store.key


@pytest.mark.parametrize("counts, expected", [
    ({"a": 6, "b": 0}, {"a": 6, "b": 0}),                   # nobody chose b: shown
    ({"a": 5, "b": 5, "c": 0}, {"a": 5, "b": 5, "c": 0}),
    ({"a": 6, "b": 2}, {"a": None, "b": None}),             # 2 hidden, and 6 would give it away
    ({"a": 10, "b": 3, "c": 3}, {"a": 10, "b": None, "c": None}),  # the hidden hold 6 together: safe
    ({"a": 10, "b": 2, "c": 2}, {"a": None, "b": None, "c": None}),
    ({"a": 9, "b": 7, "c": 1}, {"a": 9, "b": None, "c": None}),    # 1 hidden: the next smallest goes too
])  # a part with fewer than five answers in all is hidden whole (the next test)
def test_no_figure_about_fewer_than_five_students_is_shown_or_can_be_worked_out(counts, expected):
    assert lager.shown(counts) == expected
    hidden = sum(counts[k] for k, v in expected.items() if v is None)
    assert hidden == 0 or hidden >= lager.MIN_STUDENTS


def test_an_activity_with_four_answers_shows_nothing_and_with_five_shows_the_counts(store: lager.Store):
    entry = _mc()
    for student in ("a", "b", "c", "d"):
        store.add(student, MC, innsikt.parts(entry, _right(entry)))
    four = lager.view(entry, store.counts()[MC])
    assert four.answered is None and four.parts == [] and four.right_share is None
    store.add("e", MC, innsikt.parts(entry, _right(entry)))
    five = lager.view(entry, store.counts()[MC])
    assert five.answered == 5 and five.right_share == 1.0
    assert [(right, count) for _k, _t, right, count in five.parts[0].options] == [
        (o.correct, 5 if o.correct else 0) for o in entry.options]


def test_the_class_ranking_puts_the_hardest_activity_first_and_the_export_has_no_hidden_figure(store: lager.Store):
    easy, hard = _mc(), loader.get("l01_repetisjon_3", models.MultipleChoice)
    for i in range(12):
        store.add(f"s{i}", easy.id, innsikt.parts(easy, _right(easy)))
        # Hard: 5 right, 7 wrong, all on the same wrong option.
        store.add(f"s{i}", hard.id, innsikt.parts(hard, _right(hard) if i < 5 else _wrong(hard)[0]))
    store.add("s99", hard.id, innsikt.parts(hard, _wrong(hard)[1]))  # one alone: hidden, with the next smallest
    views = lager.lesson_views(store.counts(), 1)
    assert [v.id for v in lager.ranked(views)] == [easy.id]  # the hard one's share cannot be shown
    hard_view = next(v for v in views if v.id == hard.id)
    assert hard_view.answered == 13
    shown = {k: c for k, _t, _r, c in hard_view.parts[0].options}
    assert shown[str(_wrong(hard)[0])] == 7 and shown[str(_wrong(hard)[1])] is None
    assert shown[str(_right(hard))] is None  # 5, hidden so that the lone 1 cannot be worked out
    assert hard_view.right_share is None
    rows = list(csv.DictReader(io.StringIO(tjeneste.export_csv(store.counts()).lstrip("\ufeff")), delimiter=";"))
    hard_rows = {r["valg"]: r for r in rows if r["aktivitet"] == hard.id}
    assert hard_rows[hard.options[_wrong(hard)[0]].text]["antall_forste_forsok"] == "7"
    for index in (_wrong(hard)[1], _right(hard)):
        row = hard_rows[hard.options[index].text]
        assert row["antall_forste_forsok"] == "" and row["merknad"] == "færre enn 5", row
    assert all(set(r) == set(rows[0]) for r in rows) and "student" not in "".join(rows[0]).lower()


def test_the_ranking_orders_by_the_share_right_on_the_first_try(store: lager.Store):
    a, b = _mc(), loader.get("l01_repetisjon_3", models.MultipleChoice)
    for i in range(10):
        store.add(f"s{i}", a.id, innsikt.parts(a, _right(a) if i < 5 else _wrong(a)[0]))   # 50 %
        store.add(f"s{i}", b.id, innsikt.parts(b, _right(b)))                               # 100 %
    assert [v.id for v in lager.ranked(lager.lesson_views(store.counts(), 1))] == [a.id, b.id]


def test_the_lesson_page_names_the_misconceptions_of_the_teaching_note(store: lager.Store):
    note = tjeneste.teaching_note(ROOT, 1)
    found = tjeneste.misconceptions(note)
    assert "Medvirkning betyr at brukerne bestemmer." in [m for m, _how in found[MC]]
    entry = _mc()
    for i in range(6):
        store.add(f"s{i}", MC, innsikt.parts(entry, _right(entry)))
    page = tjeneste.lesson_html(lager.lesson_views(store.counts(), 1), found, "/services/innsikt/", 1, True)
    assert "Medvirkning betyr at brukerne bestemmer." in page and 'href="/services/innsikt/notat/01"' in page
    assert "6 studenter har svart" in page
    assert "Færre enn 5 studenter har svart" not in page.split(f'id="h-{MC}"')[1].split("</section>")[0]


def test_every_activity_a_teaching_note_names_exists():
    ids = set(loader.load_all())
    for lesson in tjeneste.LESSONS:
        named = tjeneste.misconceptions(tjeneste.teaching_note(ROOT, lesson))
        assert named, f"lesson {lesson}: no misconception table found in the teaching note"
        assert set(named) <= ids, set(named) - ids


# --- The student's side: the choice, and never waiting ------------------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


class _Service:
    """A loopback HTTP server standing in for the service's network end: it records posts and answers when let go."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.arrived = threading.Event()
        self.let_go = threading.Event()
        self.waited: list[bool] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the standard library's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append({"path": self.path, "auth": self.headers["Authorization"],
                                       "body": json.loads(body)})
                outer.arrived.set()
                outer.waited.append(outer.let_go.wait(timeout=30))
                self.send_response(201)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/innsikt"

    def close(self) -> None:
        self.let_go.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def service(monkeypatch, home):
    s = _Service()
    monkeypatch.setenv(innsikt.URL_ENV, s.url)
    monkeypatch.setenv(innsikt.TOKEN_ENV, "servertoken")
    yield s
    s.close()


def test_the_feedback_comes_at_once_while_the_service_has_not_answered(service: _Service):
    """The first try is sent in the background: the widget's click returns while the service still holds the request.

    If the click waited for the service, the service would hold the request
    until its own 30-second limit (``waited`` False), and the test fails.
    """
    entry = _mc()
    w = MultipleChoiceWidget(entry)
    w.choice.value = _wrong(entry)[0]
    w.check.click()
    assert "✘" in w.feedback.value  # the feedback is there when the click returns
    assert service.arrived.wait(timeout=60), "nothing was sent"
    service.let_go.set()
    innsikt.wait_for_sending()
    assert service.waited == [True], "the click waited for the service"
    assert service.received == [{"path": "/services/innsikt/api/svar", "auth": "token servertoken",
                                 "body": {"aktivitet": MC, "svar": _wrong(entry)[0]}}]


def test_only_the_first_try_with_something_chosen_is_sent(service: _Service):
    service.let_go.set()
    entry = _mc()
    w = MultipleChoiceWidget(entry)
    w.check.click()  # nothing chosen: not a try
    w.choice.value = _wrong(entry)[0]
    w.check.click()
    w.choice.value = _right(entry)
    w.check.click()
    innsikt.wait_for_sending()
    assert [r["body"]["svar"] for r in service.received] == [_wrong(entry)[0]]
    task = next(e for e in loader.load_all().values() if isinstance(e, models.SortingTask))
    s = SortingWidget(task)
    s.choices[0].value = task.categories[0]
    s.check.click()
    innsikt.wait_for_sending()
    assert service.received[-1]["body"] == {"aktivitet": task.id,
                                            "svar": [task.categories[0]] + [None] * (len(task.cases) - 1)}
    estimate = next(e for e in loader.load_all().values() if isinstance(e, models.Estimate))
    e = EstimateWidget(estimate)
    e.guess.value = "ikke et tall"
    e.check.click()
    innsikt.wait_for_sending()
    assert len(service.received) == 2, "a guess that is not a number was sent"


def test_one_click_says_no_and_the_choice_is_remembered_for_every_lesson(service: _Service, home: Path):
    service.let_go.set()
    choice = InsightChoice()
    assert choice.send.value is True and "tatt med" in choice.status.value
    choice.send.value = False  # the one click
    assert "Ingen av svarene dine blir sendt" in choice.status.value
    assert InsightChoice().send.value is False, "the choice was not remembered"
    assert json.loads((home / innsikt.CHOICE_FILE).read_text()) == {"send": False}
    entry = _mc()
    w = MultipleChoiceWidget(entry)
    w.choice.value = _right(entry)
    w.check.click()
    assert "✔" in w.feedback.value
    innsikt.wait_for_sending()
    assert service.received == [], "an answer was sent after the student said no"
    (home / innsikt.CHOICE_FILE).write_text("ødelagt")
    assert not innsikt.sending_allowed(), "a choice file that cannot be read must count as no"


def test_nothing_is_sent_outside_the_class_server(monkeypatch, home: Path):
    monkeypatch.delenv(innsikt.URL_ENV, raising=False)
    monkeypatch.setenv(innsikt.TOKEN_ENV, "servertoken")
    assert not innsikt.report(_mc(), 0)
    assert "ikke i bruk" in InsightChoice().status.value


def test_where_the_course_asks_first_nothing_is_sent_until_the_student_says_yes(service: _Service, monkeypatch):
    service.let_go.set()
    monkeypatch.setenv(innsikt.ASK_FIRST_ENV, "1")
    entry = _mc()
    choice = InsightChoice()
    assert choice.send.value is False and "Sett haken" in choice.status.value
    assert not innsikt.report(entry, _right(entry))
    choice.send.value = True
    assert innsikt.report(entry, _right(entry))
    innsikt.wait_for_sending()
    assert [r["body"]["aktivitet"] for r in service.received] == [MC]
