"""The seminar material in docs/undervisning/: plans for 150 students, the seminar-3 case messages and the
seminar-7 risk templates.

Each check is a small function that returns what is wrong with a text, so the tests can also show that it
finds a broken text (the ``test_the_check_*`` tests).
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import yaml

from conftest import ROOT
from course import charts_risk, loader, models
from test_language import _code_prose, misspelled

NOTES_DIR = ROOT / "docs" / "undervisning"
NOTES = sorted(NOTES_DIR.glob("0[1-8]_*.md"))
HANDOUTS = NOTES_DIR / "utdeling"
CASES_MD = HANDOUTS / "seminar_03_casemeldinger.md"
CASES_HTML = HANDOUTS / "seminar_03_casemeldinger.html"
CASES_KEY = NOTES_DIR / "seminar_03_fasit.md"
RISK_MD = HANDOUTS / "seminar_07_risikoregister.md"
RISK_HTML = HANDOUTS / "seminar_07_risikoregister.html"
GUIDE = NOTES_DIR / "seminar_150_studenter.md"
NEW_FILES = [CASES_MD, CASES_HTML, CASES_KEY, RISK_MD, RISK_HTML, GUIDE]

PLAN_HEADING = "## Seminarplan for 150 studenter"
PLAN_LABELS = ("**Grupper:**", "**Rapportering:**", "**Med én faglærer:**", "**Med 2–3 assistenter:**")
PARTIES = ("kommunen", "frivilligheten", "brukergruppene")
MAX_CASE_WORDS = 300  # one A4 page at 11.5 pt with room for notes (checked by printing the HTML once)
REGISTER_COLUMNS = ("ID", "Risiko", "Hvem rammes", "Sannsynlighet (1–5)", "Konsekvens (1–5)", "Score",
                    "Nivå", "Plass", "Tiltak", "Ansvarlig", "Frist")
SHINGLE = 7  # a run of this many words shared with an exercise or a lesson activity counts as reuse


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The text under ``heading`` (a '## ' line) up to the next '## ' heading; '' if there is none."""
    start = text.find(heading + "\n")
    if start < 0:
        return ""
    rest = text[start + len(heading):]
    end = re.search(r"^## ", rest, flags=re.M)
    return rest[: end.start()] if end else rest


def table_rows(text: str) -> list[list[str]]:
    """The cells of every Markdown table row in ``text`` (separator rows left out)."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not re.fullmatch(r"\|[\s|:-]*\|", line.strip()):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def words(text: str) -> list[str]:
    return re.findall(r"[\wæøåÆØÅ§]+(?:[-–.][\wæøåÆØÅ]+)*", text.lower())


def html_text(fragment: str) -> str:
    fragment = re.sub(r"<(style|script)\b.*?</\1>|<!--.*?-->", " ", fragment, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))


def markdown_text(fragment: str) -> str:
    fragment = re.sub(r"^\s*(?:\d+\.|[-*])\s+", "", fragment, flags=re.M)  # list markers
    fragment = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", fragment)  # links: keep the text
    return fragment.replace("**", " ").replace("`", " ")


# --- Plans for 150 students ---------------------------------------------------------------------------

def plan_problems(text: str) -> list[str]:
    """What is wrong with a note's 150-student plan: missing, not 90 minutes, or lacking a part."""
    problems = []
    if "## Seminarplan (90 minutter)" not in text:
        problems.append("the small-group plan «Seminarplan (90 minutter)» is gone")
    plan = section(text, PLAN_HEADING)
    if not plan:
        return [*problems, f"no «{PLAN_HEADING[3:]}» section"]
    rows = [row for row in table_rows(plan) if row[0] != "Tid"]
    if not rows:
        return [*problems, "the plan has no timetable"]
    expected_start, total = 0, 0
    for row in rows:
        match = re.fullmatch(r"(\d+)–(\d+)", row[0])
        if not match or len(row) < 5:
            problems.append(f"row «{' | '.join(row)}» is not «start–end | minutes | students | lecturer | assistants»")
            continue
        start, end = map(int, match.groups())
        if start != expected_start:
            problems.append(f"row {row[0]} does not start where the previous one ended ({expected_start})")
        if not row[1].isdigit() or int(row[1]) != end - start:
            problems.append(f"row {row[0]}: «{row[1]}» minutes, but the row lasts {end - start}")
        if not all(row[2:5]):
            problems.append(f"row {row[0]}: says nothing of what the students, the lecturer or the assistants do")
        expected_start, total = end, total + (int(row[1]) if row[1].isdigit() else 0)
    if expected_start != 90 or total != 90:
        problems.append(f"the timetable ends at {expected_start} and adds up to {total} minutes, not 90")
    problems += [f"no {label} paragraph" for label in PLAN_LABELS if label not in plan]
    return problems


