"""Charts of the course's datasets, each with a Norwegian text alternative.

Every chart function returns a matplotlib ``Figure`` (tests read its data, not
its pixels) and has a companion ``*_text`` function that says the same in a
sentence, for screen readers and for anyone who cannot see the chart. The
colours are from the Okabe-Ito palette, which colour-blind readers can tell
apart; the bars are also labelled with their values, so colour is never the
only signal.

matplotlib is imported inside the functions, so ``import course`` stays fast.
The figure is closed in pyplot before it is returned, so a notebook shows it
once (as the cell's value) and tests leak no open figures.
"""

from __future__ import annotations

import textwrap

from course import datasets

# Okabe-Ito: blue, orange, bluish green, vermillion, sky blue, reddish purple.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7"]


def _number(value: float, decimals: int = 0) -> str:
    """A number written the Norwegian way: non-breaking spaces between thousands, decimal comma."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u00a0").replace(".", ",")


def _bar_chart(labels: list[str], values: list[float], *, title: str, ylabel: str, decimals: int = 0):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    bars = ax.bar(labels, values, color=OKABE_ITO[: len(values)], edgecolor="black", linewidth=0.6)
    ax.bar_label(bars, labels=[_number(v, decimals) for v in values], padding=3)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.margins(y=0.15)
    fig.tight_layout()
    plt.close(fig)
    return fig


def paid_unpaid_chart():
    """Bar chart of paid and unpaid FTEs in non-profit and voluntary organisations in 2013 (SSB)."""
    frame = datasets.load("ssb_lonnet_ulonnet_2013")
    return _bar_chart(
        [f"{kind.capitalize()} arbeid" for kind in frame["type"]],
        [float(v) for v in frame["årsverk"]],
        title="Lønnede og ulønnede årsverk i ideelle og frivillige organisasjoner, 2013",
        ylabel="Årsverk (om lag)",
    )


def paid_unpaid_text() -> str:
    """The text alternative of :func:`paid_unpaid_chart`."""
    frame = datasets.load("ssb_lonnet_ulonnet_2013").set_index("type")
    paid = int(frame.loc["lønnet", "årsverk"])
    unpaid = int(frame.loc["ulønnet", "årsverk"])
    share = 100 * unpaid / (paid + unpaid)
    return (
        f"Figuren viser to søyler. I 2013 var det om lag {_number(paid)} lønnede og om lag "
        f"{_number(unpaid)} ulønnede årsverk i ideelle og frivillige organisasjoner. Det ulønnede arbeidet var "
        f"{_number(share, 1)} prosent av alt arbeidet. Kilde: SSB, satellittregnskap for ideelle og "
        "frivillige organisasjoner."
    )


def financing_chart():
    """Bar chart of the financing shares of non-profit and voluntary organisations in 2018 (SSB)."""
    frame = datasets.load("ssb_finansiering_2018")
    return _bar_chart(
        # Wrap long category names ("Kommuner og fylkeskommuner") so the bar labels do not overlap.
        [textwrap.fill(str(k).capitalize(), 16) for k in frame["kilde"]],
        [float(v) for v in frame["andel_prosent"]],
        title="Hvem finansierte ideelle og frivillige organisasjoner i 2018?",
        ylabel="Andel av finansieringen (prosent)",
        decimals=1,
    )


def financing_text() -> str:
    """The text alternative of :func:`financing_chart`."""
    frame = datasets.load("ssb_finansiering_2018")
    parts = [f"{kilde} {_number(andel, 1)} prosent" for kilde, andel in zip(frame["kilde"], frame["andel_prosent"])]
    return (
        "Figuren viser finansieringen av ideelle og frivillige organisasjoner i 2018 som søyler: "
        + ", ".join(parts[:-1])
        + f" og {parts[-1]}. Kilde: SSB, satellittregnskap for ideelle og frivillige organisasjoner."
    )
