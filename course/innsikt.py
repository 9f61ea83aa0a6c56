"""Class insight, the student's side: the first try at a lesson activity, sent without a name, unless the student says no.

On the class server, when a student checks an answer in a lesson activity for
the first time (a new widget, the first «Sjekk» with something chosen), the
lesson sends the activity's id and the choice to the class-insight service on
the hub (course/instructor/innsikt_tjeneste.py), authenticated with the student's own
server token. The service counts it, once per student and activity, without
storing who sent it; the lecturer sees the counts for the whole class only
(docs/personvern.md).

Why only the first try: that is what shows what the class thought before the
feedback, and it is the least that serves this. Later clicks are not sent.

The lesson never waits for the service: the answer is put on a queue and a
background thread sends it, with a short time limit, and drops it if the
service is slow or down; the feedback is shown before anything is sent.
Nothing is sent where ``SAMSKAPING_INNSIKT_URL`` is not set (``make lab`` on a
student's own machine, or a course that has switched the service off), nor
after the student has said no in the first lesson
(:class:`course.widgets.InsightChoice`), nor, where the course asks first
(``SAMSKAPING_INNSIKT_SAMTYKKE=1``), before the student has said yes; the
choice is remembered in the student's home folder.

:func:`parts` turns an answer into what is counted. The service calls it again
on what arrives, so a choice that is not one of the activity's own is refused
there whatever the client sent.
"""

from __future__ import annotations

import json
import os
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course import models

URL_ENV = "SAMSKAPING_INNSIKT_URL"
TOKEN_ENV = "JUPYTERHUB_API_TOKEN"
# Set (to 1) where the course asks first (SAMSKAPING_KLASSEINNSIKT=samtykke): nothing is sent until the student ticks.
ASK_FIRST_ENV = "SAMSKAPING_INNSIKT_SAMTYKKE"
CHOICE_FILE = Path(".samskaping") / "klasseinnsikt.json"  # in the student's home folder
TIMEOUT = 5  # seconds a send may take before it is given up
QUEUE_LIMIT = 200  # answers waiting to be sent; more are dropped, never waited for

COLLECTED = (models.MultipleChoice, models.SortingTask, models.LadderTask, models.MatchingTable, models.Estimate)


class AnswerError(ValueError):
    """An answer that is not one of the activity's own; the message is Norwegian and says what is wrong."""


@dataclass(frozen=True)
class Part:
    """What is counted of one part of an answer: the part (a case, a cell; 0 for a single question), the choice, right or not."""

    part: int
    choice: str
    right: bool


ESTIMATE_CHOICES = ("for lavt", "godt anslag", "for høyt")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _list(answer: Any, length: int, what: str) -> list:
    if not isinstance(answer, list) or len(answer) != length:
        raise AnswerError(f"Svaret må være en liste med ett valg for hver av de {length} {what}.")
    return answer


def parts(entry: Any, answer: Any) -> list[Part]:
    """The parts of ``answer`` to ``entry`` that are counted; an AnswerError if it is not a possible answer.

    Only what the student chose is kept: an estimate becomes «for lavt», «godt
    anslag» or «for høyt», never the number typed. An unanswered case is left
    out; an answer with nothing chosen at all is refused.
    """
    if isinstance(entry, models.MultipleChoice):
        if not _is_int(answer) or not 0 <= answer < len(entry.options):
            raise AnswerError(f"Svaret må være nummeret på et av de {len(entry.options)} alternativene.")
        return [Part(0, str(answer), entry.options[answer].correct)]
    if isinstance(entry, models.Estimate):
        if isinstance(answer, bool) or not isinstance(answer, (int, float)) or answer != answer:
            raise AnswerError("Anslaget må være et tall.")
        if not entry.minimum <= answer <= entry.maximum:
            raise AnswerError("Anslaget er utenfor skalaen til aktiviteten.")
        difference = answer - entry.answer
        if abs(difference) <= entry.tolerance:
            return [Part(0, ESTIMATE_CHOICES[1], True)]
        return [Part(0, ESTIMATE_CHOICES[0] if difference < 0 else ESTIMATE_CHOICES[2], False)]
    found: list[Part] = []
    if isinstance(entry, models.SortingTask):
        for i, (case, choice) in enumerate(zip(entry.cases, _list(answer, len(entry.cases), "sakene"))):
            if choice is None:
                continue
            if choice not in entry.categories:
                raise AnswerError(f"Sak {i + 1}: «{choice}» er ikke en av kategoriene.")
            found.append(Part(i, choice, choice == case.answer))
    elif isinstance(entry, models.LadderTask):
        for i, (case, choice) in enumerate(zip(entry.scenarios, _list(answer, len(entry.scenarios), "sakene"))):
            if choice is None:
                continue
            if not _is_int(choice) or not 1 <= choice <= len(entry.rungs):
                raise AnswerError(f"Sak {i + 1}: velg et trinn fra 1 til {len(entry.rungs)}.")
            found.append(Part(i, str(choice), choice == entry.rung_number(case.answer)))
    elif isinstance(entry, models.MatchingTable):
        for r, (row, choices) in enumerate(zip(entry.rows, _list(answer, len(entry.rows), "radene"))):
            for c, (column, cell, choice) in enumerate(zip(entry.columns, row.cells,
                                                            _list(choices, len(entry.columns), "kolonnene"))):
                if choice is None:
                    continue
                if choice not in column.options:
                    raise AnswerError(f"{row.name}: «{choice}» er ikke et av alternativene i kolonnen.")
                found.append(Part(r * len(entry.columns) + c, choice, choice == cell.answer))
    else:
        raise AnswerError("Svar på denne aktiviteten blir ikke samlet inn.")
    if not found:
        raise AnswerError("Svaret er tomt: ingenting er valgt.")
    return found


