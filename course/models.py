"""Plain models of the course's activities: data plus the checking logic.

No widgets here, so everything can be unit-tested without a kernel or a
browser. Every message a model produces is Norwegian and meant for students.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
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


def option_order(key: str, count: int) -> tuple[int, ...]:
    """A fixed pseudo-random permutation of ``range(count)``, derived from ``key`` alone.

    Authors tend to put the right option in the same place (first, or last and
    longest); shuffling removes that cue. The order is derived from the
    activity id only, not from the student's user name, on purpose:

    * every student, the lecturer, the teaching notes and the tests see the
      same order, so a seminar can talk about «det tredje alternativet» and a
      screenshot in the guides matches what students see;
    * the lesson questions are ungraded practice with the explanation shown at
      once, so per-student orders would protect nothing worth protecting;
    * the order does not depend on the machine, the account or ``PYTHONHASHSEED``
      (it is a SHA-256 of the id and the option's position, not Python's
      ``hash`` or ``random``, whose algorithms may change between versions),
      so the same question looks the same on a laptop, on JupyterHub and in CI.

    Changing an option's wording keeps the order; adding or removing an option
    or renaming the id gives a new one.
    """
    return tuple(sorted(range(count), key=lambda i: hashlib.sha256(f"{key}\0{i}".encode()).digest()))


@dataclass(frozen=True)
class MultipleChoice:
    """A question with one correct option and an explanation for every option.

    ``options`` are kept in the order given; the loader hands out
    :meth:`shuffled` questions, so the content files' order is never what a
    student sees.
    """

    id: str
    question: str
    options: tuple[Option, ...]

    @property
    def correct_index(self) -> int:
        return next(i for i, o in enumerate(self.options) if o.correct)

    def shuffled(self) -> MultipleChoice:
        """The same question with its options in the order students see (see :func:`option_order`).

        Each option moves as a whole, so its explanation and its ``correct``
        flag always stay with it.
        """
        return replace(self, options=tuple(self.options[i] for i in option_order(self.id, len(self.options))))

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


# --- Stakeholder grid (lesson 5) -------------------------------------------------

# The four quadrants of a power/interest grid, in a fixed order. Keys are used
# in the content files; the names are what students see.
QUADRANTS: dict[str, str] = {
    "samarbeid_tett": "Samarbeid tett",
    "hold_tilfreds": "Hold tilfreds",
    "hold_informert": "Hold informert",
    "folg_med": "Følg med",
}
GRID_MIN, GRID_MAX, GRID_HIGH = 0, 10, 5  # a rating >= GRID_HIGH counts as high


def _check_rating(value: object, low: int, high: int, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{what} må være et helt tall fra {low} til {high}, men er {value!r}. Velg en verdi i det området.")
    return value


def quadrant(power: int, interest: int) -> str:
    """The quadrant key for a power and an interest rating (0–10; 5 or more is high)."""
    _check_rating(power, GRID_MIN, GRID_MAX, "Makt")
    _check_rating(interest, GRID_MIN, GRID_MAX, "Interesse")
    if power >= GRID_HIGH:
        return "samarbeid_tett" if interest >= GRID_HIGH else "hold_tilfreds"
    return "hold_informert" if interest >= GRID_HIGH else "folg_med"


def quadrant_name(power: int, interest: int) -> str:
    """The quadrant's name a student sees, e.g. ``quadrant_name(power=2, interest=8)`` -> "Hold informert"."""
    return QUADRANTS[quadrant(power, interest)]


@dataclass(frozen=True)
class Actor:
    """An actor of a stakeholder case, with a starting rating for the sliders."""

    name: str
    description: str
    power: int
    interest: int
    target_group: bool = False


@dataclass(frozen=True)
class Placement:
    """Where one actor lands in the grid for a given rating."""

    actor: Actor
    power: int
    interest: int
    quadrant: str

    @property
    def quadrant_name(self) -> str:
        return QUADRANTS[self.quadrant]


