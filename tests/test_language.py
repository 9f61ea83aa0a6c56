"""The language gate: everything a student or instructor reads is spelled right.

Texts are checked with Debian's hunspell against the ``nb_NO`` dictionary plus
``en_US`` (for the English titles in reference lists), and the project's
reviewed word lists in ``config/ordliste/*.txt`` (terms, names and ordinary
words the dictionary lacks). Hunspell accepts some wrong compounds such as
"rettsikkerhet", so the source article's known misspellings, listed in
``config/ordliste/forbudt.txt``, are searched for explicitly as well.

What is checked (student- and instructor-facing text only):
- markdown cells, code comments and string literals of lessons and solutions;
- every string value in the content files (not keys, ids or ``kind``);
- Norwegian string literals in ``course/`` (messages, widget labels);
- README.md and docs/.

Nynorsk (issue 25) is checked the same way with ``nn_NO`` and the reviewed
word lists in ``config/ordliste/nynorsk/``: the nynorsk sources of the
exercises (``solutions_nynorsk/``), the parts of a document between
``<!-- nynorsk -->`` and ``<!-- /nynorsk -->``, and in ``course/`` the string
constants assigned to a name that ends in ``_NN`` (or inside such a dict).
Those are left out of the bokmål check, and a bokmål word in them fails.
"""

from __future__ import annotations

import ast
import copy
import io
import re
import shutil
import subprocess
import tempfile
import tokenize
from functools import cache
from pathlib import Path

import nbformat
import pytest
import yaml

from conftest import ROOT
from course.instructor.malform import graded_code, message_nodes

WORDLISTS = ROOT / "config" / "ordliste"
NN_WORDLISTS = WORDLISTS / "nynorsk"
FORBIDDEN_FILE = WORDLISTS / "forbudt.txt"
DICTIONARIES = "nb_NO,en_US"
NN_DICTIONARIES = "nn_NO,en_US"
NYNORSK_PART = re.compile(r"<!-- nynorsk -->(.*?)<!-- /nynorsk -->", re.S)

# Words that mark a Python string literal as Norwegian prose (messages, labels),
# as opposed to identifiers, HTML or English.
NORWEGIAN_MARKERS = re.compile(r"[æøåÆØÅ]|\b(og|er|ikke|en|et|som|du|med|til|av|på|har|kan|skal|må|finnes)\b")


