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
from typing import Any, Callable, Iterator, Mapping

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

    def entries(self, field: str, minimum: int = 1) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """Each item of a list of sub-entries, checked to be a mapping, with its label (``field[i]``)."""
        for i, value in enumerate(self.items(field, minimum)):
            label = f"{field}[{i}]"
            yield label, self.mapping(value, label)

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
    for label, raw in r.entries("options", minimum=2):
        options.append(
            models.Option(
                text=r.text("text", raw, f"{label}.text"),
                correct=r.flag("correct", raw, f"{label}.correct"),
                explanation=r.text("explanation", raw, f"{label}.explanation"),
            )
        )
    if sum(o.correct for o in options) != 1:
        raise r.error("options", "nøyaktig ett alternativ skal ha «correct: true».")
    # Shuffled here, once, so that widgets, tests and tools all read the order students see.
    return models.MultipleChoice(id=r.entry, question=r.text("question"), options=tuple(options)).shuffled()


def _sorting(r: _Reader) -> models.SortingTask:
    categories = []
    for i, value in enumerate(r.items("categories", minimum=2)):
        if not isinstance(value, str) or not value.strip():
            raise r.error(f"categories[{i}]", f"må være en tekst som ikke er tom, men er {_describe(value)}.")
        categories.append(value.strip())
    if len(set(categories)) != len(categories):
        raise r.error("categories", "den samme kategorien står der mer enn én gang.")
    cases = []
    for label, raw in r.entries("cases"):
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


def _rating(r: _Reader, raw: Mapping[str, Any], field: str, label: str, low: int, high: int) -> int:
    if field not in raw:
        raise r.error(label, f"feltet mangler. Legg det til med et helt tall fra {low} til {high}.")
    value = raw[field]
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise r.error(label, f"må være et helt tall fra {low} til {high}, men er {_describe(value)}.")
    return value


def _stakeholder_grid(r: _Reader) -> models.StakeholderGrid:
    actors = []
    for label, raw in r.entries("actors", minimum=2):
        actors.append(
            models.Actor(
                name=r.text("name", raw, f"{label}.name"),
                description=r.text("description", raw, f"{label}.description"),
                power=_rating(r, raw, "power", f"{label}.power", models.GRID_MIN, models.GRID_MAX),
                interest=_rating(r, raw, "interest", f"{label}.interest", models.GRID_MIN, models.GRID_MAX),
                target_group=r.flag("target_group", raw, f"{label}.target_group"),
            )
        )
    if len({a.name for a in actors}) != len(actors):
        raise r.error("actors", "to aktører har samme navn. Gi hver aktør et eget navn.")
    if sum(a.target_group for a in actors) != 1:
        raise r.error("actors", "nøyaktig én aktør skal være målgruppen («target_group: true»).")
    advice = r.mapping(r.data.get("advice"), "advice")
    unknown = set(advice) - set(models.QUADRANTS)
    if unknown:
        raise r.error("advice", f"ukjent kvadrant «{sorted(unknown)[0]}». Bruk: {', '.join(models.QUADRANTS)}.")
    return models.StakeholderGrid(
        id=r.entry,
        title=r.text("title"),
        case=r.text("case"),
        actors=tuple(actors),
        advice={key: r.text(key, advice, f"advice.{key}") for key in models.QUADRANTS},
        target_low_power=r.text("target_low_power"),
        target_high_power=r.text("target_high_power"),
    )


def _self_assessment(r: _Reader) -> models.SelfAssessment:
    scale = r.items("scale")
    if len(scale) != models.SCALE_MAX - models.SCALE_MIN + 1:
        raise r.error("scale", f"må ha nøyaktig {models.SCALE_MAX} trinn (ett for hvert tall fra {models.SCALE_MIN} til {models.SCALE_MAX}).")
    for i, value in enumerate(scale):
        if not isinstance(value, str) or not value.strip():
            raise r.error(f"scale[{i}]", f"må være en tekst som ikke er tom, men er {_describe(value)}.")
    points = []
    for label, raw in r.entries("points", minimum=2):
        statements = raw.get("statements")
        if not isinstance(statements, list) or not statements:
            raise r.error(f"{label}.statements", "må være en liste med minst én påstand.")
        points.append(
            models.AssessmentPoint(
                name=r.text("name", raw, f"{label}.name"),
                statements=tuple(
                    r.text(j, dict(enumerate(statements)), f"{label}.statements[{j}]") for j in range(len(statements))
                ),
                advice=r.text("advice", raw, f"{label}.advice"),
            )
        )
    if len({p.name for p in points}) != len(points):
        raise r.error("points", "to punkter har samme navn. Gi hvert punkt et eget navn.")
    return models.SelfAssessment(
        id=r.entry,
        title=r.text("title"),
        instructions=r.text("instructions"),
        scale=tuple(s.strip() for s in scale),
        points=tuple(points),
    )


