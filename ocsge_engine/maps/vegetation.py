"""The vegetation map: vegetated land coloured by cover class, losses and gains highlighted.

Same offline frame as :func:`~ocsge_engine.maps.folium_map.territory_map` (local Leaflet
assets, plain background, optional IGN orthophoto off by default). Inputs are light polygons
(:func:`~ocsge_engine.maps.simplify.light_polygons`, EPSG:4326): the vegetated polygons of one
millésime, and the vegetation change pieces
(:func:`~ocsge_engine.indicators.vegetation.change_pieces`) dissolved on :data:`CHANGE_KEYS`;
:func:`vegetation_layers` gives both for a territory (precomputed by the batch for communes).
Those layers are plain geopandas, in :mod:`ocsge_engine.maps.vegetation_layers` (re-exported
here), so that the batch does not import folium and leafmap.
"""

from __future__ import annotations

import logging
from typing import Any

import folium
import geopandas as gpd
import leafmap.foliumap as leafmap
import pandas as pd

from ocsge_engine import fmt
from ocsge_engine.maps.assets import DEFAULT_BASE_URL
from ocsge_engine.maps.folium_map import _base_map
from ocsge_engine.maps.layers import (
    Legend,
    _code_text,
    _feature_collection,
    legend_entries,
    polygons_layer,
)
from ocsge_engine.maps.vegetation_layers import (  # noqa: F401 (the map's layers, re-exported)
    CHANGE_KEYS,
    vegetated,
    vegetation_changes,
    vegetation_layers,
    vegetation_light,
)

logger = logging.getLogger(__name__)

GAIN_COLOR = "#1A9850"
LOSS_COLOR = "#D73027"
CHANGE_NAMES = {"loss": "Pertes de végétation", "gain": "Gains de végétation"}


def change_layer(light_changes: gpd.GeoDataFrame, change: str, year_from: int,
                 year_to: int) -> folium.GeoJson:
    """Outlined layer of the vegetation losses (red) or gains (green) between two millésimes."""
    rows = light_changes[light_changes["change"] == change]
    color = LOSS_COLOR if change == "loss" else GAIN_COLOR
    props = pd.DataFrame({
        "avant": [f"{_code_text(a)} × {_code_text(b)}" for a, b in
                  zip(rows["code_cs_from"], rows["code_us_from"])],
        "apres": [f"{_code_text(a)} × {_code_text(b)}" for a, b in
                  zip(rows["code_cs_to"], rows["code_us_to"])],
        "surface": [fmt.hectares(a) for a in rows["area_ha"]],
    })
    fields = ["avant", "apres", "surface"]
    aliases = [f"En {year_from}", f"En {year_to}", "Surface"]

    def style(_: Any) -> dict[str, Any]:
        return {"fillColor": color, "color": color, "weight": 2.5, "fillOpacity": 0.55}

    return folium.GeoJson(
        _feature_collection(rows, props), name=f"{CHANGE_NAMES[change]} {year_from} → {year_to}",
        style_function=style,
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases, sticky=True)
        if len(rows) else None)


def vegetation_map(light: gpd.GeoDataFrame, year: int,
                   changes: gpd.GeoDataFrame | None = None,
                   years: tuple[int, int] | None = None, *, ortho: bool = False,
                   height: int = 620, asset_base_url: str = DEFAULT_BASE_URL) -> leafmap.Map:
    """Build the vegetation map of a territory.

    Args:
        light: light vegetated polygons of millésime ``year`` (``code_cs``, ``code_us``,
            ``area_ha``), EPSG:4326.
        year: their millésime (layer name).
        changes: light change pieces (:data:`CHANGE_KEYS`, ``area_ha``), EPSG:4326.
        years: ``(from, to)`` of ``changes`` (required with it).
        ortho: show the IGN orthophoto when the map opens.
        height: map height in pixels.
        asset_base_url: where ``static/vendor`` is served.

    Returns:
        A ``leafmap.foliumap.Map`` with no remote asset: vegetation by CS class, losses and gains
        on top, legend, layer control, fitted to the layers.
    """
    if changes is not None and years is None:
        raise ValueError("years is required with changes")
    fmap = _base_map(height, asset_base_url, fullscreen=True, ortho=ortho)
    polygons_layer(light, "cs", name=f"Végétation {year} (couverture)").add_to(fmap)
    entries = legend_entries(light, "cs")
    bounds = [light.total_bounds] if not light.empty else []
    if changes is not None and years is not None and not changes.empty:
        for change in ("loss", "gain"):
            if (changes["change"] == change).any():
                change_layer(changes, change, *years).add_to(fmap)
                entries.append((f"{CHANGE_NAMES[change]} {years[0]} → {years[1]}",
                                LOSS_COLOR if change == "loss" else GAIN_COLOR))
        bounds.append(changes.total_bounds)
    Legend("Végétation", entries).add_to(fmap)
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    if bounds:
        minx = min(float(b[0]) for b in bounds)
        miny = min(float(b[1]) for b in bounds)
        maxx = max(float(b[2]) for b in bounds)
        maxy = max(float(b[3]) for b in bounds)
        fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    return fmap


__all__ = ["CHANGE_KEYS", "change_layer", "vegetated", "vegetation_changes", "vegetation_layers",
           "vegetation_light", "vegetation_map"]
