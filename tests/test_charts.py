"""The charts of lesson 2: their data, labels and colours (not pixels), and their text alternatives."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course import charts  # noqa: E402


def _bars(fig: Figure):
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_xticklabels()]
    heights = [p.get_height() for p in ax.patches]
    colours = [to_hex(p.get_facecolor()) for p in ax.patches]
    values = [t.get_text() for t in ax.texts]
    return ax, labels, heights, colours, values


def test_paid_unpaid_chart_shows_ssbs_2013_figures():
    ax, labels, heights, colours, values = _bars(charts.paid_unpaid_chart())
    assert labels == ["Lønnet arbeid", "Ulønnet arbeid"]
    assert heights == [84000, 139000]
    assert values == ["84\u00a0000", "139\u00a0000"], "every bar carries its value, so colour is not the only signal"
    assert "2013" in ax.get_title() and ax.get_ylabel()


def test_financing_chart_shows_ssbs_2018_shares():
    ax, labels, heights, colours, values = _bars(charts.financing_chart())
    assert labels == ["Husholdninger", "Staten", "Kommuner og\nfylkeskommuner", "Andre kilder"]
    assert heights == pytest.approx([44.9, 26.6, 16.7, 11.9])
    assert values == ["44,9", "26,6", "16,7", "11,9"]
    assert "2018" in ax.get_title() and "prosent" in ax.get_ylabel()


@pytest.mark.parametrize("chart", [charts.paid_unpaid_chart, charts.financing_chart])
def test_chart_uses_distinct_colour_blind_safe_colours(chart):
    _, _, _, colours, _ = _bars(chart())
    assert all(c.upper() in charts.OKABE_ITO for c in colours)
    assert len(set(colours)) == len(colours)


@pytest.mark.parametrize("chart", [charts.paid_unpaid_chart, charts.financing_chart])
def test_chart_returns_a_closed_figure(chart):
    """Is a Figure returned without leaving it open in pyplot (shown once in a notebook, no leak in tests)?"""
    before = plt.get_fignums()
    fig = chart()
    assert isinstance(fig, Figure)
    assert plt.get_fignums() == before


def test_text_alternatives_state_the_same_figures():
    paid = charts.paid_unpaid_text()
    for part in ("84\u00a0000", "139\u00a0000", "62,3 prosent", "2013", "SSB"):
        assert part in paid
    financing = charts.financing_text()
    for part in ("husholdninger 44,9 prosent", "staten 26,6 prosent", "kommuner og fylkeskommuner 16,7 prosent", "andre kilder 11,9 prosent", "SSB"):
        assert part in financing


@pytest.mark.parametrize("value, decimals, text", [(139000, 0, "139\u00a0000"), (62.3318, 1, "62,3"), (1234567.891, 2, "1\u00a0234\u00a0567,89")])
def test_numbers_are_written_the_norwegian_way(value, decimals, text):
    assert charts._number(value, decimals) == text
