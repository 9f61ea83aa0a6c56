"""One-liners for lesson 8's branching case (the widget itself is in :mod:`course.widgets`)."""

from __future__ import annotations

from course import loader, models


def case_map(entry_id: str) -> str:
    """How the branching case with this id is built, stage by stage, as text."""
    return loader.get(entry_id, models.BranchingCase).overview()
