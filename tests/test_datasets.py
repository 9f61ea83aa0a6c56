"""The course's datasets: each matches its datasheet, the fictional ones regenerate from their seed, errors are Norwegian."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT
from course import datasets

DATA = ROOT / "course" / "data"
NAMES = datasets.names()
# What pandas must read each datasheet dtype as (written out here, not taken from datasets.py).
PANDAS_DTYPE = {"int64": "int64", "float64": "float64", "bool": "bool", "str": "object"}


def _has_dtype(series: pd.Series, dtype: str) -> bool:
    return str(series.dtype) == PANDAS_DTYPE[dtype]


def test_the_expected_datasets_exist():
    assert NAMES == [
        "oppdiktet_frivillig_innsats",
        "oppdiktet_innbyggerundersokelse",
        "ssb_finansiering_2018",
        "ssb_lonnede_arsverk",
        "ssb_lonnet_ulonnet_2013",
    ]


@pytest.mark.parametrize("name", NAMES)
def test_dataset_matches_its_datasheet(name: str):
    """Do the raw CSV file and load() agree with the datasheet on columns, dtypes and row count?"""
    sheet = datasets.datasheet(name)
    raw = pd.read_csv(DATA / f"{name}.csv")  # independent of load()
    expected = [c["name"] for c in sheet["columns"]]
    assert list(raw.columns) == expected
    assert len(raw) == sheet["rows"]
    frame = datasets.load(name)
    assert list(frame.columns) == expected
    assert len(frame) == sheet["rows"]
    for column in sheet["columns"]:
        assert _has_dtype(frame[column["name"]], column["dtype"]), (name, column)
        assert _has_dtype(raw[column["name"]], column["dtype"]), f"{name}.csv: {column['name']} is not stored as {column['dtype']}"
        assert column["description"].strip()
    assert not frame.isna().any().any(), "a dataset has missing values"


@pytest.mark.parametrize("name", NAMES)
def test_datasheet_says_where_the_figures_come_from(name: str):
    """Is a real dataset sourced to SSB with its years, and a fictional one labelled oppdiktet?"""
    sheet = datasets.datasheet(name)
    assert isinstance(sheet["real"], bool)
    assert sheet["licence"].strip() and sheet["units"]
    if sheet["real"]:
        assert name.startswith("ssb_")
        assert "SSB" in sheet["source"]["publisher"]
        assert sheet["source"]["publication"]
        assert all(isinstance(y, int) for y in sheet["years"])
        assert "url" in sheet["source"], "state the URL, or null when it is not checked"
    else:
        assert name.startswith("oppdiktet_")
        assert "oppdiktet" in sheet["title"].lower()
        assert "oppdiktet" in datasets.describe(name).lower()


def test_real_figures_are_the_checked_ones():
    """Are SSB's figures exactly those in REFERENCES.md (nothing invented presented as real)?"""
    paid = datasets.load("ssb_lonnede_arsverk")
    assert dict(zip(paid["år"], paid["lønnede_årsverk"])) == {2016: 90893, 2017: 91561, 2018: 89161}
    financing = datasets.load("ssb_finansiering_2018")
    assert dict(zip(financing["kilde"], financing["andel_prosent"])) == {
        "husholdninger": 44.9,
        "staten": 26.6,
        "kommuner og fylkeskommuner": 16.7,
        "andre kilder": 11.9,
    }
    split = datasets.load("ssb_lonnet_ulonnet_2013").set_index("type")["årsverk"]
    assert split.to_dict() == {"lønnet": 84000, "ulønnet": 139000}
    assert round(100 * split["ulønnet"] / split.sum()) == 62


def test_datasheet_is_a_copy():
    datasets.datasheet("ssb_lonnede_arsverk")["rows"] = 99
    assert datasets.datasheet("ssb_lonnede_arsverk")["rows"] == 3


def test_unknown_name_gives_a_norwegian_message_listing_the_names():
    with pytest.raises(datasets.DatasetError) as info:
        datasets.load("ssb_arsverk")
    message = str(info.value)
    assert "Fant ikke noe datasett som heter «ssb_arsverk»" in message
    for name in NAMES:
        assert name in message
    with pytest.raises(datasets.DatasetError, match="Fant ikke"):
        datasets.datasheet("finnes_ikke")