# --- The student's choice, remembered in the home folder ---------------------------------------


def _choice_file() -> Path:
    return Path.home() / CHOICE_FILE


def sending_allowed() -> bool:
    """The student's choice, remembered in the choice file; without one, yes unless the course asks first.

    A choice file that cannot be read counts as no.
    """
    path = _choice_file()
    if not path.exists():
        return os.environ.get(ASK_FIRST_ENV) != "1"
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("send") is True
    except (OSError, ValueError, AttributeError):
        return False


def remember(send: bool) -> None:
    """Remember the student's choice in their home folder (only they can read it)."""
    path = _choice_file()
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.write_text(json.dumps({"send": send}) + "\n", encoding="utf-8")


def on_class_server() -> bool:
    return bool(os.environ.get(URL_ENV) and os.environ.get(TOKEN_ENV))


# --- Sending, in the background ----------------------------------------------------------------


class _Sender:
    """One daemon thread that posts queued answers; nothing here ever blocks the lesson."""

    def __init__(self) -> None:
        self.queue: queue.Queue = queue.Queue(QUEUE_LIMIT)
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def start(self) -> None:
        """Start the thread (it imports what it needs at once), so that the first click does not share the time."""
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="klasseinnsikt", daemon=True)
                self.thread.start()

    def put(self, payload: dict) -> None:
        self.start()
        try:
            self.queue.put_nowait(payload)
        except queue.Full:  # the service has not kept up: this answer is not counted
            pass

    def _run(self) -> None:
        import urllib.request  # only on the class server, and only once something is sent

        while True:
            payload = self.queue.get()
            try:
                request = urllib.request.Request(
                    os.environ[URL_ENV].rstrip("/") + "/api/svar", data=json.dumps(payload).encode("utf-8"),
                    method="POST", headers={"Authorization": f"token {os.environ[TOKEN_ENV]}",
                                            "Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=TIMEOUT) as reply:
                    reply.read()
            except Exception:  # noqa: BLE001 (slow, down or refusing: the answer is not counted, the lesson goes on)
                pass
            finally:
                self.queue.task_done()

    def wait(self) -> None:
        """Return once every queued answer has been sent or given up (for tests)."""
        self.queue.join()


_sender = _Sender()


def prepare(entry: Any) -> None:
    """Called when an activity is shown: on the class server, get the sender ready before the student answers.

    Why: the sending thread's first work (importing the HTTP client) would
    otherwise run at the first click and share the CPU with the feedback.
    """
    if on_class_server() and isinstance(entry, COLLECTED) and sending_allowed():
        _sender.start()


def report(entry: Any, answer: Any) -> bool:
    """Queue a first try for the service; True if it was queued. Never raises, never waits."""
    if not on_class_server() or not isinstance(entry, COLLECTED) or not sending_allowed():
        return False
    try:
        parts(entry, answer)
    except AnswerError:
        return False
    _sender.put({"aktivitet": entry.id, "svar": answer})
    return True


def wait_for_sending() -> None:
    """Block until the queued answers are sent or given up. Only tests call this; lessons never wait."""
    _sender.wait()