@dataclass(frozen=True)
class StakeholderGrid:
    """A case whose actors the student rates on power and interest (0–10)."""

    id: str
    title: str
    case: str
    actors: tuple[Actor, ...]
    advice: dict[str, str]  # quadrant key -> advice
    target_low_power: str  # feedback when the target group has low power
    target_high_power: str  # feedback when it has high power

    def place(self, ratings: Sequence[tuple[int, int]]) -> tuple[Placement, ...]:
        """Place every actor, given one (power, interest) pair per actor."""
        if len(ratings) != len(self.actors):
            raise ValueError(f"Det trengs én vurdering for hver av de {len(self.actors)} aktørene, men fikk {len(ratings)}.")
        placements = []
        for actor, (power, interest) in zip(self.actors, ratings):
            _check_rating(power, GRID_MIN, GRID_MAX, f"Makt for {actor.name}")
            _check_rating(interest, GRID_MIN, GRID_MAX, f"Interesse for {actor.name}")
            placements.append(Placement(actor, power, interest, quadrant(power, interest)))
        return tuple(placements)

    def target_feedback(self, placements: Sequence[Placement]) -> str:
        """What the placement of the target group means for co-creation."""
        parts = []
        for p in placements:
            if p.actor.target_group:
                text = self.target_low_power if p.power < GRID_HIGH else self.target_high_power
                parts.append(f"{p.actor.name} havner i «{p.quadrant_name}». {text}")
        return " ".join(parts)


# --- Self-assessment (lesson 6) --------------------------------------------------

SCALE_MIN, SCALE_MAX = 1, 5


@dataclass(frozen=True)
class AssessmentPoint:
    """One point of a self-assessment: statements rated 1–5, and advice if it is weak."""

    name: str
    statements: tuple[str, ...]
    advice: str


@dataclass(frozen=True)
class AssessmentResult:
    scores: dict[str, float]  # point name -> mean rating, in the points' order
    weakest: tuple[str, ...]  # every point with the lowest mean (ties included)
    feedback: str


@dataclass(frozen=True)
class SelfAssessment:
    """Rate statements 1–5 per point; the mean per point and advice on the weakest."""

    id: str
    title: str
    instructions: str
    scale: tuple[str, ...]  # one label per step of the scale, 1 to 5
    points: tuple[AssessmentPoint, ...]

    def assess(self, ratings: Sequence[Sequence[int]]) -> AssessmentResult:
        """Judge one list of ratings (1–5) per point, one rating per statement."""
        if len(ratings) != len(self.points):
            raise ValueError(f"Det trengs svar for hvert av de {len(self.points)} punktene, men fikk {len(ratings)}.")
        scores: dict[str, float] = {}
        for point, values in zip(self.points, ratings):
            if len(values) != len(point.statements):
                raise ValueError(
                    f"«{point.name}» har {len(point.statements)} påstander, men fikk {len(values)} svar."
                )
            for value in values:
                _check_rating(value, SCALE_MIN, SCALE_MAX, f"Svaret på en påstand om «{point.name}»")
            scores[point.name] = round(sum(values) / len(values), 2)
        low = min(scores.values())
        weakest = tuple(name for name, score in scores.items() if score == low)
        return AssessmentResult(scores, weakest, self._feedback(scores, weakest))

    def summary(self, ratings: Sequence[Sequence[int]]) -> str:
        """The mean per point and the feedback, as lines of text (for a lesson's printed example)."""
        result = self.assess(ratings)
        lines = [f"{name}: {format_mean(score)}" for name, score in result.scores.items()]
        return "\n".join(["Snitt per punkt (1–5):", *lines, "", result.feedback])

    def _feedback(self, scores: dict[str, float], weakest: tuple[str, ...]) -> str:
        low = scores[weakest[0]]
        if len(weakest) == len(self.points):
            return (
                f"Du har gitt deg selv samme snitt ({format_mean(low)}) på alle punktene, så ingen av dem skiller seg ut som "
                "svakest. Se på påstandene du ga lavest skår, og velg ett punkt å arbeide med først."
            )
        advice = {p.name: p.advice for p in self.points}
        if len(weakest) == 1:
            head = f"Ditt svakeste punkt er «{weakest[0]}» (snitt {format_mean(low)})."
        else:
            names = ", ".join(f"«{n}»" for n in weakest[:-1]) + f" og «{weakest[-1]}»"
            words = {2: "to", 3: "tre", 4: "fire"}
            head = f"Du har {words.get(len(weakest), len(weakest))} like svake punkter: {names} (snitt {format_mean(low)})."
        return " ".join([head, *(f"{n}: {advice[n]}" for n in weakest)])


