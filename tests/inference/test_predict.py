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
from ocsge_engine.inference.fallback import NON_VEGETATED, VEGETATION, WATER
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
    """RGB + IRC: vegetation is exactly NDVI >= 0.12; the only water is the swimming pool.

    The pool (top right of the tile, bright cyan, NIR absorbed) lies in rows 85-115, columns
    225-251, located by eye on the RGB/IRC renderings; the street (NDVI -0.27 too, but grey) and
    building shadows must not be water.
    """
    res = predict_image(montpellier["rgb"], checkpoint=None, out_dir=tmp_path, nir_path=montpellier["irc"])
    assert res.method == "fallback_rules" and res.checkpoint_sha256 is None
    assert res.label_fr == "carte grossière (règles)" and not res.draft_flags_allowed
    assert res.confidence_path is None and res.confidence_share is None
    assert any("fallback" in n for n in res.notes) and any("NDVI" in n for n in res.notes_fr)
    with rasterio.open(montpellier["rgb"]) as rgb, rasterio.open(montpellier["irc"]) as irc:
        red, nir = rgb.read(1).astype(float), irc.read(1).astype(float)
    ndvi = (nir - red) / np.maximum(nir + red, 1)
    with rasterio.open(res.classes_path) as ds:
        classes = ds.read(1)
        assert ds.tags()["OCSGE_LABEL"] == "carte grossière (règles)"
        assert ds.tags()["OCSGE_METHOD"] == "fallback_rules"
    assert ((classes == VEGETATION) == (ndvi >= 0.12)).all()
    rows, cols = np.nonzero(classes == WATER)
    assert len(rows) > 150  # the pool is about 14 x 14 px
    assert rows.min() >= 85 and rows.max() <= 115 and cols.min() >= 225
    stats = res.stats.set_index("class_id")
    assert set(stats["code_cs"]) <= {"CS2", "CS1.2.2", "CS1"}  # nothing it cannot observe
    assert (res.stats["label_fr"] == "carte grossière (règles)").all()
    assert 0.3 < stats.loc[VEGETATION, "share"] < 0.5  # gardens and trees of an urban block
    csv = (tmp_path / "stats.csv").read_text(encoding="utf-8")
    assert "carte grossière (règles)" in csv


def test_fallback_rgb_only_uses_visible_index_and_no_water(montpellier: dict[str, Path], tmp_path: Path) -> None:
    """A plain RGB tile runs (no NIR asked); excess green agrees with NDVI >= 0.12 on > 90 % of pixels."""
    res = predict_image(montpellier["rgb"], out_dir=tmp_path)
    assert res.card["bands"] == ["red", "green", "blue"]
    assert any("excès de vert" in n for n in res.notes_fr)
    with rasterio.open(res.classes_path) as ds:
        classes = ds.read(1)
    with rasterio.open(montpellier["rgb"]) as rgb, rasterio.open(montpellier["irc"]) as irc:
        red, nir = rgb.read(1).astype(float), irc.read(1).astype(float)
    ndvi_veg = (nir - red) / np.maximum(nir + red, 1) >= 0.12
    assert WATER not in classes
    assert ((classes == VEGETATION) == ndvi_veg).mean() > 0.9  # measured 0.919


