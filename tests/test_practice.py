"""The ungraded pandas practice of lesson 2: right answers pass, everything else gets a Norwegian hint and never an error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course import practice
from course.datasets import load
from course.practice import PRACTICES, check_key

# A right answer to every task, written the way a student would write it in lesson 2.
innsats = load("oppdiktet_frivillig_innsats")
årsverk = load("ssb_lonnede_arsverk").set_index("år")
undersøkelse = load("oppdiktet_innbyggerundersokelse")
finansiering = load("ssb_finansiering_2018")


def _with_column():
    frame = innsats.copy()
    frame["timer_per_frivillig"] = frame["timer"] / frame["frivillige"]
    return frame


RIGHT = {
    "kolonne": årsverk["lønnede_årsverk"],
    "loc": årsverk.loc[2017, "lønnede_årsverk"] - årsverk.loc[2016, "lønnede_årsverk"],
    "sum": finansiering["andel_prosent"].sum(),
    "snitt": innsats["timer"].mean(),
    "telle": (innsats["timer"] >= 5000).sum(),
    "andel": 100 * (undersøkelse["vil_bidra"] >= 4).mean(),
    "sortere": innsats.sort_values("frivillige", ascending=False),
    "finn_navn": innsats.set_index("område")["frivillige"].idxmin(),
    "gruppere": undersøkelse.groupby("bydel")["vil_bidra"].mean(),
    "ny_kolonne": _with_column(),
    "lage_tabell": pd.DataFrame({"organisasjon": practice.ORGANISASJONER, "medlemmer": practice.MEDLEMMER}),
    "snitt_tabell": pd.DataFrame(practice.TILFREDSHET).mean(),
}

# Values of every kind a student might hand over by mistake.
ODD_VALUES = [..., None, "", "idrett", "1186", True, np.bool_(False), 0, -1.5, float("nan"), [1, 2], {"a": 1},
              object(), innsats, innsats["timer"], pd.DataFrame(), pd.Series(dtype=float)]


def test_every_task_has_a_right_answer_here():
    assert set(RIGHT) == set(PRACTICES)


@pytest.mark.parametrize("key", sorted(PRACTICES))
def test_the_right_answer_passes(key):
    result = check_key(key, RIGHT[key])
    assert result.correct, result.message
    assert result.message.startswith("Riktig")


def test_the_expected_values_are_the_data_s():
    """Are the expected values what the (fictional and SSB) tables actually hold?"""
    assert practice.expected("loc") == 91561 - 90893
    assert abs(practice.expected("sum") - 100.1) < 1e-9
    assert practice.expected("telle") == 4
    assert practice.expected("finn_navn") == "integrering"
    assert list(practice.expected("sortere")["område"])[:2] == ["idrett", "kultur"]


@pytest.mark.parametrize("key", sorted(PRACTICES))
def test_the_blank_start_value_says_not_yet(key):
    result = check_key(key, ...)
    assert not result.correct and not result.answered
    assert "Bytt ut ..." in result.message


@pytest.mark.parametrize("key", sorted(PRACTICES))
@pytest.mark.parametrize("value", ODD_VALUES, ids=lambda v: type(v).__name__)
def test_odd_values_get_a_norwegian_message_and_no_error(key, value):
    result = check_key(key, value)
    assert isinstance(result.message, str) and result.message.strip()
    assert not result.correct, "none of these values is a right answer"


def test_a_text_in_quotes_is_named():
    message = check_key("sum", 'finansiering["andel_prosent"].sum()').message
    assert "anførselstegn" in message


def test_a_whole_column_instead_of_a_number_is_named():
    message = check_key("sum", finansiering["andel_prosent"]).message
    assert "en hel kolonne" in message and "ett tall" in message


def test_a_whole_table_instead_of_a_column_is_named():
    message = check_key("kolonne", årsverk[["lønnede_årsverk"]]).message
    assert "hel tabell" in message


def test_a_typical_mistake_gets_its_own_hint():
    assert "feil rekkefølge" in check_key("loc", -668).message
    assert "summen" in check_key("snitt", innsats["timer"].sum()).message
    assert ".idxmin()" in check_key("finn_navn", "idrett").message


def test_a_wrong_number_is_not_accepted():
    result = check_key("sum", 1000)
    assert not result.correct and "Prøv igjen" in result.message


def test_a_misspelt_column_is_named_with_a_suggestion():
    wrong = pd.DataFrame({"organisasjn": practice.ORGANISASJONER, "medlemmer": practice.MEDLEMMER})
    message = check_key("lage_tabell", wrong).message
    assert "mangler kolonnen «organisasjon»" in message and "organisasjn" in message


def test_a_dictionary_not_yet_made_a_table_is_named():
    message = check_key("lage_tabell", {"organisasjon": practice.ORGANISASJONER, "medlemmer": practice.MEDLEMMER}).message
    assert "ordbok" in message and "pd.DataFrame" in message


def test_a_new_column_still_blank_says_not_yet():
    frame = innsats.copy()
    frame["timer_per_frivillig"] = ...
    result = check_key("ny_kolonne", frame)
    assert not result.correct and not result.answered


def test_a_new_column_with_wrong_values_is_refused():
    frame = innsats.copy()
    frame["timer_per_frivillig"] = frame["frivillige"] / frame["timer"]
    result = check_key("ny_kolonne", frame)
    assert not result.correct and "timer_per_frivillig" in result.message


def test_sorting_the_wrong_way_is_refused():
    assert not check_key("sortere", innsats.sort_values("frivillige")).correct
    assert not check_key("sortere", innsats.sort_values("timer", ascending=False)).correct


def test_grouping_by_the_wrong_column_names_the_rows():
    result = check_key("gruppere", undersøkelse.groupby("aldersgruppe")["vil_bidra"].mean())
    assert not result.correct and "Radnavnene" in result.message


def test_an_unknown_task_gets_a_message_not_an_error():
    result = check_key("summ", 3)
    assert not result.correct and "Fant ingen øvelse" in result.message


def test_sjekk_prints_the_message(capsys):
    practice.sjekk("sum", ...)
    assert "Bytt ut ..." in capsys.readouterr().out
