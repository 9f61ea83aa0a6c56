"""Make a first nynorsk draft of an exercise with Apertium (bokmål -> nynorsk, e-infinitive).

    python scripts/nynorsk_utkast.py oppgave_01 [--ut FIL]
    python scripts/nynorsk_utkast.py oppgave_01 --godkjenn

Writes ``solutions_nynorsk/oppgave_01/oppgave_01.ipynb`` (or FIL): the bokmål
source's cells in the same order with the same metadata, each marked with the
hash of the bokmål cell it translates (``metadata.kurs.bokmål``), the notebook
marked ``kurs.målform = nn``. Markdown is translated whole; in code cells only
comments and string literals are (the code itself is the same in both
målformer). The draft is machine translation: every line must then be read and
corrected by a person before it is committed (see docs/stilark.md). Needs
Debian's ``apertium-nno-nob``.

``--godkjenn`` makes no draft: after a change to the bokmål source, once the
nynorsk cells that ``course check`` names have been brought up to date by hand,
it records the bokmål cells' new fingerprints in the nynorsk source.
"""

from __future__ import annotations

import argparse
import copy
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from course.malform import NYNORSK, SOURCE_DIR, set_malform, source_hash  # noqa: E402

SEPARATOR = "@@@{}@@@"
KEEP = re.compile(r"(```.*?```|=== (?:BEGIN|END) MARK SCHEME ===|### (?:BEGIN|END) [A-Z ]+)", re.S)
NORWEGIAN = re.compile(r"[æøåÆØÅ]|\b(og|er|ikke|en|et|som|du|med|til|av|på|har|kan|skal|må|Skriv|Svaret)\b")


def apertium(texts: list[str]) -> list[str]:
    """Translate many texts in one Apertium run (a numbered separator line between them)."""
    if not texts:
        return []
    joined = "".join(f"{text}\n\n{SEPARATOR.format(i)}\n\n" for i, text in enumerate(texts))
    out = subprocess.run(["apertium", "-u", "nob-nno_e"], input=joined, capture_output=True, text=True, check=True).stdout
    parts = re.split(r"\n*@@@(\d+)@@@\n*", out)
    result = [parts[2 * i].strip("\n") if 2 * i < len(parts) else texts[i] for i in range(len(texts))]
    # Keep the original's leading and trailing whitespace.
    return [re.match(r"\s*", t).group(0) + r.strip() + t[len(t.rstrip()):] for t, r in zip(texts, result)]


def translate_markdown(text: str) -> str:
    pieces = KEEP.split(text)
    prose = [i for i, piece in enumerate(pieces) if not KEEP.fullmatch(piece) and piece.strip()]
    for i, new in zip(prose, apertium([pieces[i] for i in prose])):
        pieces[i] = new
    return "".join(pieces)


def translate_code(source: str) -> str:
    """Translate the Norwegian comments and string literals of a code cell; keep the code."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    spans = []
    for tok in tokens:
        if tok.type in (tokenize.COMMENT, tokenize.STRING) and NORWEGIAN.search(tok.string) \
                and not tok.string.startswith("# NBVAL") and not re.match(r"#+ (BEGIN|END) ", tok.string):
            start = offsets[tok.start[0] - 1] + tok.start[1]
            end = offsets[tok.end[0] - 1] + tok.end[1]
            spans.append((start, end, tok.string))
    new = apertium([text for _, _, text in spans])
    for (start, end, _), text in sorted(zip(spans, new), key=lambda pair: -pair[0][0]):
        source = source[:start] + text + source[end:]
    return source


def draft(bokmal: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nn = copy.deepcopy(bokmal)
    set_malform(nn, NYNORSK)
    for cell in nn.cells:
        original = cell.source
        if cell.cell_type == "markdown":
            cell.source = translate_markdown(original)
        elif cell.cell_type == "code":
            cell.source = translate_code(original)
        cell.metadata.setdefault("kurs", {})["bokmål"] = source_hash(original)
    return nn


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("oppgave")
    parser.add_argument("--ut", type=Path)
    parser.add_argument("--godkjenn", action="store_true",
                        help="skriv de nye fingeravtrykkene når nynorsken er oppdatert (lager ikke utkast)")
    args = parser.parse_args()
    if args.godkjenn:
        from course.instructor.malform import accept

        try:
            changed = accept(ROOT, args.oppgave)
        except ValueError as error:
            print(f"Kan ikke godkjenne: {error}.", file=sys.stderr)
            return 1
        print(f"Nye fingeravtrykk for {', '.join(changed)}." if changed else "Alle fingeravtrykkene var oppdatert.")
        return 0
    source = ROOT / "solutions" / args.oppgave / f"{args.oppgave}.ipynb"
    target = args.ut or ROOT / SOURCE_DIR / args.oppgave / f"{args.oppgave}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(draft(nbformat.read(source, as_version=4)), target)
    print(f"Utkast skrive til {target}. Les og rett kvar linje før du legg det inn.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
