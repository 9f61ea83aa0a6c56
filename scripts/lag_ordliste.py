"""Generate the browsable glossary docs/ordliste.md from the course content.

Every entry with ``kind: term`` in any ``course/content/*.yaml`` becomes one
entry of the page, sorted alphabetically by term (Norwegian order: æ, ø, å
after z), each preceded by an HTML anchor ``<a id="KEY"></a>`` so that a lesson
can link to ``../docs/ordliste.md#KEY``.

Why an ``<a id>`` anchor works in both places students read the page:
JupyterLab's sanitizer keeps the ``id`` (it renames it to ``data-jupyter-id``
unless named properties are allowed) and its Markdown Preview looks a link's
fragment up under that attribute; GitHub keeps the anchor too (as
``user-content-KEY``) and resolves ``#KEY`` to it.

Usage (from the repository root)::

    .venv/bin/python scripts/lag_ordliste.py          # writes docs/ordliste.md
    .venv/bin/python scripts/lag_ordliste.py --check  # exit 1 if the page is out of date

The page is generated, never edited by hand; tests/test_ordliste.py fails if
the committed page differs from what this script writes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "ordliste.md"

OWN_WORDING = "Kursets egen formulering"

# Norwegian alphabetical order: æ, ø, å come after z; accented letters sort as their base letter.
_COLLATION = str.maketrans({"æ": "{", "ä": "{", "ø": "|", "ö": "|", "å": "}", "é": "e", "è": "e", "ü": "y"})

HEADER = f"""# Ordliste

<!-- Generert av scripts/lag_ordliste.py fra course/content/*.yaml. Ikke rediger for hånd. -->

Her er begrepene i kurset, i alfabetisk rekkefølge, med definisjon og kilde.
Lenkene i leksjonene peker hit. I en notatbok kan du også skrive
`print(define("samskaping"))` for å få det samme begrepet med kilde.

Om kildene: Der kilden begynner med «{OWN_WORDING}», er definisjonen
skrevet av kurset selv. Den er ikke et sitat, og forfatterne som nevnes etter
«bygger på», bruker ikke nødvendigvis de samme ordene. Ellers nevner kilden
hvor definisjonen er hentet fra; slå den opp før du siterer den. Fullstendige
referanser finner du i [litteraturlisten](litteratur.md).
"""


def sort_key(term: str) -> str:
    """The term as Norwegian alphabetical order sorts it (case-insensitive)."""
    return term.casefold().translate(_COLLATION)


def terms() -> list:
    """Every glossary entry of the course, sorted by term."""
    from course import loader, models

    found = [e for e in loader.load_all().values() if isinstance(e, models.Term)]
    return sorted(found, key=lambda t: (sort_key(t.term), t.id))


def render() -> str:
    """The whole page, as this script writes it."""
    entries = terms()
    parts = [HEADER, f"Ordlisten har {len(entries)} begreper.\n"]
    letter = None
    for term in entries:
        first = term.term[:1].upper()
        if first != letter:
            letter = first
            parts.append(f"## {letter}\n")
        parts.append(f'<a id="{term.id}"></a>\n\n### {term.term}\n\n{term.definition}\n\n*Kilde:* {term.source}\n')
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if docs/ordliste.md is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if current != text:
            print("docs/ordliste.md er ikke oppdatert. Kjør: .venv/bin/python scripts/lag_ordliste.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    print(f"Skrev {PAGE.relative_to(ROOT)} ({len(terms())} begreper).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
