"""Prediction vs OCS GE agreement (hand-computable rectangles) and two-date change maps."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from shapely.geometry import box

from ocsge_engine.errors import CrsError, ImageryError, SchemaError
from ocsge_engine.inference.compare import agreement_matrix, agreement_rate, change_map, changed_areas


def _gdf(rows: list[tuple[str, tuple[float, float, float, float]]], crs: str | None = "EPSG:2154") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code_cs": [c for c, _ in rows]}, geometry=[box(*b) for _, b in rows], crs=crs)


# 100 m × 100 m: OCS GE says built on the left half, grass on the right half;
# the prediction puts the built/grass boundary at x = 60 and a 10 m × 100 m road strip at x 90-100.
REFERENCE = [("CS1.1.1.1", (0, 0, 50, 100)), ("cs2.2.1", (50, 0, 100, 100))]
PREDICTION = [("CS1.1.1.1", (0, 0, 60, 100)), ("CS2.2.1", (60, 0, 90, 100)), ("CS1.1.1.2", (90, 0, 100, 100))]


def test_agreement_matrix_hand_computed() -> None:
    m = agreement_matrix(_gdf(PREDICTION), _gdf(REFERENCE))
    table = {(a, b): round(v, 6) for a, b, v in m[["code_cs_from", "code_cs_to", "area_ha"]].itertuples(index=False)}
    assert table == {("CS1.1.1.1", "CS1.1.1.1"): 0.5, ("CS2.2.1", "CS2.2.1"): 0.3,
                     ("CS2.2.1", "CS1.1.1.1"): 0.1, ("CS2.2.1", "CS1.1.1.2"): 0.1}
    assert m["area_ha"].sum() == pytest.approx(1.0)
    assert agreement_rate(m) == pytest.approx(0.8)


def test_agreement_rolled_up_to_level_2() -> None:
    m = agreement_matrix(_gdf(PREDICTION), _gdf(REFERENCE).to_crs(3857), level=2)  # reprojected back
    table = {(a, b): round(v, 4) for a, b, v in m[["code_cs_from", "code_cs_to", "area_ha"]].itertuples(index=False)}
    assert table == {("CS1.1", "CS1.1"): 0.5, ("CS2.2", "CS2.2"): 0.3, ("CS2.2", "CS1.1"): 0.2}


def test_changed_areas_are_the_disagreements() -> None:
    diff = changed_areas(_gdf(PREDICTION), _gdf(REFERENCE))
    assert sorted(diff["area_ha"].round(6)) == [0.1, 0.1]
    assert set(diff["code_cs_to"]) == {"CS1.1.1.1", "CS1.1.1.2"}
    assert changed_areas(_gdf(PREDICTION), _gdf(REFERENCE), min_area_m2=1001).empty


def test_compare_errors() -> None:
    with pytest.raises(SchemaError, match="code_cs"):
        agreement_matrix(_gdf(PREDICTION).rename(columns={"code_cs": "x"}), _gdf(REFERENCE))
    with pytest.raises(CrsError, match="no CRS"):
        agreement_matrix(_gdf(PREDICTION), _gdf(REFERENCE, crs=None))


def _write(path: Path, data: np.ndarray, x0: float = 0.0) -> Path:
    profile = dict(driver="GTiff", width=data.shape[1], height=data.shape[0], count=1, dtype="uint8", nodata=255,
                   crs="EPSG:2154", transform=rasterio.transform.from_origin(x0, 100, 0.2, 0.2))
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


def test_change_map_two_dates(tmp_path: Path) -> None:
    a = np.zeros((300, 300), np.uint8)          # conifers everywhere at date 1 (class 5)
    a[:] = 5
    b = a.copy()
    b[:100, :150] = 3                            # a 100 × 150 px clear-cut to bare soil
    b[200:, :] = 255                             # no data at date 2 on the bottom third
    res = change_map(_write(tmp_path / "a.tif", a), _write(tmp_path / "b.tif", b), tmp_path / "change.tif")
    with rasterio.open(res.path) as ds:
        change = ds.read(1)
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
    assert int((change == 1).sum()) == 100 * 150 and int((change == 255).sum()) == 100 * 300
    t = {(f, to): p for f, to, p in res.transitions[["class_from", "class_to", "pixels"]].itertuples(index=False)}
    assert t == {(5, 3): 15_000, (5, 5): 200 * 300 - 15_000}
    assert res.changed_ha == pytest.approx(15_000 * 0.04 / 1e4)


def test_change_map_grid_mismatch(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.tif", np.zeros((50, 50), np.uint8))
    b = _write(tmp_path / "b.tif", np.zeros((50, 50), np.uint8), x0=10.0)
    with pytest.raises(ImageryError, match="same grid") as err:
        change_map(a, b, tmp_path / "c.tif")
    assert "même grille" in err.value.user_message
    assert not (tmp_path / "c.tif").exists()
