"""Can an autograded answer be read or copied instead of worked out? (``course check``, issue 20.)

An item measures understanding only if its answer cannot be found in anything
the student sees. ``course check`` compared examples within one exercise; this
module looks across the whole course, as a student on the class server can:

- every lesson, sources and stored outputs;
- the installed ``course`` package (its code, docstrings, content and data
  files are world-readable on the server), which holds the lessons' activities,
  feedback and the glossary;
- the documents students get (``STUDENT_DOCS``);
- every released exercise, and the explanations (``# FORKLARING:``) that the
  other exercises' feedback shows after their deadlines.

What counts as giving an answer away (each a function below):

- the item's own case, statement or data text appears elsewhere (``shared_stems``):
  a lesson's feedback on the same case answers the item;
- a numeric answer with three or more significant digits appears, in any usual
  rounding and with a decimal comma or point (``number_leaks``);
- a ranking answer (a table or series sorted by value) appears in that order
  (``ranking_leaks``);
- the answer's assignment, ``svar_1a = "…"``, appears (``assignment_leaks``);
- a code answer has the same shape as a code example the exercise shows
  (``template_answers``): then the student fills a blank instead of choosing
  the operations.

The answers themselves are taken from the solution notebook run in a real
kernel (``answer_values``), so a number or ranking is what the student must
produce, not what a hidden test happens to spell out.
"""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from .common import HIDDEN_TESTS, SOLUTION, nbgrader_meta, read_notebook

# Documents students are given besides the lessons (the student repository's
# allow-list in scripts/lag_studentrepo.py, and the public emneplan).
STUDENT_DOCS = ("docs/ordliste.md", "docs/litteratur.md", "docs/studentveiledning.md", "docs/emneplan.md")
PACKAGE_SUFFIXES = {".py", ".yaml", ".yml", ".csv", ".json", ".j2", ".md", ".txt"}
MIN_STEM = 40      # characters of a case or statement sentence compared across the course
MIN_DATA = 25      # characters of a string in an exercise's data cell
MIN_DIGITS = 3     # significant digits a number needs before its appearance means anything
MIN_RANKING = 3    # labels in a ranking
RANKING_PREFIX = 4  # the top of a ranking that, shown in order, gives it away


@dataclass(frozen=True)
class Text:
    """Something a student can read: where it is (Norwegian, for messages) and what it says."""

    origin: str
    text: str
    exercise: str | None = None  # the exercise it belongs to, if any
    feedback: bool = False       # shown only in that exercise's feedback, after its deadline


def _output_text(output) -> str:
    if output.get("output_type") == "stream":
        return str(output.get("text", ""))
    data = output.get("data", {})
    return "\n".join(str(data[kind]) for kind in ("text/plain", "text/html", "text/markdown") if kind in data)


def student_texts(root: Path) -> list[Text]:
    """Everything in the course folder ``root`` that a student can read, one entry per cell, output or file."""
    from .feedback import explanation

    texts: list[Text] = []
    for path in sorted((root / "lessons").glob("[0-9][0-9]_*.ipynb")):
        name = path.relative_to(root).as_posix()
        for i, cell in enumerate(read_notebook(path).cells):
            texts.append(Text(f"{name}, celle {i + 1}", cell.source))
            for output in cell.get("outputs", []):
                texts.append(Text(f"{name}, lagret utdata i celle {i + 1}", _output_text(output)))
    package = root / "course"
    for path in sorted(package.rglob("*")) if package.is_dir() else []:
        if path.is_file() and path.suffix in PACKAGE_SUFFIXES and "__pycache__" not in path.parts:
            texts.append(Text(f"kurspakken ({path.relative_to(root).as_posix()})", path.read_text(encoding="utf-8")))
    for doc in STUDENT_DOCS:
        if (root / doc).is_file():
            texts.append(Text(doc, (root / doc).read_text(encoding="utf-8")))
    for folder in sorted((root / "exercises").glob("oppgave_*")):
        for path in sorted(folder.rglob("*.ipynb")):
            if ".ipynb_checkpoints" in path.parts:
                continue
            name = path.relative_to(root).as_posix()
            for i, cell in enumerate(read_notebook(path).cells):
                texts.append(Text(f"{name}, celle {i + 1}", cell.source, exercise=folder.name))
    for folder in sorted([*(root / "solutions").glob("oppgave_*"), *(root / "solutions_nynorsk").glob("oppgave_*")]):
        source = folder / f"{folder.name}.ipynb"
        if not source.is_file():
            continue
        for cell in read_notebook(source).cells:
            said = explanation("\n".join(m.group(0) for m in HIDDEN_TESTS.finditer(cell.source)))
            if said:
                grade_id = nbgrader_meta(cell).get("grade_id", "?")
                texts.append(Text(f"tilbakemeldingen på {folder.name} ({grade_id})", said,
                                  exercise=folder.name, feedback=True))
    return texts


