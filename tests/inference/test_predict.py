"""End-to-end prediction on the real Montpellier tile, fallback rules, and bad inputs."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from shapely.geometry import box

from ocsge_engine.errors import CheckpointError, CrsError, GeometryError, ImageryError
from ocsge_engine.inference import PredictSettings, predict_image
from ocsge_engine.inference.fallback import BUILT, HERBACEOUS, IMPERVIOUS, WATER, WOODY
from ocsge_engine.nomenclature import normalize_codes

TILE_M2 = 252 * 252 * 0.2 * 0.2  # 2,540.16 m² = 0.254016 ha


def test_tiny_model_on_montpellier(montpellier: dict[str, Path], tiny_card: Path, tmp_path: Path) -> None:
    steps: list[float] = []
    res = predict_image(montpellier["rgb"], checkpoint=tiny_card, out_dir=tmp_path, nir_path=montpellier["irc"],
                        settings=PredictSettings(confidence=True), progress=lambda f, m: steps.append(f))
    assert res.method == "model" and res.checkpoint_verified and res.n_windows == 1
    assert steps[-1] == 1.0 and steps == sorted(steps)
    assert any("elevation" in n for n in res.notes)
    with rasterio.open(res.classes_path) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert (ds.width, ds.height, ds.dtypes[0], ds.nodata) == (252, 252, "uint8", 255)
        classes = ds.read(1)
        assert ds.transform.c == pytest.approx(770549.8)
    assert res.confidence_path is not None
    with rasterio.open(res.confidence_path) as ds:
        conf = ds.read(1)
    assert conf.min() >= 100 / 15 - 1 and conf.max() <= 100  # max prob over 15 active classes ≥ 1/15
    assert res.polygons["area_ha"].sum() == pytest.approx(TILE_M2 / 1e4, rel=1e-6)
    assert normalize_codes(res.polygons["code_cs"], "cs").notna().all()
    assert set(res.polygons["code_us"]) <= {"US6.6", "US1.1", "US1.2"}
    assert res.stats["pixels"].sum() == 252 * 252 and res.stats["share"].sum() == pytest.approx(1.0)
    assert res.stats.set_index("class_id")["pixels"].to_dict() == \
        {int(k): int(v) for k, v in zip(*np.unique(classes, return_counts=True))}
    assert {p.name for p in tmp_path.iterdir()} == {"classes.tif", "confidence.tif", "polygons.gpkg",
                                                      "stats.csv", "metadata.json"}
    assert len(gpd.read_file(res.polygons_path)) == len(res.polygons)


def test_territory_clip_masks_outside(montpellier: dict[str, Path], tiny_card: Path, tmp_path: Path) -> None:
    left_half = box(770549.8, 6277549.8, 770549.8 + 126 * 0.2, 6277600.2)  # 126 columns
    res = predict_image(montpellier["rgb"], territory_geometry=left_half, checkpoint=tiny_card,
                        out_dir=tmp_path, nir_path=montpellier["irc"])
    with rasterio.open(res.classes_path) as ds:
        assert (ds.width, ds.height) == (126, 252)
        assert (ds.read(1) != 255).all()
    assert res.polygons["area_ha"].sum() == pytest.approx(126 * 252 * 0.04 / 1e4, rel=1e-6)
    # a GeoSeries in WGS84 is reprojected; a triangle masks pixels outside it
    tri = gpd.GeoSeries.from_wkt(["POLYGON ((770549.8 6277549.8, 770600.2 6277549.8, 770549.8 6277600.2, "
                                  "770549.8 6277549.8))"], crs=2154).to_crs(4326)
    res = predict_image(montpellier["rgb"], territory_geometry=tri, checkpoint=tiny_card,
                        out_dir=tmp_path / "tri", nir_path=montpellier["irc"],
                        settings=PredictSettings(min_area_m2=0))
    assert res.stats["area_ha"].sum() == pytest.approx(TILE_M2 / 2 / 1e4, rel=0.02)


def test_fallback_on_montpellier_matches_independent_ndvi(montpellier: dict[str, Path], tmp_path: Path) -> None:
    res = predict_image(montpellier["rgb"], checkpoint=None, out_dir=tmp_path, nir_path=montpellier["irc"])
    assert res.method == "fallback_rules" and res.checkpoint_sha256 is None
    assert any("fallback" in n for n in res.notes)
    with rasterio.open(montpellier["rgb"]) as rgb, rasterio.open(montpellier["irc"]) as irc:
        red, nir = rgb.read(1).astype(float), irc.read(1).astype(float)
    ndvi = (nir - red) / np.maximum(nir + red, 1)
    stats = res.stats.set_index("class_id")
    assert stats.loc[HERBACEOUS, "pixels"] == int((ndvi >= 0.2).sum())
    assert 0.2 < stats.loc[HERBACEOUS, "share"] < 0.5  # gardens and trees of an urban block
    assert WATER in stats.index  # the swimming pool


def test_fallback_rules_with_height(raster_writer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Four 40×40 quadrants with hand-set values: water, tree (3 m), grass, roof (5 m)."""
    img = np.zeros((4, 80, 80), np.uint8)
    elev = np.zeros((1, 80, 80), np.uint8)
    quads = {(0, 0): (30, 20, 0), (0, 1): (40, 150, 15), (1, 0): (40, 150, 0), (1, 1): (120, 100, 25)}
    for (i, j), (red, nir, height) in quads.items():
        sl = (slice(40 * i, 40 * i + 40), slice(40 * j, 40 * j + 40))
        img[0][sl], img[1][sl], img[2][sl], img[3][sl] = red, red, red, nir
        elev[0][sl] = height
    res = predict_image(raster_writer("rgbn.tif", img), out_dir=tmp_path / "out",
                        elevation_path=raster_writer("elev.tif", elev))
    with rasterio.open(res.classes_path) as ds:
        classes = ds.read(1)
    assert classes[20, 20] == WATER and classes[20, 60] == WOODY
    assert classes[60, 20] == HERBACEOUS and classes[60, 60] == BUILT
    assert res.stats["area_ha"].tolist() == pytest.approx([40 * 40 * 0.04 / 1e4] * 4)
    by_cs = res.polygons.groupby("code_cs")["area_ha"].sum().round(4).to_dict()
    assert by_cs == {"CS1.1.1.1": 0.0064, "CS1.2.2": 0.0064, "CS2.1.1.1": 0.0064, "CS2.2.1": 0.0064}
    assert IMPERVIOUS not in set(classes.ravel().tolist())


