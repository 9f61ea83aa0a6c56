"""Ungraded pandas practice for lesson 2: the student writes an expression, ``sjekk`` answers at once.

Each practice task is a :class:`Practice` (plain data). :func:`check` compares a
student's value with the expected one and returns a :class:`PracticeResult`
whose message is friendly Norwegian. It never raises, whatever the student
hands it: the blank starting value (``...``), ``None``, a text, a number where a
column was expected, a misspelt column name: each gets a message that says what
to do next. In a notebook::

    from course.practice import sjekk
    mitt_svar = ...  # skriv svaret ditt her
    sjekk("sum", mitt_svar)

The expected values come from the course's datasets (``course.datasets``) or
are written here, so a test can check every task without a kernel. pandas is
imported only when an expected value is built, so ``import course`` stays fast.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# The kinds of answer a task asks for.
NUMBER, TEXT, COLUMN, TABLE = "tall", "tekst", "kolonne", "tabell"

NOT_YET = "Ikke besvart ennå: Bytt ut ... med uttrykket ditt, og kjør cellen på nytt."


@dataclass(frozen=True)
class Practice:
    """One practice task: what kind of answer it wants and what to say about it."""

    key: str
    kind: str
    example: str  # the form of an answer (never the answer itself), shown when the student is stuck
    praise: str  # said when the answer is right: what the expression did
    mistakes: tuple[tuple[Any, str], ...] = ()  # (a typical wrong value, what it tells the student)
    columns: tuple[str, ...] = ()  # TABLE: the columns that must be there and are compared
    compare_index: bool = False  # COLUMN: the row names (index) must match too
    tolerance: float = 0.01


@dataclass(frozen=True)
class PracticeResult:
    correct: bool
    message: str
    answered: bool = field(default=True)


def _is_blank(value: Any) -> bool:
    return value is ... or value is None


def _is_table(value: Any) -> bool:
    return hasattr(value, "columns") and hasattr(value, "iloc")


def _is_column(value: Any) -> bool:
    return hasattr(value, "index") and hasattr(value, "dtype") and hasattr(value, "iloc") and not _is_table(value)


def _is_boolean(value: Any) -> bool:
    """True or False, as Python's bool or a numpy bool (whose dtype kind is "b")."""
    return isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", None) == "b"


def _number(value: Any) -> float | None:
    """``value`` as a float, or None when it is not one number (a text, a bool, a column, ...)."""
    if isinstance(value, (str, bytes, bool)) or _is_blank(value) or _is_table(value) or _is_column(value):
        return None
    if _is_boolean(value):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return None if math.isnan(number) else number


def _close(a: Any, b: Any, tolerance: float) -> bool:
    x, y = _number(a), _number(b)
    if x is None or y is None:
        return str(a).strip().lower() == str(b).strip().lower()
    return abs(x - y) <= tolerance


def _same_values(got: list[Any], expected: list[Any], tolerance: float) -> bool:
    return len(got) == len(expected) and all(_close(g, e, tolerance) for g, e in zip(got, expected))


def _format(value: Any) -> str:
    number = _number(value)
    if number is None:
        return repr(value)
    if number == int(number):
        return f"{int(number):,}".replace(",", "\u00a0")
    return f"{number:.2f}".rstrip("0").replace(".", ",")


def _wrong_type(value: Any, wanted: str, example: str) -> str:
    if isinstance(value, str):
        return (
            f"Svaret ditt er teksten «{value}», men her skal du ha {wanted}. "
            f"Fjern anførselstegnene rundt uttrykket. Svaret skal ha formen {example}"
        )
    if _is_table(value):
        what = "en hel tabell"
    elif _is_column(value):
        what = "en hel kolonne"
    elif _is_boolean(value):
        what = f"sannhetsverdien {value}"
    elif isinstance(value, dict):
        what = "en ordbok"
        if "tabell" in wanted:
            return (
                "Svaret ditt er en ordbok, ikke en tabell ennå. Gjør ordboken om til en tabell med "
                f"pd.DataFrame(...). Svaret skal ha formen {example}"
            )
    elif isinstance(value, (list, tuple)):
        what = "en liste"
    elif _number(value) is not None:
        what = f"ett tall ({_format(value)})"
    else:
        what = f"en verdi av typen {type(value).__name__}"
    return f"Svaret ditt er {what}, men her skal du ha {wanted}. Svaret skal ha formen {example}"