@pytest.mark.parametrize("note", NOTES, ids=lambda p: p.stem)
def test_every_seminar_note_has_a_90_minute_plan_for_150_students(note: Path):
    """Does every note keep its small-group plan and add a 150-student plan whose timetable fills 0–90 minutes?"""
    assert len(NOTES) == 8
    assert plan_problems(read(note)) == []


def test_the_check_catches_a_plan_that_does_not_add_up():
    """Would a timetable of 95 minutes, a gap, or a missing paragraph be reported?"""
    text = read(NOTES[2])
    assert plan_problems(text) == []
    longer = text.replace("| 82–90 | 8 |", "| 82–95 | 13 |", 1)
    assert any("not 90" in p for p in plan_problems(longer))
    gap = text.replace("| 25–60 | 35 |", "| 30–60 | 30 |", 1)
    assert any("does not start where" in p for p in plan_problems(gap))
    wrong_minutes = text.replace("| 60–65 | 5 |", "| 60–65 | 10 |", 1)
    assert any("minutes, but the row lasts 5" in p for p in plan_problems(wrong_minutes))
    no_assistants = text.replace("**Med 2–3 assistenter:**", "Assistentene:", 1)
    assert plan_problems(no_assistants) == ["no **Med 2–3 assistenter:** paragraph"]
    assert plan_problems(text.replace(PLAN_HEADING, "## Annet", 1)) == [f"no «{PLAN_HEADING[3:]}» section"]


# --- Seminar 3: the case messages ---------------------------------------------------------------------

def md_cases(text: str) -> dict[str, str]:
    """Case messages of the Markdown handout: title -> body."""
    parts = re.split(r"^## ", text, flags=re.M)[1:]
    return {p.partition("\n")[0].strip(): p.partition("\n")[2] for p in parts if p.startswith("Casemelding")}


def html_cases(text: str) -> dict[str, str]:
    """Case messages of the print page: title -> body text (the running header left out)."""
    cases = {}
    for block in re.findall(r'<section class="casemelding"[^>]*>(.*?)</section>', text, flags=re.S):
        block = re.sub(r'<p class="topp">.*?</p>', " ", block, flags=re.S)
        title = html_text(re.search(r"<h2>(.*?)</h2>", block, flags=re.S).group(1)).strip()
        cases[title] = html_text(re.sub(r"<h2>.*?</h2>", " ", block, flags=re.S))
    return cases


def case_problems(cases: dict[str, str]) -> list[str]:
    """What is wrong with a set of case messages for seminar 3."""
    problems = []
    if len(cases) < 8:
        problems.append(f"{len(cases)} case messages, at least 8 are needed")
    senders = []
    for title, body in cases.items():
        if "oppdiktet" not in title.lower():
            problems.append(f"«{title}»: the title does not say «oppdiktet»")
        if "**Gruppens oppgave:**" not in body:
            problems.append(f"«{title}»: no «Gruppens oppgave»")
        if len(re.findall(r"^\d+\. ", body, flags=re.M)) < 3:
            problems.append(f"«{title}»: fewer than three questions")
        if len(words(title + " " + markdown_text(body))) > MAX_CASE_WORDS:
            problems.append(f"«{title}»: longer than {MAX_CASE_WORDS} words, more than one printed page")
        match = re.search(r"\*\*Avsenderens part:\*\* (\w+)", body)
        if not match or match.group(1) not in PARTIES:
            problems.append(f"«{title}»: the sender's party is not one of {', '.join(PARTIES)}")
        else:
            senders.append(match.group(1))
    for party in PARTIES:
        if senders.count(party) < 2:
            problems.append(f"only {senders.count(party)} case messages are written from the side of {party}")
    if len({re.sub(r"^Casemelding \d+: ", "", t) for t in cases}) != len(cases):
        problems.append("two case messages have the same title")
    return problems


def test_seminar_3_has_at_least_8_fictional_case_messages_fair_to_all_three_parties():
    """Are there at least 8 case messages, each marked «oppdiktet», with a task, questions and one page of
    text, and written from the side of each of the three parties at least twice?"""
    cases = md_cases(read(CASES_MD))
    assert case_problems(cases) == []
    assert [int(re.match(r"Casemelding (\d+)", t).group(1)) for t in cases] == list(range(1, len(cases) + 1))


