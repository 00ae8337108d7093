"""Change layer: the parts of a territory whose CS or US differs between two millésimes.

Two sources, same output (``code_cs_from``, ``code_us_from``, ``code_cs_to``, ``code_us_to``,
geometry, projected CRS):

* :func:`changes_from_diff`: IGN's ``diff`` layer (the store's ``diff`` layer), filtered to the
  rows where a code changed;
* :func:`changes_from_overlay`: intersection of the two millésimes' polygons, when no diff layer
  was delivered.
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ocsge_engine.errors import MillesimeError, SchemaError
from ocsge_engine.flows.overlay import identical_pairs

logger = logging.getLogger(__name__)

CHANGE_COLUMNS: tuple[str, ...] = ("code_cs_from", "code_us_from", "code_cs_to", "code_us_to")


def _changed_mask(frame: pd.DataFrame) -> np.ndarray:
    cs = frame["code_cs_from"].to_numpy(dtype=object) != frame["code_cs_to"].to_numpy(dtype=object)
    us = frame["code_us_from"].to_numpy(dtype=object) != frame["code_us_to"].to_numpy(dtype=object)
    return np.asarray(cs | us, dtype=bool)


def changes_from_diff(diff: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rows of a ``diff`` layer where CS or US changed.

    Args:
        diff: the store's ``diff`` layer for one territory and period.

    Returns:
        GeoDataFrame with :data:`CHANGE_COLUMNS` and geometry, index reset.

    Raises:
        SchemaError: a change column is missing.
    """
    missing = [c for c in CHANGE_COLUMNS if c not in diff.columns]
    if missing:
        raise SchemaError(f"diff layer lacks {missing}",
                          "La couche des différences n'a pas les champs attendus.")
    out = diff.loc[_changed_mask(diff), [*CHANGE_COLUMNS, diff.geometry.name]]
    return out.reset_index(drop=True)


def changes_from_overlay(before: gpd.GeoDataFrame, after: gpd.GeoDataFrame,
                         min_area_m2: float = 1.0) -> gpd.GeoDataFrame:
    """Intersect two millésimes and keep the pieces whose CS or US changed.

    Args:
        before: polygons of the first millésime (``code_cs``, ``code_us``), projected CRS.
        after: polygons of the second millésime, same CRS.
        min_area_m2: slivers below this area (boundary noise) are dropped.

    Returns:
        GeoDataFrame with :data:`CHANGE_COLUMNS` and geometry, in ``before``'s CRS.

    Notes:
        Polygons drawn identically in both millésimes (most of them: IGN redraws only what
        changed) are matched by :func:`ocsge_engine.flows.overlay.identical_pairs` and kept
        whole; only the others go through ``geopandas.overlay``.
    """
    cols = ["code_cs", "code_us"]
    for name, frame in (("before", before), ("after", after)):
        if any(c not in frame.columns for c in cols):
            raise SchemaError(f"{name} layer lacks {cols}",
                              "La couche d'occupation du sol n'a pas les champs CS/US.")
    if before.empty or after.empty:
        return gpd.GeoDataFrame(columns=[*CHANGE_COLUMNS, "geometry"], geometry="geometry",
                                crs=before.crs)
    left = before[[*cols, before.geometry.name]].rename(
        columns={"code_cs": "code_cs_from", "code_us": "code_us_from"}).reset_index(drop=True)
    right = after[[*cols, after.geometry.name]].rename(
        columns={"code_cs": "code_cs_to", "code_us": "code_us_to"}).to_crs(before.crs)
    right = right.reset_index(drop=True)
    # polygons drawn identically in both millésimes: whole-polygon pieces, no intersection
    i_same, j_same = identical_pairs(left.geometry.to_numpy(), right.geometry.to_numpy())
    same = pd.concat([left.iloc[i_same].reset_index(drop=True).drop(columns=left.geometry.name),
                      right.iloc[j_same].reset_index(drop=True).drop(columns=right.geometry.name)],
                     axis=1)
    same = gpd.GeoDataFrame(same, geometry=left.geometry.to_numpy()[i_same], crs=before.crs)
    rest_left = left.drop(index=i_same)
    rest_right = right.drop(index=j_same)
    parts = [same]
    if len(rest_left) and len(rest_right):
        parts.append(gpd.overlay(rest_left, rest_right, how="intersection", keep_geom_type=True))
    pieces = pd.concat(parts, ignore_index=True)
    pieces = pieces[_changed_mask(pieces) & (pieces.geometry.area >= min_area_m2)]
    logger.debug("overlay changes: %d identical polygons, %d changed pieces", len(i_same),
                 len(pieces))
    return gpd.GeoDataFrame(pieces[[*CHANGE_COLUMNS, "geometry"]].reset_index(drop=True),
                            geometry="geometry", crs=before.crs)


def changed_only(before: gpd.GeoDataFrame, after: gpd.GeoDataFrame
                 ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Drop the polygons present in both millésimes with the same geometry and codes.

    Polygons of one layer do not overlap, so such a polygon meets nothing in the other layer but
    its twin (boundaries aside): the overlay of what is left yields the same change pieces, about
    10× faster on the demo (most polygons are untouched).
    """
    i, j = identical_pairs(before.geometry.to_numpy(), after.geometry.to_numpy())
    same = ((before["code_cs"].to_numpy()[i] == after["code_cs"].to_numpy()[j])
            & (before["code_us"].to_numpy()[i] == after["code_us"].to_numpy()[j]))
    return (before.drop(index=before.index[i[same]]), after.drop(index=after.index[j[same]]))


def stored_changes(store: Any, territory: Any, year_from: int, year_to: int,
                   layers: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame] | None = None
                   ) -> gpd.GeoDataFrame:
    """Change layer of a territory from the store: IGN's ``diff`` when stored, else an overlay.

    Args:
        store: an open store.
        territory: a territory object.
        year_from: first millésime.
        year_to: second millésime.
        layers: the two OCCUPATION_SOL layers already read (``code_cs``, ``code_us``), if any.

    Returns:
        :data:`CHANGE_COLUMNS` and geometry (EPSG:2154), clipped to the territory.
    """
    try:
        return changes_from_diff(store.polygons(territory, (year_from, year_to), layer="diff"))
    except MillesimeError:
        cols = ["code_cs", "code_us"]
        if layers is None:
            layers = (store.polygons(territory, year_from, columns=cols),
                      store.polygons(territory, year_to, columns=cols))
        return changes_from_overlay(*changed_only(*layers))
