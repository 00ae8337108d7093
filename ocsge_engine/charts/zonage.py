"""Charts of artificialisation by planning zone: bars by zone type, shares, and a zone map.

Pure ``(stats, options) -> go.Figure`` functions over
:class:`~ocsge_engine.indicators.zonage.ZoneStats`; every figure carries its source line (zoning and OCS GE, « données synthétiques » when so).
"""

from __future__ import annotations

import logging

import numpy as np
import plotly.graph_objects as go
import shapely

from ocsge_engine.charts.style import finish_layout, fr_ha, fr_percent
from ocsge_engine.indicators.zonage import OUTSIDE, OVERLAP, ZONE_TYPE_LABELS, ZoneStats
from ocsge_engine.portrait.figure import SYNTHETIC_NOTE

logger = logging.getLogger(__name__)

# Colours of the zone families (CNIG usage: urban red, to urbanise orange, agricultural yellow,
# natural green).
ZONE_COLORS: dict[str, str] = {"U": "#E6001B", "AU": "#FF9F1C", "A": "#F5E050", "N": "#4CA64C",
                               OVERLAP: "#7F7F7F", OUTSIDE: "#D9D9D9"}
METHOD_LABELS: dict[str, str] = {
    "ign_artif": "statut d'artificialisation par polygone (couche ARTIFICIALISATION)",
    "decree_matrix_official_thresholds": "matrice du décret n° 2023-1096 et seuils officiels",
    "decree_matrix": "matrice du décret n° 2023-1096 sans seuils"}
GAIN_COLOR = "#000091"
LOSS_COLOR = "#00A3A6"


def source_note(stats: ZoneStats) -> str:
    """French source line of a zone chart."""
    parts = [f"Zonage : {stats.sources}" if stats.sources else "Zonage importé",
             f"artificialisation OCS GE (IGN) {stats.year_from}–{stats.year_to}, "
             f"{METHOD_LABELS.get(stats.method, stats.method)}"]
    if stats.synthetic:
        parts.append(SYNTHETIC_NOTE)
    return "Source : " + " ; ".join(parts) + "."


def zone_type_figure(stats: ZoneStats, title: str | None = None) -> go.Figure:
    """Artificialised and de-artificialised hectares by zone type (U, AU, A, N, overlaps, gap)."""
    table = stats.by_type
    labels = [ZONE_TYPE_LABELS[t] for t in table["zone_type"]]
    fig = go.Figure()
    fig.add_bar(x=labels, y=table["gain_ha"], name="Artificialisé", marker={"color": GAIN_COLOR},
                customdata=[fr_ha(v) for v in table["gain_ha"]],
                hovertemplate="%{x} : %{customdata} artificialisés<extra></extra>")
    fig.add_bar(x=labels, y=-table["loss_ha"], name="Désartificialisé",
                marker={"color": LOSS_COLOR}, customdata=[fr_ha(v) for v in table["loss_ha"]],
                hovertemplate="%{x} : %{customdata} désartificialisés<extra></extra>")
    fig.update_layout(barmode="relative", yaxis_title="hectares", legend={"orientation": "h"})
    default = (f"Artificialisation par type de zone, {stats.year_from}–{stats.year_to}")
    return finish_layout(fig, title or default, "zonage", source_note(stats))


def zone_share_figure(stats: ZoneStats, title: str | None = None) -> go.Figure:
    """Share of each zone type artificialised at each millésime."""
    table = stats.by_type[stats.by_type["surface_ha"] > 0]
    labels = [ZONE_TYPE_LABELS[t] for t in table["zone_type"]]
    fig = go.Figure()
    for column, year, color in (("share_from", stats.year_from, "#A0A0C8"),
                                ("share_to", stats.year_to, "#000091")):
        values = table[column].fillna(0.0)
        fig.add_bar(x=labels, y=100 * values, name=str(year), marker={"color": color},
                    customdata=[fr_percent(v) for v in values],
                    hovertemplate=f"%{{x}} en {year} : %{{customdata}}<extra></extra>")
    fig.update_layout(barmode="group", yaxis_title="% de la zone artificialisé",
                      legend={"orientation": "h"})
    return finish_layout(fig, title or "Part artificialisée de chaque type de zone", "zonage",
                         source_note(stats))


def _rings(geometry: shapely.Geometry) -> tuple[list[float | None], list[float | None]]:
    """Exterior rings of a (multi)polygon as x/y lists separated by ``None`` (plotly fills)."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    polygons = getattr(geometry, "geoms", [geometry])
    for polygon in polygons:
        if polygon.geom_type != "Polygon" or polygon.is_empty:
            continue
        coords = np.asarray(polygon.exterior.coords)
        xs += coords[:, 0].tolist() + [None]
        ys += coords[:, 1].tolist() + [None]
    return xs, ys


def zone_map_figure(stats: ZoneStats, title: str | None = None,
                    simplify_m: float = 5.0) -> go.Figure:
    """Map (Lambert-93) of the zones coloured by type with the artificialised land on top."""
    fig = go.Figure()
    parts = stats.parts
    for zone_type in (*ZONE_TYPE_LABELS,):
        subset = parts[parts["zone_type"] == zone_type]
        if subset.empty:
            continue
        geom = shapely.simplify(shapely.union_all(subset.geometry.to_numpy()), simplify_m)
        xs, ys = _rings(geom)
        fig.add_scatter(x=xs, y=ys, mode="lines", fill="toself", name=ZONE_TYPE_LABELS[zone_type],
                        fillcolor=ZONE_COLORS[zone_type], opacity=0.55,
                        line={"color": ZONE_COLORS[zone_type], "width": 1}, hoverinfo="name")
    if stats.measures is not None:
        for measure, label, color in (("gain", "Artificialisé", GAIN_COLOR),
                                      ("loss", "Désartificialisé", LOSS_COLOR)):
            geoms = stats.measures.geometry[stats.measures["measure"] == measure].to_numpy()
            if len(geoms):
                xs, ys = _rings(shapely.union_all(geoms))
                fig.add_scatter(x=xs, y=ys, mode="lines", fill="toself", name=label,
                                fillcolor=color, line={"color": color, "width": 1},
                                hoverinfo="name")
    fig.update_layout(xaxis={"visible": False}, yaxis={"visible": False, "scaleanchor": "x"},
                      legend={"orientation": "h"}, plot_bgcolor="white")
    default = f"Zones du document d'urbanisme et changements {stats.year_from}–{stats.year_to}"
    return finish_layout(fig, title or default, "zonage", source_note(stats))


__all__ = ["ZONE_COLORS", "source_note", "zone_map_figure", "zone_share_figure",
           "zone_type_figure"]
