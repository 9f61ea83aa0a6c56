"""Generate the fictional municipality's datasets under course/data/.

Eksempelvik kommune does not exist: every figure written here is invented,
drawn from a seeded random generator so that the files can be regenerated
byte for byte. Each CSV gets a datasheet (YAML) next to it with ``real: false``.

Usage (from the repository root)::

    .venv/bin/python scripts/lag_oppdiktede_data.py            # writes course/data/
    .venv/bin/python scripts/lag_oppdiktede_data.py --out DIR  # writes DIR instead

The CSV and YAML files are written with the standard library (csv, yaml), not
pandas, so their bytes do not depend on the pandas version.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import yaml

SEED = 20260227
MUNICIPALITY = "Eksempelvik kommune (oppdiktet)"
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "course" / "data"

# Volunteer effort by area: (area, typical number of volunteers, typical hours per volunteer a year).
AREAS = [
    ("helse og omsorg", 140, 38),
    ("kultur", 210, 30),
    ("idrett", 420, 42),
    ("integrering", 60, 45),
    ("barn og unge", 180, 35),
    ("nærmiljø", 150, 20),
]

AGE_GROUPS = ["16–29", "30–49", "50–66", "67+"]
AGE_SHARES = [0.22, 0.32, 0.26, 0.20]
# Per age group: chance of having volunteered in the past year, and the mean
# answer (1-5) to "Kommunen lytter til innbyggerne".
VOLUNTEERED = {"16–29": 0.45, "30–49": 0.60, "50–66": 0.66, "67+": 0.55}
LISTENS = {"16–29": 2.3, "30–49": 3.0, "50–66": 3.2, "67+": 3.4}
DISTRICTS = ["Sentrum", "Nordsida", "Sørbyen", "Vestre"]
RESPONDENTS = 300

LICENCE = "Oppdiktede tall laget for dette kurset; de kan brukes fritt i undervisning."


def _likert(rng: np.random.Generator, mean: float) -> int:
    return int(np.clip(np.rint(rng.normal(mean, 1.0)), 1, 5))


def volunteer_hours(rng: np.random.Generator) -> list[dict]:
    rows = []
    for area, volunteers, hours_each in AREAS:
        n = int(rng.poisson(volunteers))
        hours = int(round(n * hours_each * rng.uniform(0.85, 1.15), -1))
        rows.append({"område": area, "frivillige": n, "timer": hours})
    return rows


def resident_survey(rng: np.random.Generator) -> list[dict]:
    rows = []
    for number in range(1, RESPONDENTS + 1):
        age = str(rng.choice(AGE_GROUPS, p=AGE_SHARES))
        district = str(rng.choice(DISTRICTS))
        volunteered = bool(rng.random() < VOLUNTEERED[age])
        listens = _likert(rng, LISTENS[age])
        would_help = _likert(rng, 3.6 if volunteered else 2.7)
        rows.append(
            {
                "id": number,
                "aldersgruppe": age,
                "bydel": district,
                "frivillig_siste_år": volunteered,
                "lytter": listens,
                "vil_bidra": would_help,
            }
        )
    return rows


def _sheet(title: str, description: str, rows: int, columns: list[dict]) -> dict:
    return {
        "title": title,
        "real": False,
        "description": description,
        "source": {
            "publisher": "Kurset Samskaping og velferdsledelse",
            "publication": "Laget av scripts/lag_oppdiktede_data.py",
            "seed": SEED,
        },
        "years": "oppdiktet år",
        "units": None,
        "licence": LICENCE,
        "rows": rows,
        "columns": columns,
    }


def datasheets(hours_rows: int, survey_rows: int) -> dict[str, dict]:
    hours = _sheet(
        f"Frivillig innsats etter område i {MUNICIPALITY}",
        f"Oppdiktede tall: antall frivillige og frivillige timer på ett år i {MUNICIPALITY}. "
        "Kommunen og tallene finnes ikke.",
        hours_rows,
        [
            {"name": "område", "dtype": "str", "description": "Området den frivillige innsatsen gjelder"},
            {"name": "frivillige", "dtype": "int64", "description": "Antall personer som gjorde frivillig arbeid på området"},
            {"name": "timer", "dtype": "int64", "description": "Frivillige timer til sammen på ett år, rundet til nærmeste ti"},
        ],
    )
    hours["units"] = "personer og timer"
    survey = _sheet(
        f"Innbyggerundersøkelse om deltakelse i {MUNICIPALITY}",
        f"Oppdiktede svar fra {RESPONDENTS} innbyggere i {MUNICIPALITY}. "
        "Hver rad er én respondent. Kommunen, respondentene og svarene finnes ikke.",
        survey_rows,
        [
            {"name": "id", "dtype": "int64", "description": "Løpenummer for respondenten"},
            {"name": "aldersgruppe", "dtype": "str", "description": "Aldersgruppe i år: 16–29, 30–49, 50–66 eller 67+"},
            {"name": "bydel", "dtype": "str", "description": "Bydelen respondenten bor i (oppdiktede bydeler)"},
            {
                "name": "frivillig_siste_år",
                "dtype": "bool",
                "description": "Om respondenten har gjort frivillig arbeid det siste året (True) eller ikke (False)",
            },
            {
                "name": "lytter",
                "dtype": "int64",
                "description": "Svar på påstanden «Kommunen lytter til innbyggerne», fra 1 (helt uenig) til 5 (helt enig)",
            },
            {
                "name": "vil_bidra",
                "dtype": "int64",
                "description": "Svar på påstanden «Jeg kunne tenke meg å bidra i et samarbeid med kommunen», "
                "fra 1 (helt uenig) til 5 (helt enig)",
            },
        ],
    )
    survey["units"] = "svar på en skala fra 1 til 5"
    return {"oppdiktet_frivillig_innsats": hours, "oppdiktet_innbyggerundersokelse": survey}


def _write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _write_yaml(path: Path, sheet: dict) -> None:
    text = "# Generated by scripts/lag_oppdiktede_data.py; do not edit by hand.\n"
    text += yaml.safe_dump(sheet, allow_unicode=True, sort_keys=False, width=100)
    path.write_text(text, encoding="utf-8")


def generate(out: Path) -> list[Path]:
    """Write the fictional datasets and their datasheets to ``out``; return the files written."""
    rng = np.random.default_rng(SEED)
    data = {
        "oppdiktet_frivillig_innsats": volunteer_hours(rng),
        "oppdiktet_innbyggerundersokelse": resident_survey(rng),
    }
    sheets = datasheets(len(data["oppdiktet_frivillig_innsats"]), len(data["oppdiktet_innbyggerundersokelse"]))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in data.items():
        _write_csv(out / f"{name}.csv", rows)
        _write_yaml(out / f"{name}.yaml", sheets[name])
        written += [out / f"{name}.csv", out / f"{name}.yaml"]
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write to (default: course/data)")
    args = parser.parse_args(argv)
    for path in generate(args.out):
        print(path)


if __name__ == "__main__":
    main()
