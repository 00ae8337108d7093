"""Exact overlay of two OCCUPATION_SOL layers, with an identity short-circuit.

Successive OCS GE millésimes share most of their geometries: IGN only redraws what changed. The
overlay therefore runs in two stages:

1. **Identity match.** Every geometry is normalised (:func:`shapely.normalize`: ring orientation
   and start vertex), written as WKB and hashed (:func:`pandas.util.hash_array`). A geometry of
   the first layer whose hash is unique in both layers and whose WKB bytes equal those of a
   geometry of the second layer is that geometry: the piece is the whole polygon, its area known,
   no intersection computed.
2. **Intersection of the rest.** The remaining geometries of the second layer go into an
   :class:`shapely.STRtree`; each remaining geometry of the first layer is intersected
   (vectorised :func:`shapely.intersection`) only with the candidates whose boxes it meets and
   that it actually intersects.

The result is a list of pieces ``(index_from, index_to, area_m2)`` whose areas are exact up to
floating point: when both layers tile the same extent, the pieces of one polygon sum to its area.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from ocsge_engine.errors import CrsError, SchemaError
from ocsge_engine.flows.clip_area import pair_areas
from ocsge_engine.flows.levels import By
from ocsge_engine.flows.matrix import (
    ExchangeMatrix,
    Transitions,
    build_matrix,
    couple_stocks,
    empty_transitions,
    transitions_from_pieces,
)

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
_REQUIRED = ("code_cs", "code_us")


@dataclass(frozen=True, eq=False)
class OverlayPieces:
    """Pieces of the overlay of two polygon layers.

    Attributes:
        index_from: position of each piece's polygon in the first layer.
        index_to: position in the second layer.
        area_m2: area of each piece (m²), > 0.
        n_identical: number of pieces that are whole identical geometries (short-circuited).
        n_pairs: number of candidate pairs that went through an actual intersection.
    """

    index_from: npt.NDArray[np.int64]
    index_to: npt.NDArray[np.int64]
    area_m2: npt.NDArray[np.float64]
    n_identical: int
    n_pairs: int


def identical_pairs(geoms_from: np.ndarray, geoms_to: np.ndarray
                    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Match geometries that are identical up to vertex order between two arrays.

    A first pass compares the raw WKB (untouched polygons keep their vertex order from one
    vintage to the next); the geometries left over are normalised and compared again. Only
    geometries whose hash is unique within each array are matched, and each match is confirmed
    byte for byte, so a hash collision can never pair different shapes.

    Returns:
        Positions ``(i, j)`` with ``geoms_from[i]`` equal to ``geoms_to[j]``.

    >>> a = np.array([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])
    >>> b = np.array([shapely.box(5, 5, 6, 6), shapely.Polygon([(1, 1), (1, 0), (0, 0), (0, 1)])])
    >>> [x.tolist() for x in identical_pairs(a, b)]
    [[0], [1]]
    """
    rest_from = np.arange(len(geoms_from))
    rest_to = np.arange(len(geoms_to))
    found_from, found_to = [], []
    for normalize in (False, True):
        if len(rest_from) == 0 or len(rest_to) == 0:
            break
        i, j = _match_wkb(geoms_from[rest_from], geoms_to[rest_to], normalize)
        found_from.append(rest_from[i])
        found_to.append(rest_to[j])
        rest_from = np.delete(rest_from, i)
        rest_to = np.delete(rest_to, j)
    if not found_from:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return (np.concatenate(found_from).astype(np.int64),
            np.concatenate(found_to).astype(np.int64))


def _match_wkb(geoms_from: np.ndarray, geoms_to: np.ndarray, normalize: bool
               ) -> tuple[np.ndarray, np.ndarray]:
    if normalize:
        geoms_from, geoms_to = shapely.normalize(geoms_from), shapely.normalize(geoms_to)
    wkb_from = shapely.to_wkb(geoms_from, output_dimension=2)
    wkb_to = shapely.to_wkb(geoms_to, output_dimension=2)
    hash_from = pd.Series(pd.util.hash_array(wkb_from))
    hash_to = pd.Series(pd.util.hash_array(wkb_to))
    uniq_from = np.flatnonzero(~hash_from.duplicated(keep=False).to_numpy())
    uniq_to = np.flatnonzero(~hash_to.duplicated(keep=False).to_numpy())
    lookup = pd.Index(hash_to.to_numpy()[uniq_to])
    found = lookup.get_indexer(hash_from.to_numpy()[uniq_from])
    hit = found >= 0
    i, j = uniq_from[hit], uniq_to[found[hit]]
    same = np.asarray(wkb_from[i] == wkb_to[j], dtype=bool)  # byte check: no hash collision
    return i[same], j[same]


