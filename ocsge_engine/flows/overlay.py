"""Exact overlay of two OCCUPATION_SOL layers: identity and containment short-circuits, areas
without intersection polygons.

Successive OCS GE millésimes share most of their geometries: IGN only redraws what changed. The
overlay therefore runs in two stages:

1. **Identity match.** A geometry of the first layer whose bounds and vertex count are unique
   in both layers and that equals, vertex for vertex (raw, else normalised by
   :func:`shapely.normalize`: ring orientation and start vertex), the geometry of the second
   layer with the same key is that geometry: the piece is the whole polygon, its area known,
   no intersection computed.
2. **Areas of the rest.** The remaining geometries of the second layer go into an
   :class:`shapely.STRtree`; each remaining geometry of the first layer is paired with the
   candidates whose boxes overlap its own with a positive area, and each pair's intersection
   *area* is computed by :func:`ocsge_engine.flows.clip_area.pair_areas`: a vectorised numpy
   clip when one side is convex, the polygon's own area when one covers the other (prepared
   ``covers``), and :func:`shapely.intersection` only for the other pairs. No piece geometry is built (callers
   that need some recompute them, e.g. ``Pair.piece_geometries``).

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
PAIR_CHUNK = 25_000  # first-layer polygons whose candidate pairs are computed together
_K1, _K2, _K3 = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F),
                 np.uint64(0x165667B19E3779F9))  # 64-bit odd multipliers of the key hash


@dataclass(frozen=True, eq=False)
class OverlayPieces:
    """Pieces of the overlay of two polygon layers.

    Attributes:
        index_from: position of each piece's polygon in the first layer.
        index_to: position in the second layer.
        area_m2: area of each piece (m²), > 0.
        n_identical: number of pieces that are whole identical geometries (short-circuited).
        n_pairs: number of candidate pairs (boxes overlapping with a positive area) whose
            intersection area was computed.
    """

    index_from: npt.NDArray[np.int64]
    index_to: npt.NDArray[np.int64]
    area_m2: npt.NDArray[np.float64]
    n_identical: int
    n_pairs: int


def identical_pairs(geoms_from: np.ndarray, geoms_to: np.ndarray
                    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Match geometries that are identical up to vertex order between two arrays.

    Candidates are the geometries whose bounds and vertex count (a key that reordering the
    vertices does not change) are unique within each array and equal across them; each
    candidate is then confirmed vertex for vertex (:func:`shapely.equals_exact`, tolerance 0),
    as is (untouched polygons keep their vertex order from one vintage to the next), else after
    :func:`shapely.normalize`. A key collision can never pair different shapes.

    Returns:
        Positions ``(i, j)`` with ``geoms_from[i]`` equal to ``geoms_to[j]``.

    >>> a = np.array([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])
    >>> b = np.array([shapely.box(5, 5, 6, 6), shapely.Polygon([(1, 1), (1, 0), (0, 0), (0, 1)])])
    >>> [x.tolist() for x in identical_pairs(a, b)]
    [[0], [1]]
    """
    i, j = _unique_matches(_bounds_hashes(geoms_from), _bounds_hashes(geoms_to))
    same = np.asarray(shapely.equals_exact(geoms_from[i], geoms_to[j], tolerance=0.0), dtype=bool)
    i_other, j_other = i[~same], j[~same]
    if len(i_other):
        reordered = np.asarray(shapely.equals_exact(shapely.normalize(geoms_from[i_other]),
                                                    shapely.normalize(geoms_to[j_other]),
                                                    tolerance=0.0), dtype=bool)
        i = np.concatenate([i[same], i_other[reordered]])
        j = np.concatenate([j[same], j_other[reordered]])
    else:
        i, j = i[same], j[same]
    return i.astype(np.int64), j.astype(np.int64)


def _unique_matches(hash_from: np.ndarray, hash_to: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of equal hashes that are unique within each array."""
    series_from, series_to = pd.Series(hash_from), pd.Series(hash_to)
    uniq_from = np.flatnonzero(~series_from.duplicated(keep=False).to_numpy())
    uniq_to = np.flatnonzero(~series_to.duplicated(keep=False).to_numpy())
    found = pd.Index(hash_to[uniq_to]).get_indexer(hash_from[uniq_from])
    hit = found >= 0
    return uniq_from[hit], uniq_to[found[hit]]


def _bounds_hashes(geoms: np.ndarray) -> npt.NDArray[np.uint64]:
    """Hash of the bounds and vertex count (both unchanged by reordering the vertices)."""
    bits = np.ascontiguousarray(shapely.bounds(geoms)).view(np.uint64)
    counts = shapely.get_num_coordinates(geoms).astype(np.uint64)
    with np.errstate(over="ignore"):
        return ((bits[:, 0] * _K1) ^ (bits[:, 1] * _K2) ^ (bits[:, 2] * _K3)
                ^ ((bits[:, 3] ^ counts) * _K1 * _K2))


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
        Time is about linear in the number of changed polygons times their candidates. Memory
        holds the vertices of the changed polygons and bounded chunks of clipped rings.
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
    box_to = shapely.bounds(geoms_to)
    n_chunks = -(-len(geoms_from) // PAIR_CHUNK)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    counts: dict[str, int] = {}
    n_pairs = 0
    # Chunks of the first layer (rows in storage order, hence spatially compact): the candidate
    # pairs and their temporaries are bounded by the chunk, not by the layer.
    for k, start in enumerate(range(0, len(geoms_from), PAIR_CHUNK)):
        chunk = geoms_from[start:start + PAIR_CHUNK]
        i, j = tree.query(chunk)  # boxes only: the area computation is the exact test
        box_from = shapely.bounds(chunk)
        overlap = (np.minimum(box_from[i, 2], box_to[j, 2])
                   > np.maximum(box_from[i, 0], box_to[j, 0]))
        overlap &= (np.minimum(box_from[i, 3], box_to[j, 3])
                    > np.maximum(box_from[i, 1], box_to[j, 1]))
        i, j = i[overlap], j[overlap]  # boxes that only touch cannot share any area

        def report(fraction: float, k: int = k, n_pairs: int = len(i)) -> None:
            if progress:
                progress(0.3 + 0.7 * (k + fraction) / n_chunks, f"{n_pairs} paires")

        areas, chunk_counts = pair_areas(chunk, geoms_to, i, j, report)
        for name, value in chunk_counts.items():
            counts[name] = counts.get(name, 0) + value
        n_pairs += len(i)
        positive = areas > 0.0  # only pieces are kept (overlay_pieces drops the others too)
        parts.append(((start + i[positive]).astype(np.int64), j[positive].astype(np.int64),
                      areas[positive]))
        del i, j, areas, positive, box_from, overlap
    logger.debug("overlay pairs: %s", counts)
    i = np.concatenate([p[0] for p in parts])
    j = np.concatenate([p[1] for p in parts])
    return i, j, np.concatenate([p[2] for p in parts]), n_pairs


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