def test_the_check_catches_a_case_message_that_is_not_marked_or_one_sided():
    """Would an unmarked case, a case without questions, too few cases or one-sided senders be reported?"""
    cases = md_cases(read(CASES_MD))
    first = next(iter(cases))
    unmarked = {first.replace(" (oppdiktet)", ""): cases[first], **{t: b for t, b in cases.items() if t != first}}
    assert any("does not say «oppdiktet»" in p for p in case_problems(unmarked))
    no_questions = dict(cases, **{first: re.sub(r"^\d+\. ", "- ", cases[first], flags=re.M)})
    assert any("fewer than three questions" in p for p in case_problems(no_questions))
    too_long = dict(cases, **{first: cases[first] + " ord" * MAX_CASE_WORDS})
    assert any("more than one printed page" in p for p in case_problems(too_long))
    assert any("at least 8" in p for p in case_problems(dict(list(cases.items())[:7])))
    one_sided = {t: re.sub(r"(\*\*Avsenderens part:\*\*) \w+", r"\1 kommunen", b) for t, b in cases.items()}
    assert any("side of frivilligheten" in p for p in case_problems(one_sided))


def test_the_print_page_has_the_same_case_messages_one_per_page():
    """Does the HTML print page hold exactly the Markdown handout's cases, word for word, each on its own page?"""
    source, page = md_cases(read(CASES_MD)), html_cases(read(CASES_HTML))
    assert list(page) == list(source)
    for title in source:
        assert words(page[title]) == words(markdown_text(source[title])), f"«{title}» differs between .md and .html"
    text = read(CASES_HTML)
    assert re.search(r"\.casemelding\s*\{[^}]*break-after:\s*page", text)
    assert "@page" in text and "A4" in text


def test_the_lecturers_key_covers_every_case_and_is_not_in_the_handout():
    """Does the key have a section for every case message, and does the handout leave the key out?"""
    key = read(CASES_KEY)
    for title in md_cases(read(CASES_MD)):
        number, name = re.match(r"(Casemelding \d+): (.*) \(oppdiktet\)", title).groups()
        assert f"## {number}: {name}\n" in key, f"the key has no section for {number}"
    assert "Ikke del ut denne filen" in key
    handout = read(CASES_MD) + read(CASES_HTML)
    for line in key.splitlines():
        if line.startswith("- **") and len(words(line)) > 12:
            assert line[2:60] not in handout, "a line of the key is in the handout"


# --- Seminar 7: the risk templates ------------------------------------------------------------------

def register() -> models.RiskRegister:
    return loader.get("l07_risikoregister", models.RiskRegister)


def md_matrix(text: str) -> dict[tuple[int, int], str]:
    """(likelihood, consequence) -> cell text of the Markdown 5 x 5 matrix."""
    cells = {}
    for row in table_rows(section(text, "## Risikomatrise (5 × 5)")):
        match = re.match(r"\*\*(\d)", row[0])
        if match:
            for likelihood, cell in enumerate(row[1:], start=1):
                cells[(likelihood, int(match.group(1)))] = cell
    return cells


def html_matrix(text: str) -> dict[tuple[int, int], str]:
    cells = {}
    for attrs, inner in re.findall(r'<td class="rute [^"]*"([^>]*)>(.*?)</td>', text, flags=re.S):
        likelihood = int(re.search(r'data-sannsynlighet="(\d)"', attrs).group(1))
        consequence = int(re.search(r'data-konsekvens="(\d)"', attrs).group(1))
        cells[(likelihood, consequence)] = html_text(inner).strip()
    return cells


def matrix_problems(cells: dict[tuple[int, int], str]) -> list[str]:
    """Cells whose score or level is not lesson 7's (score = S x K, level from models.risk_level)."""
    problems = []
    if set(cells) != {(s, k) for s in models.RISK_SCALE for k in models.RISK_SCALE}:
        problems.append(f"the matrix has {len(cells)} cells, not 5 x 5")
    for (s, k), cell in sorted(cells.items()):
        expected = f"{s * k} {models.risk_level(s * k)}"
        if " ".join(cell.split()) != expected:
            problems.append(f"cell S={s}, K={k} says «{cell}», lesson 7 says «{expected}»")
    return problems


