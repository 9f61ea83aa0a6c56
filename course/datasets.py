"""The course's datasets: small CSV files under ``course/data/``, each with a datasheet.

Every dataset ``name`` is two files: ``name.csv`` (the data) and ``name.yaml``
(its datasheet: title, whether the figures are real, source, years, units,
licence, row count and every column with its dtype and a Norwegian
description). Real figures come from Statistics Norway (SSB); the fictional
municipality's data are written by ``scripts/lag_oppdiktede_data.py``.

In a notebook::

    from course.datasets import load
    arsverk = load("ssb_lonnede_arsverk")

pandas is imported inside :func:`load`, so ``import course`` stays fast.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

# The dtypes a datasheet may give a column, and what pandas reads them as.
DTYPES = {"int64": "int64", "float64": "float64", "bool": "bool", "str": "object"}


class DatasetError(LookupError):
    """An unknown dataset name, or a missing or damaged data file; the message is Norwegian."""

    def __str__(self) -> str:  # LookupError would show the message in quotes
        return str(self.args[0]) if self.args else ""


def _folder():
    return resources.files("course") / "data"


def names() -> list[str]:
    """The names of every dataset (the CSV files that have a datasheet), sorted."""
    files = {f.name for f in _folder().iterdir()}
    return sorted(n[: -len(".yaml")] for n in files if n.endswith(".yaml") and n[: -len(".yaml")] + ".csv" in files)


def _check_name(name: str) -> None:
    valid = names()
    if name not in valid:
        raise DatasetError(
            f"Fant ikke noe datasett som heter «{name}». Datasettene som finnes, er: {', '.join(valid)}. "
            "Sjekk stavemåten, og husk anførselstegnene."
        )


@cache
def _datasheet(name: str) -> dict[str, Any]:
    file = f"{name}.yaml"
    try:
        sheet = yaml.safe_load((_folder() / file).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DatasetError(f"Datasettet «{name}» mangler databladet sitt ({file} i course/data).") from exc
    except yaml.YAMLError as exc:
        raise DatasetError(f"Databladet «{file}» er skadet: det er ikke gyldig YAML.") from exc
    if not isinstance(sheet, dict):
        raise DatasetError(f"Databladet «{file}» er skadet: det må være en oppføring med felter.")
    for field in ("title", "real", "source", "years", "licence", "rows", "columns"):
        if field not in sheet:
            raise DatasetError(f"Databladet «{file}» mangler feltet «{field}».")
    columns = sheet["columns"]
    if not isinstance(columns, list) or not columns:
        raise DatasetError(f"Databladet «{file}», feltet «columns», må være en liste over kolonnene.")
    for i, column in enumerate(columns):
        if not isinstance(column, dict) or not {"name", "dtype", "description"} <= set(column):
            raise DatasetError(
                f"Databladet «{file}», feltet «columns[{i}]», må ha «name», «dtype» og «description»."
            )
        if column["dtype"] not in DTYPES:
            raise DatasetError(
                f"Databladet «{file}», kolonnen «{column['name']}»: typen «{column['dtype']}» er ukjent. "
                f"Bruk en av: {', '.join(DTYPES)}."
            )
    return sheet


def datasheet(name: str) -> dict[str, Any]:
    """The datasheet of dataset ``name`` as a dictionary (a copy: changing it changes nothing)."""
    import copy

    _check_name(name)
    return copy.deepcopy(_datasheet(name))


def load(name: str):
    """Dataset ``name`` as a pandas DataFrame, with the column types its datasheet gives.

    Raises :class:`DatasetError` with a Norwegian message for an unknown name, or
    a file that is missing, unreadable or does not match its datasheet.
    """
    import pandas as pd

    _check_name(name)
    sheet = _datasheet(name)
    file = f"{name}.csv"
    columns = {c["name"]: c["dtype"] for c in sheet["columns"]}
    try:
        with (_folder() / file).open("r", encoding="utf-8") as f:
            frame = pd.read_csv(f)
    except FileNotFoundError as exc:
        raise DatasetError(f"Datafilen «{file}» mangler i course/data.") from exc
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DatasetError(f"Datafilen «{file}» er skadet og kan ikke leses som CSV.") from exc
    if list(frame.columns) != list(columns):
        raise DatasetError(
            f"Datafilen «{file}» er skadet: kolonnene er {', '.join(map(str, frame.columns))}, "
            f"men databladet sier {', '.join(columns)}."
        )
    if len(frame) != sheet["rows"]:
        raise DatasetError(
            f"Datafilen «{file}» er skadet: den har {len(frame)} rader, men databladet sier {sheet['rows']}."
        )
    for column, dtype in columns.items():
        if str(frame[column].dtype) != DTYPES[dtype]:
            try:
                frame[column] = frame[column].astype(DTYPES[dtype])
            except (TypeError, ValueError) as exc:
                raise DatasetError(
                    f"Datafilen «{file}» er skadet: kolonnen «{column}» skal ha typen {dtype}, "
                    "men har verdier som ikke passer."
                ) from exc
    frame.attrs["title"] = sheet["title"]
    frame.attrs["real"] = sheet["real"]
    return frame


def describe(name: str) -> str:
    """A short Norwegian description of a dataset for students: title, source, years, units, real or fictional."""
    sheet = datasheet(name)
    source = sheet["source"]
    lines = [sheet["title"]]
    if sheet["real"]:
        published = f", publisert {source['published']}" if source.get("published") else ""
        lines.append(f"Kilde: {source['publisher']}, {source['publication']}{published}.")
    else:
        lines.append("Oppdiktede tall: kommunen og tallene finnes ikke.")
    years = sheet["years"]
    lines.append(f"Gjelder: {', '.join(map(str, years)) if isinstance(years, list) else years}.")
    if sheet.get("units"):
        lines.append(f"Enhet: {sheet['units']}.")
    return "\n".join(lines)
