"""Load and validate the course content under ``course/content/``.

Every activity, question and glossary entry of the course is data in a YAML
file in this package. Each file maps an id to an entry, and every entry names
its ``kind``. The ids are unique across all files, so that a notebook, a widget
and a test can all ask for the same entry by id.

Validation is written by hand rather than with a schema library because the
people who edit these files are course authors, not programmers: every error
must be in Norwegian and must name the file, the entry and the field, and say
what to do. A schema library's generic English messages would not.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Callable, Mapping

import yaml

from course import models



class ContentError(ValueError):
    """A content file is missing, unreadable or has a malformed entry.

    The message is Norwegian and names the file, the entry and the field.
    """

    def __init__(self, file: str, message: str, entry: str | None = None, field: str | None = None):
        self.file = file
        self.entry = entry
        self.field = field
        where = f"innholdsfilen «{file}»"
        if entry is not None:
            where += f", oppføringen «{entry}»"
        if field is not None:
            where += f", feltet «{field}»"
        super().__init__(f"Feil i {where}: {message}")


@dataclass
class _Reader:
    """Reads typed fields from one raw entry and reports errors precisely."""

    file: str
    entry: str
    data: Mapping[str, Any]

    def error(self, field: str | None, message: str) -> ContentError:
        return ContentError(self.file, message, entry=self.entry, field=field)

    def text(self, field: str, data: Mapping[str, Any] | None = None, label: str | None = None) -> str:
        data = self.data if data is None else data
        label = label or field
        if field not in data:
            raise self.error(label, "feltet mangler. Legg det til med en tekst.")
        value = data[field]
        if not isinstance(value, str) or not value.strip():
            raise self.error(label, f"må være en tekst som ikke er tom, men er {_describe(value)}.")
        return value.strip()

    def flag(self, field: str, data: Mapping[str, Any], label: str) -> bool:
        value = data.get(field, False)
        if not isinstance(value, bool):
            raise self.error(label, f"må være true eller false, men er {_describe(value)}.")
        return value

    def items(self, field: str, minimum: int = 1) -> list[Any]:
        if field not in self.data:
            raise self.error(field, "feltet mangler. Legg det til som en liste.")
        value = self.data[field]
        if not isinstance(value, list):
            raise self.error(field, f"må være en liste, men er {_describe(value)}.")
        if len(value) < minimum:
            raise self.error(field, f"må ha minst {minimum} elementer, men har {len(value)}.")
        return value

    def mapping(self, value: Any, label: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.error(label, f"må være en oppføring med felter, men er {_describe(value)}.")
        return value


def _describe(value: Any) -> str:
    if value is None:
        return "tom"
    if isinstance(value, bool):
        return f"sannhetsverdien {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"tallet {value}"
    if isinstance(value, str):
        return "en tom tekst" if not value.strip() else f"teksten «{value}»"
    if isinstance(value, list):
        return "en liste"
    if isinstance(value, dict):
        return "en oppføring med felter"
    return f"en verdi av typen {type(value).__name__}"


def _multiple_choice(r: _Reader) -> models.MultipleChoice:
    options = []
    for i, raw in enumerate(r.items("options", minimum=2)):
        label = f"options[{i}]"
        raw = r.mapping(raw, label)
        options.append(
            models.Option(
                text=r.text("text", raw, f"{label}.text"),
                correct=r.flag("correct", raw, f"{label}.correct"),
                explanation=r.text("explanation", raw, f"{label}.explanation"),
            )
        )
    if sum(o.correct for o in options) != 1:
        raise r.error("options", "nøyaktig ett alternativ skal ha «correct: true».")
    return models.MultipleChoice(id=r.entry, question=r.text("question"), options=tuple(options))


def _sorting(r: _Reader) -> models.SortingTask:
    categories = []
    for i, value in enumerate(r.items("categories", minimum=2)):
        if not isinstance(value, str) or not value.strip():
            raise r.error(f"categories[{i}]", f"må være en tekst som ikke er tom, men er {_describe(value)}.")
        categories.append(value.strip())
    if len(set(categories)) != len(categories):
        raise r.error("categories", "den samme kategorien står der mer enn én gang.")
    cases = []
    for i, raw in enumerate(r.items("cases")):
        label = f"cases[{i}]"
        raw = r.mapping(raw, label)
        answer = r.text("answer", raw, f"{label}.answer")
        if answer not in categories:
            raise r.error(
                f"{label}.answer",
                f"«{answer}» er ikke en av kategoriene ({', '.join(categories)}). "
                "Bruk en av dem, skrevet nøyaktig likt.",
            )
        cases.append(
            models.Case(
                text=r.text("text", raw, f"{label}.text"),
                answer=answer,
                explanation=r.text("explanation", raw, f"{label}.explanation"),
            )
        )
    return models.SortingTask(
        id=r.entry,
        title=r.text("title"),
        instructions=r.text("instructions"),
        categories=tuple(categories),
        cases=tuple(cases),
    )


def _read_number(r: _Reader, field: str) -> float:
    if field not in r.data:
        raise r.error(field, "feltet mangler. Legg det til med et tall.")
    value = r.data[field]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise r.error(field, f"må være et tall, men er {_describe(value)}.")
    return float(value)


def _estimate(r: _Reader) -> models.Estimate:
    minimum, maximum = _read_number(r, "minimum"), _read_number(r, "maximum")
    if minimum >= maximum:
        raise r.error("maximum", f"må være større enn minimum ({minimum:g}), men er {maximum:g}.")
    answer = _read_number(r, "answer")
    if not minimum <= answer <= maximum:
        raise r.error("answer", f"{answer:g} ligger utenfor skalaen fra {minimum:g} til {maximum:g}.")
    tolerance = _read_number(r, "tolerance")
    if tolerance <= 0:
        raise r.error("tolerance", f"må være større enn 0, men er {tolerance:g}.")
    return models.Estimate(
        id=r.entry,
        question=r.text("question"),
        answer=answer,
        unit=r.text("unit"),
        minimum=minimum,
        maximum=maximum,
        tolerance=tolerance,
        explanation=r.text("explanation"),
        source=r.text("source"),
    )


def _term(r: _Reader) -> models.Term:
    return models.Term(
        id=r.entry,
        term=r.text("term"),
        definition=r.text("definition"),
        source=r.text("source"),
    )


KINDS: dict[str, Callable[[_Reader], Any]] = {
    "estimate": _estimate,
    "multiple_choice": _multiple_choice,
    "sorting": _sorting,
    "term": _term,
}


def parse(file: str, text: str) -> dict[str, Any]:
    """Parse and validate one content file's text; return its entries by id."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" på linje {mark.line + 1}" if mark is not None else ""
        raise ContentError(file, f"filen er ikke gyldig YAML{line}. Sjekk innrykk, kolon og anførselstegn.") from exc
    if not isinstance(raw, dict) or not raw:
        raise ContentError(file, "filen må inneholde minst én oppføring (id: felter).")
    entries = {}
    for entry_id, data in raw.items():
        if not isinstance(entry_id, str):
            raise ContentError(file, f"id-en {entry_id!r} må være en tekst.")
        if not isinstance(data, dict):
            raise ContentError(file, f"må være en oppføring med felter, men er {_describe(data)}.", entry=entry_id)
        reader = _Reader(file, entry_id, data)
        kind = reader.text("kind")
        if kind not in KINDS:
            raise reader.error("kind", f"«{kind}» er ikke en kjent type. Bruk en av: {', '.join(sorted(KINDS))}.")
        entries[entry_id] = KINDS[kind](reader)
    return entries


@cache
def load_all() -> dict[str, Any]:
    """Every entry of every content file, by id; validated once per process."""
    entries: dict[str, Any] = {}
    origin: dict[str, str] = {}
    files = sorted(
        (f for f in (resources.files("course") / "content").iterdir() if f.name.endswith(".yaml")),
        key=lambda f: f.name,
    )
    for f in files:
        for entry_id, entry in parse(f.name, f.read_text(encoding="utf-8")).items():
            if entry_id in entries:
                raise ContentError(f.name, f"id-en finnes også i «{origin[entry_id]}». Gi den et annet navn.", entry=entry_id)
            entries[entry_id] = entry
            origin[entry_id] = f.name
    return entries


def get(entry_id: str, kind: type | None = None) -> Any:
    """The entry with this id; raises a Norwegian KeyError if there is none."""
    entries = load_all()
    if entry_id not in entries:
        raise KeyError(f"Fant ingen aktivitet eller begrep med id-en «{entry_id}». Sjekk stavemåten.")
    entry = entries[entry_id]
    if kind is not None and not isinstance(entry, kind):
        raise TypeError(f"«{entry_id}» er en annen type innhold enn det som ble bedt om.")
    return entry