@pytest.mark.parametrize("path", [RISK_MD, RISK_HTML], ids=["markdown", "html"])
def test_the_risk_matrix_has_the_lessons_scores_and_levels(path: Path):
    """Does every cell of the 5 x 5 matrix show S x K and the level word that lesson 7 gives it?"""
    text = read(path)
    cells = md_matrix(text) if path.suffix == ".md" else html_matrix(text)
    assert matrix_problems(cells) == []


def test_the_check_catches_a_matrix_with_other_thresholds():
    """Would a matrix that calls 9 «høy» (threshold 9 instead of 10) be reported?"""
    cells = md_matrix(read(RISK_MD))
    moved = {cell: text.replace("9 middels", "9 høy") for cell, text in cells.items()}
    assert matrix_problems(moved) == ["cell S=3, K=3 says «9 høy», lesson 7 says «9 middels»"]


@pytest.mark.parametrize("path", [RISK_MD, RISK_HTML], ids=["markdown", "html"])
def test_the_templates_use_the_lessons_scales_thresholds_and_columns(path: Path):
    """Do the templates name lesson 7's scale steps, its thresholds (lav 1–4, middels 5–9, høy 10–25) and
    the register's columns, and leave every row empty but its ID?"""
    text = read(path)
    plain = " ".join((markdown_text(text) if path.suffix == ".md" else html_text(text)).replace("|", " ").split())
    for level, span in charts_risk.LEVEL_RANGES.items():
        assert f"{level} {span}" in plain, f"the level «{level} {span}» is missing"
    scales = register()
    for value, (likelihood, consequence) in enumerate(zip(scales.likelihood_scale, scales.consequence_scale), start=1):
        assert re.search(rf"\b{value} {re.escape(likelihood)} {re.escape(consequence)}", plain), value
    if path.suffix == ".md":
        rows = table_rows(section(text, "## Risikoregister"))
        header, body = rows[0], rows[1:]
    else:
        head = re.search(r'<table class="register">.*?<thead>(.*?)</thead>.*?<tbody>(.*?)</tbody>', text, flags=re.S)
        header = [html_text(c).strip() for c in re.findall(r"<th[^>]*>(.*?)</th>", head.group(1), flags=re.S)]
        body = [[html_text(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, flags=re.S)]
                for r in re.findall(r"<tr>(.*?)</tr>", head.group(2), flags=re.S)]
    for column in REGISTER_COLUMNS:
        assert any(cell.startswith(column) for cell in header), f"no column «{column}»"
    assert len(body) >= 6
    for number, row in enumerate(body, start=1):
        assert row[0] == f"R{number}" and not any(row[1:]), f"row R{number} is filled in"


def test_the_print_template_uses_the_lessons_level_colours_and_prints_on_a4():
    """Does the HTML template colour each level as the lesson's chart does (Okabe-Ito), and print on A4?"""
    text = read(RISK_HTML)
    for colour in charts_risk.LEVEL_COLOURS.values():
        assert colour in text
    assert re.search(r"@page\s*\{[^}]*A4", text)
    assert "print-color-adjust: exact" in text


def test_the_templates_are_not_prefilled_with_the_risks_of_lesson_7_or_oppgave_5():
    """Is none of the risks of the lesson's register or of oppgave 5's table in the templates?"""
    risks = [r.title for r in register().risks] + [r.description for r in register().risks]
    exercise = read(ROOT / "solutions" / "oppgave_05" / "oppgave_05.ipynb")
    risks += re.findall(r'\\"([A-ZÆØÅ][^"\\]{20,})\\",?\\n', exercise)
    assert len(risks) >= 12
    templates = " ".join(words(markdown_text(read(RISK_MD)) + " " + html_text(read(RISK_HTML))))
    for risk in risks:
        assert " ".join(words(risk)) not in templates, risk


# --- Nothing copied from an exercise or a lesson activity -------------------------------------------

def exercise_and_activity_texts() -> dict[str, str]:
    """Stems, keys, mark schemes and explanations of the exercises, and the cases and answers of the lessons'
    activities (not their glossary terms or the rating scales, which the templates must share)."""
    texts = {}
    for path in sorted(ROOT.glob("solutions/*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        texts[path.name] = "\n".join(cell.source if cell.cell_type == "markdown" else _code_prose(cell.source)
                                     for cell in nb.cells)
    skip = {"kind", "term", "definition", "source", "title", "instructions", "categories",
            "likelihood_scale", "consequence_scale"}

    def strings(value, key=None):
        if isinstance(value, dict):
            for k, v in value.items():
                if k not in skip:
                    yield from strings(v, k)
        elif isinstance(value, list):
            for v in value:
                yield from strings(v, key)
        elif isinstance(value, str):
            yield value

    for path in sorted((ROOT / "course" / "content").glob("leksjon_*.yaml")):
        data = yaml.safe_load(read(path)) or {}
        texts[path.name] = "\n".join(s for entry in data.values()
                                     if isinstance(entry, dict) and entry.get("kind") != "term"
                                     for s in strings(entry))
    return texts


def shingles(text: str, n: int = SHINGLE) -> set[tuple[str, ...]]:
    w = words(text)
    return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}


