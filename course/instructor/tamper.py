"""Find locked cells a student has changed or deleted.

nbgrader's autograde logs "checksum has changed" for locked cells, but also for
every untouched cell that holds hidden tests or a mark scheme (nbgrader issue
#1961: the checksum is stored before those are cleared from the release). So we
compare each submitted locked cell with the cell the student actually received:
the released notebook in exercises/.
"""

from __future__ import annotations

from pathlib import Path

from .common import nbgrader_meta, read_notebook


def _normalise(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def locked_cells(notebook) -> dict[str, object]:
    """The cells a student must not change, by grade_id: locked cells and test cells."""
    cells = {}
    for cell in notebook.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade_id") and (meta.get("locked") or (meta.get("grade") and not meta.get("solution"))):
            cells[meta["grade_id"]] = cell
    return cells


def find_tampering(released: Path, submitted: Path) -> list[str]:
    """Norwegian descriptions of every locked cell that differs from the release (empty when none).

    Raises whatever nbformat raises for an unreadable submission; the caller
    reports that as a failed submission instead.
    """
    expected = locked_cells(read_notebook(released))
    got = {}
    for cell in read_notebook(submitted).cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id:
            got.setdefault(grade_id, cell)
    changes = []
    for grade_id, cell in expected.items():
        if grade_id not in got:
            changes.append(f"cellen «{grade_id}» er slettet")
        elif got[grade_id].cell_type != cell.cell_type or _normalise(got[grade_id].source) != _normalise(cell.source):
            changes.append(f"cellen «{grade_id}» er endret")
    return changes
