"""National rankings of communes: horizontal bars, the current commune highlighted.

Input: :func:`ocsge_engine.batch.rankings` output (``rank, commune, name, departement, pair,
value, …``). French labels of the ranking metrics live here (:data:`METRIC_LABELS`).
"""

from __future__ import annotations

import logging

import pandas as pd
import plotly.graph_objects as go

from ocsge_engine.charts.style import finish_layout, fr_number

logger = logging.getLogger(__name__)

HIGHLIGHT_COLOR = "#E6004D"
BAR_COLOR = "#8C8C8C"
METRIC_LABELS: dict[str, str] = {
    "net_m2_per_new_inhabitant": "Artificialisation nette par nouvel habitant (m²)",
    "artif_m2_per_inhabitant": "Surface artificialisée par habitant (m²)",
    "artif_net_ha": "Artificialisation nette (ha)",
    "artif_gross_gain_ha": "Artificialisation brute (ha)",
    "artif_stock_to_ha": "Surface artificialisée en fin de période (ha)",
    "imper_net_ha": "Imperméabilisation nette (ha)",
    "sprawl_isolated_built_ha": "Nouveau bâti isolé, mitage (ha)",
    "artif_net_share": "Artificialisation nette rapportée à la surface de la commune",
}
DIGITS: dict[str, int] = {"artif_net_share": 4, "net_m2_per_new_inhabitant": 0,
                          "artif_m2_per_inhabitant": 0}


def metric_label(metric: str) -> str:
    """French label of a ranking metric (the code itself when unknown).

    >>> metric_label("artif_net_ha")
    'Artificialisation nette (ha)'
    """
    return METRIC_LABELS.get(metric, metric)


def ranking_figure(table: pd.DataFrame, metric: str, highlight: str | None = None,
                   title: str | None = None) -> go.Figure:
    """Bars of a ranking, first rank on top; the commune ``highlight`` (INSEE code) in colour.

    Args:
        table: :func:`ocsge_engine.batch.rankings` output (may be empty).
        metric: the ranked metric (axis label).
        highlight: INSEE code of the current commune, if any.
        title: French title (default: the metric's label).
    """
    digits = DIGITS.get(metric, 2)
    labels = [f"{r}. {n} ({c})" for r, n, c in zip(table["rank"], table["name"], table["commune"])]
    colors = [HIGHLIGHT_COLOR if c == highlight else BAR_COLOR for c in table["commune"]]
    fig = go.Figure(go.Bar(
        orientation="h", y=labels, x=table["value"], marker={"color": colors},
        customdata=[fr_number(v, digits) for v in table["value"]],
        hovertemplate="%{y} : %{customdata}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(title_text=metric_label(metric))
    fig.update_layout(height=max(320, 28 * len(table) + 140))
    note = "En couleur : le territoire choisi." if highlight in set(table["commune"]) else None
    return finish_layout(fig, title or metric_label(metric), "rankings", note)
