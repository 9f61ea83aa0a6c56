"""The nynorsk version of each exercise: is it in step with bokmål, generating it, grading with it.

One source of truth (issue 25): the bokmål source in ``solutions/`` is nbgrader's
source and decides everything that is graded. The nynorsk source in
``solutions_nynorsk/`` is its translation, held in step by ``drift()``:

- the same cells in the same order, with the same nbgrader metadata and level;
- each nynorsk cell records the hash of the bokmål cell it translates
  (``metadata.kurs.bokmål``); a bokmål cell changed since is drift until its
  translation has been brought up to date and the hash recorded again
  (``scripts/nynorsk_utkast.py OPPGAVE --godkjenn``);
- the code is the same: in test and answer cells only the messages (assert
  messages, ``raise`` and ``print`` arguments) and comments may differ, so the
  grading cannot; in the other code cells (data, summaries) only text in string
  literals may differ. Whether the nynorsk solution still passes and the blank
  nynorsk exercise still fails is checked by ``course check`` with nbgrader.

The gradebook knows one notebook per exercise (the bokmål one). A student who
answered in nynorsk hands in under the same name, marked ``kurs.målform = nn``
(see course.exchange); when grading, ``OverwriteCellsMalform`` puts the
nynorsk version's locked cells and tests back where nbgrader would put the
bokmål ones, so feedback and formgrader show the student's own målform.
"""

from __future__ import annotations

import ast
import os
import shutil
from pathlib import Path

import nbformat
from nbgrader.preprocessors import OverwriteCells

from ..malform import NYNORSK, SOURCE_DIR, malform_of, nynorsk_file, source_hash
from .common import last_error, nbgrader, nbgrader_meta, read_notebook

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS",
           "=== BEGIN MARK SCHEME ===", "=== END MARK SCHEME ===", "# FORKLARING:", "# NBVAL_CHECK_OUTPUT")
TEXT = "…"
# What a nynorsk student sees where the solution was (nbgrader_config.py has the bokmål one).
CODE_STUB_NN = "# Fyll inn svaret ditt ovanfor, og køyr cella med Shift+Enter."


def nynorsk_source(root: Path, assignment: str, notebook: str | None = None) -> Path:
    """The nynorsk source of an exercise's notebook (by the course's convention named as the exercise)."""
    return Path(root) / SOURCE_DIR / assignment / f"{notebook or assignment}.ipynb"


def message_nodes(tree: ast.AST) -> set[int]:
    """The ids of every node inside a message: an assert's message, the arguments of ``print`` and of a raised exception.

    Messages are what the two målformer may word differently in test and answer
    cells; the language gate (tests/test_language.py) uses the same positions to
    tell a translated message from data the two share.
    """
    inside = set()
    for node in ast.walk(tree):
        parts = []
        if isinstance(node, ast.Assert) and node.msg is not None:
            parts = [node.msg]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            parts = node.args
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            parts = node.exc.args
        for part in parts:
            inside.update(id(n) for n in ast.walk(part))
    return inside


class _Abstract(ast.NodeTransformer):
    """Replace the text a student reads by a placeholder, keeping everything that computes.

    ``everywhere``: every string literal (cells that only set up data or show a summary).
    Otherwise only the text of messages (``message_nodes``). Inside an f-string
    only its literal text is replaced; the expressions in ``{...}`` are kept, in their order.
    """

    def __init__(self, everywhere: bool, messages: set[int]):
        self.everywhere = everywhere
        self.messages = messages

    def _is_text(self, node) -> bool:
        return self.everywhere or id(node) in self.messages

    def visit_Constant(self, node):
        if isinstance(node.value, str) and self._is_text(node):
            return ast.copy_location(ast.Constant(TEXT), node)
        return node

    def visit_JoinedStr(self, node):
        if self._is_text(node):
            values = [self.visit(v) for v in node.values if isinstance(v, ast.FormattedValue)]
            return ast.copy_location(ast.JoinedStr(values=values), node)
        return self.generic_visit(node)


def code_shape(source: str, everywhere: bool) -> str | None:
    """The code of a cell with the student-facing text abstracted (None when it is not Python)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    return ast.dump(_Abstract(everywhere, message_nodes(tree)).visit(tree), include_attributes=False)


def graded_code(cell) -> bool:
    """A test or answer cell (nbgrader grade or solution), where only messages may be translated."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade") or meta.get("solution"))


def _kurs(cell) -> dict:
    kurs = dict(cell.get("metadata", {}).get("kurs", {}) or {})
    kurs.pop("bokmål", None)
    return kurs


def _label(index: int, cell) -> str:
    gid = nbgrader_meta(cell).get("grade_id")
    return f"celle {index + 1}" + (f" ({gid})" if gid else "")


