"""``course check``: is the course consistent? One Norwegian report per exercise."""

from __future__ import annotations

import ast
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .common import HIDDEN_TESTS, MARK_SCHEME, SOLUTION, assignments, last_error, nbgrader, nbgrader_meta, read_notebook

TOTAL = re.compile(r"til sammen\s*\**\s*(\d+(?:[.,]\d+)?)\s*poeng", re.I)
SPLIT = re.compile(r"(\d+(?:[.,]\d+)?)\s*poeng rettes automatisk og\s*(\d+(?:[.,]\d+)?)\s*poeng rettes", re.I)
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "BEGIN MARK SCHEME", "END MARK SCHEME")


@dataclass
class Result:
    assignment: str
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def check(self, ok: bool, good: str, bad: str) -> None:
        (self.passed if ok else self.failed).append(good if ok else bad)


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def points(notebook) -> tuple[float, float]:
    """(autograded, manually graded) points of a source notebook, from the cells' nbgrader metadata."""
    auto = manual = 0.0
    for cell in notebook.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":
            auto += float(meta.get("points", 0))
        elif meta.get("task") or (meta.get("grade") and meta.get("solution")):
            manual += float(meta.get("points", 0))
    return auto, manual


def check_points(notebook, result: Result) -> None:
    """The total (and the split, when stated) in the intro equals the sum of the cells' points."""
    intro = next((c for c in notebook.cells if c.cell_type == "markdown"), None)
    text = intro.source if intro else ""
    auto, manual = points(notebook)
    stated = TOTAL.search(text)
    if not stated:
        result.failed.append("Poeng: Innledningen sier ikke hvor mange poeng oppgaven gir til sammen "
                             "(skriv for eksempel «Oppgaven gir til sammen **12 poeng**»).")
        return
    total = _number(stated.group(1))
    result.check(
        total == auto + manual,
        f"Poeng: {total:g} til sammen, som i cellene ({auto:g} automatisk + {manual:g} for hånd).",
        f"Poeng: Innledningen sier {total:g} poeng til sammen, men cellene gir {auto + manual:g} "
        f"({auto:g} automatisk + {manual:g} for hånd).",
    )
    split = SPLIT.search(text)
    if split:
        said_auto, said_manual = _number(split.group(1)), _number(split.group(2))
        if (said_auto, said_manual) != (auto, manual):
            result.failed.append(
                f"Poeng: Innledningen sier {said_auto:g} poeng automatisk og {said_manual:g} for hånd, "
                f"men cellene gir {auto:g} automatisk og {manual:g} for hånd."
            )


def _secret_lines(source_nb) -> set[str]:
    """Lines inside solution, hidden-test and mark-scheme regions that appear nowhere else in the source."""
    secret, public = set(), set()
    for cell in source_nb.cells:
        regions = [m.group(0) for pattern in (SOLUTION, HIDDEN_TESTS, MARK_SCHEME) for m in pattern.finditer(cell.source)]
        rest = cell.source
        for pattern in (SOLUTION, HIDDEN_TESTS, MARK_SCHEME):
            rest = pattern.sub("", rest)
        public.update(line.strip() for line in rest.splitlines())
        for region in regions:
            secret.update(line.strip() for line in region.splitlines())
    return {line for line in secret - public if len(line) >= 6 and not any(m in line for m in MARKERS)}


EXEMPLAR_START = "**Eksempelsvar"


def _squash(text: str) -> str:
    """The text without any whitespace, so that line breaks and indentation do not hide a match."""
    return re.sub(r"\s+", "", text)

SENTENCE = re.compile(r"(?<=[.!?:;])\s+")


def exemplar_sentences(source_nb) -> list[str]:
    """The sentences (30 characters or more, whitespace removed) of the mark schemes' exemplar answers.

    An exemplar starts at a line beginning with ``**Eksempelsvar`` and runs to the next bold line that is
    not one, a «Merknader» line, or the end of the mark scheme. Exemplars are instructor material: they
    must never reach exercises/, the feedback or the wheel.
    """
    sentences = []
    for cell in source_nb.cells:
        for scheme in MARK_SCHEME.finditer(cell.source):
            inside = False
            for line in scheme.group(0).splitlines():
                stripped = line.strip()
                if stripped.startswith(EXEMPLAR_START):
                    inside = True
                    continue
                if stripped.startswith("**") or stripped.startswith("Merknader") or "END MARK SCHEME" in stripped:
                    inside = False
                if inside and stripped:
                    text = stripped.lstrip(">").strip()
                    sentences += [_squash(part) for part in SENTENCE.split(text) if len(part) >= 30]
    return sentences


def exemplar_leaks(text: str, sentences: list[str]) -> list[str]:
    """The exemplar sentences that appear in a text (markup-free or not; whitespace is ignored)."""
    squashed = _squash(text)
    return [sentence for sentence in sentences if sentence in squashed]


