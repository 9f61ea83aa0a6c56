"""Plain models of the course's activities: data plus the checking logic.

No widgets here, so everything can be unit-tested without a kernel or a
browser. Every message a model produces is Norwegian and meant for students.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer, with the explanation a student sees."""

    correct: bool
    message: str


@dataclass(frozen=True)
class Option:
    text: str
    correct: bool
    explanation: str


@dataclass(frozen=True)
class MultipleChoice:
    """A question with one correct option and an explanation for every option."""

    id: str
    question: str
    options: tuple[Option, ...]

    @property
    def correct_index(self) -> int:
        return next(i for i, o in enumerate(self.options) if o.correct)

    def check(self, choice: int | None) -> Feedback:
        """Judge the option with index ``choice`` (``None``: nothing chosen)."""
        if choice is None:
            return Feedback(False, "Du har ikke valgt noe alternativ ennå. Velg ett og sjekk igjen.")
        if not isinstance(choice, int) or isinstance(choice, bool) or not 0 <= choice < len(self.options):
            raise ValueError(
                f"Alternativ {choice!r} finnes ikke: velg et tall fra 0 til {len(self.options) - 1}."
            )
        option = self.options[choice]
        verdict = "Riktig!" if option.correct else "Ikke helt."
        return Feedback(option.correct, f"{verdict} {option.explanation}")


@dataclass(frozen=True)
class Case:
    """A short case to be sorted into one of a task's categories."""

    text: str
    answer: str
    explanation: str


@dataclass(frozen=True)
class SortingResult:
    """Feedback on every case of a sorting task, and the total."""

    feedback: tuple[Feedback | None, ...]  # None: the case was not answered
    score: int
    total: int

    @property
    def unanswered(self) -> int:
        return sum(f is None for f in self.feedback)

    @property
    def summary(self) -> str:
        text = f"Du har {self.score} av {self.total} riktige."
        if self.unanswered:
            text += f" {self.unanswered} er ikke besvart ennå."
        elif self.score == self.total:
            text += " Godt jobbet!"
        else:
            text += " Les forklaringene, endre svarene og sjekk igjen."
        return text


@dataclass(frozen=True)
class SortingTask:
    """Sort short cases into categories; every case has an explanation."""

    id: str
    title: str
    instructions: str
    categories: tuple[str, ...]
    cases: tuple[Case, ...]

    def check(self, answers: Sequence[str | None]) -> SortingResult:
        """Judge one answer per case (``None`` where the student chose nothing)."""
        if len(answers) != len(self.cases):
            raise ValueError(f"Det trengs ett svar for hver av de {len(self.cases)} sakene, men fikk {len(answers)}.")
        feedback: list[Feedback | None] = []
        for number, (case, answer) in enumerate(zip(self.cases, answers), start=1):
            if answer is None:
                feedback.append(None)
                continue
            if answer not in self.categories:
                raise ValueError(
                    f"Sak {number}: «{answer}» er ikke en av kategoriene ({', '.join(self.categories)})."
                )
            if answer == case.answer:
                feedback.append(Feedback(True, f"Riktig: {case.answer}. {case.explanation}"))
            else:
                feedback.append(
                    Feedback(False, f"Du valgte {answer}, men riktig svar er {case.answer}. {case.explanation}")
                )
        score = sum(1 for f in feedback if f is not None and f.correct)
        return SortingResult(tuple(feedback), score, len(self.cases))


@dataclass(frozen=True)
class Term:
    """A glossary entry with the source a student can look up."""

    id: str
    term: str
    definition: str
    source: str

    def __str__(self) -> str:
        return f"{self.term}: {self.definition} (Kilde: {self.source})"


@dataclass(frozen=True)
class Column:
    """A column of a matching table: its heading and the options every cell in it offers."""

    title: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class Cell:
    answer: str
    explanation: str


@dataclass(frozen=True)
class Row:
    """A row of a matching table (for instance one system), with one cell per column."""

    name: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class MatchingTable:
    """Fill a table: each cell (row x column) is one choice among the column's options."""

    id: str
    title: str
    instructions: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]

    def check(self, answers: Sequence[Sequence[str | None]]) -> SortingResult:
        """Judge one answer per cell, row by row; the feedback is flattened row by row."""
        if len(answers) != len(self.rows) or any(len(a) != len(self.columns) for a in answers):
            raise ValueError(
                f"Det trengs {len(self.rows)} rader med {len(self.columns)} svar i hver, "
                "ett svar for hver celle i tabellen."
            )
        feedback: list[Feedback | None] = []
        for row, row_answers in zip(self.rows, answers):
            for column, cell, answer in zip(self.columns, row.cells, row_answers):
                if answer is None:
                    feedback.append(None)
                    continue
                if answer not in column.options:
                    raise ValueError(
                        f"{row.name}, «{column.title}»: «{answer}» er ikke et av alternativene i kolonnen."
                    )
                where = f"{row.name}, {column.title.lower()}"
                if answer == cell.answer:
                    feedback.append(Feedback(True, f"Riktig ({where}): {cell.answer}. {cell.explanation}"))
                else:
                    feedback.append(
                        Feedback(False, f"Ikke riktig ({where}): Du valgte «{answer}», men riktig er «{cell.answer}». {cell.explanation}")
                    )
        score = sum(1 for f in feedback if f is not None and f.correct)
        return SortingResult(tuple(feedback), score, len(self.rows) * len(self.columns))


