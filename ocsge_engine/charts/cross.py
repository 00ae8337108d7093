"""Charts of the Croiser, Artificialisation and Prédire pages: population, scatter, stocks, classes.

Pure ``(table, options) -> go.Figure`` functions with French text and the official colours.
:data:`INDICATOR_LABELS` names the indicator columns of
:func:`ocsge_engine.indicators.local_data.communes_indicators` for axis titles and pickers.
"""

from __future__ import annotations

import logging

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ocsge_engine.charts.style import (
    class_color,
    class_tick,
    finish_layout,
    fr_ha,
    fr_number,
)
from ocsge_engine.indicators.artif import FluxResult

logger = logging.getLogger(__name__)

HIGHLIGHT_COLOR = "#E6004D"
POINT_COLOR = "#000091"
INDICATOR_LABELS: dict[str, str] = {
    "population": "Population (dernier recensement)",
    "density_per_km2": "Densité (hab./km²)",
    "area_ha": "Superficie (ha)",
    "artif_stock_ha": "Surface artificialisée (ha)",
    "artif_share": "Part artificialisée de la commune (0–1)",
    "gross_gain_ha": "Artificialisation brute (ha)",
    "net_ha": "Artificialisation nette (ha)",
    "net_m2_per_ha": "Artificialisation nette (m² par ha de commune)",
    "artif_m2_per_inhabitant": "Surface artificialisée par habitant (m²)",
    "net_m2_per_inhabitant": "Artificialisation nette par habitant (m²)",
}


def axis_label(column: str) -> str:
    """French label of an indicator column; a local column keeps its own name.

    >>> axis_label("net_ha"), axis_label("logements")
    ('Artificialisation nette (ha)', 'logements')
    """
    return INDICATOR_LABELS.get(column, column)


def population_figure(table: pd.DataFrame, name: str) -> go.Figure:
    """Bars of the population by census year, density on a second axis.

    Args:
        table: ``year, population, density_per_km2``
            (:func:`ocsge_engine.indicators.local_data.population_table`).
        name: territory name, for the title.
    """
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_bar(x=table["year"], y=table["population"], name="Population municipale",
                marker={"color": POINT_COLOR},
                customdata=[fr_number(v, 0) for v in table["population"]],
                hovertemplate="%{x} : %{customdata} hab.<extra></extra>")
    fig.add_scatter(x=table["year"], y=table["density_per_km2"], name="Densité (hab./km²)",
                    mode="lines+markers", line={"color": HIGHLIGHT_COLOR}, secondary_y=True,
                    customdata=[fr_number(v, 1) for v in table["density_per_km2"]],
                    hovertemplate="%{x} : %{customdata} hab./km²<extra></extra>")
    fig.update_xaxes(type="category", title="année")
    fig.update_yaxes(title_text="habitants", secondary_y=False)
    fig.update_yaxes(title_text="hab./km²", secondary_y=True)
    fig.update_layout(legend={"orientation": "h"})
    return finish_layout(fig, f"Population et densité : {name}", "population",
                         "Source : INSEE, population municipale (COG 2026).")


def cross_scatter(table: pd.DataFrame, x: str, y: str, highlight: str | None = None,
                  title: str | None = None) -> go.Figure:
    """Scatter of the communes on two columns, one commune highlighted.

    Args:
        table: one row per commune with ``code``, ``name``, ``x`` and ``y`` columns.
        x: column on the horizontal axis.
        y: column on the vertical axis.
        highlight: INSEE code of the commune to highlight.
        title: French title (default: « y selon x »).
    """
    rows = table.dropna(subset=[x, y])
    mine = rows["code"] == highlight
    fig = go.Figure()
    for mask, color, size, name in ((~mine, POINT_COLOR, 10, "Communes de la base"),
                                    (mine, HIGHLIGHT_COLOR, 16, "Territoire choisi")):
        part = rows[mask]
        if part.empty:
            continue
        fig.add_scatter(x=part[x], y=part[y], mode="markers+text", name=name, text=part["name"],
                        textposition="top center", textfont={"size": 10},
                        marker={"color": color, "size": size, "opacity": 0.85},
                        customdata=[[fr_number(a, 2), fr_number(b, 2)]
                                    for a, b in zip(part[x], part[y])],
                        hovertemplate="%{text}<br>" + axis_label(x) + " : %{customdata[0]}<br>"
                        + axis_label(y) + " : %{customdata[1]}<extra></extra>")
    fig.update_xaxes(title=axis_label(x))
    fig.update_yaxes(title=axis_label(y))
    missing = len(table) - len(rows)
    note = f"{len(rows)} communes" + (f" ({missing} sans valeur, non tracées)" if missing else "")
    return finish_layout(fig, title or f"{axis_label(y)} selon {axis_label(x).lower()}",
                         "cross", note + ".")


def stock_by_code_bars(result: FluxResult, level: str = "cs", title: str | None = None
                       ) -> go.Figure:
    """Bars of the artificialised (or impermeable) stock at ``year_to`` by CS or US code."""
    stock = result.stock_by_cs if level == "cs" else result.stock_by_us
    stock = stock[stock > 0]
    fig = go.Figure(go.Bar(
        orientation="h", y=[class_tick(c) for c in stock.index], x=stock.to_numpy(),
        marker={"color": [class_color(c) for c in stock.index], "line": {"width": 1, "color": "#333"}},
        customdata=[fr_ha(v) for v in stock], hovertemplate="%{y}<br>%{customdata}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title="hectares")
    what = "couverture" if level == "cs" else "usage"
    kind = "artificialisée" if result.kind == "artif" else "imperméable"
    return finish_layout(fig, title or f"Surface {kind} en {result.year_to} par {what}", level)


def prediction_bars(by_cover: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Bars of the predicted area per OCS GE couverture code (official colours).

    Args:
        by_cover: ``code_cs, area_ha, share``
            (:func:`ocsge_engine.inference.ondemand.stats_by_cover`).
        title: French title.
    """
    rows = by_cover[by_cover["area_ha"] > 0]
    codes = rows["code_cs"].astype(str).tolist()
    fig = go.Figure(go.Bar(
        orientation="h", y=[class_tick(c) for c in codes], x=rows["area_ha"],
        marker={"color": [class_color(c) for c in codes], "line": {"width": 1, "color": "#333"}},
        customdata=[[fr_ha(a), fr_number(100 * s, 1)] for a, s in zip(rows["area_ha"], rows["share"])],
        hovertemplate="%{y}<br>%{customdata[0]} (%{customdata[1]} %)<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title="hectares")
    return finish_layout(fig, title or "Surfaces prédites par classe de couverture", "prediction")
