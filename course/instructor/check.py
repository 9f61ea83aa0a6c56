"""``course check``: is the course consistent? One Norwegian report per exercise."""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .common import HIDDEN_TESTS, MARK_SCHEME, SOLUTION, assignments, last_error, nbgrader, nbgrader_meta, read_notebook
from .malform import drift, generate_nynorsk, nynorsk_source
from .copyable import QUOTED, Text, answer_values, copyable, solutions, squash, student_texts
from ..malform import SUFFIX, nynorsk_file
from .levels import LEVELS, MIN_SHARE, autograded_items, distribution, missing_levels, share_beyond_recall

# The intro's points sentence, in bokmål («til sammen», «rettes») or nynorsk («til saman», «blir retta»).
SUM_WORD_NN = "saman"  # nynorsk for «sammen»
TOTAL = re.compile(r"til (?:sammen|" + SUM_WORD_NN + r")\s*\**\s*(\d+(?:[.,]\d+)?)\s*poeng", re.I)
SPLIT = re.compile(r"(\d+(?:[.,]\d+)?)\s*poeng (?:rettes|blir retta) automatisk og\s*(\d+(?:[.,]\d+)?)\s*poeng "
                   r"(?:rettes|blir retta)", re.I)
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
                    sentences += [squash(part) for part in SENTENCE.split(text) if len(part) >= 30]
    return sentences


def exemplar_leaks(text: str, sentences: list[str]) -> list[str]:
    """The exemplar sentences that appear in a text (markup-free or not; whitespace is ignored)."""
    squashed = squash(text)
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


EXAMPLE_LINE = re.compile(r"\beksemp(el|elet|let|ler|lene|la)\b", re.I)  # bokmål and nynorsk forms


def giveaways(source_nb, release_nb) -> list[tuple[str, str]]:
    """(question, value) for each solution that an example in the student version shows.

    The student-visible text is the release notebook (markdown and code cells, visible test messages and
    hints; the hidden tests and solutions are already gone). A literal answer is given away by
    ``svar_9z = "eple"`` anywhere, by ``"Frukt": "eple"`` for a dictionary entry, or by the quoted value
    (for a number: ``= 7``) on any line of the exercise that says «eksempel»: a format example may show no
    item's key, not only not its own question's (issue 20). A code answer (a pandas expression of 8
    characters or more) is given away when the expression itself appears.
    """
    visible = "\n".join(c.source for c in release_nb.cells)
    squashed = squash(visible) + squash(visible.replace('\\"', '"'))
    example_lines = [line.replace('\\"', '"') for c in release_nb.cells for line in c.source.splitlines()
                     if EXAMPLE_LINE.search(line)]
    found = []
    for target, question, value, expression in solutions(source_nb):
        hit = False
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            literal = repr(value) if isinstance(value, str) else str(value)
            for form in {literal, f'"{value}"'} if isinstance(value, str) else {literal}:
                if squash(f"{target}={form}") in squashed:
                    hit = True
            key = re.fullmatch(r"\w+\[(['\"])(.+)\1\]", target)
            if key and isinstance(value, str) and squash(f'"{key.group(2)}": "{value}"') in squashed:
                hit = True
            if isinstance(value, str):
                shown = re.compile(rf"[{QUOTED}]{re.escape(value)}[{QUOTED}]", re.I)
            else:
                shown = re.compile(rf"=\s*{re.escape(literal)}(?![\d.])")
            if any(shown.search(line) for line in example_lines):
                hit = True
        elif value is None and len(squash(expression)) >= 8 and squash(expression) in squashed:
            hit = True
        if hit:
            found.append((question or target, str(value) if value is not None else expression))
    return found


def check_giveaways(assignment: str, source: Path, release: Path, result: Result) -> None:
    """No example in the student version shows any question's solution (issues 13 and 20: format examples)."""
    found = giveaways(read_notebook(source), read_notebook(release))
    result.check(
        not found,
        "Ingen eksempler i studentversjonen viser løsningen på noen av spørsmålene.",
        "; ".join(f"Eksemplet avslører svaret: I {assignment}, spørsmål {question}, står løsningen «{value}» "
                  "som eksempel i tekst studentene ser (oppgavetekst, testmelding eller hint). "
                  "Bruk et eksempel med andre data, eller beskriv formatet uten verdi"
                  for question, value in found) + ".",
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and ".ipynb_checkpoints" not in p.parts}


