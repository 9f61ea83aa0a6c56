"""The bibliography docs/litteratur.md: every DOI in it is well-formed and written as a doi.org link."""

from __future__ import annotations

import re

from conftest import ROOT

PAGE = ROOT / "docs" / "litteratur.md"

# Crossref's pattern for modern DOIs: "10." + a registrant code of 4–9 digits + "/" + a suffix.
DOI = re.compile(r"^10\.\d{4,9}/[-._;()/:A-Za-z0-9]+$")
# Anything that looks like a DOI, written with or without a doi.org prefix.
CANDIDATE = re.compile(r"(?:https?://(?:dx\.)?doi\.org/|doi:\s*)?\b10\.\S+")


def doi_problems(text: str) -> list[str]:
    """Every DOI-like string in ``text`` that is malformed, or not written as https://doi.org/DOI."""
    problems = []
    for match in CANDIDATE.finditer(text):
        raw = match.group(0).rstrip(".,;)")
        if raw.count("(") > raw.count(")"):  # a DOI such as 10.1016/0305-750X(96)00023-X keeps its brackets
            raw += ")"
        if not raw.startswith("https://doi.org/"):
            problems.append(f"{raw}: write it as https://doi.org/<DOI>")
            continue
        doi = raw.removeprefix("https://doi.org/")
        if not DOI.match(doi):
            problems.append(f"{raw}: not a well-formed DOI")
    return problems


def test_every_doi_is_well_formed():
    text = PAGE.read_text(encoding="utf-8")
    assert "https://doi.org/10." in text
    assert doi_problems(text) == []


def test_no_doi_is_listed_twice():
    dois = re.findall(r"https://doi\.org/(\S+?)[.,;]?(?:\s|$)", PAGE.read_text(encoding="utf-8"))
    assert len(dois) == len(set(dois)), sorted(d for d in dois if dois.count(d) > 1)


def test_a_bad_doi_is_found():
    """Would the check catch a DOI without the registrant, a bare doi: form, and a space inside?"""
    text = (
        "Ok: https://doi.org/10.1016/0305-750X(96)00023-X. "
        "Feil: https://doi.org/10.11/puar.1. Også feil: doi:10.1111/puar.12765 og https://doi.org/10.1177/ 0095"
    )
    assert doi_problems(text) == [
        "https://doi.org/10.11/puar.1: not a well-formed DOI",
        "doi:10.1111/puar.12765: write it as https://doi.org/<DOI>",
        "https://doi.org/10.1177/: not a well-formed DOI",
    ]
