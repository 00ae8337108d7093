"""The vegetation map's layers, plain geopandas (no folium, no leafmap): what the batch stores.

:func:`vegetation_light` (vegetated polygons of the second millésime) and
:func:`vegetation_changes` (gains and losses of vegetation), both light polygons
(:func:`~ocsge_engine.maps.simplify.light_polygons`, EPSG:4326). The map itself is drawn by
:mod:`ocsge_engine.maps.vegetation`, which imports folium and leafmap (about 3 s in a fresh
process: a batch worker does not pay for them).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd

from ocsge_engine.indicators.vegetation import CLASSES, change_pieces, in_prefixes
from ocsge_engine.maps.simplify import light_polygons

CHANGE_KEYS: tuple[str, ...] = ("change", "code_cs_from", "code_us_from", "code_cs_to",
                                "code_us_to")


def vegetated(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rows of an OCCUPATION_SOL layer whose cover is vegetated (CS2.x)."""
    return gdf[in_prefixes(gdf["code_cs"], CLASSES["vegetated"])]


def vegetation_changes(pair: Any) -> gpd.GeoDataFrame:
    """Light vegetation change pieces of a pair (gains and losses of ``vegetated``).

    :func:`~ocsge_engine.indicators.vegetation.change_pieces` dissolved on :data:`CHANGE_KEYS`
    by :func:`~ocsge_engine.maps.simplify.light_polygons` (EPSG:4326; empty when nothing changed).
    """
    return light_polygons(change_pieces(pair, "vegetated"), keys=CHANGE_KEYS)


def vegetation_light(pair: Any) -> gpd.GeoDataFrame:
    """Light vegetated polygons of a pair's second millésime (the map's vegetation layer).

    The vegetated rows (:func:`vegetated`) of ``pair.layer_to`` dissolved and simplified by
    :func:`~ocsge_engine.maps.simplify.light_polygons` on ``code_cs, code_us`` (EPSG:4326).
    """
    layer = pair.layer_to
    return light_polygons(vegetated(layer[["code_cs", "code_us", layer.geometry.name]]))


def vegetation_layers(store: Any, territory: Any, year_from: int, year_to: int, *,
                      pair: Any = None) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The two layers of the vegetation map of a territory and pair.

    :func:`vegetation_light` (vegetated polygons of ``year_to``) and :func:`vegetation_changes`.
    Without ``pair``, a commune's layers come from the national batch's precomputed objects when
    its partition is fresh (:mod:`ocsge_engine.batch.pages`, kinds ``light_vegetation`` and
    ``light_vegetation_changes``: the same functions on the batch's overlay, read in one go),
    else the pair is loaded (:func:`~ocsge_engine.indicators.pair.load_pair`, cached) and they
    are computed.

    Returns:
        ``(light vegetated polygons, light changes)``, EPSG:4326.
    """
    from ocsge_engine.indicators.pair import load_pair

    if pair is None:
        from ocsge_engine.batch.pages import stored_objects

        kinds = ("light_vegetation", "light_vegetation_changes")
        stored = stored_objects(store, [territory], year_from, year_to, kinds)
        light, changes = (stored.get((getattr(territory, "code", None), k)) for k in kinds)
        if light is not None and changes is not None:
            return light, changes
        pair = load_pair(store, territory, int(year_from), int(year_to))
    return vegetation_light(pair), vegetation_changes(pair)