def check_leaks(source: Path, released_dir: Path, result: Result) -> None:
    """No solution text, hidden test or mark scheme in any file of exercises/<assignment>/."""
    source_nb = read_notebook(source)
    secret = _secret_lines(source_nb)
    exemplar = exemplar_sentences(source_nb)
    leaks = []
    for path in sorted(released_dir.rglob("*")):
        if not path.is_file() or ".ipynb_checkpoints" in path.parts:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        lines = {line.strip() for line in text.replace("\\n", "\n").splitlines()}
        if path.suffix == ".ipynb":
            lines = {line.strip() for cell in read_notebook(path).cells for line in cell.source.splitlines()}
        for marker in MARKERS:
            if marker in text:
                leaks.append(f"«{marker}» står i {path.name}")
        exemplars = exemplar_leaks("\n".join(lines), exemplar)
        if exemplars:
            leaks.append(f"{len(exemplars)} setning(er) fra eksempelsvarene i vurderingskriteriene står i "
                         f"{path.name}, for eksempel «{exemplars[0][:60]}»")
        found = sorted(secret & lines)
        if found:
            leaks.append(f"{len(found)} linje(r) fra løsningen, de skjulte testene eller vurderingskriteriene står i "
                         f"{path.name}, for eksempel «{found[0][:80]}»")
    result.check(not leaks, "Ingen løsninger, skjulte tester eller vurderingskriterier i exercises/.",
                 "Lekkasje til studentene: " + "; ".join(leaks) + ".")


QUOTED = "\"'«`"


def _solutions(source_nb) -> list[tuple[str, str, object, str]]:
    """(variable, question, literal value or None, expression text) for each assignment in a solution region.

    ``svar_1d = "samarbeid"`` gives ("svar_1d", "1d", "samarbeid", '"samarbeid"'); a pandas expression gives
    its text and no value; ``svar_1c["Ungdommene"] = "hold informert"`` gives the variable
    ``svar_1c["Ungdommene"]``.
    """
    found = []
    for cell in source_nb.cells:
        for region in SOLUTION.finditer(cell.source):
            code = "\n".join(line for line in region.group(0).splitlines() if "### " not in line)
            try:
                tree = ast.parse(code)
            except SyntaxError:
                continue
            for node in tree.body:
                if not isinstance(node, ast.Assign) or len(node.targets) != 1:
                    continue
                target = ast.get_source_segment(code, node.targets[0]) or ""
                name = re.match(r"\w+", target)
                question = re.search(r"_(\d+[a-z])$", name.group(0)) if name else None
                try:
                    value = ast.literal_eval(node.value)
                except ValueError:
                    value = None
                question = question or re.search(r"_(\d+[a-z])$", str(nbgrader_meta(cell).get("grade_id", "")))
                found.append((target, question.group(1) if question else "", value,
                              ast.get_source_segment(code, node.value) or ""))
    return found


def _question_cells(release_nb, question: str) -> list:
    """The cells of one question: those whose id or grade id ends in it (tilfelle_1d, svar-1d, test_1d)."""
    own = re.compile(rf"(^|[_-]){re.escape(question)}(_\d+)?$")
    return [c for c in release_nb.cells
            if own.search(str(nbgrader_meta(c).get("grade_id", ""))) or own.search(str(c.get("id", "")))]


def giveaways(source_nb, release_nb) -> list[tuple[str, str]]:
    """(question, value) for each solution that an example in the student version shows.

    The student-visible text is the release notebook (markdown and code cells, visible test messages and
    hints; the hidden tests and solutions are already gone). A literal answer is given away by
    ``svar_1d = "samarbeid"`` anywhere, by ``"Ungdommene": "hold informert"`` for a dictionary entry, or by
    the quoted value on a line of the question's own cells that says «eksempel». A code answer (a pandas
    expression of 8 characters or more) is given away when the expression itself appears.
    """
    visible = "\n".join(c.source for c in release_nb.cells)
    squashed = _squash(visible) + _squash(visible.replace('\\"', '"'))
    found = []
    for target, question, value, expression in _solutions(source_nb):
        hit = False
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            literal = repr(value) if isinstance(value, str) else str(value)
            for form in {literal, f'"{value}"'} if isinstance(value, str) else {literal}:
                if _squash(f"{target}={form}") in squashed:
                    hit = True
            key = re.fullmatch(r"\w+\[(['\"])(.+)\1\]", target)
            if key and isinstance(value, str) and _squash(f'"{key.group(2)}": "{value}"') in squashed:
                hit = True
            if isinstance(value, str) and "[" not in target and question:
                quoted = re.compile(rf"[{QUOTED}]{re.escape(value)}[{QUOTED}]", re.I)
                for cell in _question_cells(release_nb, question):
                    if any("eksempel" in line.lower() and quoted.search(line) for line in cell.source.splitlines()):
                        hit = True
        elif value is None and len(_squash(expression)) >= 8 and _squash(expression) in squashed:
            hit = True
        if hit:
            found.append((question or target, str(value) if value is not None else expression))
    return found


