"""Charts of the sprawl typology: the class map of one millésime and class areas per millésime."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ocsge_engine.charts.style import finish_layout
from ocsge_engine.indicators.typology import CLASS_CODES, CLASSES, Typology

logger = logging.getLogger(__name__)

CLASS_LABELS: dict[str, str] = {
    "urbain": "Bâti urbain (≥ 50 %)", "periurbain": "Bâti périurbain (25–50 %)",
    "rural": "Bâti rural (< 25 %)", "frange": "Espace ouvert de frange (< 100 m)",
    "enclave": "Espace ouvert enclavé (< 200 ha)", "ouvert_rural": "Espace ouvert rural",
}
CLASS_COLORS: dict[str, str] = {
    "urbain": "#8B0000", "periurbain": "#FF4500", "rural": "#FFA500", "frange": "#9ACD32",
    "enclave": "#2E8B57", "ouvert_rural": "#F5F5DC",
}
MAX_MAP_PIXELS = 400  # the map is subsampled to at most this many pixels per side


def typology_map(typology: Typology, title: str | None = None) -> go.Figure:
    """Map of the typology classes (subsampled to :data:`MAX_MAP_PIXELS` a side), French legend.

    Returns:
        A plotly heatmap with a discrete colour scale; outside the territory is transparent.
    """
    classes = typology.classes
    step = max(1, int(np.ceil(max(classes.shape) / MAX_MAP_PIXELS)))
    grid = classes[::step, ::step].astype(float)
    grid[grid == 0] = np.nan
    n = len(CLASSES)
    scale = []
    for k, c in enumerate(CLASSES):
        color = CLASS_COLORS[CLASS_CODES[c]]
        scale += [[k / n, color], [(k + 1) / n, color]]
    fig = go.Figure(go.Heatmap(
        z=grid[::-1], zmin=0.5, zmax=n + 0.5, colorscale=scale, showscale=True,
        colorbar={"tickvals": list(CLASSES),
                  "ticktext": [CLASS_LABELS[CLASS_CODES[c]] for c in CLASSES]},
        hovertemplate="%{z}<extra></extra>"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    year = f" {typology.millesime}" if typology.millesime else ""
    return finish_layout(fig, title or f"Typologie du bâti{year}", "typology",
                         f"Pixels de {typology.options.resolution_m:g} m, voisinage d'un km².")


def typology_bars(areas: Mapping[int, pd.Series], title: str | None = None) -> go.Figure:
    """Grouped bars: area (ha) of each typology class, one bar per millésime."""
    fig = go.Figure()
    for year, series in sorted(areas.items()):
        codes = [CLASS_CODES[c] for c in CLASSES]
        fig.add_bar(x=[CLASS_LABELS[c] for c in codes], y=[float(series.get(c, 0.0)) for c in codes],
                    name=str(year), hovertemplate="%{x}<br>%{y:,.1f} ha<extra></extra>")
    fig.update_layout(barmode="group", yaxis_title="Surface (ha)")
    return finish_layout(fig, title or "Typologie du bâti par millésime", "typology")


def typology_table(areas: Mapping[int, pd.Series]) -> pd.DataFrame:
    """Tidy ``millesime, classe, libelle, area_ha`` table behind :func:`typology_bars`."""
    rows = [(int(year), CLASS_CODES[c], CLASS_LABELS[CLASS_CODES[c]],
             float(series.get(CLASS_CODES[c], 0.0)))
            for year, series in sorted(areas.items()) for c in CLASSES]
    return pd.DataFrame(rows, columns=["millesime", "classe", "libelle", "area_ha"])
