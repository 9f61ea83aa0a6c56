"""The term's deadlines: one file, per-student extensions, a late policy, and Norwegian time.

nbgrader keeps one due date per assignment, does not enforce it, and has no
way to give one student more time in its exchange (nbgrader issue #943, pull
requests #1906 and #1909). Its gradebook does hold a per-student extension
(``SubmittedAssignment.extension``) and computes late penalties from it, so
this module keeps nbgrader for the penalty and adds what is missing:

* **One file** in the course folder, ``frister.csv`` (semicolons, as a
  Norwegian spreadsheet saves it), edited by the instructor::

      oppgave;student;frist
      oppgave_01;;2026-09-18 23:59           the class's deadline (Norwegian time)
      oppgave_01;kari;2026-09-25 23:59       Kari's extension: a new deadline
      oppgave_02;ola;+48                     Ola's extension: 48 hours more

  An extension records no reason (health information has no place here). The
  file holds student names, so it is never committed and the end-of-term
  script deletes it. :func:`read_plan` checks every line and names the line
  of each mistake, in Norwegian.
* **Time** is Norwegian time (Europe/Oslo) whatever the server's clock or the
  student's zone. A deadline «23:59» covers the whole minute: a submission at
  23:59:59.9 is on time. A local time that does not exist (the hour skipped in
  March) or exists twice (the hour repeated in October) is refused. «+48» adds
  48 hours on the clock face (Friday 23:59 + 48 = Sunday 23:59, also across a
  change of the clocks).
* **The policy** (:class:`DeadlinePolicy`, set in nbgrader_config.py): late
  submissions are refused, or accepted and marked late with no penalty, a
  fixed deduction, or zero (:class:`LatePenalty`, nbgrader's late-submission
  plugin interface).

Who reads it: the exchange's collect (course/exchange/; it measures lateness
against each student's own deadline with the submission time it can trust),
the student's submit (to refuse or warn at once), ``course grade`` (which puts
the deadlines into the gradebook for nbgrader's penalty), the ``course
frister`` command, and on the class server the deadline service
(course/frister_tjeneste.py), which shows each student their own deadlines
and nobody else's.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from traitlets import Enum, Float, Unicode
from traitlets.config import Configurable

OSLO = ZoneInfo("Europe/Oslo")
UTC = dt.timezone.utc
FILE = "frister.csv"
ACCEPTED = ".frister-godkjent.json"  # the rows the instructor has seen checked (see check_past)
HEADER = ["oppgave", "student", "frist"]
MINUTE_END = dt.timedelta(seconds=59, microseconds=999999)

REFUSE, ACCEPT = "avvis", "godta"
NO_PENALTY, FIXED, ZERO = "ingen", "fast", "null"


class DeadlineError(Exception):
    """The deadlines file cannot be used; ``problems`` are Norwegian lines, each naming its line number."""

    def __init__(self, problems: list[str], path: Path | None = None) -> None:
        self.problems = problems
        where = f"Fristfilen {path}" if path else "Fristfilen"
        super().__init__(f"{where} har {len(problems)} feil:\n" + "\n".join(f"  {p}" for p in problems))


class DeadlinePolicy(Configurable):
    """What happens to a submission after the student's own deadline (configured in nbgrader_config.py)."""

    late = Enum(
        [ACCEPT, REFUSE], ACCEPT,
        help="'godta': late submissions are collected and marked late (the penalty below applies); "
             "'avvis': the student's submit refuses them with a message, and collect never takes them "
             "(it takes the student's last submission before their deadline, if any).",
    ).tag(config=True)
    penalty = Enum(
        [NO_PENALTY, FIXED, ZERO], NO_PENALTY,
        help="The penalty for a late submission that is accepted: 'ingen' (marked late only), "
             "'fast' (fixed_penalty points off, never below zero) or 'null' (the score becomes zero).",
    ).tag(config=True)
    fixed_penalty = Float(1.0, help="Points deducted for a late submission when penalty is 'fast'.").tag(config=True)
    file = Unicode(FILE, help="The deadlines file, relative to the course folder.").tag(config=True)

    def describe(self) -> str:
        """The policy in one Norwegian sentence, for the report and the student's page."""
        if self.late == REFUSE:
            return "innleveringer etter fristen blir ikke tatt imot"
        if self.penalty == ZERO:
            return "innleveringer etter fristen blir tatt imot, men gir 0 poeng"
        if self.penalty == FIXED:
            return f"innleveringer etter fristen blir tatt imot med {_points(self.fixed_penalty)} i trekk"
        return "innleveringer etter fristen blir tatt imot og merket som for sene, uten trekk"

    def to_dict(self) -> dict:
        return {"sen_innlevering": self.late, "trekk": self.penalty, "fast_trekk": self.fixed_penalty,
                "tekst": self.describe()}