def check_giveaways(assignment: str, source: Path, release: Path, result: Result) -> None:
    """No example in the student version equals that question's solution (issue 13: format examples)."""
    found = giveaways(read_notebook(source), read_notebook(release))
    result.check(
        not found,
        "Ingen eksempler i studentversjonen viser løsningen på spørsmålet de hører til.",
        "; ".join(f"Eksemplet avslører svaret: I {assignment}, spørsmål {question}, står løsningen «{value}» "
                  "som eksempel i tekst studentene ser (oppgavetekst, testmelding eller hint). "
                  "Bruk et eksempel med andre data, eller beskriv formatet uten verdi"
                  for question, value in found) + ".",
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and ".ipynb_checkpoints" not in p.parts}


def check_assignment(root: Path, assignment: str, work: Path) -> Result:
    result = Result(assignment)
    source = root / "solutions" / assignment / f"{assignment}.ipynb"
    released = root / "exercises" / assignment

    # 1. exercises/ is exactly what nbgrader generates from solutions/ (in a throw-away copy).
    copy = work / assignment
    copy.mkdir()
    shutil.copy(root / "nbgrader_config.py", copy)
    shutil.copytree(root / "solutions" / assignment, copy / "solutions" / assignment,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    proc = nbgrader(copy, "generate_assignment", assignment, "--force", f"--CourseDirectory.root={copy}", in_process=True)
    if proc.returncode != 0:
        result.failed.append(f"Kunne ikke generere studentversjonen: {last_error(proc)}")
    elif not released.is_dir():
        result.failed.append("exercises/ mangler denne oppgaven: kjør `make exercises` og legg den til i git.")
    else:
        fresh, committed = _files(copy / "exercises" / assignment), _files(released)
        differ = sorted(name for name in set(fresh) | set(committed) if fresh.get(name) != committed.get(name))
        result.check(not differ, "exercises/ er identisk med det som genereres fra solutions/.",
                     f"exercises/ er ikke identisk med det som genereres fra solutions/ ({', '.join(differ)}): "
                     "kjør `make exercises`, og rediger aldri exercises/ for hånd.")

    # 2. The solution passes every test; 3. a blank exercise fails every test.
    proc = nbgrader(copy, "validate", str(source), in_process=True)
    result.check("Success! Your notebook passes all the tests." in proc.stdout,
                 "Løsningen består alle testene (nbgrader validate).",
                 "Løsningen består ikke alle testene (nbgrader validate): " + _first_failure(proc.stdout))
    blank = released / f"{assignment}.ipynb"
    if blank.is_file():
        proc = nbgrader(copy, "validate", "--invert", str(blank), in_process=True)
        result.check("Success! The notebook does not pass any tests." in proc.stdout,
                     "En blank studentversjon feiler alle testene (nbgrader validate --invert).",
                     "En blank studentversjon består minst én test; da gir tom besvarelse poeng "
                     "(nbgrader validate --invert).")

    # 4. Points add up; 5. nothing secret reaches students; 6. no example gives an answer away.
    check_points(read_notebook(source), result)
    if released.is_dir():
        check_leaks(source, released, result)
    fresh_nb = copy / "exercises" / assignment / f"{assignment}.ipynb"
    if fresh_nb.is_file() or blank.is_file():
        check_giveaways(assignment, source, fresh_nb if fresh_nb.is_file() else blank, result)
    return result


def _first_failure(stdout: str) -> str:
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if "failed" in line.lower() or "Error" in line:
            return " ".join(lines[i:i + 3])[:300]
    return (lines or ["(ingen utdata)"])[-1][:300]


def run_check(root: Path, only: list[str] | None = None) -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory(prefix="course-check-") as tmp:
        for assignment in only or assignments(root):
            results.append(check_assignment(root, assignment, Path(tmp)))
    return results


def format_results(results: list[Result]) -> str:
    lines = []
    for result in results:
        lines.append(f"{result.assignment}: {'i orden' if result.ok else 'FEIL'}")
        lines.extend(f"  ✔ {text}" for text in result.passed)
        lines.extend(f"  ✘ {text}" for text in result.failed)
    bad = [r.assignment for r in results if not r.ok]
    if bad:
        lines.append(f"\n{len(bad)} av {len(results)} oppgaver har feil: {', '.join(bad)}.")
    else:
        lines.append(f"\nAlle oppgavene er i orden ({len(results)} av {len(results)}).")
    return "\n".join(lines)