def _check_number(task: Practice, answer: Any, expected: Any) -> PracticeResult:
    got = _number(answer)
    if got is None:
        return PracticeResult(False, _wrong_type(answer, "ett tall", task.example))
    if _close(got, expected, task.tolerance):
        return PracticeResult(True, f"Riktig: {_format(got)}. {task.praise}")
    for value, hint in task.mistakes:
        if _close(got, value, task.tolerance):
            return PracticeResult(False, f"Ikke helt: Du fikk {_format(got)}. {hint}")
    return PracticeResult(False, f"Ikke helt: Du fikk {_format(got)}. Prøv igjen. Svaret skal ha formen {task.example}")


def _check_text(task: Practice, answer: Any, expected: Any) -> PracticeResult:
    if not isinstance(answer, str):
        return PracticeResult(False, _wrong_type(answer, "en tekst (et navn fra tabellen)", task.example))
    if answer.strip().lower() == str(expected).strip().lower():
        return PracticeResult(True, f"Riktig: «{answer.strip()}». {task.praise}")
    for value, hint in task.mistakes:
        if answer.strip().lower() == str(value).strip().lower():
            return PracticeResult(False, f"Ikke helt: Du fikk «{answer.strip()}». {hint}")
    return PracticeResult(False, f"Ikke helt: Du fikk «{answer.strip()}». Prøv igjen. Svaret skal ha formen {task.example}")


def _check_column(task: Practice, answer: Any, expected: Any) -> PracticeResult:
    if _is_table(answer):
        return PracticeResult(
            False,
            "Svaret ditt er en hel tabell, men her skal du ha én kolonne. "
            f"Skriv navnet på kolonnen i hakeparenteser. Svaret skal ha formen {task.example}",
        )
    if not _is_column(answer):
        return PracticeResult(False, _wrong_type(answer, "en kolonne (en rekke med tall)", task.example))
    got = list(answer.tolist())
    if any(_is_blank(v) for v in got):
        return PracticeResult(False, NOT_YET, answered=False)
    wanted = list(expected.tolist())
    index_ok = not task.compare_index or [str(i) for i in answer.index] == [str(i) for i in expected.index]
    if _same_values(got, wanted, task.tolerance) and index_ok:
        return PracticeResult(True, f"Riktig. {task.praise}")
    if task.compare_index and not index_ok:
        return PracticeResult(
            False,
            f"Ikke helt: Radnavnene er {', '.join(map(str, answer.index))}, "
            f"men skal være {', '.join(map(str, expected.index))}. Sjekk at du regner på riktig tabell, "
            "og at du grupperer etter riktig kolonne hvis du bruker .groupby(). "
            f"Svaret skal ha formen {task.example}",
        )
    return PracticeResult(
        False,
        f"Ikke helt: Kolonnen din har verdiene {', '.join(_format(v) for v in got[:8])}. "
        f"Sjekk at du har valgt riktig kolonne og riktig utregning. Svaret skal ha formen {task.example}",
    )


def _check_table(task: Practice, answer: Any, expected: Any) -> PracticeResult:
    if not _is_table(answer):
        return PracticeResult(False, _wrong_type(answer, "en tabell (en DataFrame)", task.example))
    present = [str(c) for c in answer.columns]
    for column in task.columns:
        if column not in present:
            close = difflib.get_close_matches(column, present, n=1)
            hint = f" Mente du «{column}» og ikke «{close[0]}»? Sjekk stavemåten." if close else ""
            return PracticeResult(
                False,
                f"Tabellen mangler kolonnen «{column}». Kolonnene den har, er: {', '.join(present) or 'ingen'}.{hint}",
            )
    for column in task.columns:
        if any(_is_blank(v) for v in answer[column].tolist()):
            return PracticeResult(False, NOT_YET, answered=False)
    if len(answer) != len(expected):
        return PracticeResult(False, f"Ikke helt: Tabellen har {len(answer)} rader, men skal ha {len(expected)}.")
    for column in task.columns:
        if not _same_values(list(answer[column].tolist()), list(expected[column].tolist()), task.tolerance):
            return PracticeResult(
                False,
                f"Ikke helt: Kolonnen «{column}» har ikke de verdiene (eller den rekkefølgen) den skal ha. "
                f"Svaret skal ha formen {task.example}",
            )
    return PracticeResult(True, f"Riktig. {task.praise}")