def _points(value: float) -> str:
    text = f"{value:g}".replace(".", ",")
    return f"{text} poeng"


try:  # nbgrader's plugin interface; the student's side (submit) does not need it
    from nbgrader.plugins.latesubmission import LateSubmissionPlugin
except ImportError:  # pragma: no cover
    LateSubmissionPlugin = object  # type: ignore[misc,assignment]


class LatePenalty(LateSubmissionPlugin):
    """nbgrader's late-submission plugin, following :class:`DeadlinePolicy`.

    nbgrader calls it for each notebook of a submission whose time (from
    ``timestamp.txt``, which the course's collect sets to the time it can
    trust) is after the student's due date in the gradebook (the class's
    deadline plus the student's extension, both put there by ``course grade``).
    Under 'avvis' a late submission is normally never collected; one that
    arrives anyway (a zip file from the learning platform) gets the penalty.
    """

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float):
        policy = DeadlinePolicy(config=self.config)
        if total_seconds_late <= 0:
            return 0
        if policy.penalty == ZERO:
            return score
        if policy.penalty == FIXED:
            return min(score, policy.fixed_penalty)
        return 0


# ---------------------------------------------------------------------------
# Time


_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]+|\s+kl\.?\s*)(\d{1,2})[:.](\d{2})")
_NORWEGIAN = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?:\s+kl\.?)?\s+(\d{1,2})[:.](\d{2})")
_HOURS = re.compile(r"\+\s*(\d{1,4})\s*(?:t|timer|time|h)?", re.IGNORECASE)


def parse_local(text: str) -> dt.datetime:
    """A Norwegian wall-clock time (``2026-09-18 23:59`` or ``18.09.2026 23.59``) as a naive datetime.

    Raises ValueError with a Norwegian message.
    """
    text = " ".join(text.split())
    match = _ISO.fullmatch(text)
    if match:
        year, month, day, hour, minute = map(int, match.groups())
    else:
        match = _NORWEGIAN.fullmatch(text)
        if not match:
            if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}\.\d{1,2}\.\d{4}", text):
                raise ValueError(f"«{text}» mangler klokkeslett; skriv for eksempel «{text} 23:59»")
            raise ValueError(f"«{text}» er ikke en tid kurset kan lese; skriv for eksempel «2026-09-18 23:59»")
        day, month, year, hour, minute = map(int, match.groups())
    try:
        return dt.datetime(year, month, day, hour, minute)
    except ValueError:
        raise ValueError(f"«{text}» er ikke en gyldig dato og tid") from None


def localise(naive: dt.datetime, *, strict: bool = True) -> dt.datetime:
    """Norwegian wall-clock time to an aware datetime.

    strict: a time skipped when the clocks go forward, or repeated when they go
    back, raises ValueError (a deadline must be one unambiguous instant). Not
    strict (an extension counted on the clock face): a skipped time moves past
    the gap, a repeated one is the later of the two (in the student's favour).
    """
    first = naive.replace(tzinfo=OSLO, fold=0)
    second = naive.replace(tzinfo=OSLO, fold=1)
    round_trip = first.astimezone(UTC).astimezone(OSLO).replace(tzinfo=None)
    skipped = round_trip != naive
    repeated = not skipped and first.utcoffset() != second.utcoffset()
    when = naive.strftime("%d.%m.%Y kl. %H.%M")
    if strict and skipped:
        raise ValueError(f"{when} finnes ikke i norsk tid (klokken stilles fram den natten); velg et annet klokkeslett")
    if strict and repeated:
        raise ValueError(f"{when} finnes to ganger i norsk tid (klokken stilles tilbake den natten); "
                         "velg et annet klokkeslett")
    if skipped:
        return first.astimezone(UTC).astimezone(OSLO)  # past the gap
    return second if repeated else first


def minute_end(local: dt.datetime) -> dt.datetime:
    """The last instant (UTC) of the minute that starts at the aware ``local``: still on time."""
    return local.astimezone(UTC) + MINUTE_END


def format_time(instant: dt.datetime, *, locale: str = "nb", zone: dt.tzinfo = OSLO) -> str:
    """«fredag 18. september 2026 kl. 23.59» in Norwegian time (or ``zone``), by Babel's CLDR data."""
    from babel.dates import format_datetime

    return format_datetime(instant, "EEEE d. MMMM y 'kl.' HH.mm", tzinfo=zone, locale=locale)