# The course's names for things, which every text may use: the three governance forms, the article's
# phrase about the arena, and the lessons' titles (read from the notebooks' first heading).
VOCABULARY = [
    "klassisk forvaltning (PA), New Public Management (NPM) og New Public Governance (NPG)",
    "å møtes på en arena som kan være ny og ukjent",
    "ved lik score kommer risikoen med størst konsekvens først",  # lesson 7's ranking rule
    "R1 R2 R3 R4 R5 R6 R7 R8",  # the rows of an empty register
    *(nbformat.read(path, as_version=4).cells[0].source.splitlines()[0].lstrip("# ")
      for path in sorted((ROOT / "lessons").glob("0[1-8]_*.ipynb"))),
]


def vocabulary_shingles() -> set[tuple[str, ...]]:
    found = set()
    for phrase in VOCABULARY:
        w = words(phrase)
        found |= {tuple(w[i:j]) for i in range(len(w)) for j in range(i + 1, len(w) + 1)}
    return found


def reused(text: str, sources: dict[str, str]) -> list[str]:
    """Runs of SHINGLE words that ``text`` shares with an exercise or a lesson activity (course vocabulary
    left out)."""
    own = shingles(text) - vocabulary_shingles()
    return sorted({f"{name}: {' '.join(s)}" for name, source in sources.items() for s in own & shingles(source)})


@pytest.fixture(scope="module")
def sources() -> dict[str, str]:
    texts = exercise_and_activity_texts()
    assert any(name.startswith("oppgave_03") for name in texts) and "leksjon_03.yaml" in texts
    return texts


@pytest.mark.parametrize("path", NEW_FILES, ids=lambda p: p.name)
def test_no_handout_or_key_reuses_an_exercise_or_a_lesson_activity(path: Path, sources):
    """Does no handout (nor the key, nor the guide) share a run of seven words with an exercise's stem,
    key or mark scheme, or with a lesson activity's case or answer?"""
    text = html_text(read(path)) if path.suffix == ".html" else markdown_text(read(path))
    assert reused(text, sources) == []


def test_the_check_catches_an_exercise_sentence_in_a_handout(sources):
    """Would a handout that quotes an exercise's stem, its mark scheme or a lesson activity's answer be reported?"""
    handout = markdown_text(read(CASES_MD))
    exercise = nbformat.read(ROOT / "solutions" / "oppgave_03" / "oppgave_03.ipynb", as_version=4)
    statement = next(c.source for c in exercise.cells
                     if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("utsagn_1"))
    stem = max(statement.split("\n"), key=len)  # the statement itself, not its heading
    assert any(hit.startswith("oppgave_03") for hit in reused(handout + stem, sources))
    answer = "Hver enhet oversatte beskjeden til sin egen logikk. Lederen må forstå hvordan hver av dem leser den."
    assert any(hit.startswith("leksjon_03.yaml") for hit in reused(handout + answer, sources))


# --- Language and links of the new files ----------------------------------------------------------

@pytest.mark.parametrize("path", [CASES_HTML, RISK_HTML], ids=lambda p: p.name)
def test_the_print_pages_are_spelled_right(path: Path):
    """Is the visible text of the HTML print pages (which the language gate does not read) spelled right?"""
    assert misspelled(html_text(read(path))) == []


def test_the_new_files_link_only_to_files_that_exist():
    """Does every relative link in the notes, the guide, the key and the handouts reach a file and heading?"""
    problems = []
    for path in [*NOTES, *NEW_FILES]:
        text = read(path)
        links = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'href="([^"]+)"', text)
        for link in links:
            parts = urlsplit(link)
            if parts.scheme or not parts.path:
                continue
            target = (path.parent / unquote(parts.path)).resolve()
            if not target.exists():
                problems.append(f"{path.name}: {link}")
    assert problems == []
    assert "utdeling/seminar_03_casemeldinger.md" in read(NOTES[2])
    assert "utdeling/seminar_07_risikoregister.md" in read(NOTES[6])

