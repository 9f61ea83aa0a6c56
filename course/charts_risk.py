"""The risk matrix of lesson 7: likelihood x consequence, one numbered marker per risk.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot, no global state),
so they work with any backend and are tested on their data, not on pixels.
matplotlib is imported inside the functions, so ``import course`` stays fast.
"""

from __future__ import annotations

from typing import Sequence

from course import loader, models

# Okabe-Ito colours per level; the level is also written in the legend and every
# cell shows its score, so colour is never the only signal.
LEVEL_COLOURS = {"lav": "#009E73", "middels": "#E69F00", "høy": "#D55E00"}
LEVEL_RANGES = {"lav": "1–4", "middels": "5–9", "høy": "10–25"}
MARKER_COLOUR = "#0072B2"


def marker_positions(register: models.RiskRegister, ratings: Sequence[tuple[int, int]]) -> list[tuple[int, float, float]]:
    """(risk number, x, y) of each marker: risks in the same cell are laid out in rows of up to three."""
    cells: dict[tuple[int, int], list[int]] = {}
    for r in sorted(register.rate(ratings), key=lambda r: r.number):
        cells.setdefault((r.likelihood, r.consequence), []).append(r.number)
    positions = []
    for (x, y), numbers in cells.items():
        columns = min(len(numbers), 3)
        rows = -(-len(numbers) // 3)
        for i, number in enumerate(numbers):
            row, column = divmod(i, 3)
            dx = -0.4 + 0.8 / columns * (column + 0.5)
            dy = 0.4 - 0.8 / rows * (row + 0.5) if rows > 1 else 0.0
            positions.append((number, x + dx, y + dy))
    return sorted(positions)


def risk_matrix_figure(register: models.RiskRegister, ratings: Sequence[tuple[int, int]]):
    """A 5 x 5 risk matrix with each risk as a numbered marker; returns a matplotlib Figure."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, Rectangle

    fig = Figure(figsize=(6.4, 5.2), dpi=80)
    ax = fig.add_subplot()
    for x in models.RISK_SCALE:
        for y in models.RISK_SCALE:
            level = models.risk_level(x * y)
            ax.add_patch(Rectangle((x - 0.5, y - 0.5), 1, 1, facecolor=LEVEL_COLOURS[level], alpha=0.35, edgecolor="white"))
            ax.text(x + 0.42, y - 0.42, str(x * y), ha="right", va="bottom", fontsize=7, color="#333333")
    positions = marker_positions(register, ratings)
    crowded = max(sum(1 for _, x2, y2 in positions if round(x2) == round(x) and round(y2) == round(y)) for _, x, y in positions)
    for number, x, y in positions:
        ax.scatter([x], [y], s=330 if crowded <= 3 else 200, color=MARKER_COLOUR, edgecolors="white", zorder=3)
        ax.text(x, y, str(number), ha="center", va="center", color="white", fontsize=9, fontweight="bold", zorder=4)
    ax.set_xlim(0.5, 5.5)
    ax.set_ylim(0.5, 5.5)
    ax.set_xticks(list(models.RISK_SCALE))
    ax.set_yticks(list(models.RISK_SCALE))
    ax.set_xlabel("Sannsynlighet (1 = svært lite sannsynlig, 5 = svært sannsynlig)")
    ax.set_ylabel("Konsekvens (1 = ubetydelig, 5 = svært alvorlig)")
    ax.set_title("Risikomatrise: tallene i sirklene er risikoenes nummer")
    ax.legend(
        handles=[Patch(facecolor=c, alpha=0.5, label=f"{level} ({LEVEL_RANGES[level]})") for level, c in LEVEL_COLOURS.items()],
        title="Nivå (risikoscore)",
        loc="upper left",
        bbox_to_anchor=(1.01, 1),
        fontsize=8,
    )
    fig.tight_layout()
    return fig


def figure_png(fig) -> bytes:
    """The figure as PNG bytes (for an ipywidgets.Output)."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def example_ranking(entry_id: str) -> str:
    """The ranked register of the fictional working group's example ratings, as text."""
    register = loader.get(entry_id, models.RiskRegister)
    return register.table(register.example)
