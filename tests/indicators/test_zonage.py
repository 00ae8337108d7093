"""Planning zones: exact areas on hand-made rectangles, refusals, import, and the demo's sums.

Hand geometry (metres, Lambert-93 around (400 000, 6 400 000), far from any boundary issue):
a 100 m × 100 m territory (1 ha) cut into a U zone (left 40 m), an AU zone (x 30..70, overlapping
U on 10 m) and an A zone (right 20 m); the strip x 70..80 is outside every zone.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from ocsge_engine.cli import main as cli_main
from ocsge_engine.errors import CrsError, SchemaError, StoreError
from ocsge_engine.indicators.artif import artificialisation
from ocsge_engine.indicators.zonage import (
    OUTSIDE,
    OVERLAP,
    TABLE,
    _measures,
    ingest_zonage,
    load_zones,
    partition_zones,
    read_zonage,
    zone_artificialisation,
    zone_statistics,
    zone_type,
)
from ocsge_engine.store import Store
from ocsge_engine.territories import get_territory

X, Y = 400_000.0, 6_400_000.0


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(X + x0, Y + y0, X + x1, Y + y1)


def hand_zones() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"TYPEZONE": ["U", "AUc", "A"], "LIBELLE": ["UA", "1AUc", "A"],
         "LIBELONG": ["Zone urbaine centre", "Zone à urbaniser", "Zone agricole"],
         "IDURBA": ["99999_PLU_20200101"] * 3},
        geometry=[box(0, 0, 40, 100), box(30, 0, 70, 100), box(80, 0, 100, 100)], crs=2154)


def hand_measures() -> gpd.GeoDataFrame:
    """Stock 2015: a 10 m strip at y 0..10 across the square; 2018: the same + x 60..90 up to y 30;
    gain: x 60..90, y 10..30 (600 m²); loss: none."""
    frames = [("stock_from", np.array([box(0, 0, 100, 10)], dtype=object)),
              ("stock_to", np.array([box(0, 0, 100, 10), box(60, 10, 90, 30)], dtype=object)),
              ("gain", np.array([box(60, 10, 90, 30)], dtype=object)),
              ("loss", np.empty(0, dtype=object))]
    return _measures(frames)


def test_zone_types_of_cnig() -> None:
    assert [zone_type(t) for t in ("U", "AUs", "A", "Nh", " n ")] == ["U", "AU", "A", "N", "N"]
    with pytest.raises(SchemaError):
        zone_type("ZZ")


def test_partition_exact_areas_overlap_and_gap() -> None:
    zones = read_zonage_frame(hand_zones())
    partition = partition_zones(zones, box(0, 0, 100, 100))
    parts = partition.parts.set_index("libelle")
    area = parts.geometry.area
    assert area["UA"] == pytest.approx(3000.0) and area["1AUc"] == pytest.approx(3000.0)
    assert area["A"] == pytest.approx(2000.0)
    assert area[OVERLAP] == pytest.approx(1000.0) and area[OUTSIDE] == pytest.approx(1000.0)
    assert area.sum() == pytest.approx(10_000.0)
    assert partition.overlaps[["label_a", "label_b"]].values.tolist() == [["UA", "1AUc"]]
    assert partition.overlaps["area_ha"].iloc[0] == pytest.approx(0.1)


def test_statistics_by_type_exact_and_additive() -> None:
    zones = read_zonage_frame(hand_zones())
    partition = partition_zones(zones, box(0, 0, 100, 100))
    by_type, by_zone, _parts = zone_statistics(partition, hand_measures())
    rows = by_type.set_index("zone_type")
    # stock 2015 = 10 m strip: U 30 m wide (0..30), overlap 10 m, AU 30 m, gap 10 m, A 20 m
    assert rows["stock_from_ha"].to_dict() == pytest.approx(
        {"U": 0.03, "AU": 0.03, "A": 0.02, OVERLAP: 0.01, OUTSIDE: 0.01})
    # gain x 60..90 × y 10..30: AU 10 m (60..70), gap 10 m (70..80), A 10 m (80..90)
    assert rows["gain_ha"].to_dict() == pytest.approx(
        {"U": 0.0, "AU": 0.02, "A": 0.02, OVERLAP: 0.0, OUTSIDE: 0.02})
    assert rows["surface_ha"].sum() == pytest.approx(1.0)
    assert rows["stock_to_ha"].sum() == pytest.approx(0.1 + 0.06)
    assert rows.loc["A", "share_to"] == pytest.approx((0.02 + 0.02) / 0.2)
    assert by_zone.set_index("libelle").loc["1AUc", "net_ha"] == pytest.approx(0.02)


def read_zonage_frame(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Go through the file reader, as an import does (GeoJSON in a temp folder)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "zone_urba.geojson"
        gdf.to_crs(4326).to_file(path, driver="GeoJSON")
        return read_zonage(path)


@pytest.mark.parametrize(("make", "error", "text"), [
    (lambda z: z.drop(columns=["TYPEZONE"]), SchemaError, "TYPEZONE"),
    (lambda z: z.set_crs(None, allow_override=True), CrsError, "système de coordonnées"),
    (lambda z: z.to_crs(4326).set_crs(2154, allow_override=True), CrsError, "hors de France"),
    (lambda z: z.assign(TYPEZONE=["U", "ZZ", "A"]), SchemaError, "ZZ"),
])
def test_bad_layers_refused_with_nothing_stored(tmp_path: Path, make, error, text) -> None:  # noqa: ANN001
    store = Store.open(tmp_path / "store", create=True)
    path = tmp_path / "zone_urba.gpkg"
    make(hand_zones()).to_file(path, driver="GPKG")
    with pytest.raises(error) as err:
        ingest_zonage(store, path)
    assert text in err.value.user_message
    with pytest.raises(StoreError):
        store.read_table(TABLE)


def test_import_formats_and_replace_by_document(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store", create=True)
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    hand_zones().to_file(shp_dir / "zone_urba.shp")
    archive = tmp_path / "zone_urba.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in shp_dir.iterdir():
            zf.write(part, part.name)
    result = ingest_zonage(store, archive)
    assert result.zones == 3 and result.by_type == {"U": 1, "AU": 1, "A": 1}
    assert result.documents == ("99999_PLU_20200101",)
    again = tmp_path / "zone_urba.geojson"
    hand_zones().iloc[:2].to_crs(4326).to_file(again, driver="GeoJSON")
    ingest_zonage(store, again, source="PLU modifié")
    table = store.read_table(TABLE)
    assert len(table) == 2 and set(table["source"]) == {"PLU modifié"}
    territory = type("T", (), {"geometry": box(0, 0, 100, 100)})()
    zones = load_zones(store, territory)
    assert zones.geometry.area.sum() == pytest.approx(8000.0, abs=0.5)  # through EPSG:4326


# --- demo (Must show) ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def zoned_store(demo_store_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("zoned") / "store"
    shutil.copytree(demo_store_dir, target)
    return target


def demo_zones(territory_id: str) -> gpd.GeoDataFrame:
    """One U, one AU and one A zone over the commune's bounding box (with a gap and an overlap)."""
    x0, y0, x1, y1 = get_territory(territory_id).geometry.bounds
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    return gpd.GeoDataFrame(
        {"typezone": ["U", "AUs", "A"], "libelle": ["UB", "2AU", "A"],
         "idurba": ["33009_PLU_demo"] * 3},
        geometry=[shapely.box(x0, y0, xm, y1), shapely.box(xm - 100, y0, x1, ym),
                  shapely.box(xm, ym, x1, y1 - 300)], crs=2154)


