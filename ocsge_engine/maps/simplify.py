"""Light map geometry: OCS GE polygons made small enough for the browser.

A commune holds 5,000 to 30,000 OCS GE polygons with vertices every metre or so; shipped raw as
GeoJSON, Leaflet needs many seconds to draw them. :func:`light_polygons` keeps what the map
shows at the territory's scale:

1. **dissolve** adjacent polygons of the same CS×US couple (every colouring of the map, CS, US,
   family, artificialised status, is a function of the couple, so nothing visible is lost);
2. **coverage simplification** (Visvalingam-Whyatt on shared edges, so neighbours stay gap-free)
   with a tolerance from the extent, :func:`tolerance_for_extent`;
3. **reprojection** to WGS84 and coordinates **rounded** to 1e-5° (about 1 m);
4. only the needed properties (``code_cs``, ``code_us``, ``area_ha``).
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ocsge_engine.errors import GeometryError, SchemaError

logger = logging.getLogger(__name__)

WGS84 = "EPSG:4326"
COORD_DECIMALS = 5  # 1e-5 degree is about 1.1 m in latitude
# Extent (diagonal) divided by this gives the tolerance: a 20 km commune drawn 700 px wide has
# about 30 m per pixel at its fit zoom; 20 km / 4000 = 5 m stays well under a pixel there and
# still reads at two zoom levels closer.
EXTENT_TO_TOLERANCE = 4000.0
MIN_TOLERANCE_M = 1.0
MAX_TOLERANCE_M = 50.0


def tolerance_for_extent(bounds: tuple[float, float, float, float]) -> float:
    """Simplification tolerance in metres for a layer of the given bounds (projected, metres).

    ``diagonal / 4000`` clamped to [1, 50] m.

    >>> tolerance_for_extent((0.0, 0.0, 12000.0, 16000.0))
    5.0
    """
    minx, miny, maxx, maxy = bounds
    diagonal = float(np.hypot(maxx - minx, maxy - miny))
    return float(np.clip(diagonal / EXTENT_TO_TOLERANCE, MIN_TOLERANCE_M, MAX_TOLERANCE_M))


def dissolve_couples(gdf: gpd.GeoDataFrame, keys: tuple[str, ...] = ("code_cs", "code_us")
                     ) -> gpd.GeoDataFrame:
    """Merge adjacent polygons with the same ``keys`` values; one row per connected part.

    Args:
        gdf: polygons in a projected CRS with the ``keys`` columns.
        keys: columns whose equal values let neighbours merge.

    Returns:
        GeoDataFrame with ``keys`` + ``geometry`` (single Polygons), same CRS, total area kept.

    Notes:
        Uses ``shapely.coverage_union_all`` per group (OCS GE is a coverage: no overlaps),
        which is linear in the number of edges, far cheaper than a general union.
    """
    _check_columns(gdf, keys)
    if gdf.empty:
        return gpd.GeoDataFrame(columns=[*keys, "geometry"], geometry="geometry", crs=gdf.crs)
    geoms = gdf.geometry.to_numpy()
    frame = pd.DataFrame({k: gdf[k].to_numpy() for k in keys})
    rows: list[tuple[object, ...]] = []
    merged: list[shapely.Geometry] = []
    for values, index in frame.groupby(list(keys), sort=True, dropna=False).indices.items():
        merged.append(_union(geoms[index]))
        rows.append(values if isinstance(values, tuple) else (values,))
    out = gpd.GeoDataFrame(pd.DataFrame(rows, columns=list(keys)), geometry=merged, crs=gdf.crs)
    out = out.explode(index_parts=False, ignore_index=True)
    return out[~out.geometry.is_empty].reset_index(drop=True)


def _union(parts: np.ndarray) -> shapely.Geometry:
    if len(parts) == 1:
        return parts[0]
    try:
        merged = shapely.coverage_union_all(parts)
        if shapely.is_valid(merged):
            return merged
    except shapely.errors.GEOSException:  # not edge-matched (clipped or synthetic edges)
        pass
    return shapely.union_all(shapely.make_valid(parts))


def light_polygons(gdf: gpd.GeoDataFrame, tolerance_m: float | None = None,
                   keys: tuple[str, ...] = ("code_cs", "code_us")) -> gpd.GeoDataFrame:
    """Dissolve, simplify, reproject and round polygons for a web map (see module docstring).

    Args:
        gdf: polygons in a projected CRS (EPSG:2154) with the ``keys`` columns.
        tolerance_m: simplification tolerance; default :func:`tolerance_for_extent`.
        keys: attribute columns kept (and dissolved on).

    Returns:
        EPSG:4326 GeoDataFrame with ``keys``, ``area_ha`` (of the unsimplified merged part)
        and single-part geometries, largest first (small parts drawn last stay on top).

    Raises:
        GeometryError: the CRS is missing or geographic (tolerances are in metres).
    """
    if gdf.crs is None or not gdf.crs.is_projected:
        raise GeometryError(f"light_polygons needs a projected CRS, got {gdf.crs}",
                            "Les géométries doivent être dans un système projeté (Lambert-93).")
    merged = dissolve_couples(gdf, keys)
    if merged.empty:
        return gpd.GeoDataFrame(columns=[*keys, "area_ha", "geometry"], geometry="geometry",
                                crs=WGS84)
    tol = tolerance_m if tolerance_m is not None else tolerance_for_extent(tuple(gdf.total_bounds))
    geoms = merged.geometry.to_numpy()
    area_ha = shapely.area(geoms) / 1e4
    simple = shapely.coverage_simplify(geoms, tol)
    simple = np.where(shapely.is_empty(simple), geoms, simple)
    out = gpd.GeoDataFrame(merged[list(keys)].assign(area_ha=np.round(area_ha, 2)),
                           geometry=simple, crs=merged.crs).to_crs(WGS84)
    out = out.set_geometry(shapely.transform(out.geometry.to_numpy(),
                                             lambda xy: np.round(xy, COORD_DECIMALS)), crs=WGS84)
    out = out.sort_values("area_ha", ascending=False, kind="stable").reset_index(drop=True)
    logger.debug("light polygons: %d in, %d out, tolerance %.1f m", len(gdf), len(out), tol)
    return out


def _check_columns(gdf: gpd.GeoDataFrame, keys: tuple[str, ...]) -> None:
    missing = [k for k in keys if k not in gdf.columns]
    if missing:
        raise SchemaError(f"map layer lacks columns {missing}",
                            f"La couche à cartographier n'a pas les champs {', '.join(missing)}.")