def test_fallback_rules_water_rejects_shadow(raster_writer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Four 40×40 quadrants with hand-set R, G, B, NIR, plus a dark strip in the roof quadrant.

    * pool: (100, 180, 200, NIR 60): NIR < 0.6 × brightness 160, NDVI -0.25, blue ≥ red + 20 → water;
    * deep shadow: (20, 30, 45, NIR 10): water-like spectrum but brightness 31.7 < 40 → not water;
    * lawn: (60, 110, 50, NIR 160): NDVI 0.45 → vegetation;
    * roof (170, 120, 100, NIR 150) with a 6 px dark strip (50, 60, 75, NIR 20): the strip passes
      every spectral water test, but is darker than 0.6 × its 31 px neighbourhood → shadow, not water.
    A 5 m height band changes nothing (the rules claim no building).
    """
    img = np.zeros((4, 80, 80), np.uint8)
    quads = {(0, 0): (100, 180, 200, 60), (0, 1): (20, 30, 45, 10), (1, 0): (60, 110, 50, 160),
             (1, 1): (170, 120, 100, 150)}
    for (i, j), values in quads.items():
        img[:, 40 * i:40 * i + 40, 40 * j:40 * j + 40] = np.array(values, np.uint8)[:, None, None]
    img[:, 57:63, 44:76] = np.array((50, 60, 75, 20), np.uint8)[:, None, None]
    elev = np.full((1, 80, 80), 25, np.uint8)
    res = predict_image(raster_writer("rgbn.tif", img), out_dir=tmp_path / "out",
                        elevation_path=raster_writer("elev.tif", elev), settings=PredictSettings(min_area_m2=0))
    with rasterio.open(res.classes_path) as ds:
        classes = ds.read(1)
    assert classes[20, 20] == WATER and classes[20, 60] == NON_VEGETATED
    assert classes[60, 20] == VEGETATION and classes[70, 70] == NON_VEGETATED
    assert (classes[57:63, 44:76] == NON_VEGETATED).all()
    assert (classes[:40, :40] == WATER).all() and int((classes == WATER).sum()) == 1600
    by_cs = res.polygons.groupby("code_cs")["area_ha"].sum().round(4).to_dict()
    assert by_cs == {"CS1": 0.0128, "CS1.2.2": 0.0064, "CS2": 0.0064}


@pytest.mark.parametrize(("case", "error", "match", "fr"), [
    ("no_crs", CrsError, "has no CRS", "système de coordonnées"),
    ("three_bands", ImageryError, "needs bands", "proche infrarouge"),
    ("truncated", ImageryError, "cannot read pixels", "tronquée"),
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
    elif case == "three_bands":  # the 5-band test model on an RGB image
        image = raster_writer("a.tif", rgbn[:3])
        kwargs["checkpoint"] = tiny_card
    elif case == "truncated":  # a valid 4-band GeoTIFF cut after 60 % of its bytes
        full = raster_writer("full.tif", np.random.default_rng(0).integers(0, 255, (4, 64, 64), dtype=np.uint8))
        image = tmp_path / "a.tif"
        image.write_bytes(full.read_bytes()[:int(full.stat().st_size * 0.6)])
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
        weights = tmp_path / "tiny_test_unet.pt"  # a copy: first use records a hash next to it
        weights.write_bytes((Path(__file__).resolve().parents[2] / "data" / "models" / "tiny_test_unet.pt").read_bytes())
        kwargs["checkpoint"] = weights
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


def test_fallback_las_vegas_dark_roofs_are_not_water(tmp_path: Path) -> None:
    """Real WorldView-3 RGB + NIR crop (SpaceNet Las Vegas, 413 × 426 px, 0.27 m; copied from
    shared/data/imagery to data/samples/spacenet_vegas_rgbn, see its SOURCE.md).

    The former rule (NDVI < -0.05 and NIR < 60) called 11.3 % of it water: dark roofs and asphalt.
    Now the only water is one region, the swimming pool of the house right of centre (located by
    eye on the RGB image: rows 110-160, columns 260-320), 647 px.
    """
    folder = Path(__file__).resolve().parents[2] / "data" / "samples" / "spacenet_vegas_rgbn"
    stem = "SpaceNet_AOI_2_Las_Vegas-056155973080_01_P001-WV03-"
    res = predict_image(folder / f"{stem}RGB.tif", out_dir=tmp_path, nir_path=folder / f"{stem}N.tif",
                        settings=PredictSettings(min_area_m2=0))
    with rasterio.open(res.classes_path) as ds:
        classes = ds.read(1)
    rows, cols = np.nonzero(classes == WATER)
    assert 400 < len(rows) < 1000
    assert rows.min() >= 110 and rows.max() <= 160 and cols.min() >= 260 and cols.max() <= 320
