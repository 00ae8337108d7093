"""Post-processing of a class raster: sieve, polygonise, map to OCS GE couverture, count.

The mapping of model classes to OCS GE couverture (``code_cs``) and, when the class implies it,
usage (``code_us``, else ``US6.6`` "usage inconnu") comes from the model card (FLAIR → CS table
in docs/inference.md), so the engine's nomenclature, families and charts apply to predictions.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from affine import Affine
from rasterio.crs import CRS
from rasterio.features import shapes, sieve
from shapely.geometry import shape

from ocsge_engine.inference.checkpoints import ModelCard

logger = logging.getLogger(__name__)

UNKNOWN_US = "US6.6"
POLYGON_COLUMNS = ["class_id", "class_name", "code_cs", "code_us", "area_ha", "geometry"]


def sieve_classes(classes: npt.NDArray[np.uint8], min_pixels: int, nodata: int = 255) -> npt.NDArray[np.uint8]:
    """Merge 4-connected regions smaller than ``min_pixels`` into their largest neighbour.

    Nodata pixels stay nodata and never absorb a region's class.

    Notes:
        ``rasterio.features.sieve`` works in place on a copy: memory is about twice the raster.
    """
    if min_pixels <= 1:
        return classes
    valid = classes != nodata
    out = sieve(classes, size=min_pixels, connectivity=4, mask=valid)
    out[~valid] = nodata
    return out


def polygonize(classes: npt.NDArray[np.uint8], transform: Affine, crs: CRS | None, card: ModelCard,
               min_pixels: int = 1, nodata: int = 255) -> gpd.GeoDataFrame:
    """Sieve then polygonise a class raster, with OCS GE codes.

    Args:
        classes: ``(H, W)`` class indices of ``card``.
        transform: affine transform of the raster.
        crs: its CRS.
        card: model card giving names and the CS/US mapping.
        min_pixels: minimum mapping unit in pixels (sieve threshold).
        nodata: pixel value outside the area.

    Returns:
        GeoDataFrame with :data:`POLYGON_COLUMNS`; classes without a CS code (FLAIR ``other``)
        and regions absorbed into nodata are dropped. Areas sum to the valid area after sieving.
    """
    sieved = sieve_classes(classes, min_pixels, nodata)
    info = card.class_by_index()
    rows = []
    for geom, value in shapes(sieved, mask=sieved != nodata, connectivity=4, transform=transform):
        c = info.get(int(value))
        if c is None or c.code_cs is None:
            continue
        rows.append((int(value), c.name, c.code_cs, c.code_us or UNKNOWN_US, shape(geom)))
    gdf = gpd.GeoDataFrame(rows, columns=["class_id", "class_name", "code_cs", "code_us", "geometry"],
                           geometry="geometry", crs=crs)
    gdf["area_ha"] = gdf.geometry.area / 10_000.0
    return gdf[POLYGON_COLUMNS]


def class_stats(classes: npt.NDArray[np.uint8], card: ModelCard, pixel_m2: float,
                nodata: int = 255) -> pd.DataFrame:
    """Count pixels and hectares per class (before sieving).

    Returns:
        One row per class present: ``class_id, class_name, code_cs, pixels, area_ha, share``
        (``share`` of the valid pixels, sums to 1), sorted by area descending.

    >>> from ocsge_engine.inference.fallback import FALLBACK_CARD
    >>> t = class_stats(np.array([[0, 0, 5, 255]], dtype=np.uint8), FALLBACK_CARD, 0.04)
    >>> t["class_id"].tolist(), t["pixels"].tolist(), t["share"].round(3).tolist()
    ([0, 5], [2, 1], [0.667, 0.333])
    """
    return class_stats_from_counts(np.bincount(classes.ravel(), minlength=256), card, pixel_m2,
                                   nodata)


def class_stats_from_counts(counts: npt.NDArray[np.int64], card: ModelCard, pixel_m2: float,
                            nodata: int = 255) -> pd.DataFrame:
    """:func:`class_stats` from pixel counts per value (what a streamed prediction accumulates).

    >>> from ocsge_engine.inference.fallback import FALLBACK_CARD
    >>> c = np.zeros(256, np.int64); c[[0, 5, 255]] = [2, 1, 7]
    >>> class_stats_from_counts(c, FALLBACK_CARD, 0.04)[["class_id", "pixels"]].values.tolist()
    [[0, 2], [5, 1]]
    """
    counts = counts.copy()
    counts[nodata] = 0
    total = counts.sum()
    info = card.class_by_index()
    rows = [(int(v), info[v].name if v in info else "?", info[v].code_cs if v in info else None,
             int(n), n * pixel_m2 / 10_000.0, n / total if total else 0.0)
            for v, n in enumerate(counts) if n > 0]
    table = pd.DataFrame(rows, columns=["class_id", "class_name", "code_cs", "pixels", "area_ha", "share"])
    return table.sort_values(["area_ha", "class_id"], ascending=[False, True], ignore_index=True)
