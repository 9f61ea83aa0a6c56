"""Charts for the stakeholder grid (lesson 5) and the self-assessment (lesson 6).

Each function returns a matplotlib Figure built without pyplot, so no global
state is kept and tests can read the plotted data. matplotlib is imported
inside the functions, so ``import course`` stays fast.
"""

from __future__ import annotations

import io
import math
import textwrap
from typing import Sequence

from course import models

# Okabe-Ito colours, safe for colour-blind readers; every point is also labelled.
_TARGET_COLOUR = "#D55E00"
_ACTOR_COLOUR = "#0072B2"


def stakeholder_figure(placements: Sequence[models.Placement], title: str = ""):
    """A power/interest grid: interest on x, power on y, 0–10, split at the threshold."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5.5), layout="constrained")
    ax = fig.add_subplot()
    lo, hi, mid = models.GRID_MIN, models.GRID_MAX, models.GRID_HIGH - 0.5
    ax.set_xlim(lo - 0.5, hi + 0.5)
    ax.set_ylim(lo - 0.5, hi + 0.5)
    ax.axvline(mid, color="grey", linewidth=1)
    ax.axhline(mid, color="grey", linewidth=1)
    corners = {
        "samarbeid_tett": (hi + 0.3, hi + 0.3, "right", "top"),
        "hold_tilfreds": (lo - 0.3, hi + 0.3, "left", "top"),
        "hold_informert": (hi + 0.3, lo - 0.3, "right", "bottom"),
        "folg_med": (lo - 0.3, lo - 0.3, "left", "bottom"),
    }
    for key, (x, y, ha, va) in corners.items():
        ax.text(x, y, models.QUADRANTS[key], ha=ha, va=va, fontsize=10, fontweight="bold", color="dimgrey")
    # The target group gets its own colour and shape (a square), and a legend entry.
    for is_target, colour, marker, name in ((False, _ACTOR_COLOUR, "o", "Andre aktører"), (True, _TARGET_COLOUR, "s", "Målgruppen")):
        group = [p for p in placements if p.actor.target_group == is_target]
        if group:
            ax.scatter(
                [p.interest for p in group], [p.power for p in group], c=colour, marker=marker, s=80, zorder=3,
                label=name, gid="target" if is_target else "actors",
            )
    for p in placements:
        right = p.interest >= hi - 1  # labels near the right edge point left, so they stay inside
        ax.annotate(
            p.actor.name, (p.interest, p.power), xytext=(-6 if right else 6, 6), textcoords="offset points",
            ha="right" if right else "left", fontsize=9,
        )
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax.set_xlabel("Interesse (0–10)")
    ax.set_ylabel("Makt (0–10)")
    if title:
        ax.set_title(title)
    return fig


def radar_figure(scores: dict[str, float], title: str = ""):
    """A radar chart of the mean score per point, on the scale 1–5."""
    from matplotlib.figure import Figure

    names = list(scores)
    values = [scores[n] for n in names]
    angles = [2 * math.pi * i / len(names) for i in range(len(names))]
    fig = Figure(figsize=(6, 6), layout="constrained")
    ax = fig.add_subplot(projection="polar")
    ax.set_theta_offset(math.pi / 2)
    ax.set_theta_direction(-1)
    closed_angles, closed_values = [*angles, angles[0]], [*values, values[0]]
    ax.plot(closed_angles, closed_values, color=_ACTOR_COLOUR, linewidth=2, marker="o", gid="scores")
    ax.fill(closed_angles, closed_values, color=_ACTOR_COLOUR, alpha=0.2)
    ax.set_xticks(angles)
    ax.set_xticklabels([textwrap.fill(n, 16) for n in names])
    ax.set_ylim(0, models.SCALE_MAX)
    ax.set_yticks(range(models.SCALE_MIN, models.SCALE_MAX + 1))
    if title:
        ax.set_title(title)
    return fig


def png(fig) -> bytes:
    """The figure as PNG bytes (for showing it in an Output widget)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()
