"""Repository hygiene: clean notebooks, one kernel, no solutions where students look, nothing secret in the wheel."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT, assignments
from course.instructor.check import exemplar_leaks, exemplar_sentences

LESSONS = sorted((ROOT / "lessons").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*/*.ipynb")) + sorted((ROOT / "solutions_nynorsk").glob("*/*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("*/*.ipynb"))
ALL = LESSONS + SOLUTIONS + EXERCISES
CHECK = "# NBVAL_CHECK_OUTPUT"
SECRET_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "MARK SCHEME")


def _ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


def test_there_is_something_to_check():
    # Each exercise in bokmål and nynorsk: two sources and two student versions.
    assert LESSONS and SOLUTIONS and len(EXERCISES) == len(SOLUTIONS) == 2 * len(assignments())


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_notebook_is_valid_and_uses_python3(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert nb.metadata.kernelspec.language == "python"


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_notebook_is_committed_clean(path: Path):
    """No execution counts, and outputs only where nbval compares them.

    nbval refuses a stored output without an execution count, so a compared
    cell may keep one.
    """
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if CHECK not in cell.source:
            assert cell.execution_count is None, f"cell {i} has an execution count"
        if cell.outputs:
            assert CHECK in cell.source, f"cell {i} has outputs but no {CHECK}"
            assert path in LESSONS + SOLUTIONS, f"cell {i}: an exercise must have no outputs"


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_notebook_stores_no_widget_state(path: Path):
    """Is no saved widget state (nbclient/JupyterLab keep it in the metadata, often hundreds of kB) committed?"""
    assert "widgets" not in nbformat.read(path, as_version=4).metadata


@pytest.mark.parametrize("path", LESSONS + SOLUTIONS, ids=_ids(LESSONS + SOLUTIONS))
def test_notebook_has_a_compared_output(path: Path):
    """Has each lesson and solution at least one cell whose stored output nbval compares?"""
    nb = nbformat.read(path, as_version=4)
    assert any(c.cell_type == "code" and CHECK in c.source and c.outputs for c in nb.cells)


def _secret_lines(path: Path) -> set[str]:
    """The lines of a source notebook that only instructors may see: solutions, hidden tests, mark schemes."""
    secret = set()
    for cell in nbformat.read(path, as_version=4).cells:
        inside = False
        for line in cell.source.splitlines():
            if re.search(r"BEGIN (SOLUTION|HIDDEN TESTS|MARK SCHEME)", line):
                inside = True
            elif re.search(r"END (SOLUTION|HIDDEN TESTS|MARK SCHEME)", line):
                inside = False
            elif inside and len(line.strip()) > 8:
                secret.add(line.strip())
    return secret


def test_source_notebooks_have_secrets_to_protect():
    assert all(_secret_lines(p) for p in SOLUTIONS)


@pytest.mark.parametrize("path", LESSONS + EXERCISES, ids=_ids(LESSONS + EXERCISES))
def test_no_solution_reaches_students(path: Path):
    """Does no solution marker, solution line, hidden test or mark scheme appear in a student notebook?"""
    text = path.read_text(encoding="utf-8")
    for marker in SECRET_MARKERS:
        assert marker not in text
    nb = nbformat.read(path, as_version=4)
    student_lines = {line.strip() for cell in nb.cells for line in cell.source.splitlines()}
    for solution in SOLUTIONS:
        leaked = _secret_lines(solution) & student_lines
        assert not leaked, f"{path.name} shows lines from {solution.name}: {sorted(leaked)[:3]}"


def _exemplars() -> list[str]:
    return [s for path in SOLUTIONS for s in exemplar_sentences(nbformat.read(path, as_version=4))]


@pytest.mark.parametrize("path", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_mark_schemes_have_exemplars(path: Path):
    """Does each mark scheme carry exemplar answers (at least top and middle band) for calibrated grading?"""
    nb = nbformat.read(path, as_version=4)
    schemes = "".join(c.source for c in nb.cells if "BEGIN MARK SCHEME" in c.source)
    assert schemes.count("\n**Eksempelsvar") >= 2, "a mark scheme needs exemplars for at least the top and middle band"
    assert len(exemplar_sentences(nb)) >= 4


def test_exemplar_check_finds_a_leaked_exemplar():
    """Does the exemplar check catch an exemplar sentence pasted into a student text, whatever its line breaks?"""
    sentences = _exemplars()
    assert sentences
    leaked = "Oppgavetekst.\n> " + sentences[0][:20] + "\n  " + sentences[0][20:] + " Mer tekst."
    assert exemplar_leaks(leaked, sentences) == [sentences[0]]
    assert exemplar_leaks("Oppgavetekst uten eksempelsvar.", sentences) == []


@pytest.mark.parametrize("path", LESSONS + EXERCISES, ids=_ids(LESSONS + EXERCISES))
def test_no_exemplar_reaches_students(path: Path):
    """Does no sentence of a mark scheme's exemplar answers appear in a lesson or an exercise?"""
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(cell.source for cell in nb.cells)
    assert not exemplar_leaks(text, _exemplars()), path.name


@pytest.mark.slow
def test_wheel_has_the_package_and_content_but_no_solutions(tmp_path: Path):
    """Does the built wheel ship course/ and its data, and nothing from solutions/ or exercises/?"""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", str(ROOT), "-w", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "course/widgets.py" in names
    assert any(n.startswith("course/content/") and n.endswith(".yaml") for n in names)
    assert not [n for n in names if n.endswith(".ipynb") or "solutions" in n or "exercises" in n], names
    archive = zipfile.ZipFile(wheel)
    shipped = "\n".join(archive.read(n).decode("utf-8", errors="replace") for n in names)
    assert not exemplar_leaks(shipped, _exemplars()), "an exemplar answer from a mark scheme is in the wheel"


def test_environment_matches_the_lock():
    """Do the tests run on exactly the versions students and the grader get from requirements/lock.txt?"""
    from importlib import metadata

    pins = {}
    for line in (ROOT / "requirements" / "lock.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name] = version
    assert "nbgrader" in pins and "pandas" in pins
    mismatched = {}
    for name, version in pins.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            mismatched[name] = (version, installed)
    assert not mismatched, f"locked vs installed: {mismatched}; run `make test` to rebuild the environment"
