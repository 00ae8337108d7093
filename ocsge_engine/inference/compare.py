"""Compare a prediction with OCS GE polygons, and two predictions of two image dates.

* :func:`agreement_matrix`: area (ha) of every (OCS GE code, predicted code) couple, from the
  intersection of the two polygon layers, optionally rolled up to a CS level. Its diagonal is the
  agreement; ``sum(diagonal) / sum(all)`` is the overall agreement rate.
* :func:`changed_areas`: the intersection pieces whose codes differ (``code_cs_from`` = OCS GE,
  ``code_cs_to`` = prediction), i.e. where the ground changed or one of the two is wrong.
* :func:`change_map`: pixel comparison of two class rasters on the same grid (two dates),
  streamed block by block: a uint8 COG (0 same, 1 changed, 255 nodata) and a transition table.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.shutil

from ocsge_engine.errors import CrsError, ImageryError, SchemaError
from ocsge_engine.nomenclature import normalize_codes, roll_up

logger = logging.getLogger(__name__)

NODATA = 255


def _pieces(prediction: gpd.GeoDataFrame, reference: gpd.GeoDataFrame, level: int | None) -> gpd.GeoDataFrame:
    for name, gdf in (("prediction", prediction), ("reference", reference)):
        if "code_cs" not in gdf.columns:
            raise SchemaError(f"{name} layer has no code_cs column",
                              "La couche à comparer n'a pas de champ code_cs (couverture OCS GE).")
        if gdf.crs is None:
            raise CrsError(f"{name} layer has no CRS", "La couche à comparer n'a pas de système de coordonnées.")
    ref = reference[["code_cs", "geometry"]].to_crs(prediction.crs)
    ref = ref.assign(code_cs=normalize_codes(ref["code_cs"], "cs").to_numpy())
    pred = prediction[["code_cs", "geometry"]]
    pieces = gpd.overlay(ref.rename(columns={"code_cs": "code_cs_from"}),
                         pred.rename(columns={"code_cs": "code_cs_to"}), how="intersection", keep_geom_type=True)
    if level is not None:
        for col in ("code_cs_from", "code_cs_to"):
            pieces[col] = roll_up(pieces[col], "cs", level).to_numpy()
    pieces["area_ha"] = pieces.geometry.area / 10_000.0
    return pieces


def agreement_matrix(prediction: gpd.GeoDataFrame, reference: gpd.GeoDataFrame,
                     level: int | None = None) -> pd.DataFrame:
    """Tidy agreement table between OCS GE (``reference``) and a prediction.

    Args:
        prediction: polygons with ``code_cs`` (e.g. ``PredictionResult.polygons``).
        reference: OCS GE polygons with ``code_cs`` over the same area (reprojected if needed).
        level: CS level (1-4) to roll both up to; ``None`` keeps the codes as they are.

    Returns:
        ``code_cs_from`` (OCS GE), ``code_cs_to`` (prediction), ``area_ha``, sorted by area; the
        total equals the area covered by both layers.

    Raises:
        SchemaError: a layer lacks ``code_cs``.
        CrsError: a layer has no CRS.
    """
    pieces = _pieces(prediction, reference, level)
    table = pieces.groupby(["code_cs_from", "code_cs_to"], as_index=False)["area_ha"].sum()
    return table.sort_values("area_ha", ascending=False, ignore_index=True)


def agreement_rate(matrix: pd.DataFrame) -> float:
    """Share of the compared area where both codes are equal (0-1; 0 for an empty table)."""
    total = float(matrix["area_ha"].sum())
    same = float(matrix.loc[matrix["code_cs_from"] == matrix["code_cs_to"], "area_ha"].sum())
    return same / total if total else 0.0


def changed_areas(prediction: gpd.GeoDataFrame, reference: gpd.GeoDataFrame,
                  level: int | None = None, min_area_m2: float = 0.0) -> gpd.GeoDataFrame:
    """Pieces where OCS GE and the prediction disagree.

    Returns:
        GeoDataFrame ``code_cs_from, code_cs_to, area_ha, geometry`` (pieces of at least
        ``min_area_m2``).
    """
    pieces = _pieces(prediction, reference, level)
    diff = pieces[(pieces["code_cs_from"] != pieces["code_cs_to"]) & (pieces["area_ha"] * 10_000 >= min_area_m2)]
    return diff[["code_cs_from", "code_cs_to", "area_ha", "geometry"]].reset_index(drop=True)


@dataclass
class ChangeResult:
    """Output of :func:`change_map`.

    Attributes:
        path: uint8 COG, 0 unchanged, 1 changed, 255 nodata in either date.
        transitions: ``class_from, class_to, pixels, area_ha`` for every couple present.
        changed_ha: total changed area.
    """

    path: Path
    transitions: pd.DataFrame
    changed_ha: float


def change_map(classes_from: Path | str, classes_to: Path | str, out_path: Path | str) -> ChangeResult:
    """Compare two class rasters of two dates on the same grid, block by block.

    Args:
        classes_from: class COG of the first date.
        classes_to: class COG of the second date (same size, transform and CRS).
        out_path: change COG to write (temporary then renamed).

    Returns:
        A :class:`ChangeResult`.

    Raises:
        ImageryError: the rasters are not on the same grid.
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp.tif")
    counts = np.zeros((256, 256), dtype=np.int64)
    with rasterio.open(classes_from) as a, rasterio.open(classes_to) as b:
        if (a.width, a.height) != (b.width, b.height) or not a.transform.almost_equals(b.transform) or a.crs != b.crs:
            raise ImageryError(f"{classes_from} and {classes_to} are not on the same grid",
                               "Les deux prédictions ne couvrent pas la même grille : "
                               "utilisez la même emprise et la même résolution.")
        profile = dict(a.profile, nodata=NODATA, driver="GTiff", tiled=True, blockxsize=256, blockysize=256,
                       compress="deflate")
        pixel_m2 = abs(a.transform.a * a.transform.e)
        with rasterio.open(tmp, "w", **profile) as dst:
            for _, window in a.block_windows(1):
                x, y = a.read(1, window=window), b.read(1, window=window)
                valid = (x != NODATA) & (y != NODATA)
                np.add.at(counts, (x[valid], y[valid]), 1)
                dst.write(np.where(valid, (x != y).astype(np.uint8), NODATA).astype(np.uint8), 1, window=window)
    cog = out_path.with_name(f".{out_path.name}.cog.tif")
    rasterio.shutil.copy(tmp, cog, driver="COG", compress="DEFLATE", overview_resampling="nearest")
    os.replace(cog, out_path)
    tmp.unlink()
    src, dst_cls = np.nonzero(counts)
    transitions = pd.DataFrame({"class_from": src, "class_to": dst_cls, "pixels": counts[src, dst_cls]})
    transitions["area_ha"] = transitions["pixels"] * pixel_m2 / 10_000.0
    changed = float(transitions.loc[transitions["class_from"] != transitions["class_to"], "area_ha"].sum())
    return ChangeResult(out_path, transitions, changed)