def check_assignment(root: Path, assignment: str, work: Path, texts: list[Text] | None = None) -> Result:
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
    nn_source = nynorsk_source(root, assignment)
    nn_error = generate_nynorsk(root, assignment, copy / "exercises" / assignment, work) if proc.returncode == 0 else None
    if nn_error:
        result.failed.append(nn_error + " (lag et utkast med `python scripts/nynorsk_utkast.py OPPGAVE`, og les det).")
    if proc.returncode != 0:
        result.failed.append(f"Kunne ikke generere studentversjonen: {last_error(proc)}")
    elif not released.is_dir():
        result.failed.append("exercises/ mangler denne oppgaven: kjør `make exercises` og legg den til i git.")
    else:
        fresh, committed = _files(copy / "exercises" / assignment), _files(released)
        if nn_error:  # compare what could be generated: the bokmål version
            fresh, committed = ({k: v for k, v in files.items() if not k.endswith(f"{SUFFIX}.ipynb")}
                                for files in (fresh, committed))
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
    student_nb = fresh_nb if fresh_nb.is_file() else blank if blank.is_file() else None
    if student_nb:
        check_giveaways(assignment, source, student_nb, result)

    # 2-6 for the nynorsk version, and 7: it says what the bokmål version says (malform.py).
    if nn_source.is_file():
        check_nynorsk(copy, assignment, source, nn_source, released, result)

    # 7. Every autograded item says what it asks of the student; 8. no answer can be read elsewhere.
    check_levels(read_notebook(source), result)
    if student_nb:
        check_copyable(assignment, source, student_nb, copy / "solutions" / assignment,
                       student_texts(root) if texts is None else texts, result)
    return result


def check_nynorsk(copy: Path, assignment: str, source: Path, nn_source: Path, released: Path, result: Result) -> None:
    """The nynorsk version: in step with bokmål, passes with the solution, fails blank, leaks nothing."""
    problems = drift(read_notebook(source), read_notebook(nn_source))
    result.check(not problems, "Nynorsk: samme celler, metadata og kode som bokmål, og oversatt fra dagens bokmålstekst.",
                 "Nynorsk og bokmål er ikke i takt: " + "; ".join(problems) + ".")
    proc = nbgrader(copy, "validate", str(nn_source), in_process=True)
    result.check("Success! Your notebook passes all the tests." in proc.stdout,
                 "Nynorsk: Løsningen består alle testene (nbgrader validate).",
                 "Nynorsk: Løsningen består ikke alle testene (nbgrader validate): " + _first_failure(proc.stdout))
    nn_blank = released / nynorsk_file(f"{assignment}.ipynb")
    if nn_blank.is_file():
        proc = nbgrader(copy, "validate", "--invert", str(nn_blank), in_process=True)
        result.check("Success! The notebook does not pass any tests." in proc.stdout,
                     "Nynorsk: En blank studentversjon feiler alle testene (nbgrader validate --invert).",
                     "Nynorsk: En blank studentversjon består minst én test (nbgrader validate --invert).")
    nn_result = Result(assignment)
    check_points(read_notebook(nn_source), nn_result)
    if released.is_dir():
        check_leaks(nn_source, released, nn_result)
    fresh = copy / "exercises" / assignment / nynorsk_file(f"{assignment}.ipynb")
    if fresh.is_file():
        check_giveaways(assignment, nn_source, fresh, nn_result)
    result.passed += [f"Nynorsk: {text}" for text in nn_result.passed]
    result.failed += [f"Nynorsk: {text}" for text in nn_result.failed]