def format_duration(seconds: float, *, nynorsk: bool = False) -> str:
    """«2 døgn og 3 timer», «45 minutter», «under ett minutt» (rounded down: never more time than there is)."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    hour_word = ("time", "timar") if nynorsk else ("time", "timer")
    minute_word = ("minutt", "minutt") if nynorsk else ("minutt", "minutter")
    parts = []
    if days:
        parts.append(f"{days} døgn")
    if hours:
        parts.append(f"{hours} {hour_word[hours != 1]}")
    if minutes and not days:
        parts.append(f"{minutes} {minute_word[minutes != 1]}")
    if not parts:
        return "under eitt minutt" if nynorsk else "under ett minutt"
    return " og ".join(parts)


def now_utc() -> dt.datetime:
    return dt.datetime.now(UTC)


# ---------------------------------------------------------------------------
# The plan


@dataclass(frozen=True)
class Deadline:
    """One exercise's deadline for the class (``student`` None) or for one student."""

    exercise: str
    end: dt.datetime          # aware UTC: the last instant that is on time
    written: str              # as the file says it ("2026-09-18 23:59", "+48")
    line: int
    student: str | None = None

    @property
    def local(self) -> dt.datetime:
        """The deadline's minute in Norwegian time (what the file says, for a new date)."""
        return (self.end - MINUTE_END).astimezone(OSLO)

    def text(self, locale: str = "nb") -> str:
        return format_time(self.end - MINUTE_END, locale=locale)

    def late_by(self, when: dt.datetime) -> float:
        """Seconds after this deadline (0 when on time)."""
        return max(0.0, (when - self.end).total_seconds())


@dataclass
class Plan:
    """The term's deadlines, as read from the deadlines file."""

    deadlines: dict[str, Deadline] = field(default_factory=dict)                # exercise -> the class's
    extensions: dict[tuple[str, str], Deadline] = field(default_factory=dict)   # (exercise, student) -> own

    def deadline_for(self, exercise: str, student: str) -> Deadline | None:
        """The student's own deadline: their extension, else the class's; None when the exercise has none."""
        return self.extensions.get((exercise, student)) or self.deadlines.get(exercise)

    def is_extended(self, exercise: str, student: str) -> bool:
        return (exercise, student) in self.extensions

    def for_student(self, student: str, now: dt.datetime | None = None) -> list[dict]:
        """What one student may see: each exercise's deadline for them, and nothing about anyone else."""
        now = now or now_utc()
        rows = []
        for exercise in sorted(self.deadlines):
            own = self.deadline_for(exercise, student)
            rows.append({
                "oppgave": exercise,
                "frist": own.end.isoformat(),
                "frist_tekst": own.text(),
                "frist_tekst_nn": own.text("nn"),
                "forlenget": self.is_extended(exercise, student),
                "klassens_frist_tekst": self.deadlines[exercise].text(),
                "sekunder_igjen": max(0, int((own.end - now).total_seconds())),
            })
        return rows


def _extension_end(base: Deadline, written: str) -> dt.datetime | None:
    """The end of an extension written as «+N» hours on the clock face, or None if it is not written so."""
    match = _HOURS.fullmatch(written.strip())
    if not match:
        return None
    hours = int(match.group(1))
    local = (base.local.replace(tzinfo=None) + dt.timedelta(hours=hours))
    return minute_end(localise(local, strict=False))