def overlay_pieces(geoms_from: np.ndarray, geoms_to: np.ndarray,
                   progress: Progress | None = None) -> OverlayPieces:
    """Exact overlay of two polygon arrays (same CRS), identical geometries short-circuited.

    Args:
        geoms_from: polygons of the first layer.
        geoms_to: polygons of the second layer.
        progress: optional callback ``(fraction, message)``.

    Returns:
        The pieces with a positive area.

    Notes:
        Time is dominated by the intersections of the changed part: about linear in the number
        of changed polygons times their candidates. Memory holds one WKB copy of each layer and
        at most :data:`CHUNK_PAIRS` intersection results at a time.
    """
    area_from = shapely.area(geoms_from)
    i_same, j_same = identical_pairs(geoms_from, geoms_to)
    if progress:
        progress(0.2, f"{len(i_same)} géométries identiques")
    keep_from = np.ones(len(geoms_from), dtype=bool)
    keep_to = np.ones(len(geoms_to), dtype=bool)
    keep_from[i_same], keep_to[j_same] = False, False
    rest_from, rest_to = np.flatnonzero(keep_from), np.flatnonzero(keep_to)
    i_cut, j_cut, area_cut, n_pairs = _intersect_rest(geoms_from[rest_from], geoms_to[rest_to],
                                                      progress)
    logger.debug("overlay: %d identical, %d+%d changed polygons, %d candidate pairs",
                 len(i_same), len(rest_from), len(rest_to), n_pairs)
    index_from = np.concatenate([i_same, rest_from[i_cut]]).astype(np.int64)
    index_to = np.concatenate([j_same, rest_to[j_cut]]).astype(np.int64)
    area = np.concatenate([area_from[i_same], area_cut])
    positive = area > 0.0
    if progress:
        progress(1.0, "superposition terminée")
    return OverlayPieces(index_from[positive], index_to[positive], area[positive],
                         int(len(i_same)), n_pairs)


def _intersect_rest(geoms_from: np.ndarray, geoms_to: np.ndarray, progress: Progress | None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    empty = np.empty(0, dtype=np.int64)
    if len(geoms_from) == 0 or len(geoms_to) == 0:
        return empty, empty, np.empty(0), 0
    geoms_from, geoms_to = _valid(geoms_from), _valid(geoms_to)
    tree = shapely.STRtree(geoms_to)
    i, j = tree.query(geoms_from, predicate="intersects")

    def report(fraction: float) -> None:
        if progress:
            progress(0.3 + 0.7 * fraction, f"{len(i)} paires")

    areas, counts = pair_areas(geoms_from, geoms_to, i, j, report)
    logger.debug("overlay pairs: %s", counts)
    return i.astype(np.int64), j.astype(np.int64), areas, int(len(i))


def _valid(geoms: np.ndarray) -> np.ndarray:
    """Repair invalid geometries only (make_valid is costly and rarely needed)."""
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        logger.info("repairing %d invalid geometries before intersection", int(invalid.sum()))
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    return geoms


def transitions_from_layers(gdf_from: gpd.GeoDataFrame, gdf_to: gpd.GeoDataFrame,
                            progress: Progress | None = None) -> Transitions:
    """Couple-level transitions between two OCCUPATION_SOL layers by exact overlay.

    Args:
        gdf_from: first millésime, columns ``code_cs``, ``code_us``, polygons (already clipped
            to the territory).
        gdf_to: second millésime, same columns and CRS.
        progress: optional callback ``(fraction, message)``.

    Returns:
        :class:`Transitions` with ``source="overlay"`` and both couple stocks.

    Raises:
        SchemaError: a layer lacks ``code_cs``/``code_us``.
        CrsError: the layers have different CRSs.
    """
    for name, gdf in (("first", gdf_from), ("second", gdf_to)):
        missing = [c for c in _REQUIRED if c not in gdf.columns]
        if missing:
            raise SchemaError(f"{name} layer lacks columns {missing}",
                              f"La couche du {'premier' if name == 'first' else 'second'} "
                              f"millésime n'a pas les champs {', '.join(missing)}.")
    if gdf_from.crs != gdf_to.crs:
        raise CrsError(f"layers have different CRS: {gdf_from.crs} vs {gdf_to.crs}",
                       "Les deux millésimes n'ont pas le même système de coordonnées.")
    if len(gdf_from) == 0 and len(gdf_to) == 0:
        return empty_transitions("overlay")
    pieces = overlay_pieces(gdf_from.geometry.to_numpy(), gdf_to.geometry.to_numpy(), progress)
    table = transitions_from_pieces(gdf_from, gdf_to, pieces.index_from, pieces.index_to,
                                    pieces.area_m2)
    return Transitions(table, couple_stocks(gdf_from), couple_stocks(gdf_to), "overlay")


def exchange_matrix_from_layers(gdf_from: gpd.GeoDataFrame, gdf_to: gpd.GeoDataFrame,
                                by: By = "anf", year_from: int | None = None,
                                year_to: int | None = None) -> ExchangeMatrix:
    """Exchange matrix of two OCCUPATION_SOL layers by exact overlay (pure compute, no store).

    Args:
        gdf_from: first millésime (``code_cs``, ``code_us``, geometry), clipped to the territory.
        gdf_to: second millésime, same CRS.
        by: level of the classes.
        year_from: first millésime, kept on the result.
        year_to: second millésime.

    Returns:
        A checked :class:`ExchangeMatrix` (rows sum to the first layer's class stocks, columns to
        the second's).

    Raises:
        FlowCheckError: the layers do not cover the same extent (rows or columns off).
    """
    transitions = transitions_from_layers(gdf_from, gdf_to)
    return build_matrix(transitions, by, year_from, year_to)
