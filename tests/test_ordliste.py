"""The glossary page docs/ordliste.md: generated from the content, and every link to it resolves."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT

# The course's glossary should cover at least this many terms (issue 14). The lesson
# branches add their terms; until they are merged this test fails on purpose.
MIN_TERMS = 30

# A markdown link ``[text](../docs/ordliste.md#key)`` or an HTML ``href="...ordliste.md#key"``.
LINK = re.compile(r"""(?:\]\(|href=["'])[^)\s"'>]*ordliste\.md#([^)\s"'>]*)""")


def _script():
    spec = importlib.util.spec_from_file_location("lag_ordliste", ROOT / "scripts" / "lag_ordliste.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lag_ordliste = _script()


def _keys() -> set[str]:
    return {t.id for t in lag_ordliste.terms()}


def _linking_texts() -> dict[str, str]:
    """Every text a link to the glossary may sit in: lesson and exercise notebooks, README and docs/."""
    texts = {}
    for path in sorted([*ROOT.glob("lessons/*.ipynb"), *ROOT.glob("solutions/*/*.ipynb")]):
        nb = nbformat.read(path, as_version=4)
        texts[str(path.relative_to(ROOT))] = "\n".join(c.source for c in nb.cells)
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        texts[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
    return texts


def broken_links(texts: dict[str, str], keys: set[str]) -> list[str]:
    """``file: #key`` for every ``ordliste.md#key`` link whose key is not a glossary term."""
    return [f"{name}: #{key}" for name, text in texts.items() for key in LINK.findall(text) if key not in keys]


def test_committed_page_is_the_generated_one():
    """Is docs/ordliste.md exactly what scripts/lag_ordliste.py writes from the content (the sync gate)?"""
    committed = (ROOT / "docs" / "ordliste.md").read_text(encoding="utf-8")
    assert committed == lag_ordliste.render(), "docs/ordliste.md is out of date: run .venv/bin/python scripts/lag_ordliste.py"


def test_page_has_one_anchor_per_term_in_alphabetical_order():
    page = lag_ordliste.render()
    anchors = re.findall(r'<a id="([a-z0-9_]+)"></a>', page)
    assert sorted(anchors) == sorted(_keys()) and len(set(anchors)) == len(anchors)
    order = [lag_ordliste.sort_key(t) for t in re.findall(r"^### (.+)$", page, re.M)]
    assert order == sorted(order)
    assert lag_ordliste.sort_key("Årsverk") > lag_ordliste.sort_key("Økonomi") > lag_ordliste.sort_key("Zebra")


def test_every_glossary_link_resolves_to_a_term():
    """Does every ``ordliste.md#key`` link in lessons, exercises, README and docs name an existing term?"""
    assert broken_links(_linking_texts(), _keys()) == []


def test_a_broken_glossary_link_is_found():
    """Would the link check catch a link to a key that is not a term, or an empty fragment?"""
    text = (
        "Se [årsverk](../docs/ordliste.md#arsverk) og [x](../docs/ordliste.md#finnes_ikke) og [y](ordliste.md#) "
        '<a href="../docs/ordliste.md#feil">z</a>, men ikke koden `ordliste.md#id`.'
    )
    assert broken_links({"l.ipynb": text}, {"arsverk"}) == ["l.ipynb: #finnes_ikke", "l.ipynb: #", "l.ipynb: #feil"]


def test_the_script_check_mode_reports_drift(tmp_path, monkeypatch, capsys):
    page = tmp_path / "ordliste.md"
    page.write_text("gammel\n", encoding="utf-8")
    monkeypatch.setattr(lag_ordliste, "PAGE", page)
    assert lag_ordliste.main(["--check"]) == 1
    assert "ikke oppdatert" in capsys.readouterr().err
    page.write_text(lag_ordliste.render(), encoding="utf-8")
    assert lag_ordliste.main(["--check"]) == 0


def test_glossary_covers_at_least_min_terms():
    """Issue 14: does the glossary cover the course's terms (at least MIN_TERMS)?

    Expected to fail on the infra branch alone: the lesson branches add the terms.
    """
    count = len(_keys())
    assert count >= MIN_TERMS, f"the glossary has {count} terms; issue 14 asks for at least {MIN_TERMS}"
