"""Ingest of IGN-like deliveries built from the real SYBARVAL polygons (A_B_2015_2018)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import py7zr
import py7zr.py7zr
import pytest
import shapely

from ocsge_engine.cli import main
from ocsge_engine.errors import (
    ArchiveError, CrsError, EmptyInputError, GeometryError, SchemaError, UnknownCodeError,
)
from ocsge_engine.indicators import official_status
from ocsge_engine.store import Store
from ocsge_engine.store import db as store_db
from ocsge_engine.store.ingest import ingest_paths
from ocsge_engine.store.parquet import geometry_form, partition_path

OCS_DIR = "OCS-GE_2-0__SHP_LAMB93_D033_2018-01-01"
GIRONDE_XY = (370_000, 6_400_000)  # a Lambert-93 point in Arcachon (D33)
AB_AREA_HA = 349.74122  # SOURCE.md: 349.7 ha; area of the repaired geometries


@pytest.fixture(scope="module")
def ab(shared_data: Path) -> gpd.GeoDataFrame:
    """The real A_B_2015_2018 layer as delivered (2 invalid geometries)."""
    return gpd.read_file(shared_data / "ocsge_sybarval_2015_2018" / "A_B_2015_2018.shp")


@pytest.fixture(scope="module")
def ab_repaired_area(ab) -> float:
    return float(shapely.area(shapely.make_valid(ab.geometry.to_numpy())).sum() / 1e4)


def _occupation(ab: gpd.GeoDataFrame, n: int | None = None, lower: bool = False) -> gpd.GeoDataFrame:
    sub = ab if n is None else ab.iloc[:n]
    names = ("id", "code_cs", "code_us") if lower else ("ID", "CODE_CS", "CODE_US")
    return gpd.GeoDataFrame({names[0]: [f"OCS{i}" for i in range(len(sub))],
                             names[1]: sub["cs_2018"].to_numpy(),
                             names[2]: sub["us_2018"].to_numpy()},
                            geometry=sub.geometry.to_numpy(), crs="EPSG:2154")


def _write_shp(gdf: gpd.GeoDataFrame, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.shp"
    gdf.to_file(path, engine="pyogrio")
    return path


@pytest.fixture()
def store_dir(tmp_path) -> Path:
    return tmp_path / "store"


def _everything(territory_cls):
    """A territory covering all of metropolitan France in Lambert-93."""
    return territory_cls(shapely.box(0, 6_000_000, 1_300_000, 7_200_000))


def test_shapefile_folder_round_trip(tmp_path, store_dir, ab, ab_repaired_area, Territory):
    folder = tmp_path / OCS_DIR / "OCCUPATION_SOL"
    _write_shp(_occupation(ab), folder, "OCCUPATION_SOL")
    (report,) = ingest_paths([tmp_path / OCS_DIR], store_dir)
    assert (report.layer, report.departement, report.millesime) == ("occupation_sol", "33", "2018")
    assert (report.n_features, report.n_repaired, report.n_dropped_empty) == (3970, 2, 0)
    assert report.area_ha == pytest.approx(ab_repaired_area) == pytest.approx(AB_AREA_HA, abs=1e-3)
    assert report.source == f"{OCS_DIR}/OCCUPATION_SOL/OCCUPATION_SOL.shp"
    store = Store.open(store_dir)
    got = store.polygons(_everything(Territory), 2018)
    assert len(got) == 3970
    assert got.geometry.area.sum() / 1e4 == pytest.approx(AB_AREA_HA, abs=1e-3)
    assert got.geometry.is_valid.all()
    # v1.1 US235 kept as a canonical code; counts per CS code survive the round-trip.
    assert (got["code_us"] == "US235").sum() == (ab["us_2018"] == "US235").sum() > 0
    assert got["code_cs"].value_counts().to_dict() == ab["cs_2018"].value_counts().to_dict()
    row = store.catalog().iloc[0]
    assert (row["crs"], row["n_features"], len(row["source_sha256"])) == ("EPSG:2154", 3970, 64)
    # the official artificialisation status, computed on the whole layer at ingest
    status = official_status(got)
    assert got["artif"].tolist() == status["artif"].tolist()
    assert got["crit_seuil"].fillna("").tolist() == status["crit_seuil"].fillna("").tolist()
    # these are the real 2018 polygons artificialised since 2015, almost all artificial by the
    # decree matrix; isolated small ones go back to non-artificial (rule 2)
    assert got["crit_seuil"].isin(["ilot_artif_<2500", "bati_>=50", "enclave_non_artif_<2500"]
                                  ).sum() == got["crit_seuil"].notna().sum() > 0


def test_gpkg_with_lowercase_fields(tmp_path, store_dir, ab):
    gpkg = tmp_path / "OCS-GE_2-0__GPKG_LAMB93_D033_2018-01-01.gpkg"
    _occupation(ab, 500, lower=True).to_file(gpkg, layer="OCCUPATION_SOL", engine="pyogrio")
    (report,) = ingest_paths([gpkg], store_dir)
    expected = shapely.area(shapely.make_valid(ab.geometry.to_numpy()[:500])).sum() / 1e4
    assert (report.layer, report.millesime, report.n_features) == ("occupation_sol", "2018", 500)
    assert report.area_ha == pytest.approx(expected)
    assert report.source.endswith(".gpkg:OCCUPATION_SOL")


def test_same_polygons_in_shp_and_multipolygon_gpkg_are_stored_byte_identical(
        tmp_path, store_dir, ab, Territory):
    """A polygon unchanged between millésimes is stored once, whatever the delivery's format.

    2015 as a shapefile (GDAL writes exterior rings clockwise, upper-case fields), 2018 as a
    GeoPackage of MultiPolygons (rings as produced, lower-case fields): the same 1,000 real
    SYBARVAL polygons. Stored in one form, every one is paired by the exchange matrix's WKB
    short-circuit, and the matrix is the diagonal of the stocks.
    """
    from ocsge_engine.flows import exchange_matrix_from_layers
    from ocsge_engine.flows.store_pair import _unique_matches, read_raw

    n = 1000
    folder = tmp_path / "OCS-GE_2-0__SHP_LAMB93_D033_2015-01-01" / "OCCUPATION_SOL"
    _write_shp(_occupation(ab, n), folder, "OCCUPATION_SOL")
    gpkg = tmp_path / "OCS-GE_2-0__GPKG_LAMB93_D033_2018-01-01.gpkg"
    _occupation(ab, n, lower=True).to_file(gpkg, layer="OCCUPATION_SOL", engine="pyogrio",
                                           promote_to_multi=True)
    ingest_paths([folder.parent, gpkg], store_dir)
    store = Store.open(store_dir)
    everything = _everything(Territory)
    raws = [read_raw([Path(f) for f, _ in store.partition_files(everything, y)],
                     everything.geometry.bounds) for y in (2015, 2018)]
    wkb = [shapely.from_wkb(raw.wkb.to_numpy(zero_copy_only=False)) for raw in raws]
    # the delivered files differ: clockwise Polygons against counter-clockwise MultiPolygons
    delivered = [gpd.read_file(folder / "OCCUPATION_SOL.shp"), gpd.read_file(gpkg)]
    assert (delivered[0].geom_type == "Polygon").mean() > 0.95
    assert set(delivered[1].geom_type) == {"MultiPolygon"}
    # stored: one form, same areas, every polygon paired byte for byte; only polygons of
    # several parts stay MultiPolygons
    for geoms in wkb:
        assert ((shapely.get_type_id(geoms) == 6) == (shapely.get_num_geometries(geoms) > 1)).all()
        assert (shapely.get_type_id(geoms) == 3).mean() > 0.95
    assert sorted(raws[0].wkb.to_pylist()) == sorted(raws[1].wkb.to_pylist())
    i_same, j_same = _unique_matches(*raws)
    assert len(i_same) == len(set(raws[0].wkb.to_pylist())) > 0.99 * n
    expected = shapely.area(shapely.make_valid(ab.geometry.to_numpy()[:n]))
    assert np.allclose(np.sort(shapely.area(wkb[0])), np.sort(expected), rtol=1e-12)
    layers = [store.polygons(everything, y) for y in (2015, 2018)]
    matrix = exchange_matrix_from_layers(*layers, "cs_us")
    off_diagonal = matrix.table[matrix.table["code_from"] != matrix.table["code_to"]]
    assert off_diagonal["area_ha"].sum() == 0
    assert matrix.table["area_ha"].sum() == pytest.approx(expected.sum() / 1e4, rel=1e-12)


def _write_as_before_the_form_rule(store: Store, layer: gpd.GeoDataFrame, year: int) -> None:
    """Overwrite a partition as the previous version wrote it: geopandas' plain GeoParquet
    (no form in the footer), every polygon a MultiPolygon as a GeoPackage declares them."""
    old = layer.set_geometry(
        [shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g for g in layer.geometry],
        crs=layer.crs)
    path = partition_path(store.path, "occupation_sol", "33", str(year))
    old.to_parquet(path, index=False, write_covering_bbox=True, schema_version="1.1.0")


def test_force_stores_an_already_loaded_file_again_in_the_current_form(
        tmp_path, store_dir, ab, capsys):
    """A partition written before the one-form rule keeps its form on a plain ingest of the same
    file (skipped: same SHA-256), which says so; ``flows`` says so too; ``--force`` writes it
    again, with the same provenance and features, in the current form, and both notes go."""
    files = {}
    for year in (2015, 2018):
        files[year] = tmp_path / f"OCS-GE_2-0__GPKG_LAMB93_D033_{year}-01-01.gpkg"
        _occupation(ab, 300, lower=True).to_file(files[year], layer="OCCUPATION_SOL",
                                                 engine="pyogrio", promote_to_multi=True)
    ingest_paths(list(files.values()), store_dir)
    store = Store.open(store_dir)
    assert store.old_form_partitions() == []
    assert geometry_form(partition_path(store_dir, "occupation_sol", "33", "2018")) == 1
    _write_as_before_the_form_rule(store, store.read_layer("occupation_sol", "33", 2018), 2018)
    assert set(store.read_layer("occupation_sol", "33", 2018).geom_type) == {"MultiPolygon"}
    assert store.old_form_partitions() == [("33", "2018")]
    assert store.old_form_partitions(millesimes=[2015]) == []

    (again,) = ingest_paths([files[2018]], store_dir)
    assert again.skipped and again.old_form
    assert "--force" in again.summary() and "forme unique des polygones" in again.summary()
    assert set(Store.open(store_dir).read_layer("occupation_sol", "33", 2018).geom_type) == {
        "MultiPolygon"}
    # flows over the 300 polygons (a contour around them): exact, with a note on stderr
    contour = tmp_path / "contour.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(*ab.iloc[:300].total_bounds).buffer(10)],
                     crs="EPSG:2154").to_file(contour, driver="GeoJSON")
    flows = ["-q", "flows", "--store", str(store_dir), "--territory", f"polygon:{contour}",
             "--from", "2015", "--to", "2018", "--by", "cs4", "--format", "csv"]
    assert main(flows) == 0
    out, err = capsys.readouterr()
    assert "note : D33 2018 enregistré(s) avant la forme unique des polygones" in err
    assert "ingest --force" in err
    before = out

    assert main(["-q", "ingest", "--store", str(store_dir), "--force", str(files[2018])]) == 0
    assert "300 polygones" in capsys.readouterr().out
    forced = Store.open(store_dir).read_layer("occupation_sol", "33", 2018)
    geoms = forced.geometry.to_numpy()  # only polygons of several parts stay MultiPolygons
    assert ((shapely.get_type_id(geoms) == 6) == (shapely.get_num_geometries(geoms) > 1)).all()
    assert (shapely.get_type_id(geoms) == 3).sum() > 250
    assert len(forced) == 300
    assert Store.open(store_dir).old_form_partitions() == []
    assert main(flows) == 0
    out, err = capsys.readouterr()
    assert "note" not in err
    # the same cells (summed in another order: equal to ~1e-12, as flows documents)
    assert _cells(out) == pytest.approx(_cells(before), rel=1e-9)
    # the same codes in both millésimes: a diagonal matrix holding the 300 repaired polygons
    assert all(a == b for a, b in _cells(out)) and len(_cells(out)) >= 3
    expected_ha = shapely.area(shapely.make_valid(ab.geometry.to_numpy()[:300])).sum() / 1e4
    assert sum(_cells(out).values()) == pytest.approx(expected_ha, rel=1e-9)


def _cells(csv_text: str) -> dict[tuple[str, str], float]:
    rows = [line.split(",") for line in csv_text.strip().splitlines()[1:]]
    return {(a, b): float(v) for a, b, v, *_ in rows}


def test_7z_archive_round_trip_and_idempotence(tmp_path, store_dir, ab, hash_tree):
    src = tmp_path / "src" / OCS_DIR
    _write_shp(_occupation(ab, 800), src / "OCCUPATION_SOL", "OCCUPATION_SOL")
    archive = tmp_path / f"{OCS_DIR}.7z"
    with py7zr.SevenZipFile(archive, "w") as zf:
        zf.writeall(src, OCS_DIR)
    (first,) = ingest_paths([archive], store_dir)
    assert first.source.startswith(f"{OCS_DIR}.7z/{OCS_DIR}/OCCUPATION_SOL/")
    assert (first.n_features, first.departement, first.skipped) == (800, "33", False)
    before = hash_tree(store_dir)
    (second,) = ingest_paths([archive], store_dir)
    assert second.skipped and "déjà importé" in second.summary()
    assert hash_tree(store_dir) == before
    # The same bytes given as a folder are recognised too (same member SHA-256).
    (third,) = ingest_paths([src], store_dir)
    assert third.skipped and hash_tree(store_dir) == before


def test_diff_year_fields_variant_real_file(tmp_path, store_dir, shared_data, Territory):
    folder = tmp_path / "OCS-GE_2-0__DIFF_SHP_LAMB93_D033"
    folder.mkdir()
    src = shared_data / "ocsge_sybarval_2015_2018"
    for suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
        (folder / f"A_B_2015_2018{suffix}").write_bytes((src / f"A_B_2015_2018{suffix}").read_bytes())
    (report,) = ingest_paths([folder], store_dir)
    assert (report.layer, report.millesime, report.n_repaired) == ("diff", "2015_2018", 2)
    assert report.area_ha == pytest.approx(AB_AREA_HA, abs=1e-3)
    got = Store.open(store_dir).polygons(_everything(Territory), "2015_2018",
                                         layer="diff")
    flows = got.assign(ha=got.area / 1e4).groupby(["code_cs_from", "code_cs_to"])["ha"].sum()
    # Largest flows of SOURCE.md.
    assert flows[("CS2.2.1", "CS1.1.1.1")] == pytest.approx(91.2, abs=0.05)
    assert flows[("CS2.1.1.2", "CS1.1.2.1")] == pytest.approx(67.1, abs=0.05)
    assert set(got["millesime_from"]) == {2015} and set(got["millesime_to"]) == {2018}


def test_diff_avant_apres_variant_years_from_name(tmp_path, store_dir, shared_data):
    raw = gpd.read_file(shared_data / "ocsge_sybarval_2015_2018" / "A_B_2018_2015.shp")
    renamed = raw.rename(columns={"cs_2015": "cs_avant", "us_2015": "us_avant",
                                  "cs_2018": "cs_apres", "us_2018": "us_apres"})
    path = _write_shp(renamed, tmp_path / "D033", "DIFF-2015-2018")
    (report,) = ingest_paths([path], store_dir)
    assert (report.layer, report.departement, report.millesime) == ("diff", "33", "2015_2018")
    assert (report.n_features, report.n_repaired) == (1296, 1)
    table = gpd.read_parquet(store_dir / "layers/diff/departement=33/millesime=2015_2018/data.parquet")
    # INDETERMINE (usage unknown, v1.1) becomes US6.6.
    n_indet = int((raw["us_2015"] == "INDETERMINE").sum())
    assert n_indet > 0
    assert (table["code_us_from"] == "US6.6").sum() == n_indet + (raw["us_2015"] == "US6.6").sum()
    assert report.area_ha == pytest.approx(123.1, abs=0.05)


@pytest.mark.filterwarnings("ignore:Column names longer than 10:UserWarning",
                            "ignore:Normalized/laundered field name:RuntimeWarning")
def test_artif_and_artif_diff(tmp_path, store_dir, ab):
    sub = ab.iloc[:300]
    flags = np.where(np.arange(300) % 3 == 0, "non artif", "artif")
    artif = gpd.GeoDataFrame({"ID": range(300), "CODE_CS": sub["cs_2018"].to_numpy(),
                              "CODE_US": sub["us_2018"].to_numpy(), "ARTIF": flags,
                              "CRIT_SEUIL": np.where(flags == "artif", None, "seuil")},
                             geometry=sub.geometry.to_numpy(), crs="EPSG:2154")
    folder = tmp_path / "OCS-GE_2-0_ARTIFICIALISATION_SHP_LAMB93_D033_2018-01-01"
    _write_shp(artif, folder, "ARTIFICIALISATION")
    diff = gpd.GeoDataFrame({"ID": range(300), "ARTIFICIALISATION": np.where(flags == "artif", 1, -1)},
                            geometry=sub.geometry.to_numpy(), crs="EPSG:2154")
    _write_shp(diff, tmp_path / "ARTIF_DIFF_D033", "ARTIFICIALISATION_DIFF_2015_2018")
    (r1,) = ingest_paths([folder], store_dir)
    (r2,) = ingest_paths([tmp_path / "ARTIF_DIFF_D033"], store_dir)
    assert (r1.layer, r1.millesime, r2.layer, r2.millesime) == ("artif", "2018", "artif_diff",
                                                                  "2015_2018")
    t1 = gpd.read_parquet(store_dir / "layers/artif/departement=33/millesime=2018/data.parquet")
    t2 = gpd.read_parquet(store_dir / "layers/artif_diff/departement=33/millesime=2015_2018/data.parquet")
    assert t1["artif"].dtype == bool and t1["artif"].sum() == 200
    assert t1["crit_seuil"].isna().sum() == 200
    assert t2["artificialisation"].dtype == np.int8
    assert t2["artificialisation"].value_counts().to_dict() == {1: 200, -1: 100}


def test_reprojection_of_metropole_layer(tmp_path, store_dir, ab, caplog):
    gdf = _occupation(ab, 200).to_crs("EPSG:4326")
    path = _write_shp(gdf, tmp_path / OCS_DIR, "OCCUPATION_SOL")
    expected = shapely.area(shapely.make_valid(ab.geometry.to_numpy()[:200])).sum() / 1e4
    with caplog.at_level("INFO"):
        (report,) = ingest_paths([path], store_dir)
    assert report.reprojected_from == "EPSG:4326" and report.crs == "EPSG:2154"
    assert report.area_ha == pytest.approx(expected, rel=1e-6)
    assert "reprojecting from EPSG:4326" in caplog.text


def test_drom_crs_is_kept(tmp_path, store_dir):
    rect = gpd.GeoDataFrame({"code_cs": ["CS2.2.1"], "code_us": ["US1.1"]},
                            geometry=[shapely.box(700_000, 1_600_000, 700_100, 1_600_050)],
                            crs="EPSG:5490")
    path = _write_shp(rect, tmp_path / "OCS-GE_2-0__SHP_RGAF09UTM20_D972_2017-01-01", "OCCUPATION_SOL")
    (report,) = ingest_paths([path], store_dir)
    assert (report.departement, report.crs, report.area_ha) == ("972", "EPSG:5490", 0.5)


def test_invalid_and_empty_geometries_are_repaired_and_counted(tmp_path, store_dir):
    bowtie = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])  # two 25 m2 triangles
    # moved into Gironde (Arcachon): the ingest checks that a layer lies in its département
    geoms = shapely.transform([bowtie, shapely.box(20, 0, 30, 10)], lambda xy: xy + GIRONDE_XY)
    gdf = gpd.GeoDataFrame({"code_cs": ["CS2.2.1", "CS1.1.1.1", "CS2.1.1"],
                            "code_us": ["US1.1", "US5", "US1.2"]},
                           geometry=[*geoms, shapely.Polygon()], crs="EPSG:2154")
    path = _write_shp(gdf, tmp_path / OCS_DIR, "OCCUPATION_SOL")
    (report,) = ingest_paths([path], store_dir)
    assert (report.n_features, report.n_repaired, report.n_dropped_empty) == (2, 1, 1)
    assert report.area_ha == pytest.approx(0.015)  # 50 m2 + 100 m2


def test_allow_unknown_keeps_and_counts(tmp_path, store_dir, ab):
    gdf = _occupation(ab, 10)
    gdf.loc[:2, "CODE_CS"] = "CS9.9"
    path = _write_shp(gdf, tmp_path / OCS_DIR, "OCCUPATION_SOL")
    (report,) = ingest_paths([path], store_dir, allow_unknown=True)
    assert report.unknown_codes == {"CS9.9": 3}
    assert "3 codes inconnus" in report.summary()


# --- bad inputs: specific error, French message, store unchanged ---------------------------------

def _bad_corrupt_7z(tmp_path, ab):
    src = tmp_path / "src" / OCS_DIR
    _write_shp(_occupation(ab, 300), src, "OCCUPATION_SOL")
    archive = tmp_path / f"{OCS_DIR}.7z"
    with py7zr.SevenZipFile(archive, "w") as zf:
        zf.writeall(src, OCS_DIR)
    data = bytearray(archive.read_bytes())
    data[200] ^= 0xFF
    archive.write_bytes(bytes(data))
    return archive


def _bad_truncated_7z(tmp_path, ab):
    archive = _bad_corrupt_7z(tmp_path, ab)
    good = tmp_path / "good.7z"
    with py7zr.SevenZipFile(good, "w") as zf:
        zf.writeall(tmp_path / "src" / OCS_DIR, OCS_DIR)
    archive.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    return archive


def _bad_traversal_7z(tmp_path, ab):
    archive = tmp_path / f"{OCS_DIR}.7z"
    original = py7zr.py7zr.check_archive_path
    py7zr.py7zr.check_archive_path = lambda name: True  # py7zr refuses to write such names
    try:
        with py7zr.SevenZipFile(archive, "w") as zf:
            zf.writestr(b"pwned", "../evil.txt")
    finally:
        py7zr.py7zr.check_archive_path = original
    return archive


def _bad_no_crs(tmp_path, ab):
    path = _write_shp(_occupation(ab, 50), tmp_path / OCS_DIR, "OCCUPATION_SOL")
    path.with_suffix(".prj").unlink()
    return path


def _bad_missing_us(tmp_path, ab):
    return _write_shp(_occupation(ab, 50).drop(columns=["CODE_US"]), tmp_path / OCS_DIR,
                      "OCCUPATION_SOL")


def _bad_unknown_codes(tmp_path, ab):
    gdf = _occupation(ab, 50)
    gdf.loc[:4, "CODE_US"] = "US9"
    return _write_shp(gdf, tmp_path / OCS_DIR, "OCCUPATION_SOL")


def _bad_all_empty(tmp_path, ab):
    gdf = gpd.GeoDataFrame({"code_cs": ["CS2.2.1"] * 2, "code_us": ["US1.1"] * 2},
                           geometry=[shapely.Polygon(), shapely.LineString([(0, 0), (1, 1)])],
                           crs="EPSG:2154")
    gpkg = tmp_path / "OCS-GE_2-0__GPKG_LAMB93_D033_2018-01-01.gpkg"
    gdf.to_file(gpkg, layer="OCCUPATION_SOL", engine="pyogrio")
    return gpkg


def _bad_no_features(tmp_path, ab):
    gpkg = tmp_path / "OCS-GE_2-0__GPKG_LAMB93_D033_2018-01-01.gpkg"
    _occupation(ab, 0).to_file(gpkg, layer="OCCUPATION_SOL", engine="pyogrio")
    return gpkg


def _bad_zero_bytes(tmp_path, ab):
    gpkg = tmp_path / "OCS-GE_2-0__GPKG_LAMB93_D033_2018-01-01.gpkg"
    gpkg.write_bytes(b"")
    return gpkg


BAD_INPUTS = [
    (_bad_corrupt_7z, ArchiveError, "corrupt or truncated", "téléchargez-la à nouveau"),
    (_bad_truncated_7z, ArchiveError, "corrupt or truncated", "illisible ou incomplète"),
    (_bad_traversal_7z, ArchiveError, "unsafe member path '../evil.txt'", "chemin dangereux"),
    (_bad_no_crs, CrsError, "has no CRS", "n'a pas de système de coordonnées"),
    (_bad_missing_us, SchemaError, r"lacks fields \['code_us'\]", "ne contient pas les champs"),
    (_bad_unknown_codes, UnknownCodeError, r"US9 \(5\)", "Codes inconnus"),
    (_bad_all_empty, GeometryError, "all 2 geometries are empty", "aucune géométrie utilisable"),
    (_bad_no_features, EmptyInputError, "has no features", "est vide"),
    (_bad_zero_bytes, EmptyInputError, "is an empty file", "est vide"),
]


@pytest.mark.parametrize(("make", "error", "english", "french"), BAD_INPUTS,
                         ids=[b[0].__name__[5:] for b in BAD_INPUTS])
def test_bad_input_raises_specific_error_and_leaves_store_unchanged(
        tmp_path, store_dir, ab, hash_tree, make, error, english, french):
    seed = _write_shp(_occupation(ab, 20), tmp_path / "seed" / OCS_DIR, "OCCUPATION_SOL")
    ingest_paths([seed], store_dir)
    before = hash_tree(store_dir)
    bad = make(tmp_path / "bad", ab) if (tmp_path / "bad").mkdir() is None else None
    with pytest.raises(error, match=english) as info:
        ingest_paths([bad], store_dir)
    assert french in info.value.user_message
    assert hash_tree(store_dir) == before
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "bad" / "evil.txt").exists()


def test_failure_mid_ingest_keeps_previous_partition(tmp_path, store_dir, ab, hash_tree,
                                                     monkeypatch):
    path = _write_shp(_occupation(ab, 100), tmp_path / OCS_DIR, "OCCUPATION_SOL")
    ingest_paths([path], store_dir)
    before = hash_tree(store_dir)
    _write_shp(_occupation(ab, 150), tmp_path / OCS_DIR, "OCCUPATION_SOL")  # new version

    def crash(gdf, target):
        target.write_bytes(b"PAR1")
        raise OSError("killed mid-write")

    monkeypatch.setattr(store_db, "write_partition", crash)
    with pytest.raises(OSError, match="killed mid-write"):
        ingest_paths([path], store_dir)
    assert hash_tree(store_dir) == before
    assert Store.open(store_dir).catalog()["n_features"].tolist() == [100]


def test_cli_ingest_prints_french_summary_and_exit_codes(tmp_path, store_dir, ab, capsys):
    path = _write_shp(_occupation(ab, 30), tmp_path / OCS_DIR, "OCCUPATION_SOL")
    assert main(["-q", "ingest", str(path), "--store", str(store_dir)]) == 0
    assert "occupation_sol D33 2018, 30 polygones" in capsys.readouterr().out
    bad = _bad_missing_us(tmp_path / "bad", ab) if (tmp_path / "bad").mkdir() is None else None
    assert main(["-q", "ingest", str(bad), "--store", str(store_dir)]) == 2
    assert "erreur : La couche" in capsys.readouterr().err
    assert main(["-q", "ingest", str(path), "--store", str(store_dir), "--millesime", "2019"]) == 0
    # Gironde polygons filed as Hérault: refused (the layer is not in D34), store unchanged
    assert main(["-q", "ingest", str(path), "--store", str(store_dir), "--departement", "34",
                 "--millesime", "2020"]) == 2
    assert "tombe hors du département 34" in capsys.readouterr().err
    assert Store.open(store_dir).catalog()[["departement", "millesime"]].values.tolist() == [
        ["33", "2018"], ["33", "2019"]]