def _scale(r: _Reader, field: str) -> tuple[str, ...]:
    values = r.items(field, minimum=5)
    if len(values) != 5:
        raise r.error(field, f"må ha nøyaktig fem beskrivelser (for verdiene 1 til 5), men har {len(values)}.")
    for i, value in enumerate(values):
        if not isinstance(value, str) or not value.strip():
            raise r.error(f"{field}[{i}]", f"må være en tekst som ikke er tom, men er {_describe(value)}.")
    return tuple(v.strip() for v in values)


def _risk_register(r: _Reader) -> models.RiskRegister:
    risks, example = [], []
    for label, raw in r.entries("risks", minimum=2):
        risks.append(
            models.Risk(
                title=r.text("title", raw, f"{label}.title"),
                description=r.text("description", raw, f"{label}.description"),
                mitigation=r.text("mitigation", raw, f"{label}.mitigation"),
            )
        )
        pair = []
        for field in ("example_likelihood", "example_consequence"):
            value = raw.get(field)
            if not isinstance(value, int) or isinstance(value, bool) or value not in models.RISK_SCALE:
                raise r.error(f"{label}.{field}", f"må være et helt tall fra 1 til 5, men er {_describe(value)}.")
            pair.append(value)
        example.append((pair[0], pair[1]))
    top = r.data.get("top", min(3, len(risks)))
    if not isinstance(top, int) or isinstance(top, bool) or not 1 <= top <= len(risks):
        raise r.error("top", f"må være et helt tall fra 1 til {len(risks)}, men er {_describe(top)}.")
    return models.RiskRegister(
        id=r.entry,
        title=r.text("title"),
        instructions=r.text("instructions"),
        project=r.text("project"),
        likelihood_scale=_scale(r, "likelihood_scale"),
        consequence_scale=_scale(r, "consequence_scale"),
        risks=tuple(risks),
        example=tuple(example),
        top=top,
    )


def _branching_case(r: _Reader) -> models.BranchingCase:
    """A case graph: every ``next`` exists, every node is reachable from ``start``, no cycles."""
    nodes: list[models.CaseNode] = []
    where: dict[str, str] = {}  # node id -> its label in the file, for messages
    for label, raw in r.entries("nodes", minimum=2):
        node_id = r.text("id", raw, f"{label}.id")
        label = f"{label} (noden «{node_id}»)"
        if node_id in where:
            raise r.error(f"{label}.id", f"noden «{node_id}» finnes allerede som {where[node_id]}. Gi hver node sin egen id.")
        stage = r.text("stage", raw, f"{label}.stage")
        if stage not in models.STAGES:
            raise r.error(f"{label}.stage", f"«{stage}» er ikke en fase i den doble diamanten. Bruk en av: {', '.join(models.STAGES)}.")
        if ("choices" in raw) == ("summary" in raw):
            raise r.error(label, "en node skal ha enten «choices» (valg) eller «summary» (en slutt med oppsummering), ikke begge eller ingen.")
        choices = []
        if "choices" in raw:
            values = raw["choices"]
            if not isinstance(values, list) or not values:
                raise r.error(f"{label}.choices", f"må være en liste med minst ett valg, men er {_describe(values)}.")
            for j, choice in enumerate(values):
                clabel = f"{label}.choices[{j}]"
                choice = r.mapping(choice, clabel)
                choices.append(
                    models.CaseChoice(
                        text=r.text("text", choice, f"{clabel}.text"),
                        consequence=r.text("consequence", choice, f"{clabel}.consequence"),
                        next=r.text("next", choice, f"{clabel}.next"),
                    )
                )
        summary = r.text("summary", raw, f"{label}.summary") if "summary" in raw else ""
        nodes.append(models.CaseNode(node_id, stage, r.text("situation", raw, f"{label}.situation"), tuple(choices), summary))
        where[node_id] = label
    start = r.text("start")
    if start not in where:
        raise r.error("start", f"startnoden «{start}» finnes ikke blant nodene. Bruk id-en til en av nodene.")
    by_id = {n.id: n for n in nodes}
    for node in nodes:
        for j, choice in enumerate(node.choices):
            if choice.next not in by_id:
                raise r.error(
                    f"{where[node.id]}.choices[{j}].next",
                    f"valget peker til noden «{choice.next}», som ikke finnes. Skriv id-en til en node som finnes, eller legg til noden.",
                )
    # Depth-first search from the start: a node met again while still on the stack closes a cycle.
    state: dict[str, str] = {}
    stack = [(start, 0)]
    trail = [start]
    state[start] = "open"
    while stack:
        node_id, j = stack.pop()
        node = by_id[node_id]
        if j < len(node.choices):
            stack.append((node_id, j + 1))
            target = node.choices[j].next
            if state.get(target) == "open":
                ring = " → ".join([*trail[trail.index(target):], target])
                raise r.error(
                    f"{where[node_id]}.choices[{j}].next",
                    f"valget fører tilbake til noden «{target}», så casen går i ring ({ring}). "
                    "En case må alltid føre videre mot en slutt: la valget peke til en ny node.",
                )
            if target not in state:
                state[target] = "open"
                trail.append(target)
                stack.append((target, 0))
        else:
            state[node_id] = "done"
            trail.pop()
    for node in nodes:
        if node.id not in state:
            raise r.error(
                where[node.id],
                f"noden «{node.id}» kan ikke nås fra startnoden «{start}»: ingen valg peker til den. "
                "La et valg peke til noden, eller fjern den.",
            )
    return models.BranchingCase(id=r.entry, title=r.text("title"), intro=r.text("intro"), start=start, nodes=tuple(nodes))


