"""Mitage and urban sprawl: where the new artificial land lies relative to the existing city.

Formulas (sources and discussion in docs/indicators.md); *new patches* are the counted
artificialisation gains (:attr:`FluxResult.gain_geometries`) merged into contiguous patches:

* ``contiguous_share`` = area of new patches within ``contiguity_m`` of land artificialised at
  ``year_from`` / area of all new patches (1 = pure extension in continuity, 0 = all detached);
* ``isolated_built_count`` / ``isolated_built_ha``: new built patches (pieces CS1.1.1.1 at
  ``year_to`` that were not CS1.1.1.1 at ``year_from``, merged when contiguous) farther than
  ``isolation_m`` from any building of ``year_from`` — the classic marker of *mitage*;
* the *urban footprint* (tache urbaine) of a year is the morphological closing of its artificial
  land: ``buffer(+d)`` of the union, then ``buffer(−d)``, with ``d = footprint_m`` (50 m); its
  largest component is the *main urban core*;
* ``mean_distance_to_core_m``: area-weighted mean over new patches of the distance from each patch
  to the main core of ``year_from`` (0 inside or touching); ``max_distance_to_core_m`` its maximum;
* ``built_density`` = built area (CS1.1.1.1) at ``year_to`` / covered area of the territory;
  ``built_share_of_artificial`` = built area / artificial area at ``year_to``;
* ``compactness_from`` / ``compactness_to``: Polsby–Popper index ``4πA / P²`` of the main core
  (1 for a disc, → 0 for sprawling shapes); ``footprint_parts_from`` / ``_to``: number of
  components of the footprint (fragmentation).
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from ocsge_engine.indicators.artif import BUILT_CS, FluxResult, Rule, patch_labels, status
from ocsge_engine.indicators.pair import Pair

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SprawlOptions:
    """Distances of the sprawl indicators (metres).

    Attributes:
        contiguity_m: a new patch within this distance of existing artificial land is contiguous.
        isolation_m: a new built patch farther than this from every existing building is isolated.
        footprint_m: closing distance of the urban footprint (dilation then erosion).
    """

    contiguity_m: float = 1.0
    isolation_m: float = 100.0
    footprint_m: float = 50.0


@dataclass(frozen=True)
class SprawlResult:
    """Sprawl indicators of one territory between two millésimes (formulas: module docstring)."""

    new_patches: int
    new_area_ha: float
    contiguous_share: float | None
    isolated_built_count: int
    isolated_built_ha: float
    new_built_count: int
    mean_distance_to_core_m: float | None
    max_distance_to_core_m: float | None
    built_density: float | None
    built_share_of_artificial: float | None
    compactness_from: float | None
    compactness_to: float | None
    footprint_parts_from: int
    footprint_parts_to: int
    options: SprawlOptions

    def to_dict(self) -> dict[str, Any]:
        """Plain-types view (JSON-ready)."""
        return asdict(self)


# --- geometry helpers (pure) ----------------------------------------------------------------------

def merge_patches(geoms: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """Dissolve contiguous polygons into patches (one geometry per connected component).

    >>> [g.area for g in merge_patches([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])]
    [2.0]
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return np.empty(0, dtype=object)
    labels = patch_labels(geoms)
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    groups = np.split(order, bounds)
    return np.array([shapely.union_all(geoms[g]) if len(g) > 1 else geoms[g[0]] for g in groups],
                    dtype=object)


