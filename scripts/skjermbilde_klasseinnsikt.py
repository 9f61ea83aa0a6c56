"""Make docs/bilder/klasseinnsikt.png: the lecturer's «Før seminaret» page for lesson 1, with fictional counts.

No real class is shown: 48 fictional students answer lesson 1's activities,
drawn from a seeded random generator (each activity gets a share right and a
favourite wrong option), and are counted by the real store
(course/innsikt_lager.py, in a temporary SQLite file). The page is the
service's own HTML (course/instructor/innsikt_tjeneste.py) with a line at the top saying
that the figures are invented, opened in Debian's chromium and photographed.

Usage (from the repository root)::

    .venv/bin/python scripts/skjermbilde_klasseinnsikt.py            # writes docs/bilder/klasseinnsikt.png
    .venv/bin/python scripts/skjermbilde_klasseinnsikt.py --out F    # writes F instead
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
from pathlib import Path

from course import innsikt, models
from course import innsikt_lager as lager
from course.instructor import innsikt_tjeneste as tjeneste

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261206
STUDENTS = 48
LESSON = 1
PREFIX = "/services/innsikt/"
FICTIONAL = ('<p><strong>Eksempel med oppdiktede tall:</strong> 48 tenkte studenter, laget av '
             'scripts/skjermbilde_klasseinnsikt.py. Ingen ekte klasse er vist.</p>')


def fictional_answer(entry, rng: random.Random, skill: float, favourite: int):
    """One fictional first try: right with probability ``skill``, otherwise mostly the favourite wrong choice."""
    def pick(options: list, right: list) -> object:
        if rng.random() < skill:
            return rng.choice(right)
        wrong = [o for o in options if o not in right]
        return wrong[favourite % len(wrong)] if rng.random() < 0.7 else rng.choice(wrong)

    if isinstance(entry, models.MultipleChoice):
        return pick(list(range(len(entry.options))), [i for i, o in enumerate(entry.options) if o.correct])
    if isinstance(entry, models.SortingTask):
        return [pick(list(entry.categories), [case.answer]) for case in entry.cases]
    if isinstance(entry, models.LadderTask):
        rungs = list(range(1, len(entry.rungs) + 1))
        return [pick(rungs, [entry.rung_number(case.answer)]) for case in entry.scenarios]
    if isinstance(entry, models.MatchingTable):
        return [[pick(list(col.options), [cell.answer]) for col, cell in zip(entry.columns, row.cells)]
                for row in entry.rows]
    low, high = entry.answer - 3 * entry.tolerance, entry.answer + 3 * entry.tolerance
    return entry.answer if rng.random() < skill else max(entry.minimum, min(entry.maximum, rng.choice([low, high])))


def page_html(store: lager.Store) -> str:
    titles = tjeneste.lesson_titles(ROOT)
    note = tjeneste.teaching_note(ROOT, LESSON)
    views = lager.lesson_views(store.counts(), LESSON)
    body = FICTIONAL + tjeneste.lesson_html(views, tjeneste.misconceptions(note), PREFIX, LESSON, note is not None)
    return tjeneste.page(f"Før seminaret: {titles[LESSON]}", body, PREFIX)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "bilder" / "klasseinnsikt.png")
    args = parser.parse_args()
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory() as folder:
        store = lager.Store(f"sqlite:///{Path(folder) / 'innsikt.db'}", b"oppdiktet")
        for entry in lager.activities(LESSON):
            skill, favourite = rng.uniform(0.35, 0.95), rng.randrange(3)
            for student in range(STUDENTS):
                if rng.random() < 0.9:  # not everyone answers every activity
                    store.add(f"student{student}", entry.id, innsikt.parts(entry, fictional_answer(entry, rng, skill,
                                                                                                    favourite)))
        html = page_html(store)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
        page = browser.new_page(viewport={"width": 1000, "height": 2000}, locale="nb-NO")
        page.set_content(html)
        # The top of the page: the ranking, and the first activity with its choices and misconceptions.
        page.screenshot(path=str(args.out), full_page=False, animations="disabled")
        browser.close()
    print(f"Skrev {args.out}")


if __name__ == "__main__":
    main()