def parse_plan(text: str, *, exercises: set[str] | None = None, students: set[str] | None = None) -> Plan:
    """Read the deadlines file's text; raise :class:`DeadlineError` naming the line of every mistake.

    ``exercises``: the course's exercises (unknown names are refused when given).
    ``students``: the class list (an extension for someone not on it is refused
    when given).
    """
    problems: list[str] = []
    lines = text.lstrip("\ufeff").splitlines()
    rows: list[tuple[int, list[str]]] = []
    header_seen = False
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in next(csv.reader(io.StringIO(line), delimiter=";"))]
        if not header_seen:
            header_seen = True
            if [c.lower() for c in cells] != HEADER:
                hint = " (skilletegnet er semikolon, ikke komma)" if "," in line and ";" not in line else ""
                problems.append(f"linje {number}: første linje skal være «oppgave;student;frist»{hint}")
                break
            continue
        if len(cells) != 3:
            problems.append(f"linje {number}: skal ha tre felt skilt med semikolon (oppgave;student;frist), "
                            f"har {len(cells)}")
            continue
        rows.append((number, cells))
    if not header_seen and not problems:
        problems.append("linje 1: filen er tom; første linje skal være «oppgave;student;frist»")

    plan = Plan()
    # The class's deadlines first: an extension may stand above its exercise's deadline in the file.
    for number, (exercise, student, written) in rows:
        if student:
            continue
        if not exercise:
            problems.append(f"linje {number}: oppgaven mangler")
            continue
        if exercises is not None and exercise not in exercises:
            problems.append(f"linje {number}: ukjent oppgave «{exercise}» (kurset har {', '.join(sorted(exercises))})")
            continue
        if exercise in plan.deadlines:
            problems.append(f"linje {number}: {exercise} har allerede en frist for klassen "
                            f"(linje {plan.deadlines[exercise].line})")
            continue
        if _HOURS.fullmatch(written):
            problems.append(f"linje {number}: klassens frist må være en dato og et klokkeslett, ikke «{written}»")
            continue
        try:
            end = minute_end(localise(parse_local(written)))
        except ValueError as error:
            problems.append(f"linje {number}: {error}")
            continue
        plan.deadlines[exercise] = Deadline(exercise, end, written, number)
    for number, (exercise, student, written) in rows:
        if not student:
            continue
        if exercises is not None and exercise not in exercises:
            problems.append(f"linje {number}: ukjent oppgave «{exercise}»")
            continue
        if not re.fullmatch(r"[A-Za-z0-9._@-]{1,64}", student) or student.startswith("."):
            problems.append(f"linje {number}: «{student}» er ikke et brukernavn (bare bokstaver a–z, tall, . _ - @)")
            continue
        if students is not None and student not in students:
            problems.append(f"linje {number}: ukjent student «{student}» (ikke i studentlisten)")
            continue
        base = plan.deadlines.get(exercise)
        if base is None:
            problems.append(f"linje {number}: {exercise} har ingen frist for klassen; "
                            "skriv den på en egen linje (med tomt studentfelt) først")
            continue
        if (exercise, student) in plan.extensions:
            problems.append(f"linje {number}: {student} har allerede en forlenget frist for {exercise} "
                            f"(linje {plan.extensions[(exercise, student)].line})")
            continue
        try:
            end = _extension_end(base, written)
            if end is None:
                end = minute_end(localise(parse_local(written)))
        except ValueError as error:
            problems.append(f"linje {number}: {error}")
            continue
        if end <= base.end:
            problems.append(f"linje {number}: den nye fristen for {student} er ikke senere enn klassens frist "
                            f"({base.text()})")
            continue
        plan.extensions[(exercise, student)] = Deadline(exercise, end, written, number, student)
    if problems:
        raise DeadlineError(sorted(problems, key=_line_number))
    return plan


def _line_number(problem: str) -> int:
    match = re.match(r"linje (\d+)", problem)
    return int(match.group(1)) if match else 0


def read_plan(root: str | Path, *, file: str = FILE, exercises: set[str] | None = None,
              students: set[str] | None = None) -> Plan:
    """The plan in ``root/file``; an empty plan when there is no such file (nothing is enforced)."""
    path = Path(root) / file
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Plan()
    except UnicodeDecodeError:
        raise DeadlineError(["filen er ikke lagret som UTF-8; lagre den som «CSV UTF-8» i regnearket"], path) from None
    try:
        return parse_plan(text, exercises=exercises, students=students)
    except DeadlineError as error:
        raise DeadlineError(error.problems, path) from None


# ---------------------------------------------------------------------------
# A date in the past


def _key(deadline: Deadline) -> str:
    return f"{deadline.exercise};{deadline.student or ''};{deadline.end.isoformat()}"


def check_past(root: str | Path, plan: Plan, now: dt.datetime | None = None) -> list[str]:
    """Deadlines in the past that the instructor has not accepted before: most likely a wrong date or year.

    Later in the term most deadlines are past, and that is right; what is new
    and already past is not. ``course frister`` records the rows it has shown
    as accepted (in ``.frister-godkjent.json`` beside the file), so a row is
    questioned once. A past extension given on purpose (after the fact) is
    accepted with ``course frister --godta-passerte``.
    """
    now = now or now_utc()
    accepted = set(_read_accepted(root))
    problems = []
    for deadline in [*plan.deadlines.values(), *plan.extensions.values()]:
        if deadline.end < now and _key(deadline) not in accepted:
            who = f" for {deadline.student}" if deadline.student else ""
            problems.append(f"linje {deadline.line}: fristen{who} ({deadline.text()}) er allerede passert. "
                            "Skrev du feil dato eller år? Er det med vilje, kjør «course frister --godta-passerte».")
    return sorted(problems, key=_line_number)


