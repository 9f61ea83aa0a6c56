"""The lessons' structure: what every lesson promises a student (DESIGN.md, Notebooks)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

import ipywidgets

from course.widgets import activity
from test_hygiene import LESSONS, _ids

ACTIVITY = re.compile(r"""activity\(\s*["']([a-z0-9_]+)["']\s*\)""")


def _markdown(path: Path) -> str:
    return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")


def _activities(path: Path) -> list[str]:
    code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    return ACTIVITY.findall(code)


@pytest.mark.parametrize("path", LESSONS, ids=_ids(LESSONS))
def test_lesson_has_objectives_time_key_points_and_reading(path: Path):
    text = _markdown(path)
    assert text.lstrip().startswith("# "), "a lesson opens with its title"
    assert "Etter denne leksjonen kan du" in text
    assert re.search(r"\d+\s*minutter", text), "a lesson states its estimated time"
    assert re.search(r"^#+ .*Nøkkelpunkter", text, re.M)
    assert re.search(r"^#+ .*(Videre lesning|Referanser)", text, re.M)
    assert not re.search(r"TODO|lorem ipsum|kommer snart", text, re.I)


@pytest.mark.parametrize("path", LESSONS, ids=_ids(LESSONS))
def test_lesson_has_two_or_more_activities_from_content(path: Path):
    """Does each lesson use at least two interactive activities, each built from an entry in the content files?"""
    used = _activities(path)
    assert len(used) >= 2
    assert len(set(used)) == len(used), "an activity is used twice in the same lesson"
    for entry_id in used:
        assert isinstance(activity(entry_id), ipywidgets.Widget), entry_id