_CHECKERS: dict[str, Callable[[Practice, Any, Any], PracticeResult]] = {
    NUMBER: _check_number,
    TEXT: _check_text,
    COLUMN: _check_column,
    TABLE: _check_table,
}


def check(task: Practice, answer: Any, expected: Any) -> PracticeResult:
    """Compare ``answer`` with ``expected`` for ``task``; never raises, always a Norwegian message."""
    if _is_blank(answer):
        return PracticeResult(False, NOT_YET, answered=False)
    try:
        return _CHECKERS[task.kind](task, answer, expected)
    except Exception:  # a student's value can be anything; the message must still come
        return PracticeResult(
            False,
            f"Svaret ditt kunne ikke sjekkes (det er av typen {type(answer).__name__}). Svaret skal ha formen {task.example}",
        )


# --- The practice tasks of lesson 2 ---------------------------------------------------------

PRACTICES: dict[str, Practice] = {
    p.key: p
    for p in (
        Practice(
            "kolonne",
            COLUMN,
            example='årsverk["kolonnenavn"]',
            praise="Med tabell[\"kolonne\"] henter du én kolonne. Den kan du så regne videre med.",
        ),
        Practice(
            "loc",
            NUMBER,
            example='årsverk.loc[år, "lønnede_årsverk"] - årsverk.loc[år, "lønnede_årsverk"]',
            praise="Med .loc[rad, kolonne] henter du ett tall, og to slike tall kan du trekke fra eller legge sammen.",
            mistakes=(
                (91561, "Det er tallet for 2017 alene. Trekk fra tallet for 2016."),
                (90893, "Det er tallet for 2016 alene. Trekk det fra tallet for 2017."),
                (-668, "Du har trukket fra i feil rekkefølge: Ta 2017 minus 2016."),
            ),
        ),
        Practice(
            "sum",
            NUMBER,
            example='finansiering["kolonnenavn"].sum()',
            praise="Med .sum() legger du sammen alle tallene i en kolonne. Summen blir 100,1 og ikke 100 fordi hver andel er rundet.",
        ),
        Practice(
            "snitt",
            NUMBER,
            example='innsats["kolonnenavn"].mean()',
            praise="Med .mean() finner du gjennomsnittet: summen delt på antall rader.",
            mistakes=(
                (41770, "Det er summen. Bruk .mean() i stedet for .sum()."),
                (197.67, "Det er gjennomsnittet av antall frivillige. Her skal du bruke kolonnen timer."),
            ),
        ),
        Practice(
            "telle",
            NUMBER,
            example='(innsats["kolonnenavn"] >= 1000).sum()',
            praise=(
                "Sammenligningen gir True eller False for hver rad, og .sum() teller hvor mange som er True. "
                "Samme sammenligning kan du lagre som en ny kolonne med True og False."
            ),
            mistakes=((2, "Du har telt områdene med færre enn 5000 timer. Bruk >= 5000."),),
        ),
        Practice(
            "andel",
            NUMBER,
            example='100 * (undersøkelse["kolonnenavn"] >= 3).mean()',
            praise="Gjennomsnittet av en kolonne med True og False er andelen som er True. Ganget med 100 blir det prosent.",
            tolerance=0.05,
        ),
        Practice(
            "sortere",
            TABLE,
            example='innsats.sort_values("kolonnenavn", ascending=False)',
            praise="Med .sort_values() sorterer du tabellen, og ascending=False setter den største verdien først.",
            columns=("område", "frivillige"),
        ),
        Practice(
            "finn_navn",
            TEXT,
            example='innsats.set_index("område")["kolonnenavn"].idxmin()',
            praise=(
                ".idxmin() gir radnavnet der verdien er minst, og .idxmax() radnavnet der den er størst. "
                "Derfor gjorde vi område til radnavn med .set_index() først."
            ),
            mistakes=(("idrett", "Idrett har flest frivillige. Her skal du finne det området som har færrest: Bruk .idxmin()."),),
        ),
        Practice(
            "gruppere",
            COLUMN,
            example='undersøkelse.groupby("kolonne_å_gruppere_etter")["kolonne_å_regne_på"].mean()',
            praise="Med .groupby() deler du radene i grupper og regner ut gjennomsnittet for hver gruppe.",
            compare_index=True,
        ),
        Practice(
            "ny_kolonne",
            TABLE,
            example='tabell["ny_kolonne"] = tabell["kolonne_a"] / tabell["kolonne_b"]',
            praise="Når du regner med to kolonner, skjer utregningen rad for rad, og resultatet kan lagres som en ny kolonne.",
            columns=("timer_per_frivillig",),
        ),
        Practice(
            "lage_tabell",
            TABLE,
            example='pd.DataFrame({"kolonnenavn": en_liste, "kolonnenavn_2": en_annen_liste})',
            praise="En ordbok med krøllparenteser blir en tabell: Hver nøkkel blir et kolonnenavn, og hver liste blir kolonnens verdier.",
            columns=("organisasjon", "medlemmer"),
        ),
        Practice(
            "snitt_tabell",
            COLUMN,
            example="tabell.mean()",
            praise="Når du bruker .mean() på en hel tabell, får du gjennomsnittet av hver kolonne.",
            compare_index=True,
        ),
    )
}

