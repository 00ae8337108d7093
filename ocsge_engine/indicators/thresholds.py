"""Official artificialisation status of every polygon of a millésime: decree matrix + thresholds.

Décret n° 2023-1096 sets interpretation thresholds that IGN applies to each OCS GE millésime to
produce its « OCS GE – ARTIFICIALISATION » layer (fields ``artif`` and ``crit_seuil``;
``artificialisation_rules.md`` §4). sparte explains them (``SeuilsSchemas.tsx``) as three rules on
*surfaces*. When a delivery has no IGN ARTIFICIALISATION layer, :func:`official_status` rebuilds
that status on the **whole département layer** of one millésime (the store partition
``occupation_sol/departement=D/millesime=Y``), before any clipping to a territory:

0. each polygon gets the status of its CS×US couple by the decree matrix
   (:func:`ocsge_engine.nomenclature.is_artificial`);
1. *surfaces* are **patches**: connected components of the graph "polygons of the same status
   that are adjacent". Two polygons are adjacent when their boundaries share a segment (DE-9IM
   boundary ∩ boundary of dimension 1) or their interiors overlap (slivers of imperfect
   topology); a contact in single points does **not** join them (two fields meeting at a
   corner are not one surface);
2. **rule 1** — a non-artificial patch smaller than ``min_patch_m2`` (2,500 m²) that touches at
   least one artificial polygon (it is then enclosed in artificial land, or lies between
   artificial land and the edge of the layer) becomes artificial
   (``crit_seuil = "enclave_non_artif_<2500"``);
3. patches are recomputed on the new status; **rule 2** — an artificial patch smaller than
   ``min_patch_m2`` that touches at least one non-artificial polygon becomes non-artificial
   (``"ilot_artif_<2500"``), **except rule 3** — its built polygons (CS1.1.1.1) whose own
   contiguous built patch (adjacent CS1.1.1.1 polygons) reaches ``min_built_m2`` (50 m²) stay
   artificial (``"bati_>=50"``; the status is the matrix's, but it is the rule that kept it).

Order: holes are filled first, then small islands removed, one pass each, as sparte lists the
rules. A hole filled by rule 1 joins the artificial patch around it, so an artificial island with
a hole is measured with its hole (a 2,000 m² built block around a 1,000 m² garden is a 3,000 m²
artificial surface). A hole filled by rule 1 inside an island removed by rule 2 ends with its
matrix status (and no ``crit_seuil``). Rule 3 can leave a building alone in non-artificial land;
no further pass runs.

Edges: the rules apply by size as measured inside the layer. A patch cut by the edge of the
layer (département border, coast) is measured on its part inside the layer, and a patch with no
neighbour at all (an islet alone in the layer) keeps its matrix status, since it is enclosed in
nothing. The status is computed once per département and millésime and stored per polygon
(:func:`ensure_status`), so a polygon clipped by a commune boundary keeps its département-scale
status on both sides and every figure derived from it is additive over any partition.

Cost: one STRtree query and one vectorised ``shapely.relate`` on the candidate pairs, two
connected-component labellings (scipy); no Python loop over polygons
(``benchmarks/bench_thresholds.py``).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ocsge_engine import nomenclature as nom

logger = logging.getLogger(__name__)

BUILT_CS = "CS1.1.1.1"
LAYER = "occupation_sol"
STATUS_COLUMNS: tuple[str, ...] = ("artif", "crit_seuil")
_ensure_lock = threading.Lock()


@dataclass(frozen=True)
class Thresholds:
    """Interpretation thresholds of décret n° 2023-1096 (``artificialisation_rules.md`` §4).

    Attributes:
        min_patch_m2: patches (artificial or not) below this area take the status around them.
        min_built_m2: built surfaces (CS1.1.1.1) from this area stay artificial anyway.
        enabled: apply them at all (``False``: the matrix status alone).
    """

    min_patch_m2: float = 2500.0
    min_built_m2: float = 50.0
    enabled: bool = True

    @property
    def is_official(self) -> bool:
        """The decree's values (those stored per polygon)."""
        return self.enabled and (self.min_patch_m2, self.min_built_m2) == (2500.0, 50.0)

    def criteria(self) -> tuple[str, str, str]:
        """``crit_seuil`` values of rules 1, 2 and 3.

        >>> Thresholds().criteria()
        ('enclave_non_artif_<2500', 'ilot_artif_<2500', 'bati_>=50')
        """
        return (f"enclave_non_artif_<{self.min_patch_m2:g}", f"ilot_artif_<{self.min_patch_m2:g}",
                f"bati_>={self.min_built_m2:g}")


