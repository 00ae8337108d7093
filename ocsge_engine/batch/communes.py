"""Assign the polygons of a whole département to its communes, as the store clips them.

A département task reads each OCCUPATION_SOL partition **once**, then cuts it per commune. The cut
is the one :meth:`ocsge_engine.store.Store.polygons` makes for a commune territory, step for step
(same predicates, same argument order, same polygon order), so that a commune's layers, and
therefore its exchange matrices, are identical to the single-process engine's:

1. candidates: polygons that intersect the commune (one :class:`shapely.STRtree` query for all
   communes instead of one bbox read per commune);
2. polygons ``contains_properly`` in the commune are kept whole;
3. the others become ``polygonal_parts(intersection(polygon, commune))``; empty results are
   dropped;
4. rows keep the partition's order.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from ocsge_engine.store.parquet import clip_polygons
from ocsge_engine.territories import POPULATION_YEARS, commune_polygons, communes_table

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class CommuneSet:
    """The communes of one département that have a polygon.

    Attributes:
        departement: département code.
        codes: INSEE codes, sorted.
        names: names, aligned with ``codes``.
        geometries: polygons (EPSG:2154), aligned with ``codes``.
        populations: one ``{year: population}`` per commune (years with a value only).
    """

    departement: str
    codes: list[str]
    names: list[str]
    geometries: npt.NDArray[np.object_] = field(repr=False)
    populations: list[dict[int, int]] = field(repr=False)

    def sha256(self) -> str:
        """Fingerprint of the reference data (codes, geometries as WKB, populations)."""
        digest = hashlib.sha256()
        for code, geom, pop in zip(self.codes, self.geometries, self.populations):
            digest.update(code.encode())
            digest.update(shapely.to_wkb(geom, output_dimension=2))
            digest.update(repr(sorted(pop.items())).encode())
        return digest.hexdigest()


def departement_communes(departement: str) -> CommuneSet:
    """Communes of a département with their polygon and population series.

    Args:
        departement: département code.

    Returns:
        The :class:`CommuneSet` (empty when no commune of the département has a polygon).
    """
    table = communes_table()
    rows = table[(table["departement"] == departement) & table["has_geometry"]]
    polygons = commune_polygons([departement]).set_index("code")
    codes = rows["code"].astype(str).tolist()
    populations = []
    for row in rows.itertuples(index=False):
        populations.append({y: int(getattr(row, f"pop_{y}")) for y in POPULATION_YEARS
                            if not pd.isna(getattr(row, f"pop_{y}"))})
    return CommuneSet(departement, codes, rows["name"].astype(str).tolist(),
                      polygons.loc[codes, "geometry"].to_numpy(), populations)


def assign(geoms: npt.NDArray[np.object_], communes: npt.NDArray[np.object_]
           ) -> list[npt.NDArray[np.int64]]:
    """Positions of the polygons that intersect each commune, in ascending order.

    Args:
        geoms: polygons of a partition.
        communes: commune polygons (same CRS).

    Returns:
        One sorted index array per commune (empty when none intersects).

    >>> polys = np.array([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(5, 5, 6, 6)])
    >>> [a.tolist() for a in assign(polys, np.array([shapely.box(0.5, 0.2, 1.5, 0.8)]))]
    [[0, 1]]
    """
    out = [np.empty(0, dtype=np.int64) for _ in range(len(communes))]
    if len(geoms) == 0 or len(communes) == 0:
        return out
    tree = shapely.STRtree(geoms)
    commune_i, poly_j = tree.query(communes, predicate="intersects")
    order = np.lexsort((poly_j, commune_i))
    commune_i, poly_j = commune_i[order], poly_j[order]
    bounds = np.searchsorted(commune_i, np.arange(len(communes) + 1))
    for i in range(len(communes)):
        out[i] = poly_j[bounds[i]:bounds[i + 1]].astype(np.int64)
    return out


def clip_layer(layer: gpd.GeoDataFrame, index: npt.NDArray[np.int64],
               commune: shapely.Geometry) -> gpd.GeoDataFrame:
    """The rows ``index`` of a partition cut to one commune, exactly as the store clips them.

    Args:
        layer: the département partition (``code_cs``, ``code_us``, geometry), positional index.
        index: positions of the polygons intersecting the commune (:func:`assign`).
        commune: the commune polygon.

    Returns:
        A GeoDataFrame with the index reset; polygons crossing the boundary are cut and those
        that become empty dropped.
    """
    return clip_polygons(layer.iloc[index], commune)
