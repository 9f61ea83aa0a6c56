"""Feedback that never shows hidden tests or mark schemes (nbgrader issues #917, #1363).

``HideHiddenTests`` runs in ``nbgrader generate_feedback`` (see nbgrader_config.py).
Removing the hidden tests from a cell's source is not enough: a failing hidden
test's traceback prints the lines around it, and its assert message often names
the right answer. So every error output of a cell with hidden tests is replaced
by one Norwegian line: the hidden-test line when the error came from a hidden
test, the error's own message (without code) when it came from the visible one.

Why, after the deadline: each autograded cell's hidden tests carry an
explanation for the student, written as a comment block that starts with
``# FORKLARING:`` (what the right answer is, and why). With
``HideHiddenTests.show_explanations`` on (the default), the feedback shows it
below the cell's output, as text: the hidden tests' code itself never reaches
the student. Feedback is released after the deadline; a lecturer who reuses
items can turn the explanations off in nbgrader_config.py.
"""

from __future__ import annotations

import re
from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from nbformat.v4 import new_output
from traitlets import Bool

from ..malform import BOKMAL, NYNORSK, malform_of
from .common import HIDDEN_TESTS, MARK_SCHEME

TEMPLATES = Path(__file__).resolve().parent / "templates"
HIDDEN_TEST_FAILED = "En skjult test feilet: svaret er ikke riktig."
HIDDEN_TESTS_REMOVED = "# (Her står skjulte tester. De vises ikke i tilbakemeldingen.)\n"
MARK_SCHEME_REMOVED = ""
EXPLANATION_LABEL = "Forklaring: "
# The feedback's own words in each målform: the lines above, and the template's
# headings (templates/feedback/index.html.j2 reads them from resources["ord"]).
WORDS_NB = {
    "lang": "nb", "hidden_failed": HIDDEN_TEST_FAILED, "hidden_removed": HIDDEN_TESTS_REMOVED,
    "explanation": EXPLANATION_LABEL, "title": "Tilbakemelding", "points": "Poeng", "test": "Test",
    "code_answer": "Kodesvar", "written_answer": "Skriftlig svar", "task": "Oppgave", "the_task": "Oppgaven",
    "comment": "Kommentar", "late": "Trekk for sen innlevering", "top": "Til toppen",
    "your_answer": "Svaret ditt", "teacher_comment": "Kommentar fra faglæreren",
}
WORDS_NN = {
    "lang": "nn", "hidden_failed": "Ein skjult test feila: svaret er ikkje rett.",
    "hidden_removed": "# (Her står skjulte testar. Dei blir ikkje viste i tilbakemeldinga.)\n",
    "explanation": "Forklaring: ", "title": "Tilbakemelding", "points": "Poeng", "test": "Test",
    "code_answer": "Kodesvar", "written_answer": "Skriftleg svar", "task": "Oppgåve", "the_task": "Oppgåva",
    "comment": "Kommentar", "late": "Trekk for sein innlevering", "top": "Til toppen",
    "your_answer": "Svaret ditt", "teacher_comment": "Kommentar frå faglæraren",
}
WORDS = {BOKMAL: WORDS_NB, NYNORSK: WORDS_NN}
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
EXPLANATION = re.compile(r"^[ \t]*# FORKLARING:(.*)$", re.M)


def explanation(hidden: str) -> str:
    """The student's explanation in a hidden-test region: the ``# FORKLARING:`` line and the comment lines after it."""
    parts = []
    for match in EXPLANATION.finditer(hidden):
        words = [match.group(1).strip()]
        for line in hidden[match.end():].lstrip("\n").splitlines():
            line = line.strip()
            if not line.startswith("#") or line.startswith("# FORKLARING:") or line.startswith("###"):
                break
            words.append(line.lstrip("#").strip())
        parts.append(" ".join(word for word in words if word))
    return " ".join(parts)


def _hidden_lines(hidden: str) -> list[str]:
    lines = [line.strip() for line in hidden.splitlines()]
    return [line for line in lines if len(line) >= 8 and line not in MARKERS]


def _from_hidden_test(output, hidden: str) -> bool:
    """Did this error come from the hidden tests? (Its message or its traceback shows them.)"""
    message = str(output.get("evalue", "")).strip()
    if not message or message in hidden:
        return True
    traceback = ANSI.sub("", "\n".join(output.get("traceback", [])))
    return any(line in traceback for line in _hidden_lines(hidden))


def sanitise_cell(cell, show_explanations: bool = False, words: dict | None = None) -> None:
    """Remove hidden tests and mark schemes from one cell, and their traces from its outputs.

    With ``show_explanations``, a cell whose hidden tests carry a ``# FORKLARING:``
    block gets that explanation as a last output (text only, never the code).
    """
    words = words or WORDS[BOKMAL]
    if cell.cell_type == "markdown":
        cell.source = MARK_SCHEME.sub(MARK_SCHEME_REMOVED, cell.source)
        return
    if cell.cell_type != "code":
        return
    hidden = "\n".join(m.group(0) for m in HIDDEN_TESTS.finditer(cell.source))
    if not hidden:
        return
    cell.source = HIDDEN_TESTS.sub(words["hidden_removed"], cell.source)
    outputs = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            if _from_hidden_test(output, hidden):
                text = words["hidden_failed"]
            else:
                text = f"{output.get('ename', 'Feil')}: {output.get('evalue', '')}"
            output = new_output("stream", name="stderr", text=text + "\n")
        outputs.append(output)
    text = explanation(hidden) if show_explanations else ""
    if text:
        outputs.append(new_output("stream", name="stdout", text=words["explanation"] + text + "\n"))
    cell.outputs = outputs


class HideHiddenTests(Preprocessor):
    """nbconvert preprocessor for generate_feedback: no hidden test or mark scheme reaches the student."""

    enabled = Bool(True, help="Whether to hide hidden tests and mark schemes in feedback").tag(config=True)
    show_explanations = Bool(
        True,
        help="Show each autograded item's explanation (the '# FORKLARING:' block in its hidden tests) in the "
        "feedback. Turn off for courses that reuse items from year to year.",
    ).tag(config=True)

    def preprocess(self, nb, resources):
        """Each notebook in its own målform (the mark an answer in nynorsk carries; course/malform.py)."""
        self._words = WORDS[malform_of(nb)]
        resources["ord"] = self._words
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        sanitise_cell(cell, self.show_explanations, getattr(self, "_words", None))
        return cell, resources
