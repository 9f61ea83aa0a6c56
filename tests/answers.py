"""Answering an exercise as a student would, and its point totals: shared by the workflow and hub tests."""

from __future__ import annotations

from pathlib import Path

import nbformat


def answer_like_the_solution(nb: nbformat.NotebookNode, solution_nb: Path, reflection: str,
                             share: float = 1.0) -> nbformat.NotebookNode:
    """Fill a fetched notebook as a student would: the solution's answers, typed in, plus a reflection.

    With ``share`` below 1, only that share of the answer cells (the first ones) is filled.
    """
    solution = {
        cell.metadata["nbgrader"]["grade_id"]: cell
        for cell in nbformat.read(solution_nb, as_version=4).cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }
    to_answer = set(list(solution)[: round(len(solution) * share)])
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta["grade_id"] in to_answer:
            lines = solution[meta["grade_id"]].source.splitlines()
            cell.source = "\n".join(line for line in lines if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)
        if meta.get("task") and i + 1 < len(nb.cells) and "nbgrader" not in nb.cells[i + 1].metadata:
            nb.cells[i + 1].source = reflection
    return nb


def points(nb_path: Path, *, kind: str) -> float:
    """Total points of a source notebook's autograded tests (kind='auto') or tasks (kind='manual')."""
    total = 0.0
    for cell in nbformat.read(nb_path, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        is_auto = meta.get("grade") and not meta.get("solution") and cell.cell_type == "code"
        is_manual = meta.get("task") or (meta.get("grade") and meta.get("solution"))
        if (kind == "auto" and is_auto) or (kind == "manual" and is_manual):
            total += float(meta.get("points", 0))
    return total


def answer_file_like_the_solution(student_nb: Path, solution_nb: Path, reflection: str, share: float = 1.0) -> None:
    """:func:`answer_like_the_solution` on a notebook file, written back in place."""
    nb = answer_like_the_solution(nbformat.read(student_nb, as_version=4), solution_nb, reflection, share)
    nbformat.write(nb, student_nb)