def drift(bokmal, nynorsk) -> list[str]:
    """What keeps the nynorsk notebook from being a faithful translation of the bokmål one (Norwegian).

    Empty when the two are in step. Each entry names the cell (number, and grade id when it has one).
    """
    problems = []
    if malform_of(nynorsk) != NYNORSK:
        problems.append("notatboken er ikke merket som nynorsk i metadataene (kurs.målform)")
    if len(bokmal.cells) != len(nynorsk.cells):
        problems.append(f"bokmål har {len(bokmal.cells)} celler, nynorsk {len(nynorsk.cells)}: "
                        "cellene må være de samme, i samme rekkefølge")
        return problems
    changed = []
    for i, (b, n) in enumerate(zip(bokmal.cells, nynorsk.cells)):
        label = _label(i, b)
        if b.cell_type != n.cell_type:
            problems.append(f"{label}: celletypen er {b.cell_type} på bokmål og {n.cell_type} på nynorsk")
            continue
        if nbgrader_meta(b) != nbgrader_meta(n):
            problems.append(f"{label}: nbgrader-metadataene (id, poeng, låst, løsning, test) er ulike")
        if _kurs(b) != _kurs(n):
            problems.append(f"{label}: kursmetadataene (nivå) er ulike")
        recorded = (n.get("metadata", {}).get("kurs", {}) or {}).get("bokmål")
        if recorded != source_hash(b.source):
            changed.append(label)
        for marker in MARKERS:
            if b.source.count(marker) != n.source.count(marker):
                problems.append(f"{label}: «{marker}» står {b.source.count(marker)} gang(er) på bokmål og "
                                f"{n.source.count(marker)} på nynorsk")
        if b.cell_type == "code":
            everywhere = not graded_code(b)
            shape_b, shape_n = code_shape(b.source, everywhere), code_shape(n.source, everywhere)
            if shape_b is None or shape_n is None:
                if b.source != n.source:
                    problems.append(f"{label}: koden kan ikke leses som Python og er ulik i de to målformene")
            elif shape_b != shape_n:
                what = ("bare kommentarer og meldinger (assert, raise, print) kan oversettes"
                        if not everywhere else "bare tekst i anførselstegn og kommentarer kan oversettes")
                problems.append(f"{label}: koden er ulik i de to målformene ({what})")
    if changed:
        problems.append(
            f"bokmålsteksten er endret etter at den ble oversatt, i {', '.join(changed)}: Oppdater nynorsken "
            "(se `git log -p solutions/` for hva som er endret), og skriv så det nye fingeravtrykket med "
            "`python scripts/nynorsk_utkast.py OPPGAVE --godkjenn`"
        )
    return problems


def generate_nynorsk(root: Path, assignment: str, destination: Path, work: Path) -> str | None:
    """Generate the student version of the nynorsk source into ``destination/<assignment>_nynorsk.ipynb``.

    nbgrader's own ``generate_assignment`` does it, in a throw-away course folder
    under ``work`` whose source is the nynorsk notebook (its gradebook is thrown
    away with it: the course's gradebook knows only the bokmål notebook).
    Returns None, or the error in Norwegian.
    """
    source = nynorsk_source(root, assignment)
    if not source.is_file():
        return f"Nynorskversjonen mangler: {source.relative_to(root)}"
    course = Path(work) / f"nynorsk-{assignment}"
    if course.exists():
        shutil.rmtree(course)
    (course / "solutions" / assignment).mkdir(parents=True)
    shutil.copy(Path(root) / "nbgrader_config.py", course)
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write(f"\n# The nynorsk student version's own placeholder (course/instructor/malform.py).\n"
                     f"c.ClearSolutions.code_stub = {{'python': {CODE_STUB_NN!r}}}\n")
    shutil.copy(source, course / "solutions" / assignment / f"{assignment}.ipynb")
    proc = nbgrader(course, "generate_assignment", assignment, "--force", f"--CourseDirectory.root={course}",
                    in_process=True)
    made = course / "exercises" / assignment / f"{assignment}.ipynb"
    if proc.returncode != 0 or not made.is_file():
        return f"Kunne ikke generere nynorskversjonen: {last_error(proc)}"
    Path(destination).mkdir(parents=True, exist_ok=True)
    shutil.copy(made, Path(destination) / nynorsk_file(f"{assignment}.ipynb"))
    return None