def check_levels(notebook, result: Result) -> None:
    """Each autograded test cell has a level (levels.py)."""
    items = autograded_items(notebook)
    missing = missing_levels(items)
    result.check(
        not missing,
        f"Nivå: Alle {sum(i.points for i in items):g} automatiske poeng har et nivå ({distribution(items)}).",
        f"Nivå mangler for {', '.join(missing)}: Skriv «\"kurs\": {{\"nivå\": …}}» i metadataene til testcellen, "
        f"med ett av nivåene {', '.join(LEVELS)} (se lærerveiledningen).",
    )


def check_copyable(assignment: str, source: Path, release: Path, workdir: Path, texts: list[Text],
                   result: Result) -> None:
    """No answer can be read or copied from anything a student sees (copyable.py)."""
    try:
        values = answer_values(source, workdir)
    except RuntimeError as error:
        result.failed.append(f"Kunne ikke kjøre løsningen for å finne svarene: {error}")
        return
    found = copyable(assignment, read_notebook(source), read_notebook(release), values, texts)
    result.check(
        not found,
        "Ingen svar kan leses eller kopieres fra leksjonene, kurspakken, ordlisten, studentdokumentene, "
        "de andre oppgavene eller tilbakemeldingene.",
        "Svaret kan leses i stedet for å finnes: " + "; ".join(found) + ". Endre oppgaven (andre data, en annen "
        "sak eller et spørsmål som krever at studenten velger fremgangsmåten selv), ikke det studentene ser ellers.",
    )


WHOLE_COURSE = "hele kurset"


def percent(share: float) -> str:
    """A share as Norwegian writes it: «60 %»."""
    return f"{share * 100:.0f} %"


def check_course_levels(root: Path, names: list[str]) -> Result:
    """Course-wide: at least MIN_SHARE of the autograded points ask for more than recall."""
    result = Result(WHOLE_COURSE)
    items = [item for name in names for item in autograded_items(read_notebook(root / "solutions" / name / f"{name}.ipynb"))]
    beyond, total = share_beyond_recall(items)
    share = beyond / total if total else 0.0
    result.check(
        share >= MIN_SHARE,
        f"Nivå: {beyond:g} av {total:g} automatiske poeng ({percent(share)}) krever mer enn å huske "
        f"(minst {percent(MIN_SHARE)}); {distribution(items)}.",
        f"Nivå: Bare {beyond:g} av {total:g} automatiske poeng ({percent(share)}) krever mer enn å huske; kravet er "
        f"minst {percent(MIN_SHARE)}. Skriv om flere oppgaver slik at de krever forståelse, anvendelse eller analyse.",
    )
    return result


def _first_failure(stdout: str) -> str:
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if "failed" in line.lower() or "Error" in line:
            return " ".join(lines[i:i + 3])[:300]
    return (lines or ["(ingen utdata)"])[-1][:300]


def run_check(root: Path, only: list[str] | None = None) -> list[Result]:
    """Check each exercise; with no ``only``, also the course as a whole (the levels' share)."""
    results = []
    texts = student_texts(root)
    names = only or assignments(root)
    with tempfile.TemporaryDirectory(prefix="course-check-") as tmp:
        for assignment in names:
            results.append(check_assignment(root, assignment, Path(tmp), texts))
    if not only:
        results.append(check_course_levels(root, names))
    return results


def format_results(results: list[Result]) -> str:
    lines = []
    for result in results:
        lines.append(f"{result.assignment}: {'i orden' if result.ok else 'FEIL'}")
        lines.extend(f"  ✔ {text}" for text in result.passed)
        lines.extend(f"  ✘ {text}" for text in result.failed)
    exercises = [r for r in results if r.assignment != WHOLE_COURSE]
    bad = [r.assignment for r in exercises if not r.ok]
    if bad:
        lines.append(f"\n{len(bad)} av {len(exercises)} oppgaver har feil: {', '.join(bad)}.")
    else:
        lines.append(f"\nAlle oppgavene er i orden ({len(exercises)} av {len(exercises)}).")
    if any(r.assignment == WHOLE_COURSE and not r.ok for r in results):
        lines.append("Kurset som helhet har feil (se «hele kurset» over).")
    return "\n".join(lines)