def test_demo_zones_add_up_to_the_territory(zoned_store: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "zone_urba_33009.gpkg"
    demo_zones("commune:33009").to_file(path, driver="GPKG")
    assert cli_main(["-q", "ingest-zonage", str(path), "--store", str(zoned_store)]) == 0
    assert "3 zones (1 U, 1 AU, 1 A)" in capsys.readouterr().out
    store = Store.open(zoned_store)
    stats = zone_artificialisation(store, "commune:33009", 2015, 2018)
    flux = artificialisation(store, "commune:33009", 2015, 2018)
    sums = stats.by_type[["stock_from_ha", "stock_to_ha", "gain_ha", "loss_ha", "net_ha"]].sum()
    assert sums["gain_ha"] == pytest.approx(flux.gross_gain_ha, abs=1e-6)
    assert sums["loss_ha"] == pytest.approx(flux.gross_loss_ha, abs=1e-6)
    assert sums["net_ha"] == pytest.approx(flux.net_ha, abs=1e-6)
    assert sums["stock_to_ha"] == pytest.approx(flux.stock_to_ha, abs=1e-6)
    assert sums["stock_from_ha"] == pytest.approx(flux.stock_from_ha, abs=1e-6)
    assert stats.check_delta_ha < 1e-6
    assert set(stats.by_type["zone_type"]) == {"U", "AU", "A", OVERLAP, OUTSIDE}
    assert stats.by_type["surface_ha"].sum() == pytest.approx(
        get_territory("commune:33009").area_ha, rel=1e-9)
    assert stats.overlap_ha == pytest.approx(stats.overlaps["area_ha"].sum())
    an = stats.figures()[0]
    assert an.key == "zonage.gain_a_n_ha" and an.synthetic
    assert an.value == pytest.approx(float(stats.by_type.set_index("zone_type").loc["A", "gain_ha"]))
    assert "zones A et N" in stats.sentence()
    json.dumps([f.to_dict() for f in stats.figures()])  # JSON-ready


def test_cli_refuses_layer_without_typezone(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "zone_urba.geojson"
    hand_zones().drop(columns=["TYPEZONE"]).to_crs(4326).to_file(path, driver="GeoJSON")
    store_dir = tmp_path / "store"
    assert cli_main(["-q", "ingest-zonage", str(path), "--store", str(store_dir)]) == 2
    err = capsys.readouterr().err
    assert "n'a pas de colonne TYPEZONE" in err and "Traceback" not in err
    with pytest.raises(StoreError):
        Store.open(store_dir).read_table(TABLE)


class StatusLayersStore:
    """A store holding only stored ``artif`` status layers (no ``artif_diff``), like the
    official per-polygon status: 2015 artificial x 0..10, 2018 artificial x 0..15 minus the
    strip 0..2 (de-artificialised)."""

    def millesimes(self, territory, layer="occupation_sol"):  # noqa: ANN001, ANN201
        return [2015, 2018] if layer == "artif" else []

    def polygons(self, territory, year, layer="", columns=None):  # noqa: ANN001, ANN201
        if year == 2015:
            return gpd.GeoDataFrame({"artif": [True, False]},
                                    geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs=2154)
        return gpd.GeoDataFrame({"artif": [False, True, False]},
                                geometry=[box(0, 0, 2, 10), box(2, 0, 15, 10),
                                          box(15, 0, 20, 10)], crs=2154)


def test_stored_status_layers_flux_is_difference_of_stocks() -> None:
    from ocsge_engine.indicators.zonage import status_measures

    measures, method = status_measures(StatusLayersStore(), None, 2015, 2018)
    areas = measures.groupby("measure").apply(lambda g: g.geometry.area.sum()).to_dict()
    assert method == "ign_artif"
    assert areas == pytest.approx({"stock_from": 100.0, "stock_to": 130.0, "gain": 50.0,
                                   "loss": 20.0})
    assert areas["gain"] - areas["loss"] == pytest.approx(areas["stock_to"] - areas["stock_from"])


def test_overlap_sentence_shows_uploaded_labels_as_plain_text() -> None:
    """A zone label from an uploaded file cannot put an image or markup in the page's warning."""
    import pandas as pd

    from ocsge_engine.indicators.zonage import describe_overlaps

    overlaps = pd.DataFrame({"label_a": ["![x](http://evil.invalid/i.png)"],
                             "label_b": ["<img src=x onerror=alert(1)>"], "area_ha": [0.1]})
    text = describe_overlaps(overlaps)
    assert "![" not in text and "](" not in text and "<img" not in text
    assert text.startswith("1 paire(s) de zones se superposent : xhttp://evil.invalid/i.png / ")