def _read_list(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


@cache
def _personal_dictionary(nynorsk: bool = False) -> str:
    folder = NN_WORDLISTS if nynorsk else WORDLISTS
    words = sorted({w for f in folder.glob("*.txt") if f != FORBIDDEN_FILE for w in _read_list(f)})
    return "\n".join(words) + "\n"


def _clean_markdown(text: str) -> str:
    text = re.sub(r"```.*?```", " ", text, flags=re.S)  # code blocks
    text = re.sub(r"`[^`]*`", " ", text)  # inline code
    text = re.sub(r"\]\([^)]*\)", "] ", text)  # link targets
    text = re.sub(r"<[^>]+>", " ", text)  # HTML tags
    text = re.sub(r"https?://\S+|www\.\S+|\S+@\S+", " ", text)  # addresses
    return text


def _code_prose(source: str) -> str:
    """Comments and string literals of a code cell: the parts a student reads."""
    parts = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                parts.append(tok.string.lstrip("#"))
            elif tok.type == tokenize.STRING:
                parts.append(_string_value(tok.string))
            elif tok.type == getattr(tokenize, "FSTRING_MIDDLE", None):
                parts.append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        parts.append(source)
    return "\n".join(parts)


def _string_value(literal: str) -> str:
    try:
        value = ast.literal_eval(literal)
    except (ValueError, SyntaxError):
        # An f-string: keep its text, drop the replacement fields.
        return re.sub(r"\{[^}]*\}", " ", literal)
    return value if isinstance(value, str) else ""


def _yaml_strings(value, key: str | None = None):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _yaml_strings(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _yaml_strings(v, key)
    elif isinstance(value, str) and key not in {"kind", "answer_id", "id", "next", "goto"}:
        yield value


def _nynorsk_nodes(tree: ast.AST) -> set[int]:
    """The nodes inside a value assigned to a name ending in ``_NN`` (the module's nynorsk texts)."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id.endswith("_NN") for t in targets) and node.value is not None:
                inside.update(id(n) for n in ast.walk(node.value))
    return inside


# An HTML tag in a page a module writes (course/frister_tjeneste.py): its text is checked, not its markup.
MARKUP = re.compile(r"<[^<>]*>")


def _python_messages(path: Path, nynorsk: bool = False) -> str:
    """Norwegian string constants of a module, docstrings left out (they are English).

    Bokmål by default; with ``nynorsk``, only the constants of ``*_NN`` values.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    in_nynorsk = _nynorsk_nodes(tree)
    texts = []
    for node in ast.walk(tree):
        if (id(node) in in_nynorsk) != nynorsk:
            continue
        if isinstance(node, ast.JoinedStr):
            text = " ".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            text = node.value
        else:
            continue
        if NORWEGIAN_MARKERS.search(text):
            texts.append(MARKUP.sub(" ", text))
    return "\n".join(texts)


def _notebook_text(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    parts = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            parts.append(_clean_markdown(cell.source))
        elif cell.cell_type == "code":
            parts.append(_code_prose(cell.source))
    return "\n".join(parts)


def student_facing_texts() -> dict[str, str]:
    """Every checked text, by its path relative to the repository."""
    texts: dict[str, str] = {}
    for pattern in ("lessons/*.ipynb", "solutions/*/*.ipynb"):
        for path in sorted(ROOT.glob(pattern)):
            texts[str(path.relative_to(ROOT))] = _notebook_text(path)
    for path in sorted((ROOT / "course" / "content").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        texts[str(path.relative_to(ROOT))] = "\n".join(_yaml_strings(data))
    for path in sorted((ROOT / "course").rglob("*.py")):
        texts[str(path.relative_to(ROOT))] = _python_messages(path)
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        if path.exists():
            texts[str(path.relative_to(ROOT))] = _clean_markdown(NYNORSK_PART.sub(" ", path.read_text(encoding="utf-8")))
    return texts


def _strings(source: str) -> set[str]:
    found = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.STRING:
                found.add(_string_value(tok.string))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return found


KEPT = re.compile(r"«[^«»]*»|(?<!\*)\*[^*\n]+\*(?!\*)")


def _data_literals(source: str) -> list[str]:
    """The string literals of bokmål code that are data, not messages: labels, columns, answers.

    Messages (``message_nodes``, the positions the drift check lets the two
    målformer word differently) are translated; everything else the two share.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    messages = message_nodes(tree)
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in messages]


def _nynorsk_notebook_text(path: Path) -> str:
    """A nynorsk source's prose: markdown, comments, and the string literals it does not share with bokmål.

    A literal the bokmål cell has too (a column name, a data label, an answer)
    is code the two målformer must share, not nynorsk text.
    """
    nb = nbformat.read(path, as_version=4)
    bokmal = nbformat.read(ROOT / "solutions" / path.parent.name / path.name, as_version=4)
    # The bokmål code's names and one-word literals (variables, columns, data labels such as `raushet`):
    # the nynorsk text may name them, for example in an explanation's code.
    # Data cells' prose literals (a risk described in a table) are to be translated, so only their
    # one-word literals count; in test and answer cells every non-message literal is shared data.
    code_words = set()
    for cell in bokmal.cells:
        if cell.cell_type == "code":
            code_words |= {w for literal in _data_literals(cell.source)
                           if graded_code(cell) or " " not in literal.strip() for w in _words(literal)}
            try:
                code_words |= {t.string for t in tokenize.generate_tokens(io.StringIO(cell.source).readline)
                               if t.type == tokenize.NAME}
            except (tokenize.TokenError, IndentationError, SyntaxError):
                pass
    parts = []
    for i, cell in enumerate(nb.cells):
        # A quotation in «…» or a title in *…* that the bokmål cell has word for word is kept, not translated.
        kept = set(KEPT.findall(bokmal.cells[i].source)) if i < len(bokmal.cells) else set()
        if kept:
            cell = copy.copy(cell)
            cell.source = KEPT.sub(lambda m: " " if m.group(0) in kept else m.group(0), cell.source)
        if cell.cell_type == "markdown":
            parts.append(_clean_markdown(cell.source))
        elif cell.cell_type == "code":
            shared = _strings(bokmal.cells[i].source) if i < len(bokmal.cells) else set()
            prose = []
            try:
                for tok in tokenize.generate_tokens(io.StringIO(cell.source).readline):
                    if tok.type == tokenize.COMMENT:
                        prose.append(tok.string.lstrip("#"))
                    elif tok.type == tokenize.STRING and _string_value(tok.string) not in shared:
                        prose.append(_string_value(tok.string))
            except (tokenize.TokenError, IndentationError, SyntaxError):
                prose.append(cell.source)
            parts.append("\n".join(prose))
    words = "|".join(re.escape(w) for w in sorted(code_words, key=len, reverse=True))
    return re.sub(rf"(?<![\wæøåÆØÅ])(?:{words})(?![\wæøåÆØÅ])", " ", "\n".join(parts)) if words else "\n".join(parts)


def _without_bokmal_column(text: str) -> str:
    """A glossary table in a nynorsk text (first column headed «Bokmål») without that column."""
    lines, glossary = [], False
    for line in text.splitlines():
        if line.startswith("|"):
            cells = line.split("|")
            glossary = glossary or cells[1].strip() == "Bokmål"
            if glossary and len(cells) > 2:
                line = "|" + "|".join(cells[2:])
        else:
            glossary = False
        lines.append(line)
    return "\n".join(lines)


def nynorsk_texts() -> dict[str, str]:
    """Every nynorsk text, by its path relative to the repository."""
    texts: dict[str, str] = {}
    for path in sorted(ROOT.glob("solutions_nynorsk/*/*.ipynb")):
        texts[str(path.relative_to(ROOT))] = _nynorsk_notebook_text(path)
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        parts = NYNORSK_PART.findall(path.read_text(encoding="utf-8")) if path.exists() else []
        if parts:
            texts[str(path.relative_to(ROOT))] = _clean_markdown(_without_bokmal_column("\n".join(parts)))
    for path in sorted((ROOT / "course").rglob("*.py")):
        text = _python_messages(path, nynorsk=True)
        if text.strip():
            texts[str(path.relative_to(ROOT))] = text
    return texts


def _words(text: str) -> list[str]:
    """Words of letters only; numbers, identifiers (``svar_1a``) and codes are not spell-checked."""
    words = []
    for token in re.split(r"[^\wæøåÆØÅéü'’-]+", text):
        if "_" in token:
            continue
        for word in re.split(r"[-'’]+", token):
            if len(word) > 1 and word.isalpha():
                words.append(word)
    return words


def _hunspell(words: list[str], nynorsk: bool = False) -> set[str]:
    """The ``words`` that hunspell (nb_NO or nn_NO, and en_US) with the project's word lists does not know."""
    if shutil.which("hunspell") is None:
        pytest.fail("hunspell mangler: kjør `make test`, som installerer den (eller `apt-get install hunspell hunspell-no hunspell-en-us`).")
    with tempfile.TemporaryDirectory() as folder:  # one per call: test processes run side by side
        dictionary = Path(folder) / "ordliste.dic"
        dictionary.write_text(_personal_dictionary(nynorsk), encoding="utf-8")
        result = subprocess.run(
            ["hunspell", "-d", NN_DICTIONARIES if nynorsk else DICTIONARIES, "-p", str(dictionary), "-i", "utf-8", "-l"],
            input="\n".join(words),
            capture_output=True,
            text=True,
            check=True,
        )
    return set(result.stdout.split())


@cache
def _unknown_in(nynorsk: bool = False) -> tuple[frozenset[str], frozenset[str]]:
    """(every word of the checked texts, the ones hunspell does not know), from one hunspell run.

    Loading a dictionary takes most of a hunspell run, so the words of all
    texts (bokmål, or nynorsk) are checked at once and each test looks up its own.
    """
    words = sorted({word for text in (NN_TEXTS if nynorsk else TEXTS).values() for word in _words(text)})
    return frozenset(words), frozenset(_hunspell(words, nynorsk))


def misspelled(text: str, nynorsk: bool = False) -> list[str]:
    """The words of ``text`` that hunspell and the project word lists (bokmål, or nynorsk) do not know.

    In nynorsk, nn_NO accepts some bokmål words when they are capitalised
    («Ikke»), so a capitalised word also fails when its lower-case form is
    unknown in nynorsk but known in bokmål, unless a nynorsk word list has it.
    """
    words = set(_words(text))
    if not words:
        return []
    checked, unknown = _unknown_in(nynorsk)
    wrong = words & unknown
    rest = sorted(words - checked)
    if rest:
        wrong |= _hunspell(rest, nynorsk)
    if nynorsk:
        capitals = {w for w in words - wrong if w[:1].isupper() and w[1:].islower()}
        listed = set(_personal_dictionary(True).split())
        lowered = tuple(sorted({w.lower() for w in capitals} - listed))
        if lowered:
            bokmal_only = _hunspell_plain(lowered, NN_DICTIONARIES) - _hunspell_plain(lowered, "nb_NO")
            wrong |= {w for w in capitals if w.lower() in bokmal_only and w not in listed}
    return sorted(wrong)


@cache
def _hunspell_plain(words: tuple[str, ...], dictionary: str) -> frozenset[str]:
    """The ``words`` one hunspell dictionary alone does not know (no word lists)."""
    result = subprocess.run(["hunspell", "-d", dictionary, "-i", "utf-8", "-l"], input="\n".join(words),
                            capture_output=True, text=True, check=True)
    return frozenset(result.stdout.split())


def forbidden_in(text: str) -> list[str]:
    """The source article's known misspellings that occur in ``text``."""
    found = []
    for wrong in _read_list(FORBIDDEN_FILE):
        if re.search(rf"(?<![\wæøå]){re.escape(wrong)}(?![\wæøå])", text, flags=re.I):
            found.append(wrong)
    return found


TEXTS = student_facing_texts()


@pytest.mark.parametrize("path", sorted(TEXTS))
def test_spelling(path: str):
    """Does hunspell (nb_NO) with the project's word lists know every word of this text?"""
    wrong = misspelled(TEXTS[path])
    assert not wrong, (
        f"{path}: ukjente ord {wrong}. Rett stavefeilen, eller legg et riktig fagord eller navn "
        "i en fil i config/ordliste/."
    )


@pytest.mark.parametrize("path", sorted(TEXTS))
def test_no_misspelling_from_the_source_article(path: str):
    """Is the text free of the source article's known misspellings (some pass hunspell as compounds)?"""
    assert not forbidden_in(TEXTS[path]), f"{path}: feilstavingen(e) {forbidden_in(TEXTS[path])} fra kildeartikkelen."


@pytest.mark.parametrize("wrong", ["flykninger", "frivllighet", "velferdsleldelse"])
def test_gate_catches_a_misspelling(wrong: str):
    """Would a misspelled word in a lesson fail the gate (so the gate can fail at all)?"""
    text = TEXTS["lessons/01_hva_er_samskaping.ipynb"] + f"\nDette gjelder {wrong} i kommunen."
    assert wrong in misspelled(text)


@pytest.mark.parametrize("wrong", ["rettsikkerhet", "portofolie", "Tofting"])
def test_gate_catches_the_articles_compound_misspellings(wrong: str):
    """Are the article's misspellings that hunspell accepts as compounds caught by the explicit list?"""
    assert wrong in forbidden_in(f"Vi snakker om {wrong} her.")


def test_word_lists_do_not_whitelist_a_known_misspelling():
    """Has no one 'fixed' the gate by adding a known misspelling to a word list?"""
    forbidden = {w.lower() for w in _read_list(FORBIDDEN_FILE)}
    for path in WORDLISTS.glob("*.txt"):
        if path != FORBIDDEN_FILE:
            overlap = forbidden & {w.lower() for w in _read_list(path)}
            assert not overlap, f"{path.name} godtar feilstavingene {sorted(overlap)}"


# ---------------------------------------------------------------------------
# Nynorsk


NN_TEXTS = nynorsk_texts()


def test_there_are_nynorsk_texts_to_check():
    assert len([p for p in NN_TEXTS if p.startswith("solutions_nynorsk/")]) == len(list(ROOT.glob("solutions/*/*.ipynb")))


@pytest.mark.parametrize("path", sorted(NN_TEXTS))
def test_spelling_nynorsk(path: str):
    """Does hunspell (nn_NO) with the nynorsk word lists know every word of this nynorsk text?"""
    wrong = misspelled(NN_TEXTS[path], nynorsk=True)
    assert not wrong, (
        f"{path}: ukjende ord på nynorsk {wrong}. Rett stavefeilen (eller bokmålsforma), eller legg eit "
        "rett fagord eller namn i ei fil i config/ordliste/nynorsk/."
    )


@pytest.mark.parametrize("path", sorted(NN_TEXTS))
def test_no_misspelling_from_the_source_article_nynorsk(path: str):
    assert not forbidden_in(NN_TEXTS[path]), f"{path}: feilstavinga(ne) {forbidden_in(NN_TEXTS[path])} frå kjeldeartikkelen."


@pytest.mark.parametrize("bokmal", ["ikke", "Ikke", "hvordan", "brukermedvirkning", "tjenesten", "deltakelse"])
def test_nynorsk_gate_catches_a_bokmal_word(bokmal: str):
    """Would a bokmål form left in a nynorsk exercise fail the gate?"""
    text = next(t for p, t in NN_TEXTS.items() if p.startswith("solutions_nynorsk/")) + f"\nDette gjeld {bokmal} i kommunen."
    assert bokmal in misspelled(text, nynorsk=True)


def test_nynorsk_word_lists_do_not_whitelist_a_known_misspelling():
    forbidden = {w.lower() for w in _read_list(FORBIDDEN_FILE)}
    for path in NN_WORDLISTS.glob("*.txt"):
        overlap = forbidden & {w.lower() for w in _read_list(path)}
        assert not overlap, f"{path.name} godtar feilstavingene {sorted(overlap)}"