@dataclass(frozen=True)
class Rung:
    """One step of a participation ladder; ``group`` is empty for ladders without groups."""

    name: str
    description: str
    group: str = ""


@dataclass(frozen=True)
class Scenario:
    text: str
    answer: str  # the name of the right rung
    explanation: str


@dataclass(frozen=True)
class LadderTask:
    """Place scenarios on a participation ladder such as Arnstein's (1969) or the IAP2 spectrum.

    Rungs are listed from the bottom (number 1) to the top. A wrong answer in the
    right group (or, on a ladder without groups, one step away) is a near miss.
    """

    id: str
    title: str
    instructions: str
    ladder: str
    rungs: tuple[Rung, ...]
    scenarios: tuple[Scenario, ...]

    def rung_number(self, choice: int | str) -> int:
        """The rung's number (1 = bottom) for a number or a name; a Norwegian ValueError if it is not on the ladder."""
        names = [r.name.lower() for r in self.rungs]
        if isinstance(choice, str) and choice.strip().lower() in names:
            return names.index(choice.strip().lower()) + 1
        if isinstance(choice, str) and choice.strip().isdigit():
            choice = int(choice.strip())
        if isinstance(choice, int) and not isinstance(choice, bool) and 1 <= choice <= len(self.rungs):
            return choice
        raise ValueError(
            f"«{choice}» er ikke et trinn på {self.ladder}. Velg et tall fra 1 til {len(self.rungs)} "
            f"eller et av navnene: {', '.join(r.name for r in self.rungs)}."
        )

    def _label(self, number: int) -> str:
        rung = self.rungs[number - 1]
        group = f" (gruppen {rung.group})" if rung.group else ""
        return f"trinn {number}, {rung.name}{group}"

    def check_one(self, scenario: int, choice: int | str | None) -> Feedback | None:
        """Judge the rung chosen for scenario number ``scenario`` (0-based); ``None``: not answered."""
        if choice is None:
            return None
        case = self.scenarios[scenario]
        chosen = self.rung_number(choice)
        right = self.rung_number(case.answer)
        if chosen == right:
            return Feedback(True, f"Riktig: {self._label(right)}. {case.explanation}")
        chosen_rung, right_rung = self.rungs[chosen - 1], self.rungs[right - 1]
        if right_rung.group:
            near = chosen_rung.group == right_rung.group
            why_near = f"Du er i riktig gruppe, {right_rung.group}, men ikke på riktig trinn."
        else:
            near = abs(chosen - right) == 1
            why_near = "Du er bare ett trinn unna."
        start = f"Nesten. {why_near}" if near else "Ikke riktig."
        return Feedback(
            False,
            f"{start} Du valgte {self._label(chosen)}, men riktig er {self._label(right)}. {case.explanation}",
        )

    def check(self, answers: Sequence[int | str | None]) -> SortingResult:
        """Judge one rung (number or name, ``None`` if unanswered) per scenario."""
        if len(answers) != len(self.scenarios):
            raise ValueError(
                f"Det trengs ett svar for hver av de {len(self.scenarios)} sakene, men fikk {len(answers)}."
            )
        feedback = tuple(self.check_one(i, a) for i, a in enumerate(answers))
        score = sum(1 for f in feedback if f is not None and f.correct)
        return SortingResult(feedback, score, len(self.scenarios))

def format_number(value: float) -> str:
    """A number written the Norwegian way: decimal comma, non-breaking spaces between thousands."""
    decimals = 0 if float(value).is_integer() else 1
    return f"{value:,.{decimals}f}".replace(",", "\u00a0").replace(".", ",")


def parse_number(text: str) -> float:
    """Read a number a student typed: '62', '62,3', '62.3' or '139 000'. Norwegian ValueError otherwise."""
    cleaned = str(text).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"«{str(text).strip()}» er ikke et tall. Skriv bare sifre, for eksempel 50 eller 12,5.") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"«{str(text).strip()}» er ikke et tall. Skriv bare sifre, for eksempel 50 eller 12,5.")
    return value


@dataclass(frozen=True)
class Estimate:
    """Guess a number first, then see the real figure, how far off the guess was, and why."""

    id: str
    question: str
    answer: float
    unit: str
    minimum: float
    maximum: float
    tolerance: float  # a guess this close to the answer counts as a good estimate
    explanation: str
    source: str

    def check(self, guess: float | None) -> Feedback:
        """Judge a guess (``None``: nothing typed yet); a guess off the scale raises a Norwegian ValueError."""
        if guess is None:
            return Feedback(False, "Du har ikke skrevet inn noe anslag ennå. Skriv et tall og sjekk igjen.")
        if isinstance(guess, bool) or not isinstance(guess, (int, float)) or guess != guess:
            raise ValueError(f"Anslaget må være et tall, men er {guess!r}.")
        if not self.minimum <= guess <= self.maximum:
            raise ValueError(
                f"Anslaget {format_number(guess)} er utenfor skalaen. "
                f"Skriv et tall fra {format_number(self.minimum)} til {format_number(self.maximum)}."
            )
        difference = guess - self.answer
        close = abs(difference) <= self.tolerance
        if close:
            verdict = "Godt anslått!"
        else:
            verdict = "Du anslo for høyt." if difference > 0 else "Du anslo for lavt."
        return Feedback(
            close,
            f"{verdict} Du anslo {format_number(guess)} {self.unit}, og det riktige tallet er "
            f"{format_number(self.answer)} {self.unit}. {self.explanation} (Kilde: {self.source})",
        )
