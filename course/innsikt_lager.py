"""Class insight, what is stored and what the lecturer may see: counts only, and no cell under five students.

What is stored (in the server's PostgreSQL, the gradebook's database, so it is
backed up with it and dropped with it at the end of term):

* ``klasseinnsikt_valg``: per activity, part and choice, how many first tries
  chose it. No name, no time, no row per student. Whether a choice is right
  is not stored: the page reads it from the content (:func:`_options`).
* ``klasseinnsikt_besvart``: per activity, how many students have answered it.
* ``klasseinnsikt_sett``: one mark per student and activity, so that a student
  is counted once: HMAC-SHA256 of the user name and the activity id, keyed by a
  secret that lies in the course folder (``.klasseinnsikt-nokkel``), not in the
  database. Why a keyed mark and not the name: during the term it only answers
  «has the person with this name already answered this activity», and only
  with the key; it does not say what they chose, and marks of one student for
  two activities cannot be told apart from two students'. At the end of term
  the key is deleted with the data (deploy/end-of-term.sh); a backup of the
  database without the key holds nothing that points to a person.

Why counts and not rows: the lecturer's questions (how many answered, how many
were right the first time, what did the others choose) are all counts, and
counts cannot be joined to anything else.

:func:`shown` applies the rule that no figure about fewer than five students
is shown (``MIN_STUDENTS``), including figures that could be worked out from
the others.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from course import innsikt, loader, models

MIN_STUDENTS = 5
KEY_FILE = ".klasseinnsikt-nokkel"

metadata = MetaData()
CHOICES = Table(
    "klasseinnsikt_valg", metadata,
    Column("aktivitet", String(100), primary_key=True),
    Column("del", Integer, primary_key=True, autoincrement=False),
    Column("valg", String(200), primary_key=True),
    Column("antall", Integer, nullable=False),
)
ANSWERED = Table(
    "klasseinnsikt_besvart", metadata,
    Column("aktivitet", String(100), primary_key=True),
    Column("antall", Integer, nullable=False),
)
SEEN = Table("klasseinnsikt_sett", metadata, Column("merke", String(64), primary_key=True))


def read_key(course_root: Path) -> bytes:
    """The course's secret for the marks; made (0600) the first time. Deleting it at the end of term unlinks the marks."""
    path = course_root / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as file:
        file.write(secrets.token_bytes(32))
    return path.read_bytes()