def urban_footprint(geoms: npt.ArrayLike, distance_m: float) -> npt.NDArray[np.object_]:
    """Components of the closing (buffer +d, then −d) of the union of ``geoms``.

    Returns:
        Polygons, largest first (the first one is the main urban core).
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return np.empty(0, dtype=object)
    grown = shapely.union_all(shapely.buffer(geoms, distance_m, quad_segs=4))
    closed = shapely.buffer(grown, -distance_m, quad_segs=4)
    parts = np.asarray(shapely.get_parts(closed), dtype=object)
    parts = parts[shapely.area(parts) > 0]
    return parts[np.argsort(-shapely.area(parts), kind="stable")]


def polsby_popper(geom: shapely.Geometry) -> float:
    """Compactness ``4πA / P²`` (1 for a disc, π/4 ≈ 0.785 for a square).

    >>> round(polsby_popper(shapely.box(0, 0, 10, 10)), 3)
    0.785
    """
    perimeter = float(shapely.length(geom))
    return 4 * math.pi * float(shapely.area(geom)) / perimeter ** 2 if perimeter > 0 else 0.0


def isolated_mask(patches: npt.ArrayLike, existing: npt.ArrayLike,
                  distance_m: float) -> npt.NDArray[np.bool_]:
    """True for each patch farther than ``distance_m`` from every geometry of ``existing``.

    >>> isolated_mask([shapely.box(0, 0, 1, 1), shapely.box(500, 0, 501, 1)],
    ...               [shapely.box(-10, 0, -5, 1)], 100).tolist()
    [False, True]
    """
    patches = np.asarray(patches, dtype=object)
    existing = np.asarray(existing, dtype=object)
    if len(existing) == 0:
        return np.ones(len(patches), dtype=bool)
    near, _ = shapely.STRtree(existing).query(patches, predicate="dwithin", distance=distance_m)
    out = np.ones(len(patches), dtype=bool)
    out[near] = False
    return out


def distances_to(patches: npt.ArrayLike, target: shapely.Geometry | None) -> npt.NDArray[np.float64]:
    """Distance (m) from each patch to ``target`` (0 when touching or inside, inf without target)."""
    patches = np.asarray(patches, dtype=object)
    if target is None:
        return np.full(len(patches), np.inf)
    return np.asarray(shapely.distance(patches, target), dtype=float)


# --- indicators ---------------------------------------------------------------------------------

def sprawl_from_pair(pair: Pair, artif: FluxResult, options: SprawlOptions = SprawlOptions(),
                     rule: Rule = "decree") -> SprawlResult:
    """Sprawl indicators from a pair and its artificialisation result.

    Args:
        pair: the two layers and their overlay.
        artif: the artificialisation of the same pair (its counted gains are the new land).
        options: distances.
        rule: status rule used for the existing artificial land when ``artif`` has no
            thresholds (with thresholds, the polygons' official status is used, as for the gains).

    Returns:
        The :class:`SprawlResult`, computed once per pair, ``artif`` object and arguments
        (:meth:`Pair.derived`; the memo holds ``artif``, so its ``id`` stays unique).
    """
    key = ("sprawl", id(artif), options, None if artif.thresholds is not None else rule)
    held, result = pair.derived(key, lambda: (artif, _sprawl_from_pair(pair, artif, options,
                                                                        rule)))
    return result if held is artif else _sprawl_from_pair(pair, artif, options, rule)


def _sprawl_from_pair(pair: Pair, artif: FluxResult, options: SprawlOptions,
                      rule: Rule) -> SprawlResult:
    layer_f, layer_t = pair.layer_from, pair.layer_to
    geoms_f, geoms_t = layer_f.geometry.to_numpy(), layer_t.geometry.to_numpy()
    if artif.thresholds is not None:  # official status, as the counted gains
        artif_f = pair.official_status("from", artif.thresholds)
        artif_t = pair.official_status("to", artif.thresholds)
    else:
        artif_f = status(layer_f["code_cs"], layer_f["code_us"], "artif", rule)
        artif_t = status(layer_t["code_cs"], layer_t["code_us"], "artif", rule)
    built_f = np.asarray(layer_f["code_cs"] == BUILT_CS)
    built_t = np.asarray(layer_t["code_cs"] == BUILT_CS)

    patches = merge_patches(artif.gain_geometries)
    patch_area = shapely.area(patches)
    new_m2 = float(patch_area.sum())
    contiguous = ~isolated_mask(patches, geoms_f[artif_f], options.contiguity_m)

    cs_f, _ = pair.codes("from")
    cs_t, _ = pair.codes("to")
    new_built = merge_patches(pair.piece_geometries((cs_t == BUILT_CS) & (cs_f != BUILT_CS)))
    isolated = isolated_mask(new_built, geoms_f[built_f], options.isolation_m)

    core_f = urban_footprint(geoms_f[artif_f], options.footprint_m)
    core_t = urban_footprint(geoms_t[artif_t], options.footprint_m)
    dist = distances_to(patches, core_f[0] if len(core_f) else None)
    covered_m2 = float(shapely.area(geoms_t).sum())
    built_t_m2 = float(shapely.area(geoms_t[built_t]).sum())
    artif_t_m2 = float(shapely.area(geoms_t[artif_t]).sum())
    finite = np.isfinite(dist)
    return SprawlResult(
        new_patches=len(patches), new_area_ha=new_m2 / 1e4,
        contiguous_share=float(patch_area[contiguous].sum() / new_m2) if new_m2 > 0 else None,
        isolated_built_count=int(isolated.sum()),
        isolated_built_ha=float(shapely.area(new_built[isolated]).sum() / 1e4),
        new_built_count=len(new_built),
        mean_distance_to_core_m=(float(np.average(dist, weights=patch_area))
                                 if new_m2 > 0 and finite.all() else None),
        max_distance_to_core_m=float(dist.max()) if len(dist) and finite.all() else None,
        built_density=built_t_m2 / covered_m2 if covered_m2 > 0 else None,
        built_share_of_artificial=built_t_m2 / artif_t_m2 if artif_t_m2 > 0 else None,
        compactness_from=polsby_popper(core_f[0]) if len(core_f) else None,
        compactness_to=polsby_popper(core_t[0]) if len(core_t) else None,
        footprint_parts_from=len(core_f), footprint_parts_to=len(core_t), options=options,
    )