# The values of the small tables the student builds in lesson 2 (oppdiktede tall).
ORGANISASJONER = ["Frivilligsentralen", "Idrettslaget", "Pensjonistforeningen"]
MEDLEMMER = [40, 310, 95]
TILFREDSHET = {"møte 1": [4, 3, 5], "møte 2": [2, 4, 3]}


def _innsats():
    from course.datasets import load

    return load("oppdiktet_frivillig_innsats")


def expected(key: str) -> Any:
    """The right answer to practice task ``key``, computed from the course's data."""
    import pandas as pd

    from course.datasets import load

    if key == "kolonne":
        return load("ssb_lonnede_arsverk").set_index("år")["lønnede_årsverk"]
    if key == "loc":
        arsverk = load("ssb_lonnede_arsverk").set_index("år")
        return arsverk.loc[2017, "lønnede_årsverk"] - arsverk.loc[2016, "lønnede_årsverk"]
    if key == "sum":
        return load("ssb_finansiering_2018")["andel_prosent"].sum()
    if key == "snitt":
        return _innsats()["timer"].mean()
    if key == "telle":
        return (_innsats()["timer"] >= 5000).sum()
    if key == "andel":
        return 100 * (load("oppdiktet_innbyggerundersokelse")["vil_bidra"] >= 4).mean()
    if key == "sortere":
        return _innsats().sort_values("frivillige", ascending=False)
    if key == "finn_navn":
        return _innsats().set_index("område")["frivillige"].idxmin()
    if key == "gruppere":
        return load("oppdiktet_innbyggerundersokelse").groupby("bydel")["vil_bidra"].mean()
    if key == "ny_kolonne":
        frame = _innsats()
        frame["timer_per_frivillig"] = frame["timer"] / frame["frivillige"]
        return frame
    if key == "lage_tabell":
        return pd.DataFrame({"organisasjon": ORGANISASJONER, "medlemmer": MEDLEMMER})
    if key == "snitt_tabell":
        return pd.DataFrame(TILFREDSHET).mean()
    raise KeyError(key)


def check_key(key: str, answer: Any) -> PracticeResult:
    """Check ``answer`` against practice task ``key``; an unknown key gets a message, not an error."""
    if key not in PRACTICES:
        return PracticeResult(
            False, f"Fant ingen øvelse som heter «{key}». Øvelsene heter: {', '.join(PRACTICES)}.", answered=False
        )
    return check(PRACTICES[key], answer, expected(key))


def sjekk(key: str, answer: Any) -> None:
    """Print the Norwegian feedback on ``answer`` to practice task ``key`` (for notebooks)."""
    print(check_key(key, answer).message)
