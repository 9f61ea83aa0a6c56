"""docs/dekning.md, the coverage table: is every idea of the article taught and assessed, by things that exist?"""

from __future__ import annotations

import re

import nbformat
import pytest
import yaml

from conftest import ROOT

TABLE = ROOT / "docs" / "dekning.md"
# Ideas known not to be assessed anywhere yet, by number (none today). The test fails on any other
# «mangler» row, and on a row listed here that is no longer «mangler», so the list can only shrink.
PENDING: set[int] = set()


def rows() -> list[list[str]]:
    lines = [line for line in TABLE.read_text(encoding="utf-8").splitlines() if re.match(r"\|\s*\d+\s*\|", line)]
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines]


def activity_ids() -> set[str]:
    ids = set()
    for path in (ROOT / "course" / "content").glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        ids |= {key for key, value in data.items() if isinstance(value, dict) and value.get("kind") != "term"}
    return ids


def question_exists(assignment: str, question: str) -> bool:
    """Is there an nbgrader cell for this question (svar_1b/test_1b, or a task such as «refleksjon»)?"""
    path = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    if not path.is_file():
        return False
    own = re.compile(rf"(^|_){re.escape(question)}(_\d+)?$")
    return any(own.search(str(cell.metadata.get("nbgrader", {}).get("grade_id", "")))
               for cell in nbformat.read(path, as_version=4).cells)


def test_the_table_has_the_18_ideas_in_order():
    numbers = [int(row[0]) for row in rows()]
    assert numbers == list(range(1, 19)), numbers
    assert all(len(row) == 5 for row in rows())


@pytest.mark.parametrize("row", rows(), ids=lambda row: f"ide_{row[0]}")
def test_every_named_activity_and_question_exists(row):
    _, idea, lessons, activities, exercises = row
    assert re.fullmatch(r"\d(, \d)*", lessons), f"idea {row[0]}: lessons must be numbers, not «{lessons}»"
    for lesson in lessons.split(", "):
        assert list((ROOT / "lessons").glob(f"0{lesson}_*.ipynb")), f"idea {row[0]}: no lesson {lesson}"
    known = activity_ids()
    for activity in re.findall(r"`([^`]+)`", activities):
        assert activity in known, f"idea {row[0]}: activity «{activity}» is not in course/content"
    for item in re.findall(r"`([^`]+)`", exercises):
        assignment, _, question = item.partition("/")
        assert question_exists(assignment, question), f"idea {row[0]}: «{item}» is not a question in solutions/"
    for cell in (activities, exercises):
        assert cell in ("mangler", "–") or re.fullmatch(r"`[^`]+`(, `[^`]+`)*", cell), (
            f"idea {row[0]}: write ids in backticks, separated by commas, or «mangler»/«–»: «{cell}»")


def test_every_idea_is_assessed_or_known_to_be_pending():
    """Is each idea assessed by an activity or an exercise item, apart from the known, shrinking PENDING list?"""
    missing = {int(row[0]) for row in rows() if row[3] in ("mangler", "–") and row[4] in ("mangler", "–")}
    marked = {int(row[0]) for row in rows() if "mangler" in (row[3], row[4])}
    assert missing == marked, "«–» only where the other column assesses the idea; otherwise write «mangler»"
    assert missing == PENDING, (
        f"ideas without assessment: {sorted(missing)}; known and planned: {sorted(PENDING)}. "
        "Fill in the row, and remove its number from PENDING once it is assessed.")
