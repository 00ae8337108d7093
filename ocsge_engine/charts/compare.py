"""Comparison bars: a commune among its neighbours and communes of similar population."""

from __future__ import annotations

import logging

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ocsge_engine.charts.style import finish_layout, fr_number

logger = logging.getLogger(__name__)

HIGHLIGHT_COLOR = "#E6004D"
PEER_COLOR = "#8C8C8C"
POPULATION_COLOR = "#B4B4D2"
METRICS: dict[str, str] = {
    "net_m2_per_ha": "Artificialisation nette (m² par ha de commune)",
    "net_m2_per_inhabitant": "Artificialisation nette (m² par habitant)",
}


def comparison_figure(table: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Two horizontal bar panels (per ha and per inhabitant), the territory highlighted.

    Args:
        table: :func:`ocsge_engine.indicators.comparison_table` output; rows with
            ``available = False`` are left out (named in the note).
        title: French title.
    """
    rows = table[table["available"].astype(bool)]
    missing = table.loc[~table["available"].astype(bool), "name"].tolist()
    fig = make_subplots(rows=1, cols=2, subplot_titles=list(METRICS.values()),
                        horizontal_spacing=0.18)
    for col, metric in enumerate(METRICS, start=1):
        ordered = rows.sort_values(metric, ascending=True)
        colors = [HIGHLIGHT_COLOR if r == "territoire" else
                  POPULATION_COLOR if r == "population" else PEER_COLOR
                  for r in ordered["role"]]
        fig.add_bar(row=1, col=col, orientation="h", y=ordered["name"], x=ordered[metric],
                    marker={"color": colors}, showlegend=False,
                    customdata=[fr_number(v, 1) for v in ordered[metric]],
                    hovertemplate="%{y} : %{customdata}<extra></extra>")
    note = "Gris : communes voisines ; mauve : communes de population proche."
    if missing:
        note += f" Hors base : {', '.join(missing)}."
    target = table.loc[table["role"] == "territoire", "name"]
    name = target.iloc[0] if len(target) else ""
    return finish_layout(fig, title or f"{name} parmi les communes comparables", "compare", note)
