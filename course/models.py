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