class Store:
    """The counts in a database (PostgreSQL on the class server; SQLite in unit tests)."""

    def __init__(self, url: str, key: bytes) -> None:
        self.engine = create_engine(url, pool_pre_ping=True)
        self.key = key
        metadata.create_all(self.engine)

    def mark(self, user: str, activity: str) -> str:
        return hmac.new(self.key, f"{user}\0{activity}".encode("utf-8"), hashlib.sha256).hexdigest()

    def add(self, user: str, activity: str, parts: list[innsikt.Part]) -> bool:
        """Count a student's first try; False (and nothing changed) if this student has already been counted."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(SEEN).values(merke=self.mark(user, activity)))
                self._bump(conn, ANSWERED, {"aktivitet": activity})
                for part in parts:
                    self._bump(conn, CHOICES, {"aktivitet": activity, "del": part.part, "valg": part.choice})
        except IntegrityError:
            return False
        return True

    @staticmethod
    def _bump(conn, table: Table, key: dict) -> None:
        where = [table.c[name] == value for name, value in key.items()]
        if conn.execute(update(table).where(*where).values(antall=table.c.antall + 1)).rowcount == 0:
            conn.execute(insert(table).values(**key, antall=1))

    def counts(self) -> dict[str, "Counts"]:
        """Everything stored, by activity."""
        found: dict[str, Counts] = {}
        with self.engine.connect() as conn:
            for activity, number in conn.execute(select(ANSWERED.c.aktivitet, ANSWERED.c.antall)):
                found[activity] = Counts(activity, number)
            for activity, part, choice, number in conn.execute(
                    select(CHOICES.c.aktivitet, CHOICES.c["del"], CHOICES.c.valg, CHOICES.c.antall)):
                found.setdefault(activity, Counts(activity, 0)).choices.setdefault(part, {})[choice] = number
        return found


@dataclass
class Counts:
    activity: str
    answered: int
    choices: dict[int, dict[str, int]] = field(default_factory=dict)  # part -> choice -> first tries


# --- What may be shown ------------------------------------------------------------------------


def shown(counts: dict[str, int]) -> dict[str, int | None]:
    """The cells of one distribution that may be shown; ``None`` for a hidden one.

    A count of one to four students is hidden. So is what could be worked out
    from the rest: while the hidden cells together hold one to four students
    (their sum is the total minus what is shown), the smallest shown cell is
    hidden too. Zero is shown: it is about nobody.
    """
    result: dict[str, int | None] = {k: (v if v == 0 or v >= MIN_STUDENTS else None) for k, v in counts.items()}
    while 0 < sum(counts[k] for k, v in result.items() if v is None) < MIN_STUDENTS:
        visible = sorted((v, k) for k, v in result.items() if v)
        if not visible:
            break
        result[visible[0][1]] = None
    return result


@dataclass
class PartView:
    """One part of an activity as the lecturer may see it."""

    label: str  # the case or cell ("" for a single question)
    total: int | None  # first tries that answered this part (None: fewer than five)
    options: list[tuple[str, str, bool, int | None]]  # (choice key, text, right, count or None)
    right_share: float | None  # share of first tries that were right (None: cannot be shown)
    explanation: str = ""


@dataclass
class ActivityView:
    id: str
    kind: str
    title: str
    answered: int | None  # None: fewer than five have answered
    parts: list[PartView]

    @property
    def right_share(self) -> float | None:
        """The mean share right over the parts that can be shown (None if none can)."""
        shares = [p.right_share for p in self.parts if p.right_share is not None]
        return sum(shares) / len(shares) if shares else None


KIND_NAMES = {
    models.MultipleChoice: "flervalg", models.SortingTask: "sortering", models.LadderTask: "deltakelsesstige",
    models.MatchingTable: "tabell", models.Estimate: "anslag",
}


def _options(entry: Any, part: int) -> tuple[str, list[tuple[str, str, bool]], str]:
    """The part's label, its possible choices (key, text, right) and the content's explanation."""
    if isinstance(entry, models.MultipleChoice):
        return "", [(str(i), o.text, o.correct) for i, o in enumerate(entry.options)], ""
    if isinstance(entry, models.Estimate):
        close = f"innenfor ±{models.format_number(entry.tolerance)} {entry.unit} av {models.format_number(entry.answer)}"
        texts = {"for lavt": "For lavt", "godt anslag": f"Godt anslag ({close})", "for høyt": "For høyt"}
        return "", [(k, texts[k], k == "godt anslag") for k in innsikt.ESTIMATE_CHOICES], entry.explanation
    if isinstance(entry, models.SortingTask):
        case = entry.cases[part]
        return (f"Sak {part + 1}: {case.text}", [(c, c, c == case.answer) for c in entry.categories],
                case.explanation)
    if isinstance(entry, models.LadderTask):
        case = entry.scenarios[part]
        right = entry.rung_number(case.answer)
        return (f"Sak {part + 1}: {case.text}",
                [(str(n), f"{n}. {r.name}", n == right) for n, r in enumerate(entry.rungs, start=1)], case.explanation)
    row, column = divmod(part, len(entry.columns))
    cell = entry.rows[row].cells[column]
    col = entry.columns[column]
    return (f"{entry.rows[row].name}, {col.title.lower()}", [(o, o, o == cell.answer) for o in col.options],
            cell.explanation)


def _parts_of(entry: Any) -> int:
    if isinstance(entry, models.SortingTask):
        return len(entry.cases)
    if isinstance(entry, models.LadderTask):
        return len(entry.scenarios)
    if isinstance(entry, models.MatchingTable):
        return len(entry.rows) * len(entry.columns)
    return 1


def title_of(entry: Any) -> str:
    return getattr(entry, "question", None) or getattr(entry, "title", entry.id)


def activities(lesson: int) -> list[Any]:
    """The lesson's activities whose first tries are collected, in the content file's order."""
    prefix = f"l{lesson:02d}_"
    return [e for i, e in loader.load_all().items() if i.startswith(prefix) and isinstance(e, innsikt.COLLECTED)]


def view(entry: Any, counts: Counts | None) -> ActivityView:
    """What the lecturer may see of one activity."""
    answered = counts.answered if counts else 0
    if answered < MIN_STUDENTS:
        return ActivityView(entry.id, KIND_NAMES[type(entry)], title_of(entry), 0 if answered == 0 else None, [])
    parts = []
    for part in range(_parts_of(entry)):
        label, options, explanation = _options(entry, part)
        raw = {key: counts.choices.get(part, {}).get(key, 0) for key, _text, _right in options}
        total = sum(raw.values())
        if total < MIN_STUDENTS:
            parts.append(PartView(label, None, [(k, t, r, None) for k, t, r in options], None, explanation))
            continue
        visible = shown(raw)
        right_keys = [k for k, _t, r in options if r]
        right = [visible[k] for k in right_keys]
        share = None if any(v is None for v in right) else sum(right) / total
        parts.append(PartView(label, total, [(k, t, r, visible[k]) for k, t, r in options], share, explanation))
    return ActivityView(entry.id, KIND_NAMES[type(entry)], title_of(entry), answered, parts)


def lesson_views(store_counts: dict[str, Counts], lesson: int) -> list[ActivityView]:
    return [view(entry, store_counts.get(entry.id)) for entry in activities(lesson)]


def ranked(views: list[ActivityView]) -> list[ActivityView]:
    """The activities the class found hardest first: the lowest share right on the first try (those that can be shown)."""
    return sorted((v for v in views if v.right_share is not None), key=lambda v: (v.right_share, v.id))