class OverwriteCellsMalform(OverwriteCells):
    """nbgrader's OverwriteCells, then the student's målform back in the cells it overwrote.

    nbgrader puts the source's version of every locked cell and test back into a
    submission before grading (from the gradebook: the bokmål source). For a
    notebook answered in nynorsk (``kurs.målform = nn``), this then puts the
    nynorsk source's version of the same cells in their place: the same tests
    (``drift`` holds them equal but for the messages) with nynorsk messages and
    explanations, and the task texts the student read. Answer cells are never
    touched. The nynorsk source is read from the course folder, never from the
    submission.
    """

    def preprocess(self, nb, resources):
        nb, resources = super().preprocess(nb, resources)
        if malform_of(nb) != NYNORSK:
            return nb, resources
        root = Path(self.config.CourseDirectory.get("root") or os.getcwd())
        path = nynorsk_source(root, resources["nbgrader"]["assignment"], resources["nbgrader"]["notebook"])
        if not path.is_file():
            self.log.warning("Fant ikke nynorskversjonen %s; retter med bokmålscellene.", path)
            return nb, resources
        translated = {}
        for cell in read_notebook(path).cells:
            gid = nbgrader_meta(cell).get("grade_id")
            if gid:
                translated[gid] = cell.source
        for cell in nb.cells:
            meta = nbgrader_meta(cell)
            gid = meta.get("grade_id")
            if gid in translated and not meta.get("solution") and (meta.get("grade") or meta.get("locked")
                                                                     or meta.get("task")):
                cell.source = translated[gid]
        return nb, resources


def accept(root: Path, assignment: str) -> list[str]:
    """Record the current bokmål hashes in the nynorsk source (after its translation is brought up to date).

    Returns the labels of the cells whose hash changed. Refuses (ValueError) when
    the two differ in anything but the hashes: those must be fixed first.
    """
    bokmal = read_notebook(Path(root) / "solutions" / assignment / f"{assignment}.ipynb")
    path = nynorsk_source(root, assignment)
    nynorsk = read_notebook(path)
    other = [p for p in drift(bokmal, nynorsk) if not p.startswith("bokmålsteksten er endret")]
    if other:
        raise ValueError("; ".join(other))
    changed = []
    for i, (b, n) in enumerate(zip(bokmal.cells, nynorsk.cells)):
        fresh = source_hash(b.source)
        kurs = n.metadata.setdefault("kurs", {})
        if kurs.get("bokmål") != fresh:
            kurs["bokmål"] = fresh
            changed.append(_label(i, b))
    if changed:
        nbformat.write(nynorsk, path)
    return changed



def submitted_version(folder: Path, notebook: str, release: Path) -> tuple[Path | None, str, str]:
    """(the notebook to grade, its målform, a note for the instructor) for one notebook of a submission.

    Submitted through the course's exchange, a submission holds one version under
    the exercise's name, marked with its målform. A submission that reached
    ``submitted/`` another way (nbgrader's own exchange, a copy by hand) may hold
    the nynorsk file, or both: the version with answers is graded; with answers
    in both, the bokmål one is, and the note says so (the other stays in submitted/).
    """
    from ..malform import BOKMAL, choose

    name = f"{notebook}.ipynb"
    choice = choose(Path(folder), name, Path(release))
    if choice.both:
        path = Path(folder) / name
        return path, malform_of(read_notebook(path)), (
            f"svarte i både {name} og {nynorsk_file(name)}; bokmålsversjonen er rettet, den andre ligger i submitted/")
    if choice.path is None:
        return None, BOKMAL, ""
    if choice.malform == NYNORSK and choice.path.name != name:
        return choice.path, NYNORSK, ""
    try:
        return choice.path, malform_of(read_notebook(choice.path)), ""
    except Exception:
        return choice.path, BOKMAL, ""


def released_version(release: Path, notebook: str, malform: str) -> Path:
    """The released notebook a student in ``malform`` received."""
    name = f"{notebook}.ipynb"
    return Path(release) / (nynorsk_file(name) if malform == NYNORSK else name)


def generate_all(root: Path, names: list[str]) -> list[str]:
    """``course generate``: each exercise's student versions in exercises/, bokmål and nynorsk (Norwegian lines).

    Raises CourseError on the first exercise that cannot be generated.
    """
    import tempfile

    from .common import CourseError

    lines = []
    with tempfile.TemporaryDirectory(prefix="course-generate-") as work:
        for assignment in names:
            proc = nbgrader(root, "generate_assignment", assignment, "--force", f"--CourseDirectory.root={root}",
                            in_process=True)
            if proc.returncode != 0:
                raise CourseError(f"Kunne ikke generere {assignment}: {last_error(proc)}")
            error = generate_nynorsk(root, assignment, Path(root) / "exercises" / assignment, Path(work))
            if error:
                raise CourseError(f"{assignment}: {error}")
            lines.append(f"{assignment}: exercises/{assignment}/{assignment}.ipynb og "
                         f"{nynorsk_file(assignment + '.ipynb')} er laget.")
    return lines
