"""The syllabus docs/emneplan.md: its table from learning outcomes to lessons and exercises matches the repository,
its reading list adds up to the page budget and the workload, and its assessment plan names what a faculty needs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT
from course import loader

PAGE = ROOT / "docs" / "emneplan.md"
LITERATURE = ROOT / "docs" / "litteratur.md"
CODE = re.compile(r"^[KFG]\d+$")
NAME = re.compile(r"`([^`]+)`")


@dataclass
class Row:
    code: str
    lessons: list[str]
    activities: list[str]
    items: list[str]


def table(text: str) -> list[Row]:
    """The rows of the outcome table: | code | lessons | activities | exercise items |."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and CODE.match(cells[0]):
            rows.append(Row(cells[0], *(NAME.findall(c) for c in cells[1:])))
    return rows


def outcomes(text: str) -> list[str]:
    """The codes of the learning outcomes defined in the text (``- **K1** ...``)."""
    return re.findall(r"^- \*\*([KFG]\d+)\*\*", text, re.M)


@cache
def graded_cells(exercise: str) -> frozenset[str]:
    """The nbgrader ids of the cells that give points in a solution notebook."""
    path = ROOT / "solutions" / exercise / f"{exercise}.ipynb"
    if not path.exists():
        return frozenset()
    ids = set()
    for cell in nbformat.read(path, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("points"):
            ids.add(meta["grade_id"])
    return frozenset(ids)


def problems(text: str) -> list[str]:
    """Everything in the syllabus that does not match the repository."""
    found = []
    rows = table(text)
    defined = outcomes(text)
    activities = loader.load_all()
    if not rows:
        return ["the outcome table is missing"]
    for code in defined:
        if code not in {r.code for r in rows}:
            found.append(f"{code}: defined but not in the table")
    for row in rows:
        if row.code not in defined:
            found.append(f"{row.code}: in the table but not defined as a learning outcome")
        if not row.lessons:
            found.append(f"{row.code}: taught in no lesson")
        for lesson in row.lessons:
            if not (ROOT / "lessons" / f"{lesson}.ipynb").exists():
                found.append(f"{row.code}: no lesson lessons/{lesson}.ipynb")
        for activity in row.activities:
            if activity not in activities:
                found.append(f"{row.code}: no activity {activity} in course/content/")
        if not row.items:
            found.append(f"{row.code}: assessed in no exercise")
        for item in row.items:
            exercise, _, cell = item.partition("/")
            if cell not in graded_cells(exercise):
                found.append(f"{row.code}: {item} is not a graded cell of solutions/{exercise}/{exercise}.ipynb")
    return found


def test_syllabus_table_matches_the_repository():
    """Does every lesson, activity and exercise item in the table exist, and is every outcome assessed?"""
    assert problems(PAGE.read_text(encoding="utf-8")) == []


def test_every_lesson_and_exercise_appears_in_the_table():
    rows = table(PAGE.read_text(encoding="utf-8"))
    taught = {lesson for r in rows for lesson in r.lessons}
    assessed = {item.partition("/")[0] for r in rows for item in r.items}
    assert taught == {p.stem for p in (ROOT / "lessons").glob("*.ipynb")}
    assert assessed == {p.name for p in (ROOT / "solutions").iterdir() if p.is_dir() and p.name.startswith("oppgave_")}


def test_every_category_of_the_framework_is_covered():
    codes = outcomes(PAGE.read_text(encoding="utf-8"))
    assert {c[0] for c in codes} == {"K", "F", "G"}, "kunnskap, ferdigheter and generell kompetanse"


GOOD_ROW = "| K1 | `01_hva_er_samskaping` | `l01_tre_parter` | `oppgave_01/test_1a` |"


@pytest.mark.parametrize(
    "bad_row, message",
    [
        ("| K1 | `99_finnes_ikke` | `l01_tre_parter` | `oppgave_01/test_1a` |", "no lesson lessons/99_finnes_ikke.ipynb"),
        ("| K1 | `01_hva_er_samskaping` | `l01_finnes_ikke` | `oppgave_01/test_1a` |", "no activity l01_finnes_ikke"),
        ("| K1 | `01_hva_er_samskaping` | `l01_tre_parter` | `oppgave_01/test_9z` |", "oppgave_01/test_9z is not a graded cell"),
        ("| K1 | `01_hva_er_samskaping` | `l01_tre_parter` | `oppgave_09/test_1a` |", "oppgave_09/test_1a is not a graded cell"),
        ("| K1 | `01_hva_er_samskaping` | `l01_tre_parter` | `oppgave_01/svar_1a` |", "oppgave_01/svar_1a is not a graded cell"),
        ("| K1 | `01_hva_er_samskaping` | `l01_tre_parter` | |", "K1: assessed in no exercise"),
        ("| K2 | `01_hva_er_samskaping` | `l01_tre_parter` | `oppgave_01/test_1a` |", "K1: defined but not in the table"),
    ],
)
def test_a_bad_row_is_found(bad_row: str, message: str):
    """Would the check catch a row naming a lesson, activity or item that does not exist, or an unassessed outcome?"""
    assert problems(f"- **K1** kan noe\n\n{GOOD_ROW}\n") == []
    found = problems(f"- **K1** kan noe\n\n{bad_row}\n")
    assert any(message in p for p in found), found


# --- The reading list («Pensum») -------------------------------------------------------------

LESSON_HEADING = re.compile(r"^### (\d+)\. ", re.M)
PAGE_RANGE = re.compile(r"(?:^|s\.\s*)(\d+)–(\d+)$")
HOURS = re.compile(r"^(\d+)(?:–(\d+))?$")


@dataclass
class Reading:
    lesson: int
    reference: str
    pages: str
    count: int


def section(text: str, title: str) -> str:
    """The body of the ``## title`` section, up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    return match.group(1) if match else ""


def lesson_blocks(text: str) -> dict[int, str]:
    """The text under each ``### N.`` heading of the reading list, up to the next ``###``, by lesson number."""
    blocks = {}
    for part in re.split(r"^(?=### )", section(text, "Pensum"), flags=re.M):
        heading = LESSON_HEADING.match(part)
        if heading:
            blocks[int(heading.group(1))] = part[heading.end():]
    return blocks


def readings(text: str) -> list[Reading]:
    """The required readings: the rows | reference | pages | count | under each lesson heading."""
    found = []
    for lesson, block in lesson_blocks(text).items():
        for line in block.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if line.startswith("|") and len(cells) == 3 and cells[2].isdigit():
                found.append(Reading(lesson, cells[0], cells[1], int(cells[2])))
    return found


def page_count(pages: str) -> int | None:
    """The number of pages a page cell names: «795–825», «kapittel 1–4, s. 5–19»; None for «hele …» or nothing."""
    match = PAGE_RANGE.search(pages)
    if match:
        first, last = int(match.group(1)), int(match.group(2))
        return last - first + 1 if last >= first else None
    return None


def stated_total(text: str) -> int | None:
    match = re.search(r"pensumet er til sammen (\d+) sider", section(text, "Pensum"))
    return int(match.group(1)) if match else None


def stated_budget(text: str) -> tuple[int, int] | None:
    match = re.search(r"innenfor rammen på (\d+)–(\d+) sider", section(text, "Pensum"))
    return (int(match.group(1)), int(match.group(2))) if match else None


def first_author_and_year(reference: str) -> tuple[str, str]:
    """(first author's surname or the title before the year, year) of «Surname, X. og … (2019). …»."""
    match = re.match(r"\s*([^,(]+?)\s*(?:,|\()[^()]*?\((\d{4}|udatert)", reference)
    if not match:
        return "", ""
    return match.group(1).split(" og ")[0].strip(), match.group(2)


def recommended(text: str) -> list[tuple[int, str, str]]:
    """(lesson, first author, year) of every text named after «Anbefalt:» in the reading list."""
    found = []
    for lesson, block in lesson_blocks(text).items():
        for paragraph in re.findall(r"^Anbefalt: (.*?)(?:\n\n|\Z)", block, re.M | re.S):
            for piece in paragraph.replace("\n", " ").split(";"):
                match = re.search(r"([A-ZÆØÅ][\wæøåÆØÅ.-]*)[^()]*?\((\d{4})", piece)
                if match:
                    found.append((lesson, match.group(1).rstrip("."), match.group(2)))
    return found


def literature_entries(text: str) -> list[str]:
    """The bullet entries of docs/litteratur.md, each joined onto one line."""
    entries, current = [], None
    for line in text.splitlines():
        if line.startswith("- "):
            current = [line[2:]]
            entries.append(current)
        elif current is not None and line.startswith("  "):
            current.append(line.strip())
        else:
            current = None
    return [" ".join(e) for e in entries]


def in_literature(author: str, year: str, entries: list[str]) -> bool:
    return any(e.startswith(author) and f"({year}" in e for e in entries)


def reading_problems(text: str, literature: str, lessons: int) -> list[str]:
    """Everything in the reading list that does not add up or cannot be found in the bibliography."""
    found = []
    rows = readings(text)
    blocks = lesson_blocks(text)
    entries = literature_entries(literature)
    for lesson in range(1, lessons + 1):
        if not any(r.lesson == lesson for r in rows):
            found.append(f"lesson {lesson}: no required reading")
    for lesson, block in blocks.items():
        stated = re.search(r"^Til sammen (\d+) sider\.", block, re.M)
        total = sum(r.count for r in rows if r.lesson == lesson)
        if not stated or int(stated.group(1)) != total:
            found.append(f"lesson {lesson}: the rows add up to {total} pages, the text says {stated and stated.group(1)}")
    for r in rows:
        counted = page_count(r.pages)
        if counted is None and not r.pages.startswith("hele"):
            found.append(f"lesson {r.lesson}: no page range in «{r.pages}» ({r.reference[:40]})")
        elif counted is not None and counted != r.count:
            found.append(f"lesson {r.lesson}: {r.pages} is {counted} pages, not {r.count} ({r.reference[:40]})")
        named = re.search(r"(\d+) sider", r.pages)
        if counted is None and named and int(named.group(1)) != r.count:
            found.append(f"lesson {r.lesson}: «{r.pages}» says {named.group(1)} pages, the count is {r.count}")
        author, year = first_author_and_year(r.reference)
        if not in_literature(author, year, entries):
            found.append(f"lesson {r.lesson}: {author} ({year}) is not in docs/litteratur.md")
    for lesson, author, year in recommended(text):
        if not in_literature(author, year, entries):
            found.append(f"lesson {lesson}: recommended {author} ({year}) is not in docs/litteratur.md")
    total = sum(r.count for r in rows)
    if stated_total(text) != total:
        found.append(f"the readings add up to {total} pages, the text says {stated_total(text)}")
    budget = stated_budget(text)
    if budget is None or not budget[0] <= total <= budget[1]:
        found.append(f"{total} pages is outside the stated budget {budget}")
    return found


# --- The workload («Arbeidsmengde») ----------------------------------------------------------


def hours(cell: str) -> tuple[int, int] | None:
    match = HOURS.match(cell.strip())
    if not match:
        return None
    low = int(match.group(1))
    return low, int(match.group(2) or low)


def workload_problems(text: str) -> list[str]:
    """Does the workload table add up, follow from the reading list, and match the proposed credits?"""
    found = []
    body = section(text, "Arbeidsmengde og forslag til omfang")
    rows = []
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 3 and hours(cells[2]):
            rows.append((cells[0], cells[1], hours(cells[2])))
    parts = [r for r in rows if r[0] != "Til sammen"]
    total = [r for r in rows if r[0] == "Til sammen"]
    if not parts or len(total) != 1:
        return ["the workload table needs its rows and one «Til sammen» row"]
    low, high = sum(r[2][0] for r in parts), sum(r[2][1] for r in parts)
    if total[0][2] != (low, high):
        found.append(f"the rows add up to {low}–{high} hours, «Til sammen» says {total[0][2]}")
    pages = sum(r.count for r in readings(text))
    reading = [r for r in parts if r[0].startswith("Lesing")]
    expected = (round(pages / 15), round(pages / 10))
    if not reading or f"{pages} sider" not in reading[0][1] or reading[0][2] != expected:
        found.append(f"the reading row should say {pages} sider and {expected[0]}–{expected[1]} hours (10–15 pages an hour)")
    credits = re.search(r"\*\*Forslag: (\d+) studiepoeng\.\*\*", body)
    if not credits:
        found.append("no proposed number of credits")
    elif not 25 * int(credits.group(1)) <= low <= high <= 30 * int(credits.group(1)):
        found.append(f"{low}–{high} hours is not 25–30 hours per credit for {credits.group(1)} credits")
    return found


# --- The assessment plan («Vurdering») -------------------------------------------------------

# What the assessment plan must say, each as patterns that must occur together in one paragraph or bullet
# (whitespace, line breaks included, is read as one space).
ASSESSMENT = {
    "the law it follows": [r"lov 8\. mars 2024 nr\. 9"],
    "vurderingsform": [r"Mappevurdering"],
    "karakterskala": [r"Karakterskala", r"A–F"],
    "arbeidskrav with a threshold": [r"Et arbeidskrav er godkjent", r"minst \d+ prosent av poengene"],
    "one new attempt": [r"Nytt forsøk", r"på nytt én gang"],
    "nbgrader's points and the grade": [r"Poengene i nbgrader", r"inngår ikke i karakteren", r"mappen alene"],
    "external examiner": [r"ekstern sensor", r"§ 11-6"],
    "begrunnelse with its deadline": [r"§ 11-8", r"innen én uke etter at sensurvedtaket er kunngjort"],
    "klage with its deadline": [r"§ 11-10", r"innen tre uker etter at eksamensresultatet er kunngjort"],
    "klagesensur": [r"§ 11-11", r"minst to nye sensorer"],
    "tilrettelegging, decided by the institution": [r"§ 10-5", r"institusjonen, ikke faglæreren"],
}
# Paragraphs of the repealed 2005 act on grades, appeals and deadlines (uhl. 2005 §§ 3-9, 4-8, 5-2, 5-3).
OLD_ACT = re.compile(r"§ (3-9|4-8|5-2|5-3)\b")


def assessment_problems(text: str) -> list[str]:
    body = section(text, "Vurdering")
    blocks = [" ".join(b.split()) for b in re.split(r"\n\s*\n|\n(?=- )", body) if b.strip()]
    found = [
        f"the assessment plan does not state {topic}"
        for topic, patterns in ASSESSMENT.items()
        if not any(all(re.search(p, b) for p in patterns) for b in blocks)
    ]
    found += [f"the assessment plan cites § {m} of the repealed 2005 act" for m in OLD_ACT.findall(body)]
    return found


def test_every_lesson_has_readings_that_add_up():
    """Does every lesson and seminar have readings whose page ranges, sums and bibliography entries agree?"""
    lessons = len(list((ROOT / "lessons").glob("*.ipynb")))
    text, literature = PAGE.read_text(encoding="utf-8"), LITERATURE.read_text(encoding="utf-8")
    assert len(readings(text)) >= lessons
    assert reading_problems(text, literature, lessons) == []


def test_the_workload_follows_from_the_reading_list():
    assert workload_problems(PAGE.read_text(encoding="utf-8")) == []


def test_the_assessment_plan_names_what_a_faculty_needs():
    assert assessment_problems(PAGE.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("| 795–825 | 31 |", "| 795–825 | 30 |", "795–825 is 31 pages, not 30"),
        ("| 21–53 | 33 |", "| se artikkelen | 33 |", "no page range in «se artikkelen»"),
        ("hele manuskriptet (19 sider) | 19 |", "hele manuskriptet (19 sider) | 20 |", "says 19 pages, the count is 20"),
        ("Til sammen 70 sider.", "Til sammen 71 sider.", "lesson 1: the rows add up to 70 pages, the text says 71"),
        ("pensumet er til sammen 427 sider", "pensumet er til sammen 430 sider", "the text says 430"),
        ("innenfor rammen på 400–500 sider", "innenfor rammen på 450–500 sider", "outside the stated budget"),
        ("| Bovaird, T. (2007).", "| Bovard, T. (2007).", "Bovard (2007) is not in docs/litteratur.md"),
        ("Anbefalt: Eden og Ackermann (1998)", "Anbefalt: Eden og Ackermann (1999)", "recommended Eden (1999)"),
    ],
)
def test_a_broken_reading_list_is_found(old: str, new: str, message: str):
    """Would the check catch a wrong page count, a missing range, a wrong sum, a total outside the budget, or a text not in the bibliography?"""
    text, literature = PAGE.read_text(encoding="utf-8"), LITERATURE.read_text(encoding="utf-8")
    assert old in text
    found = reading_problems(text.replace(old, new, 1), literature, 8)
    assert any(message in p for p in found), found