@pytest.mark.parametrize(("case", "error", "match", "fr"), [
    ("no_crs", CrsError, "has no CRS", "système de coordonnées"),
    ("three_bands", ImageryError, "model needs", "proche infrarouge"),
    ("tiny", ImageryError, "below 32 px", "trop petite"),
    ("corrupt", ImageryError, "cannot open image", "corrompue"),
    ("missing", ImageryError, "does not exist", "introuvable"),
    ("misaligned", ImageryError, "not on the grid", "superposables"),
    ("outside", GeometryError, "does not intersect", "ne recoupe pas"),
    ("wrong_checkpoint", CheckpointError, "does not match the architecture", "ne correspond pas"),
])
def test_bad_inputs_give_clear_errors(case: str, error: type, match: str, fr: str, raster_writer,  # type: ignore[no-untyped-def]
                                      tiny_card: Path, tmp_path: Path) -> None:
    rgbn = np.full((4, 64, 64), 100, np.uint8)
    kwargs: dict[str, object] = {}
    image: Path
    if case == "no_crs":
        image = raster_writer("a.tif", rgbn, crs=None)
    elif case == "three_bands":
        image = raster_writer("a.tif", rgbn[:3])
    elif case == "tiny":
        image = raster_writer("a.tif", rgbn[:, :16, :16])
    elif case == "corrupt":
        image = tmp_path / "a.tif"
        image.write_bytes(b"II*\x00" + b"\x13" * 500)
    elif case == "missing":
        image = tmp_path / "nothing.tif"
    elif case == "misaligned":
        image = raster_writer("a.tif", rgbn[:3])
        kwargs["nir_path"] = raster_writer("b.tif", rgbn[:1, :60, :60])
    elif case == "outside":
        image = raster_writer("a.tif", rgbn)
        kwargs["territory_geometry"] = box(0, 0, 10, 10)
    else:
        image = raster_writer("a.tif", rgbn)
        kwargs["checkpoint"] = Path(__file__).resolve().parents[2] / "data" / "models" / "tiny_test_unet.pt"
    out = tmp_path / "out"
    with pytest.raises(error, match=match) as err:
        predict_image(image, out_dir=out, **kwargs)  # type: ignore[arg-type]
    assert fr in err.value.user_message
    assert not (out / "classes.tif").exists() and not (out / "polygons.gpkg").exists()


def test_stats_only_without_vectorising(montpellier: dict[str, Path], tmp_path: Path) -> None:
    res = predict_image(montpellier["rgb"], out_dir=tmp_path, nir_path=montpellier["irc"],
                        settings=PredictSettings(vectorize=False, window_px=128, margin_px=32, batch_size=3))
    assert res.polygons.empty and res.n_windows == 16  # ceil(252 / 64)² windows
    assert res.stats["pixels"].sum() == 252 * 252
    assert set(res.timings_s) == {"setup", "inference", "postprocess"}