def _read_accepted(root: str | Path) -> list[str]:
    try:
        return json.loads((Path(root) / ACCEPTED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []


def accept(root: str | Path, plan: Plan) -> None:
    """Record every row of ``plan`` as seen by the instructor."""
    keys = sorted(_key(d) for d in [*plan.deadlines.values(), *plan.extensions.values()])
    path = Path(root) / ACCEPTED
    path.write_text(json.dumps(keys, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    path.chmod(0o600)


# ---------------------------------------------------------------------------
# The submission time to trust


def trusted_time(claimed: dt.datetime, changed: list[float], grace: float) -> dt.datetime:
    """The time a submission counts as handed in: the claimed time, unless its files say it is later.

    ``claimed`` is the aware time the student's submit recorded (in
    ``timestamp.txt`` and the folder's name: written by the student's own
    process, so it can be forged); ``changed`` the change times (``st_ctime``,
    which no user can set back) of the folder and everything in it. A genuine
    submission's files all changed within moments of the claim. If anything
    changed more than ``grace`` seconds later (a file edited, the time in
    ``timestamp.txt`` moved back, the folder renamed), the submission counts
    as handed in when its content last changed: a forged time never makes a
    late submission on time.
    """
    latest = max(changed, default=None)
    if latest is None:
        return claimed
    last_change = dt.datetime.fromtimestamp(latest, UTC)
    if (last_change - claimed).total_seconds() > grace:
        return last_change
    return claimed


# ---------------------------------------------------------------------------
# The student's own deadline, at submit


def own_deadline(exercise: str, student: str, root: str | Path, config=None, *, timeout: float = 5.0) -> dict | None:
    """This student's deadline for ``exercise`` and the course's policy, or None when there is none.

    On the class server (``SAMSKAPING_FRISTER_URL`` and the server's hub token
    set) the deadline service answers, as the student: their own extension is
    known only there. On one machine (``make lab``) the course folder's file is
    read. Raises OSError or ValueError when the service cannot answer.
    """
    import os

    url = os.environ.get("SAMSKAPING_FRISTER_URL")
    token = os.environ.get("JUPYTERHUB_API_TOKEN")
    if url and token:
        import urllib.request

        request = urllib.request.Request(f"{url.rstrip('/')}/api/mine", headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            mine = json.loads(reply.read().decode("utf-8"))
        rows = [row for row in mine.get("oppgaver", []) if row.get("oppgave") == exercise]
        return {**rows[0], "regel": mine["regel"]} if rows else None
    policy = DeadlinePolicy(config=course_config(root, config))
    plan = read_plan(root, file=policy.file)
    rows = [row for row in plan.for_student(student) if row["oppgave"] == exercise]
    return {**rows[0], "regel": policy.to_dict()} if rows else None


def course_config(root: str | Path, base=None):
    """``base`` (a traitlets Config, or None) with the course folder's ``nbgrader_config.py`` loaded on top.

    The deadline policy belongs in the course folder's configuration. A
    student's submit may run outside that folder, and the deadline service
    runs without nbgrader's application, so both read the file here, as
    nbgrader reads it (traitlets' loader, ``get_config()`` available).
    """
    from traitlets.config import Config
    from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

    config = Config(base) if base is not None else Config()
    try:
        config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config())
    except ConfigFileNotFound:
        pass
    return config


def late_message(info: dict, now: dt.datetime | None = None) -> str | None:
    """What a student who submits now is told (Norwegian), or None when they are on time."""
    now = now or now_utc()
    end = dt.datetime.fromisoformat(info["frist"])
    if now <= end:
        return None
    own = "Fristen din" if info.get("forlenget") else "Fristen"
    late = format_duration((now - end).total_seconds())
    when = f"{own} for {info['oppgave']} var {info['frist_tekst']} (norsk tid), og du leverer {late} etter den."
    if info["regel"]["sen_innlevering"] == REFUSE:
        return (f"{when} Innleveringen er ikke levert: i dette emnet blir innleveringer etter fristen ikke "
                "tatt imot. Har du fått eller har du krav på utsatt frist, ta kontakt med faglæreren; "
                "når fristen din er forlenget, kan du levere igjen.")
    return f"{when} Innleveringen er levert og merket som for sen ({info['regel']['tekst']})."
