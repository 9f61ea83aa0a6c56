"""What each autograded item asks of the student: a level, kept in the test cell's metadata.

Every autograded test cell of a source notebook carries ``"kurs": {"nivå": …}``
beside its ``nbgrader`` metadata. The levels follow the revised Bloom taxonomy
(Anderson & Krathwohl 2001), in Norwegian; docs/laererveiledning.md says what
each means in this course. Only ``huske`` (recall) counts as recall: at least
``MIN_SHARE`` of the course's autograded points must ask for more. Whether an
answer can be copied instead is a separate check (``copyable``): a level is
the author's claim about the item, the copy checks are what the tooling can
prove.
"""

from __future__ import annotations

from dataclasses import dataclass

from .common import nbgrader_meta

LEVELS = ("huske", "forstå", "anvende", "analysere", "vurdere")
RECALL = "huske"
MIN_SHARE = 0.6


@dataclass(frozen=True)
class Item:
    grade_id: str
    points: float
    level: str | None  # None when the cell has no valid level


def autograded_items(notebook) -> list[Item]:
    """The autograded test cells of a source notebook, with their points and levels."""
    items = []
    for cell in notebook.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            level = (cell.metadata.get("kurs") or {}).get("nivå")
            items.append(Item(str(meta.get("grade_id", "?")), float(meta.get("points", 0)),
                              level if level in LEVELS else None))
    return items


def missing_levels(items: list[Item]) -> list[str]:
    return [item.grade_id for item in items if item.level is None]


def share_beyond_recall(items: list[Item]) -> tuple[float, float]:
    """(points asking for more than recall, all autograded points)."""
    total = sum(item.points for item in items)
    beyond = sum(item.points for item in items if item.level not in (None, RECALL))
    return beyond, total


def distribution(items: list[Item]) -> str:
    """«forstå 5, analysere 3» in the taxonomy's order, counting points."""
    counts = {level: sum(i.points for i in items if i.level == level) for level in LEVELS}
    return ", ".join(f"{level} {points:g}" for level, points in counts.items() if points)
