"""Stocks and net fluxes per class: grouped bars, donut, net-flux bars."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from ocsge_engine.charts.style import (
    class_color,
    class_label,
    class_tick,
    finish_layout,
    fr_ha,
    fr_percent,
    level_title,
)
from ocsge_engine.flows.levels import class_order
from ocsge_engine.flows.matrix import ExchangeMatrix

logger = logging.getLogger(__name__)


def stock_bars(stocks: Mapping[int, pd.Series], by: str, title: str | None = None) -> go.Figure:
    """Grouped bars of the stock (ha) of each class, one bar per millésime.

    Args:
        stocks: millésime → Series of hectares indexed by class code (``matrix.stocks_from``…).
        by: level of the classes (for order, labels and the estimate note).
        title: French title.

    Returns:
        A plotly figure; the latest millésime is drawn opaque, earlier ones lighter.
    """
    years = sorted(stocks)
    codes = class_order([c for s in stocks.values() for c in s.index], by)  # type: ignore[arg-type]
    fig = go.Figure()
    for k, year in enumerate(years):
        series = stocks[year].reindex(codes, fill_value=0.0)
        total = float(series.sum()) or 1.0
        fig.add_bar(
            name=str(year), x=[class_tick(c) for c in codes], y=series.to_numpy(),
            marker={"color": [class_color(c) for c in codes], "line": {"width": 1, "color": "#333"}},
            opacity=1.0 if k == len(years) - 1 else 0.45,
            customdata=[f"{fr_ha(v)} ({fr_percent(v / total)})" for v in series],
            hovertemplate=f"{year} · %{{x}}<br>%{{customdata}}<extra></extra>",
        )
    fig.update_layout(barmode="group", yaxis_title="hectares", showlegend=len(years) > 1)
    span = " et ".join(str(y) for y in years)
    return finish_layout(fig, title or f"Surfaces par classe, {level_title(by)} : {span}", by)


def stock_donut(stocks: pd.Series, by: str, year: int | None = None,
                title: str | None = None) -> go.Figure:
    """Donut of the stock of each class at one millésime (ha and % in hover)."""
    codes = [c for c in class_order(list(stocks.index), by) if stocks.get(c, 0.0) > 0]  # type: ignore[arg-type]
    values = [float(stocks[c]) for c in codes]
    fig = go.Figure(go.Pie(
        labels=[class_label(c) for c in codes], values=values, hole=0.55, sort=False,
        marker={"colors": [class_color(c) for c in codes]},
        customdata=[fr_ha(v) for v in values],
        hovertemplate="%{label}<br>%{customdata}<br>%{percent}<extra></extra>",
        texttemplate="%{percent:.1%}",
    ))
    default = f"Répartition, {level_title(by)}" + (f" en {year}" if year else "")
    return finish_layout(fig, title or default, by)


def net_flux_bars(matrix: ExchangeMatrix, title: str | None = None) -> go.Figure:
    """Horizontal bars of the net flux (gains − losses, ha) of each class between the millésimes.

    Gains and losses are in the hover; the net flux equals the change of stock.
    """
    gains, losses, net = matrix.gains(), matrix.losses(), matrix.net()
    codes = [c for c in net.index if gains[c] > 0 or losses[c] > 0]
    fig = go.Figure(go.Bar(
        orientation="h", y=[class_tick(c) for c in codes], x=[float(net[c]) for c in codes],
        marker={"color": [class_color(c) for c in codes], "line": {"width": 1, "color": "#333"}},
        customdata=[[fr_ha(gains[c]), fr_ha(losses[c]), fr_ha(net[c])] for c in codes],
        hovertemplate=("%{y}<br>gains : %{customdata[0]}<br>pertes : %{customdata[1]}"
                       "<br>solde : %{customdata[2]}<extra></extra>"),
    ))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title="solde net (ha)", zeroline=True, zerolinewidth=2, zerolinecolor="#333")
    default = (f"Solde des flux, {level_title(matrix.by)} : {matrix.year_from} → "
               f"{matrix.year_to}")
    return finish_layout(fig, title or default, matrix.by)
