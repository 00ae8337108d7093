"""ZAN trajectory chart: observed yearly consumption, cumulative target, observed and projection."""

from __future__ import annotations

import logging

import plotly.graph_objects as go

from ocsge_engine.charts.style import finish_layout, fr_ha
from ocsge_engine.indicators.zan import ZanTrajectory

logger = logging.getLogger(__name__)

OBSERVED_COLOR = "#000091"  # bleu France
TARGET_COLOR = "#18753C"
PROJECTION_COLOR = "#CE0500"
REFERENCE_COLOR = "#A0A0C8"


def zan_figure(trajectory: ZanTrajectory, title: str | None = None) -> go.Figure:
    """Bars of the yearly consumption and cumulative lines over the target period.

    Bars: yearly consumption observed (reference period highlighted). Lines, cumulated from the
    start of the target period: the allowed trajectory (target spread evenly), the observed
    consumption, and the projection (dashed). The source of the series is in the note.
    """
    table = trajectory.table
    ref_a, ref_b = trajectory.options.reference
    per_a, per_b = trajectory.options.period
    observed = table[table["observed_ha"].notna()]
    in_ref = observed["year"].between(ref_a, ref_b)
    fig = go.Figure()
    fig.add_bar(x=observed["year"], y=observed["observed_ha"], name="Consommation annuelle",
                marker={"color": [REFERENCE_COLOR if r else OBSERVED_COLOR for r in in_ref]},
                customdata=[fr_ha(v) for v in observed["observed_ha"]],
                hovertemplate="%{x} : %{customdata}<extra></extra>")
    period = table[table["year"] >= per_a]
    fig.add_scatter(x=period["year"], y=period["target_cumulative_ha"], mode="lines",
                    name=f"Objectif cumulé ({fr_ha(trajectory.allowed_ha)} sur {per_a}–{per_b})",
                    line={"color": TARGET_COLOR, "width": 3})
    fig.add_scatter(x=period["year"], y=period["projected_cumulative_ha"], mode="lines",
                    name="Projection cumulée", line={"color": PROJECTION_COLOR, "dash": "dash"})
    seen = period[period["observed_cumulative_ha"].notna()]
    if len(seen):
        fig.add_scatter(x=seen["year"], y=seen["observed_cumulative_ha"], mode="lines+markers",
                        name="Consommation cumulée observée", line={"color": OBSERVED_COLOR})
    fig.add_vrect(x0=ref_a - 0.5, x1=ref_b + 0.5, fillcolor=REFERENCE_COLOR, opacity=0.12,
                  line_width=0, annotation_text=f"Référence {ref_a}–{ref_b} : "
                  f"{fr_ha(trajectory.reference_ha)}", annotation_position="top left")
    fig.update_layout(yaxis_title="hectares", xaxis={"dtick": 1}, legend={"orientation": "h"})
    years = ", ".join(str(y) for y in trajectory.reference_years)
    note = f"Source : {trajectory.source}."
    if not trajectory.reference_complete:
        note += f" Référence estimée (moyenne des années {years} × 10)."
    reduction = round(100 * trajectory.options.reduction)
    default = f"Trajectoire ZAN : objectif −{reduction} % de consommation d'espaces"
    return finish_layout(fig, title or default, "zan", note)