OFFICIAL_THRESHOLDS = Thresholds()


# --- graph (pure) -------------------------------------------------------------------------------

def adjacency(geoms: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Pairs ``(i, j)``, ``i < j``, of polygons that share a boundary segment or overlap.

    A contact in single points does not count (module docstring, step 1).

    >>> a, b, c = shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(2, 1, 3, 2)
    >>> [x.tolist() for x in adjacency([a, b, c])]  # b and c meet at one corner only
    [[0], [1]]
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) < 2:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    if len(i) == 0:
        return i.astype(np.int64), j.astype(np.int64)
    matrix = np.asarray(shapely.relate(geoms[i], geoms[j]), dtype="U9").view("U1").reshape(-1, 9)
    # interiors meet, or boundaries share a line
    joined = (matrix[:, 0] != "F") | (matrix[:, 4] == "1")
    return i[joined].astype(np.int64), j[joined].astype(np.int64)


def _components(n: int, i: npt.NDArray[np.int64], j: npt.NDArray[np.int64]
                ) -> npt.NDArray[np.int64]:
    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    return connected_components(graph, directed=False)[1].astype(np.int64)


def _patches(state: npt.NDArray[np.bool_], area: npt.NDArray[np.float64],
             i: npt.NDArray[np.int64], j: npt.NDArray[np.int64]
             ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Per polygon: area of its same-status patch, and whether that patch has any neighbour."""
    same = state[i] == state[j]
    labels = _components(len(state), i[same], j[same])
    patch_area = np.bincount(labels, weights=area)[labels]
    bordered = np.zeros(len(state), dtype=bool)
    bordered[i[~same]] = True
    bordered[j[~same]] = True
    has_neighbour = np.bincount(labels, weights=bordered.astype(float))[labels] > 0
    return patch_area, has_neighbour


def threshold_status(geoms: npt.ArrayLike, matrix: npt.ArrayLike, built: npt.ArrayLike,
                     thresholds: Thresholds = OFFICIAL_THRESHOLDS
                     ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.object_]]:
    """Apply the three threshold rules (module docstring) to polygons of one whole layer.

    Args:
        geoms: polygons in metres (one layer, no clipping).
        matrix: their decree-matrix status.
        built: True where the polygon is built (CS1.1.1.1).
        thresholds: the thresholds (``enabled=False`` returns the matrix status).

    Returns:
        ``(artif, crit_seuil)``: the thresholded status and, where a rule decided it, the rule
        (``None`` elsewhere).

    >>> town, garden = shapely.box(0, 0, 100, 100), shapely.box(100, 0, 120, 100)  # 2,000 m²
    >>> artif, crit = threshold_status([town, garden], [True, False], [False, False])
    >>> artif.tolist(), crit.tolist()
    ([True, True], [None, 'enclave_non_artif_<2500'])
    """
    geoms = np.asarray(geoms, dtype=object)
    matrix = np.asarray(matrix, dtype=bool)
    built = np.asarray(built, dtype=bool)
    crit = np.full(len(geoms), None, dtype=object)
    if not thresholds.enabled or len(geoms) == 0:
        return matrix.copy(), crit
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = shapely.make_valid(geoms[bad])
    area = shapely.area(geoms)
    i, j = adjacency(geoms)
    state = matrix.copy()
    patch_area, bordered = _patches(state, area, i, j)
    state[~state & (patch_area < thresholds.min_patch_m2) & bordered] = True      # rule 1
    patch_area, bordered = _patches(state, area, i, j)
    small = state & (patch_area < thresholds.min_patch_m2) & bordered             # rule 2
    both_built = built[i] & built[j]
    built_labels = _components(len(geoms), i[both_built], j[both_built])
    built_area = np.bincount(built_labels, weights=area * built)[built_labels]
    kept = small & built & (built_area >= thresholds.min_built_m2)                # rule 3
    state[small & ~kept] = False
    rule1, rule2, rule3 = thresholds.criteria()
    crit[state & ~matrix] = rule1
    crit[~state & matrix] = rule2
    crit[kept] = rule3
    return state, crit


def official_status(layer: gpd.GeoDataFrame,
                    thresholds: Thresholds = OFFICIAL_THRESHOLDS) -> pd.DataFrame:
    """Official artificialisation status of each polygon of one whole millésime layer.

    Args:
        layer: the département's OCCUPATION_SOL layer of one millésime (``code_cs``,
            ``code_us``, polygons in metres), **not** clipped to a territory.
        thresholds: the decree's thresholds (default: the official values).

    Returns:
        A DataFrame on ``layer``'s index with ``artif`` (bool) and ``crit_seuil`` (object: the
        rule's name or ``None``), like IGN's ARTIFICIALISATION layer.
    """
    started = time.perf_counter()
    cs = np.asarray(layer["code_cs"], dtype=object)
    matrix = np.asarray(nom.is_artificial(pd.Series(cs), pd.Series(
        np.asarray(layer["code_us"], dtype=object))), dtype=bool)
    artif, crit = threshold_status(layer.geometry.to_numpy(), matrix, cs == BUILT_CS, thresholds)
    logger.info("official status of %d polygons in %.2f s: %d changed by the thresholds",
                len(layer), time.perf_counter() - started, int((artif != matrix).sum()))
    out = pd.DataFrame({"artif": artif}, index=layer.index)
    out["crit_seuil"] = pd.Series(crit, index=layer.index, dtype=object)  # None, not NaN
    return out


# --- store (lazy cache for partitions written without the status) ----------------------------

def ensure_status(store: Any, departements: tuple[str, ...] | list[str], millesime: int) -> int:
    """Compute and store the official status of partitions that lack it (older stores).

    Ingest and the demo build store ``artif`` / ``crit_seuil`` with every OCCUPATION_SOL
    partition; a partition written without them gets them here, on first use: read whole,
    :func:`official_status`, rewritten atomically with the same catalogue provenance.

    Args:
        store: an open :class:`~ocsge_engine.store.Store`.
        departements: départements of the territory (absent partitions are skipped).
        millesime: the year.

    Returns:
        The number of partitions computed (0 when all had the status).

    Raises:
        StoreError: the store cannot be written.
    """
    done = 0
    for dep in departements:
        if _has_status(store, dep, millesime):
            continue
        with _ensure_lock:
            if _has_status(store, dep, millesime):
                continue
            layer = store.read_layer(LAYER, dep, millesime)
            status = official_status(layer)
            layer = layer.assign(artif=status["artif"], crit_seuil=status["crit_seuil"])
            store.rewrite_layer(layer, layer=LAYER, departement=dep, millesime=millesime)
            logger.info("stored the official status of %s D%s %s (%d polygons)", LAYER, dep,
                        millesime, len(layer))
            done += 1
    return done


def polygons_with_status(store: Any, territory: Any, millesime: int,
                         columns: list[str] | tuple[str, ...]) -> Any:
    """``store.polygons(territory, millesime, columns)``, the status first stored when needed.

    When ``columns`` ask for the official status (``artif``, ``crit_seuil``), the territory's
    partitions written without it get it first (:func:`ensure_status`, as :func:`load_pair
    <ocsge_engine.indicators.pair.load_pair>` does): a map coloured by the status or a layers
    export reads the same values as the figures, from an older store too.
    """
    if set(columns) & set(STATUS_COLUMNS):
        ensure_status(store, territory.departements, millesime)
    return store.polygons(territory, millesime, columns=list(columns))


def _has_status(store: Any, departement: str, millesime: int) -> bool:
    columns = store.partition_columns(LAYER, departement, millesime)
    return columns is None or set(STATUS_COLUMNS) <= set(columns)


__all__ = ["BUILT_CS", "OFFICIAL_THRESHOLDS", "STATUS_COLUMNS", "Thresholds", "adjacency",
           "ensure_status", "official_status", "polygons_with_status", "threshold_status"]