def format_mean(value: float) -> str:
    """A number the Norwegian way: decimal comma, no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")


# --- Risk register (lesson 7) ------------------------------------------------

RISK_SCALE = range(1, 6)  # likelihood and consequence are both rated 1-5
RISK_LEVELS = ((10, "høy"), (5, "middels"), (1, "lav"))  # lowest score of each level


def risk_level(score: int) -> str:
    """The level of a risk score (likelihood x consequence): lav 1-4, middels 5-9, høy 10-25."""
    return next(name for lowest, name in RISK_LEVELS if score >= lowest)


@dataclass(frozen=True)
class Risk:
    """One risk of a project, with advice on how to reduce it."""

    title: str
    description: str
    mitigation: str


@dataclass(frozen=True)
class RatedRisk:
    """A risk with the student's rating and its rank (1 = highest score)."""

    number: int  # the risk's number in the content file, from 1
    risk: Risk
    likelihood: int
    consequence: int
    rank: int = 0

    @property
    def score(self) -> int:
        return self.likelihood * self.consequence

    @property
    def level(self) -> str:
        return risk_level(self.score)


@dataclass(frozen=True)
class RiskRegister:
    """Rate each risk's likelihood and consequence (1-5); the score is their product."""

    id: str
    title: str
    instructions: str
    project: str
    likelihood_scale: tuple[str, ...]  # five descriptions, for the values 1-5
    consequence_scale: tuple[str, ...]
    risks: tuple[Risk, ...]
    example: tuple[tuple[int, int], ...]  # a fictional working group's ratings
    top: int = 3

    def rate(self, ratings: Sequence[tuple[int, int]]) -> list[RatedRisk]:
        """The risks ranked by score, highest first; ties by consequence, then by number."""
        if len(ratings) != len(self.risks):
            raise ValueError(f"Det trengs én vurdering for hver av de {len(self.risks)} risikoene, men fikk {len(ratings)}.")
        rated = []
        for number, (risk, (likelihood, consequence)) in enumerate(zip(self.risks, ratings), start=1):
            for name, value in (("Sannsynligheten", likelihood), ("Konsekvensen", consequence)):
                if not isinstance(value, int) or isinstance(value, bool) or value not in RISK_SCALE:
                    raise ValueError(
                        f"Risiko {number} («{risk.title}»): {name} må være et helt tall fra 1 til 5, "
                        f"men er {value!r}. Velg en verdi fra 1 (lavest) til 5 (høyest)."
                    )
            rated.append(RatedRisk(number, risk, likelihood, consequence))
        rated.sort(key=lambda r: (-r.score, -r.consequence, r.number))
        return [RatedRisk(r.number, r.risk, r.likelihood, r.consequence, rank) for rank, r in enumerate(rated, start=1)]

    def table(self, ratings: Sequence[tuple[int, int]]) -> str:
        """The ranked register as plain text: the chart's text alternative."""
        lines = ["Plass | Risiko | Sannsynlighet | Konsekvens | Risikoscore | Nivå"]
        for r in self.rate(ratings):
            lines.append(f"{r.rank} | {r.number}. {r.risk.title} | {r.likelihood} | {r.consequence} | {r.score} | {r.level}")
        return "\n".join(lines)

    def feedback(self, ratings: Sequence[tuple[int, int]]) -> str:
        """Advice on the highest risks, from the content file."""
        rated = self.rate(ratings)
        top = rated[: self.top]
        high = [r for r in rated if r.level == "høy"]
        parts = [
            f"De {len(top)} høyeste risikoene etter din vurdering er "
            + ", ".join(f"{r.number}. {r.risk.title} ({r.score}, {r.level})" for r in top)
            + "."
        ]
        if not high:
            parts.append(
                "Ingen risiko har høyt nivå (10 eller mer). Det kan stemme, men spør deg selv om du har vært "
                "for optimistisk: Samskaping er ressurskrevende, og godt samarbeid er aldri en tilfeldighet."
            )
        else:
            parts.append(f"{len(high)} av {len(rated)} risikoer har høyt nivå og bør følges opp først.")
        for r in top:
            parts.append(f"Tiltak for «{r.risk.title}»: {r.risk.mitigation}")
        return "\n".join(parts)


# --- Branching case (lesson 8) -----------------------------------------------

STAGES = ("Oppdage", "Definere", "Utvikle", "Levere")  # Design Council's Double Diamond (2005)


@dataclass(frozen=True)
class CaseChoice:
    text: str
    consequence: str
    next: str


@dataclass(frozen=True)
class CaseNode:
    """A situation at one Double Diamond stage: either choices, or an ending with a summary."""

    id: str
    stage: str
    situation: str
    choices: tuple[CaseChoice, ...] = ()
    summary: str = ""

    @property
    def is_ending(self) -> bool:
        return not self.choices