@pytest.fixture
def data_folder(tmp_path, monkeypatch):
    """An empty data folder in place of course/data, with the datasheet cache cleared before and after."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setattr(datasets, "_folder", lambda: folder)
    datasets._datasheet.cache_clear()
    yield folder
    datasets._datasheet.cache_clear()


def _copy(name: str, folder: Path) -> None:
    for suffix in (".csv", ".yaml"):
        (folder / f"{name}{suffix}").write_bytes((DATA / f"{name}{suffix}").read_bytes())


def test_a_copied_dataset_loads(data_folder: Path):
    """The fixture itself works: a faithful copy loads (so the failures below are the damage's)."""
    _copy("ssb_lonnede_arsverk", data_folder)
    assert len(datasets.load("ssb_lonnede_arsverk")) == 3


def test_missing_csv_is_not_a_dataset(data_folder: Path):
    _copy("ssb_lonnede_arsverk", data_folder)
    (data_folder / "ssb_lonnede_arsverk.csv").unlink()
    with pytest.raises(datasets.DatasetError, match="Fant ikke noe datasett"):
        datasets.load("ssb_lonnede_arsverk")


@pytest.mark.parametrize(
    "csv, message",
    [
        ("år,lønnede_årsverk\n2016,90893\n2017,91561\n", "den har 2 rader, men databladet sier 3"),
        ("år,årsverk\n2016,90893\n2017,91561\n2018,89161\n", "kolonnene er år, årsverk, men databladet sier år, lønnede_årsverk"),
        ("år,lønnede_årsverk\n2016,90893\n2017,mange\n2018,89161\n", "kolonnen «lønnede_årsverk» skal ha typen int64"),
        ("år,lønnede_årsverk\n2016,1,2,3\n\"2017\n", "kan ikke leses som CSV"),
        ("", "kan ikke leses som CSV"),
    ],
    ids=["rows", "columns", "dtype", "syntax", "empty"],
)
def test_damaged_csv_gives_a_norwegian_message(data_folder: Path, csv: str, message: str):
    _copy("ssb_lonnede_arsverk", data_folder)
    (data_folder / "ssb_lonnede_arsverk.csv").write_text(csv, encoding="utf-8")
    with pytest.raises(datasets.DatasetError) as info:
        datasets.load("ssb_lonnede_arsverk")
    assert "«ssb_lonnede_arsverk.csv» er skadet" in str(info.value)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        ("title: [uavsluttet\n", "ikke gyldig YAML"),
        ("- en liste\n", "må være en oppføring med felter"),
        ("title: T\nreal: true\n", "mangler feltet «source»"),
        (
            "title: T\nreal: true\nsource: {}\nyears: [2016]\nlicence: L\nrows: 3\n"
            "columns:\n  - {name: år, dtype: heltall, description: Året}\n",
            "typen «heltall» er ukjent",
        ),
        (
            "title: T\nreal: true\nsource: {}\nyears: [2016]\nlicence: L\nrows: 3\ncolumns:\n  - {name: år}\n",
            "må ha «name», «dtype» og «description»",
        ),
    ],
    ids=["yaml", "not-a-mapping", "missing-field", "unknown-dtype", "column-fields"],
)
def test_damaged_datasheet_gives_a_norwegian_message(data_folder: Path, yaml_text: str, message: str):
    _copy("ssb_lonnede_arsverk", data_folder)
    (data_folder / "ssb_lonnede_arsverk.yaml").write_text(yaml_text, encoding="utf-8")
    with pytest.raises(datasets.DatasetError) as info:
        datasets.load("ssb_lonnede_arsverk")
    assert "ssb_lonnede_arsverk.yaml" in str(info.value)
    assert message in str(info.value)


def test_generator_reproduces_the_committed_files_byte_for_byte(tmp_path: Path):
    """Does scripts/lag_oppdiktede_data.py write exactly the committed fictional files from its seed?"""
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "lag_oppdiktede_data.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    written = sorted(p.name for p in tmp_path.iterdir())
    committed = sorted(p.name for p in DATA.glob("oppdiktet_*"))
    assert written == committed
    for name in written:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), (
            f"{name} differs from what the generator writes; run scripts/lag_oppdiktede_data.py"
        )


def test_fictional_survey_is_plausible():
    """Are the fictional answers on the scale, and is the pattern the lesson and exercise describe there?"""
    survey = datasets.load("oppdiktet_innbyggerundersokelse")
    assert survey["id"].is_unique
    for column in ("lytter", "vil_bidra"):
        assert survey[column].between(1, 5).all()
    assert set(survey["aldersgruppe"]) == {"16–29", "30–49", "50–66", "67+"}
    assert survey.groupby("aldersgruppe")["lytter"].mean().idxmin() == "16–29"
    hours = datasets.load("oppdiktet_frivillig_innsats").set_index("område")
    assert hours["timer"].idxmax() == "idrett"
    assert (hours[["frivillige", "timer"]] > 0).all().all()


@pytest.mark.slow
def test_wheel_ships_every_data_file(tmp_path: Path):
    """Does the built package contain every CSV and datasheet, so load() works when installed?

    Built from a fresh copy of the project, so a stale build/ folder in the
    working tree cannot hide a missing package-data pattern.
    """
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "course", source / "course", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", str(source), "-w", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in NAMES:
        assert f"course/data/{name}.csv" in names
        assert f"course/data/{name}.yaml" in names