# --- Which answers an exercise has ----------------------------------------------------------------

QUOTED = "\"'«`"


def solutions(source_nb) -> list[tuple[str, str, object, str]]:
    """(variable, question, literal value or None, expression text) for each assignment in a solution region.

    ``svar_9z = "eple"`` gives ("svar_9z", "9z", "eple", '"eple"'); a pandas expression gives its text and
    no value; ``svar_9z["Frukt"] = "eple"`` gives the variable ``svar_9z["Frukt"]``.
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


def question_cells(release_nb, question: str) -> list:
    """The cells of one question: those whose id or grade id ends in it (tilfelle_1d, svar-1d, test_1d)."""
    own = re.compile(rf"(^|[_-]){re.escape(question)}(_\d+)?$")
    return [c for c in release_nb.cells
            if own.search(str(nbgrader_meta(c).get("grade_id", ""))) or own.search(str(c.get("id", "")))]


# --- The answers, from the solution run in a kernel -------------------------------------------------

def describe(value) -> dict | None:
    """What about an answer value can leak: its text, its numbers, its order (run inside the kernel).

    A table or series counts as a ranking when it has been sorted by one of its
    columns (or its values) and its rows are no longer in their original order:
    the order is then the answer. A table built in the order it was given is not.
    """
    import numbers

    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return {"tekst": value}
    if isinstance(value, numbers.Number) or type(value).__module__ == "numpy" and hasattr(value, "item"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        return {"tall": [number]} if math.isfinite(number) else None
    if isinstance(value, dict):
        parts = [describe(v) for v in value.values()]
        return {"tall": [n for p in parts if p for n in p.get("tall", [])],
                "tekster": [p["tekst"] for p in parts if p and "tekst" in p]}
    if isinstance(value, (list, tuple)):
        labels = [str(v) for v in value if isinstance(v, str)]
        return {"rekkefølger": [labels]} if len(labels) == len(value) and len(labels) >= MIN_RANKING else None
    index = getattr(value, "index", None)
    if index is None or len(value) < MIN_RANKING:
        return None
    reordered = not index.is_monotonic_increasing
    if hasattr(value, "columns"):  # a DataFrame
        sorted_by_a_column = any(
            value[c].dtype.kind in "iuf" and value[c].nunique() > 1
            and (value[c].is_monotonic_increasing or value[c].is_monotonic_decreasing)
            for c in value.columns
        )
        if not (reordered and sorted_by_a_column):
            return None
        # Only columns that name each row once: a column of categories (who is responsible) repeats
        # its values and is no order, however the rows are sorted.
        orders = [[str(v) for v in value[c]] for c in value.columns
                  if value[c].dtype == object and value[c].nunique() == len(value)]
        if index.dtype == object:
            orders.append([str(v) for v in index])
        return {"rekkefølger": orders}
    # a Series: its numbers, and its order when it was sorted
    result: dict = {}
    if value.dtype.kind in "iuf":
        result["tall"] = [float(v) for v in value if math.isfinite(float(v))]
        if reordered and value.nunique() > 1 and (value.is_monotonic_increasing or value.is_monotonic_decreasing):
            result["rekkefølger"] = [[str(v) for v in index]]
    return result or None


ANSWERS_MARK = "@@kurs-svar@@"


def answer_values(source: Path, workdir: Path, timeout: int = 120) -> dict[str, dict]:
    """Run the solution notebook in a real kernel and describe each answer: ``{target: describe(value)}``.

    ``workdir`` is where the notebook runs (a throw-away copy of the course).
    A cell that fails does not stop the run (a failing test is `nbgrader
    validate`'s to report): an answer it left undefined is simply not
    described. A kernel that dies or hangs raises ``RuntimeError``.
    """
    import nbclient
    from nbformat.v4 import new_code_cell

    nb = read_notebook(source)
    targets = [target for target, _question, _value, _expr in solutions(nb)]
    nb.cells.append(new_code_cell(
        "import json as _kurs_json\n"
        "from course.instructor.copyable import describe as _kurs_describe\n"
        "_kurs_svar = {}\n"
        f"for _kurs_navn in {targets!r}:\n"
        "    try:\n"
        "        _kurs_svar[_kurs_navn] = _kurs_describe(eval(_kurs_navn))\n"
        "    except Exception:\n"
        "        pass\n"
        f"print({ANSWERS_MARK!r} + _kurs_json.dumps(_kurs_svar))\n"
    ))
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                     resources={"metadata": {"path": str(workdir)}})
    try:
        client.execute()
    except Exception as error:  # nbclient's CellExecutionError and its kin
        message = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()
        raise RuntimeError(message.splitlines()[-1][:300] if message else repr(error)) from None
    for output in nb.cells[-1].get("outputs", []):
        text = str(output.get("text", ""))
        if ANSWERS_MARK in text:
            return {k: v for k, v in json.loads(text.split(ANSWERS_MARK, 1)[1]).items() if v}
    return {}


# --- Matching ----------------------------------------------------------------------------------

def _plain(text: str) -> str:
    """Text for matching: markdown and HTML markup out, one kind of minus and space, lower case."""
    text = re.sub(r"<[^>]+>", " ", text)
    text = text.replace("\\n", "\n").replace("\\\"", "\"")
    text = re.sub(r"[*_`>#|]", " ", text)
    text = text.replace("\u2212", "-").replace("\u00a0", " ").replace("\u202f", " ").replace("\u2009", " ")
    return text.lower()


def squash(text: str) -> str:
    """The text without any whitespace, so that line breaks and indentation do not hide a match."""
    return re.sub(r"\s+", "", text)


def number_forms(value: float, digits: int = MIN_DIGITS) -> list[re.Pattern]:
    """Patterns for ``value`` as a student may see it: rounded to 0–6 decimals, comma or point, any sign.

    Only roundings with at least ``digits`` significant digits are used: that a
    4 or a 2.6 appears somewhere says nothing. Thousands may be grouped with a
    space. pandas prints six decimals, a lesson often two.
    """
    forms = set()
    for decimals in range(7):
        text = f"{abs(value):.{decimals}f}"
        significant = text.replace(".", "").lstrip("0")
        if len(significant) < digits or (decimals and text.endswith("0")):
            continue
        whole, _, frac = text.partition(".")
        grouped = f"{int(whole):,}".replace(",", " ") if len(whole) > 3 else whole
        for head in {whole, grouped}:
            body = re.escape(head).replace(r"\ ", r"\s?")
            forms.add(body + (r"[.,]" + frac if frac else ""))
    return [re.compile(rf"(?<![\d.,]){form}(?![\d]|[.,]\d)") for form in sorted(forms)]


def find_number(text: str, value: float, labels: tuple[str, ...] = ()) -> str | None:
    """The first form of ``value`` in ``text``, or None.

    A rounding with ``MIN_DIGITS + 1`` significant digits counts wherever it
    stands; one with ``MIN_DIGITS`` only in a text that also names one of the
    item's ``labels`` (the columns and rows its solution uses): a mean with two decimals
    on a 1–5 scale turns up by chance, next to the same column it does not.
    """
    plain = _plain(text)
    for pattern in number_forms(value, MIN_DIGITS + 1):
        match = pattern.search(plain)
        if match:
            return match.group(0)
    if any(_plain(label).strip() in plain for label in labels):
        for pattern in number_forms(value, MIN_DIGITS):
            match = pattern.search(plain)
            if match:
                return match.group(0)
    return None


def find_ranking(text: str, labels: list[str]) -> bool:
    """Does ``text`` list the first ``RANKING_PREFIX`` of ``labels`` one after another, in this order?

    Only the labels' own occurrences are read, in the order they stand: a
    sorted table shows them as a run, a sentence that names them all («R1, R2
    eller R3») does not, however often it names them.
    """
    plain = _plain(text)
    wanted = [_plain(label).strip() for label in labels]
    found = []
    for label in set(wanted):
        found += [(m.start(), label) for m in re.finditer(rf"(?<!\w){re.escape(label)}(?!\w)", plain)]
    sequence = [label for _position, label in sorted(found)]
    prefix = wanted[:RANKING_PREFIX]
    return any(sequence[i:i + len(prefix)] == prefix for i in range(len(sequence) - len(prefix) + 1))


def _sentences(text: str, minimum: int) -> list[str]:
    plain = _plain(text)
    parts = re.split(r"(?<=[.!?:;])\s+|\n\s*\n|\n\s*-\s", plain)
    return [squash(part) for part in parts if len(part.strip()) >= minimum]


OPTION = re.compile(r"^\s*[-*]\s*\*\*[A-H][.)]\*\*")


def item_stems(release_nb, questions: list[str]) -> list[str]:
    """The squashed sentences of each question's own text cells, and the prose strings of the data cells.

    Multiple-choice options are left out: an option may well restate a
    definition from the lesson (that is how a student tells it from the others).
    """
    stems: list[str] = []
    for question in questions:
        for cell in question_cells(release_nb, question):
            if cell.cell_type == "markdown":
                text = "\n".join(line for line in cell.source.splitlines() if not OPTION.match(line))
                stems += _sentences(text, MIN_STEM)
    for cell in release_nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or meta.get("grade") or meta.get("solution") or not meta.get("locked"):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) >= MIN_DATA \
                    and len(node.value.split()) >= 3:
                stems.append(squash(_plain(node.value)))
    return sorted(set(stems))


def shape(node: ast.AST) -> str:
    """A Python expression's form with every name, attribute, keyword and constant replaced by a placeholder."""
    if isinstance(node, ast.Name):
        return "N"
    if isinstance(node, ast.Constant):
        return "C"
    if isinstance(node, ast.Attribute):
        return f"{shape(node.value)}.A"
    if isinstance(node, ast.keyword):
        return f"K={shape(node.value)}"
    fields = []
    for _name, value in ast.iter_fields(node):
        if isinstance(value, ast.AST):
            fields.append(shape(value))
        elif isinstance(value, list):
            fields.append("[" + ",".join(shape(v) for v in value if isinstance(v, ast.AST)) + "]")
    return f"{type(node).__name__}({','.join(fields)})"


def _parsable(snippet: str) -> list[ast.AST]:
    """Every expression in the longest parsable tails of a snippet of text (``… for eksempel x = a.b()``)."""
    found: list[ast.AST] = []
    starts = [0] + [m.end() for m in re.finditer(r"[\s:«(]", snippet)]
    for start in starts:
        part = snippet[start:].strip().rstrip(".,;»")
        if not part:
            continue
        try:
            tree = ast.parse(part)
        except (SyntaxError, ValueError):
            continue
        found += [node for node in ast.walk(tree) if isinstance(node, ast.expr)]
        break  # the longest tail that parses holds the shorter ones
    return found


def code_examples(release_nb) -> list[str]:
    """The shapes of every piece of code a student sees in an exercise: markdown code, cells, comments, messages."""
    snippets: list[str] = []
    for cell in release_nb.cells:
        if cell.cell_type == "markdown":
            snippets += re.findall(r"```(?:python)?\n(.*?)```", cell.source, re.S)
            snippets += re.findall(r"`([^`\n]+)`", cell.source)
            continue
        if cell.cell_type != "code":
            continue
        source = SOLUTION.sub("", cell.source)
        snippets.append(source)
        snippets += [line.split("#", 1)[1] for line in source.splitlines() if "#" in line]
        try:
            tree = ast.parse(source)
        except SyntaxError:
            tree = None
        for node in ast.walk(tree) if tree else []:
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                snippets += node.value.splitlines()
    shapes = set()
    for snippet in snippets:
        for line in [snippet, *snippet.splitlines()]:
            shapes.update(shape(node) for node in _parsable(line))
    return sorted(shapes)


# --- The checks --------------------------------------------------------------------------------

def shared_stems(assignment: str, stems: list[str], texts: list[Text]) -> list[str]:
    """Messages for each item text of ``assignment`` that another part of the course also shows."""
    found = []
    for text in texts:
        if text.exercise == assignment:
            continue
        squashed = squash(_plain(text.text))
        hits = [stem for stem in stems if stem in squashed]
        if hits:
            found.append(f"{len(hits)} setning(er) fra oppgavetekstene eller dataene står også i {text.origin}, "
                         f"for eksempel «{hits[0][:60]}»: Der kan svaret leses")
    return found


def labels(expression: str) -> tuple[str, ...]:
    """The strings a solution expression names (columns, rows), three characters or more."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        return ()
    return tuple(sorted({node.value for node in ast.walk(tree)
                         if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) >= 3}))


def number_leaks(assignment: str, values: dict[str, dict], texts: list[Text],
                 expressions: dict[str, str] | None = None) -> list[str]:
    found = []
    for target, described in values.items():
        context = labels((expressions or {}).get(target, ""))
        for number in (described or {}).get("tall", []):
            for text in texts:
                if text.exercise == assignment and text.feedback:
                    continue
                form = find_number(text.text, number, context)
                if form:
                    found.append(f"svaret på {target} ({number:g}) står som «{form}» i {text.origin}")
                    break
    return found


def ranking_leaks(assignment: str, values: dict[str, dict], texts: list[Text]) -> list[str]:
    found = []
    for target, described in values.items():
        for labels in (described or {}).get("rekkefølger", []):
            if len(labels) < MIN_RANKING or len(set(labels)) < len(labels):
                continue
            for text in texts:
                if text.exercise == assignment and text.feedback:
                    continue
                if find_ranking(text.text, labels):
                    found.append(f"rekkefølgen som {target} skal gi ({', '.join(labels[:4])}"
                                 f"{' …' if len(labels) > 4 else ''}), står i {text.origin}")
                    break
    return found


def assignment_leaks(assignment: str, answers: list[tuple[str, str, object, str]], texts: list[Text]) -> list[str]:
    """``svar_1a = "…"`` (or a dictionary entry with the answer) in the lessons, the package or the documents.

    Exercises are left out: they all name their answers svar_1a, svar_2b …, so
    another exercise's ``svar_9z = "X"`` is its own example, and giveaways() in
    check.py reads each exercise for its own answers.
    """
    patterns = []
    for target, _question, value, _expression in answers:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            continue
        shown = value if isinstance(value, str) else repr(value)
        quoted = rf"[\"'«]{re.escape(str(value).lower())}[\"'»]" if isinstance(value, str) else rf"{re.escape(shown)}(?![\d.])"
        key = re.fullmatch(r"\w+\[(['\"])(.+)\1\]", target)
        if key:
            patterns.append((target, shown, re.compile(rf"[\"']{re.escape(key.group(2).lower())}[\"']\s*:\s*{quoted}")))
        else:
            patterns.append((target, shown, re.compile(rf"(?<!\w){re.escape(target.lower())}\s*=\s*{quoted}")))
    found = []
    for text in texts:
        if text.exercise is not None:
            continue
        plain = text.text.replace("\\\"", "\"").lower()
        for target, shown, pattern in patterns:
            if pattern.search(plain):
                found.append(f"svaret «{target} = {shown}» står i {text.origin}")
    return found


def template_answers(answers: list[tuple[str, str, object, str]], release_nb) -> list[tuple[str, str]]:
    """(question or target, expression) for each code answer whose shape a code example shows."""
    examples = set(code_examples(release_nb))
    found = []
    for target, question, value, expression in answers:
        if value is not None or not expression:
            continue
        try:
            node = ast.parse(expression, mode="eval").body
        except SyntaxError:
            continue
        if isinstance(node, ast.Constant):
            continue
        if shape(node) in examples:
            found.append((question or target, expression))
    return found


def copyable(assignment: str, source_nb, release_nb, values: dict[str, dict], texts: list[Text]) -> list[str]:
    """Every way an answer of ``assignment`` can be read or copied (Norwegian, one message each)."""
    answers = solutions(source_nb)
    questions = sorted({question for _t, question, _v, _e in answers if question})
    messages = shared_stems(assignment, item_stems(release_nb, questions), texts)
    messages += number_leaks(assignment, values, texts, {target: expr for target, _q, _v, expr in answers})
    messages += ranking_leaks(assignment, values, texts)
    messages += assignment_leaks(assignment, answers, texts)
    messages += [f"svaret på {question} ({expression}) har samme form som et kodeeksempel i oppgaven: Studenten "
                 "fyller ut en mal i stedet for å velge operasjonene selv. Vis verktøyene hver for seg, med en "
                 "annen form enn svaret" for question, expression in template_answers(answers, release_nb)]
    return messages