def test_a_lesson_without_readings_is_found():
    text, literature = PAGE.read_text(encoding="utf-8"), LITERATURE.read_text(encoding="utf-8")
    block = lesson_blocks(text)[5]
    assert block in text
    found = reading_problems(text.replace(block, "\n\nIngen tekster.\n\n"), literature, 8)
    assert "lesson 5: no required reading" in found


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("| 427 sider, 10–15 sider i timen | 28–43 |", "| 427 sider, 10–15 sider i timen | 30–43 |", "the reading row should say"),
        ("| Til sammen | | 127–146 |", "| Til sammen | | 127–150 |", "the rows add up to 127–146 hours"),
        ("4 000–5 000 ord | 60 |", "4 000–5 000 ord | 90 |", "is not 25–30 hours per credit"),
    ],
)
def test_a_broken_workload_is_found(old: str, new: str, message: str):
    """Would the check catch reading hours that do not follow from the pages, a wrong sum, or hours that do not fit the credits?"""
    text = PAGE.read_text(encoding="utf-8")
    assert old in text
    found = workload_problems(text.replace(old, new, 1))
    assert any(message in p for p in found), found


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("minst 60 prosent av poengene", "de fleste poengene", "arbeidskrav with a threshold"),
        ("må kreve den innen én uke", "må kreve den raskt", "begrunnelse with its deadline"),
        ("**Klage på karakteren (§ 11-10).**", "**Klage på karakteren (§ 5-3).**", "cites § 5-3 of the repealed 2005 act"),
        ("inngår ikke i karakteren", "inngår i karakteren", "nbgrader's points and the grade"),
        ("Mappevurdering", "Skoleeksamen", "vurderingsform"),
        ("institusjonen, ikke faglæreren,", "faglæreren", "tilrettelegging"),
    ],
)
def test_a_broken_assessment_plan_is_found(old: str, new: str, message: str):
    """Would the check catch a plan without a threshold, a deadline, the right law, the rule for points, or who decides accommodation?"""
    text = PAGE.read_text(encoding="utf-8")
    assert old in text
    found = assessment_problems(text.replace(old, new, 1))
    assert any(message in p for p in found), found
