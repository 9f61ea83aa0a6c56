"""The syllabus docs/emneplan.md: its table from learning outcomes to lessons and exercises matches the repository."""

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