@dataclass(frozen=True)
class BranchingCase:
    """A case whose nodes form a graph without cycles, validated by the loader."""

    id: str
    title: str
    intro: str
    start: str
    nodes: tuple[CaseNode, ...]

    def node(self, node_id: str) -> CaseNode:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(f"Casen «{self.id}» har ingen node med id-en «{node_id}».")

    def paths(self) -> int:
        """How many different ways lead from the start to an ending (the graph has no cycles)."""

        def count(node_id: str) -> int:
            node = self.node(node_id)
            return 1 if node.is_ending else sum(count(c.next) for c in node.choices)

        return count(self.start)

    def overview(self) -> str:
        """A map of the case per Double Diamond stage, as text."""
        endings = [n for n in self.nodes if n.is_ending]
        ends = f"{len(endings)} mulig slutt" if len(endings) == 1 else f"{len(endings)} mulige slutter"
        lines = [f"Casen har {len(self.nodes) - len(endings)} valgsituasjoner, {ends} og {self.paths()} ulike veier fra start til slutt."]
        for number, stage in enumerate(STAGES, start=1):
            nodes = [n for n in self.nodes if n.stage == stage]
            decisions = sum(not n.is_ending for n in nodes)
            ends = sum(n.is_ending for n in nodes)
            parts = []
            if decisions:
                parts.append(f"{decisions} valgsituasjon{'er' if decisions > 1 else ''} med til sammen {sum(len(n.choices) for n in nodes)} valg")
            if ends:
                parts.append(f"{ends} slutt{'er' if ends > 1 else ''}")
            lines.append(f"{number}. {stage}: {' og '.join(parts) if parts else 'ingen situasjoner'}")
        return "\n".join(lines)


class CaseWalk:
    """One student's way through a branching case: where they are, and the choices made so far."""

    def __init__(self, case: BranchingCase):
        self.case = case
        self.restart()

    def restart(self) -> None:
        self.current = self.case.node(self.case.start)
        self.path: list[tuple[CaseNode, CaseChoice]] = []

    def choose(self, index: int | None) -> CaseChoice:
        """Take choice ``index`` of the current node; returns it (its consequence) and moves on."""
        if self.current.is_ending:
            raise ValueError("Casen er ferdig. Trykk «Start på nytt» for å prøve andre valg.")
        if index is None:
            raise ValueError("Du har ikke valgt noe ennå. Velg ett av alternativene først.")
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(self.current.choices):
            raise ValueError(f"Valg {index!r} finnes ikke: velg et tall fra 0 til {len(self.current.choices) - 1}.")
        choice = self.current.choices[index]
        self.path.append((self.current, choice))
        self.current = self.case.node(choice.next)
        return choice

    def step_back(self) -> None:
        """Undo the last choice (the walk is then where it was before it)."""
        if not self.path:
            raise ValueError("Du har ikke tatt noen valg ennå.")
        self.current, _choice = self.path.pop()

    def markdown(self, notes: str = "") -> str:
        """The path so far and the student's notes, as a Markdown summary."""
        lines = [f"# Sammendrag: {self.case.title}", "", "*Casen er oppdiktet.*", "", "## Veien din", ""]
        if not self.path:
            lines.append("Du har ikke tatt noen valg ennå.")
        for step, (node, choice) in enumerate(self.path, start=1):
            lines += [
                f"{step}. **{node.stage}:** {node.situation}",
                f"   - Valget ditt: {choice.text}",
                f"   - Konsekvens: {choice.consequence}",
            ]
        if self.current.is_ending:
            lines += ["", "## Slutten", "", self.current.situation, "", self.current.summary]
        else:
            lines += ["", f"Du er ikke ferdig ennå. Neste fase: {self.current.stage}."]
        lines += ["", "## Notatene dine", "", notes.strip() or "(ingen notater)", ""]
        return "\n".join(lines)


def write_new_file(folder, stem: str, text: str, suffix: str = ".md"):
    """Write ``text`` to ``stem.md`` in ``folder``, or ``stem_2.md``, ``stem_3.md`` ... if taken.

    Never overwrites: the file is opened with mode "x". Returns the path written.
    """
    from pathlib import Path

    folder = Path(folder)
    for number in range(1, 1000):
        path = folder / (f"{stem}{suffix}" if number == 1 else f"{stem}_{number}{suffix}")
        try:
            with path.open("x", encoding="utf-8") as f:
                f.write(text)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"Det finnes allerede 999 filer som heter «{stem}…{suffix}» i mappen. Rydd i mappen og prøv igjen.")


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
