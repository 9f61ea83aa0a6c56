"""Two målformer for one exercise: names, the link between them, and which one a student answered.

Every exercise exists in bokmål (``solutions/oppgave_NN/oppgave_NN.ipynb``, nbgrader's
source) and in nynorsk (``solutions_nynorsk/oppgave_NN/oppgave_NN.ipynb``, outside
nbgrader's source folder so that the gradebook knows one notebook per exercise).
The nynorsk source has the same cells in the same order, with the same nbgrader
metadata; each of its cells records the hash of the bokmål cell it translates
(``metadata.kurs.bokmål``), so a change to the bokmål text that the nynorsk text
has not followed is found (``course check``).

Students get both: ``oppgave_NN.ipynb`` and ``oppgave_NN_nynorsk.ipynb`` in the
same folder. They answer in one. When they submit, the version they answered is
handed in under the exercise's one name, marked with its målform in the
notebook's metadata, so that nbgrader sees one notebook for one student; when
they answered in both, nothing is submitted and they are told why (see
``course.exchange.SecureExchangeSubmit``). This module is imported by the
student's own server (the exchange), so it needs nothing but nbformat.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

BOKMAL, NYNORSK = "nb", "nn"
SUFFIX = "_nynorsk"
SOURCE_DIR = "solutions_nynorsk"
# What a student who answered in both versions is told, in both målformer (the submission is refused).
BOTH_NB = ("Du har svart både i {0} (bokmål) og i {1} (nynorsk). Bare én av dem kan leveres. Flytt svarene du "
           "vil levere, over i den ene filen, og slett den andre (eller fjern svarene i den), og lever på nytt.")
BOTH_NN = ("Du har svart både i {0} (bokmål) og i {1} (nynorsk). Berre éi av dei kan leverast. Flytt svara du "
           "vil levere, over i den eine fila, og slett den andre (eller fjern svara i henne), og lever på nytt.")


def source_hash(text: str) -> str:
    """The fingerprint of a bokmål cell's source that its nynorsk translation records."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def nynorsk_file(notebook: str) -> str:
    """``oppgave_01.ipynb`` -> ``oppgave_01_nynorsk.ipynb`` (the released nynorsk version's name)."""
    stem = notebook[:-len(".ipynb")] if notebook.endswith(".ipynb") else notebook
    return f"{stem}{SUFFIX}.ipynb"


def bokmal_file(notebook: str) -> str | None:
    """``oppgave_01_nynorsk.ipynb`` -> ``oppgave_01.ipynb``; None for a name that is not a nynorsk version."""
    if not notebook.endswith(f"{SUFFIX}.ipynb"):
        return None
    return notebook[: -len(f"{SUFFIX}.ipynb")] + ".ipynb"


def malform_of(nb) -> str:
    """The målform a notebook is written in (its metadata; bokmål when it says nothing)."""
    kurs = nb.get("metadata", {}).get("kurs", {}) or {}
    return NYNORSK if kurs.get("målform") == NYNORSK else BOKMAL


def set_malform(nb, malform: str) -> None:
    nb.setdefault("metadata", {}).setdefault("kurs", {})["målform"] = malform


def _answer_cells(nb) -> dict[str, str]:
    """grade_id -> source of each cell a student answers in (nbgrader solution cells)."""
    cells = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
        if meta.get("solution") and meta.get("grade_id"):
            cells[meta["grade_id"]] = cell.get("source", "")
    return cells


def answered(nb, released) -> list[str]:
    """The answer cells (grade ids) in which ``nb`` differs from the version the student fetched.

    Whitespace at the ends is ignored, so opening a notebook, typing and
    deleting again does not count as an answer; a cell deleted by the student
    counts (nbgrader restores it from the source when grading).
    """
    mine, blank = _answer_cells(nb), _answer_cells(released)
    return sorted(gid for gid, text in blank.items() if mine.get(gid, "").strip() != text.strip())


@dataclass
class Choice:
    """Which version of an exercise a student's folder hands in."""

    malform: str | None  # BOKMAL or NYNORSK; None when the choice cannot be made
    path: Path | None  # the notebook to hand in
    both: bool = False  # answers in both versions: ask the student to choose
    message: str = ""  # Norwegian, for the student, when both


def choose(folder: Path, notebook: str, released_folder: Path | None) -> Choice:
    """Which of ``notebook`` and its nynorsk version in ``folder`` the student answered.

    ``released_folder`` holds the versions as released (to tell answers from
    the blank exercise). Only one version present: that one. Both present:
    the one with answers, bokmål when neither has any, and no choice when both
    have answers (the student must decide; nothing is guessed).
    """
    nb_path, nn_path = folder / notebook, folder / nynorsk_file(notebook)
    if not nn_path.is_file():
        return Choice(BOKMAL if nb_path.is_file() else None, nb_path if nb_path.is_file() else None)
    if not nb_path.is_file():
        return Choice(NYNORSK, nn_path)
    import nbformat

    def work(path: Path, released: Path) -> list[str]:
        try:
            mine = nbformat.read(path, as_version=4)
        except Exception:
            return ["(uleselig)"]  # a notebook that cannot be read counts as worked on: never dropped silently
        if released is None or not released.is_file():
            return []
        return answered(mine, nbformat.read(released, as_version=4))

    rel_nb = released_folder / notebook if released_folder else None
    rel_nn = released_folder / nynorsk_file(notebook) if released_folder else None
    in_nb, in_nn = work(nb_path, rel_nb), work(nn_path, rel_nn)
    if in_nb and in_nn:
        return Choice(None, None, both=True, message=BOTH_NB.format(notebook, nynorsk_file(notebook))
                      + " / " + BOTH_NN.format(notebook, nynorsk_file(notebook)))
    if in_nn:
        return Choice(NYNORSK, nn_path)
    return Choice(BOKMAL, nb_path)
