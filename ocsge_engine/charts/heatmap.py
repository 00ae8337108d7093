"""Heat map of an exchange matrix: first millésime in rows, second in columns, hectares in cells."""

from __future__ import annotations

import logging

import numpy as np
import plotly.graph_objects as go

from ocsge_engine.charts.style import class_tick, finish_layout, fr_ha, level_title
from ocsge_engine.flows.matrix import ExchangeMatrix

logger = logging.getLogger(__name__)


def matrix_heatmap(matrix: ExchangeMatrix, hide_unchanged: bool = False, log_scale: bool = True,
                   title: str | None = None) -> go.Figure:
    """Heat map of the pivoted matrix with the area written in each non-empty cell.

    Args:
        matrix: the exchange matrix.
        hide_unchanged: blank the diagonal, so that the colour scale shows the changes.
        log_scale: colour by ``log10(1 + ha)`` (flows span several orders of magnitude); the
            text and hover always show hectares.
        title: French title; a default names the level and the millésimes.

    Returns:
        A plotly figure; rows read « en {year_from} », columns « en {year_to} ».
    """
    wide = matrix.pivot()
    values = wide.to_numpy(dtype=float).copy()
    if hide_unchanged and len(values):
        np.fill_diagonal(values, np.nan)
    shown = np.where(values > 0, values, np.nan)
    colour = np.log10(1.0 + shown) if log_scale else shown
    text = [[fr_ha(v) if v > 0 else "" for v in row] for row in np.nan_to_num(shown)]
    rows = [class_tick(c) for c in wide.index]
    cols = [class_tick(c) for c in wide.columns]
    fig = go.Figure(go.Heatmap(
        z=colour, x=cols, y=rows, text=text, texttemplate="%{text}", customdata=text,
        colorscale="YlOrRd", showscale=False, xgap=1, ygap=1,
        hovertemplate=(f"{matrix.year_from or ''} : %{{y}}<br>{matrix.year_to or ''} : %{{x}}"
                       "<br>%{customdata}<extra></extra>"),
    ))
    fig.update_yaxes(autorange="reversed", title=f"en {matrix.year_from or 'début'}")
    fig.update_xaxes(side="top", title=f"en {matrix.year_to or 'fin'}", tickangle=-30)
    default = (f"Matrice des échanges, {level_title(matrix.by)} : "
               f"{matrix.year_from} → {matrix.year_to}")
    note = "Diagonale (surfaces inchangées) masquée." if hide_unchanged else None
    finish_layout(fig, title or default, matrix.by, note)
    fig.update_layout(plot_bgcolor="white", margin={"t": 130, "l": 20, "r": 20})
    return fig