def _texts(r: _Reader, raw: Any, label: str, minimum: int = 2) -> tuple[str, ...]:
    """A list of distinct, non-empty texts (for instance the options of a column)."""
    if not isinstance(raw, list) or len(raw) < minimum:
        raise r.error(label, f"må være en liste med minst {minimum} tekster, men er {_describe(raw)}.")
    values = []
    for i, value in enumerate(raw):
        if not isinstance(value, str) or not value.strip():
            raise r.error(f"{label}[{i}]", f"må være en tekst som ikke er tom, men er {_describe(value)}.")
        values.append(value.strip())
    if len(set(values)) != len(values):
        raise r.error(label, "den samme teksten står der mer enn én gang.")
    return tuple(values)


def _matching_table(r: _Reader) -> models.MatchingTable:
    columns = []
    for label, raw in r.entries("columns"):
        columns.append(
            models.Column(title=r.text("title", raw, f"{label}.title"), options=_texts(r, raw.get("options"), f"{label}.options"))
        )
    rows = []
    for label, raw in r.entries("rows"):
        name = r.text("name", raw, f"{label}.name")
        cells_raw = raw.get("cells")
        if not isinstance(cells_raw, list) or len(cells_raw) != len(columns):
            raise r.error(f"{label}.cells", f"må være en liste med én celle for hver av de {len(columns)} kolonnene.")
        cells = []
        for j, (column, cell) in enumerate(zip(columns, cells_raw)):
            cell_label = f"{label}.cells[{j}]"
            cell = r.mapping(cell, cell_label)
            answer = r.text("answer", cell, f"{cell_label}.answer")
            if answer not in column.options:
                raise r.error(
                    f"{cell_label}.answer",
                    f"«{answer}» er ikke et av alternativene i kolonnen «{column.title}». Bruk et av dem, skrevet nøyaktig likt.",
                )
            cells.append(models.Cell(answer=answer, explanation=r.text("explanation", cell, f"{cell_label}.explanation")))
        rows.append(models.Row(name=name, cells=tuple(cells)))
    return models.MatchingTable(
        id=r.entry, title=r.text("title"), instructions=r.text("instructions"), columns=tuple(columns), rows=tuple(rows)
    )


def _ladder_task(r: _Reader) -> models.LadderTask:
    groups = _texts(r, r.data["groups"], "groups") if "groups" in r.data else ()
    rungs = []
    for label, raw in r.entries("rungs", minimum=3):
        group = r.text("group", raw, f"{label}.group") if groups else ""
        if groups and group not in groups:
            raise r.error(f"{label}.group", f"«{group}» er ikke en av gruppene ({', '.join(groups)}). Bruk en av dem.")
        rungs.append(models.Rung(name=r.text("name", raw, f"{label}.name"), description=r.text("description", raw, f"{label}.description"), group=group))
    names = [rung.name for rung in rungs]
    if len({n.lower() for n in names}) != len(names):
        raise r.error("rungs", "det samme trinnet står der mer enn én gang.")
    scenarios = []
    for label, raw in r.entries("scenarios"):
        answer = r.text("answer", raw, f"{label}.answer")
        if answer not in names:
            raise r.error(
                f"{label}.answer",
                f"«{answer}» er ikke et trinn på stigen ({', '.join(names)}). Bruk navnet på et trinn, skrevet nøyaktig likt.",
            )
        scenarios.append(models.Scenario(text=r.text("text", raw, f"{label}.text"), answer=answer, explanation=r.text("explanation", raw, f"{label}.explanation")))
    return models.LadderTask(
        id=r.entry,
        title=r.text("title"),
        instructions=r.text("instructions"),
        ladder=r.text("ladder"),
        rungs=tuple(rungs),
        scenarios=tuple(scenarios),
    )


KINDS: dict[str, Callable[[_Reader], Any]] = {
    "estimate": _estimate,
    "matching_table": _matching_table,
    "multiple_choice": _multiple_choice,
    "participation_ladder": _ladder_task,
    "sorting": _sorting,
    "term": _term,
    "stakeholder_grid": _stakeholder_grid,
    "self_assessment": _self_assessment,
    "risk_register": _risk_register,
    "branching_case": _branching_case,
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
