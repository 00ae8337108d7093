"""Store: write/read round-trips on real SYBARVAL polygons and hand-computable rectangles."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from ocsge_engine.errors import MillesimeError, StoreError
from ocsge_engine.store import Store
from ocsge_engine.store import db as store_db
from ocsge_engine.store.parquet import partition_path


def _rects(millesime: int = 2018, dep: str = "33") -> gpd.GeoDataFrame:
    """Two 10 m x 10 m squares side by side: [0,10]x[0,10] CS1.1.1.1, [10,20]x[0,10] CS2.2.1."""
    return gpd.GeoDataFrame({
        "id": ["a", "b"], "code_cs": ["CS1.1.1.1", "CS2.2.1"], "code_us": ["US5", "US1.1"],
        "millesime": millesime, "departement": dep,
    }, geometry=[shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)], crs="EPSG:2154")


@pytest.fixture()
def store(tmp_path):
    return Store.open(tmp_path / "store", create=True)


def test_open_missing_store_is_a_french_store_error(tmp_path):
    with pytest.raises(StoreError, match="no store") as info:
        Store.open(tmp_path / "nothing")
    assert "Aucune base OCS GE" in info.value.user_message


def test_new_store_has_empty_catalog_with_contract_columns(store):
    table = store.catalog()
    assert table.empty
    assert list(table.columns) == ["layer", "departement", "millesime", "n_features", "area_ha",
                                   "crs", "source_file", "source_sha256", "synthetic", "note",
                                   "ingested_at"]


def test_schema_too_new_is_refused(tmp_path):
    Store.open(tmp_path / "s", create=True)
    con = store_db._connect(tmp_path / "s" / "catalog.duckdb", read_only=False)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(StoreError, match="schema version 99") as info:
        Store.open(tmp_path / "s")
    assert "non pris en charge" in info.value.user_message


def test_rectangles_clip_and_catalog(store, Territory):
    Terr = Territory
    info = store.write_layer(_rects(), layer="occupation_sol", departement="33", millesime=2018,
                             source_file="rects.shp", source_sha256="x" * 64)
    assert (info.n_features, info.area_ha, info.millesime) == (2, pytest.approx(0.02), "2018")
    # A territory over x in [5, 15]: 50 m2 of each square.
    terr = Terr(shapely.box(5, 0, 15, 10))
    clipped = store.polygons(terr, 2018)
    assert sorted(clipped["id"]) == ["a", "b"]
    assert clipped.geometry.area.tolist() == pytest.approx([50.0, 50.0])
    assert clipped.crs.to_epsg() == 2154 and list(clipped.index) == [0, 1]
    whole = store.polygons(terr, 2018, clip=False)
    assert whole.geometry.area.sum() == pytest.approx(200.0)
    only = store.polygons(Terr(shapely.box(1, 1, 2, 2)), 2018, columns=["code_cs"])
    assert list(only.columns) == ["code_cs", "geometry"] and only["code_cs"].tolist() == ["CS1.1.1.1"]
    # Touching only along the edge x=20: no polygonal part remains.
    assert store.polygons(Terr(shapely.box(20, 0, 30, 10)), 2018).empty


def test_coverage_complete_and_partial(store, Territory):
    Terr = Territory
    store.write_layer(_rects(), layer="occupation_sol", departement="33", millesime=2018,
                      source_file="r", source_sha256="1" * 64)
    full = store.coverage(Terr(shapely.box(0, 0, 20, 10)), 2018)
    assert (full.territory_ha, full.covered_ha, full.complete) == (
        pytest.approx(0.02), pytest.approx(0.02), True)
    half = store.coverage(Terr(shapely.box(10, 0, 30, 10)), 2018)
    assert half.share == pytest.approx(0.5) and not half.complete


def test_millesimes_and_missing_millesime(store, Territory):
    Terr = Territory
    for year in (2021, 2018):
        store.write_layer(_rects(year), layer="occupation_sol", departement="33", millesime=year,
                          source_file=f"r{year}", source_sha256=str(year) * 16)
    diff = gpd.GeoDataFrame({
        "id": ["d"], "code_cs_from": ["CS2.2.1"], "code_us_from": ["US1.1"],
        "code_cs_to": ["CS1.1.1.1"], "code_us_to": ["US5"], "millesime_from": [2018],
        "millesime_to": [2021], "departement": ["33"]}, geometry=[shapely.box(0, 0, 1, 1)],
        crs="EPSG:2154")
    store.write_layer(diff, layer="diff", departement="33", millesime="2018_2021",
                      source_file="d", source_sha256="d" * 64)
    terr = Terr(shapely.box(0, 0, 20, 10))
    assert store.millesimes(terr) == [2018, 2021]
    assert store.millesimes(terr, layer="diff") == ["2018_2021"]
    assert store.polygons(terr, (2018, 2021), layer="diff")["code_cs_to"].tolist() == ["CS1.1.1.1"]
    assert store.millesimes(Terr(terr.geometry, ("34",))) == []
    with pytest.raises(MillesimeError, match="2015") as info:
        store.polygons(terr, 2015)
    assert "n'est pas disponible" in info.value.user_message


def test_real_polygons_per_commune_match_clip_and_ground_truth(store, sybarval_changes,
                                                                sybarval_communes, Territory):
    Terr = Territory
    store.write_layer(sybarval_changes, layer="occupation_sol", departement="33", millesime=2018,
                      source_file="A_B_2015_2018.shp", source_sha256="a" * 64)
    assert store.catalog().loc[0, "area_ha"] == pytest.approx(349.74, abs=0.01)
    for insee in ("33529", "33284", "33005"):
        commune = sybarval_communes[sybarval_communes["CODE_INSEE"] == insee]
        geom = commune.geometry.iloc[0]
        got = store.polygons(Terr(geom), 2018)
        expected = gpd.clip(sybarval_changes, geom)
        expected = expected[expected.geom_type.isin(["Polygon", "MultiPolygon"])]
        assert got.geometry.area.sum() == pytest.approx(expected.geometry.area.sum(), rel=1e-9)
        assert round(got.geometry.area.sum() / 1e4) == commune["A_B_2015_2"].iloc[0]
    # Golden: La Teste-de-Buch 52.2 ha (SOURCE.md).
    teste = sybarval_communes.loc[sybarval_communes["CODE_INSEE"] == "33529", "geometry"].iloc[0]
    assert store.polygons(Terr(teste), 2018).area.sum() / 1e4 == pytest.approx(52.2, abs=0.05)


def test_write_same_sha_twice_keeps_bytes(store, sybarval_changes, hash_tree):
    tree_hashes = hash_tree
    kwargs = dict(layer="occupation_sol", departement="33", millesime=2018,
                  source_file="A_B_2015_2018.shp", source_sha256="a" * 64)
    first = store.write_layer(sybarval_changes, **kwargs)
    before = tree_hashes(store.path)
    again = store.write_layer(sybarval_changes, **kwargs)
    assert again == first
    assert tree_hashes(store.path) == before


def test_failure_mid_write_keeps_previous_partition(store, monkeypatch, Territory, hash_tree):
    Terr, tree_hashes = Territory, hash_tree
    store.write_layer(_rects(), layer="occupation_sol", departement="33", millesime=2018,
                      source_file="r", source_sha256="1" * 64)
    before = tree_hashes(store.path)

    def half_write(gdf, path):
        path.write_bytes(b"PAR1 truncated")
        raise OSError("disk full")

    monkeypatch.setattr(store_db, "write_partition", half_write)
    with pytest.raises(OSError, match="disk full"):
        store.write_layer(_rects().iloc[:1], layer="occupation_sol", departement="33",
                          millesime=2018, source_file="r2", source_sha256="2" * 64)
    assert tree_hashes(store.path) == before
    assert store.catalog()["source_sha256"].tolist() == ["1" * 64]
    assert len(store.polygons(Terr(shapely.box(0, 0, 20, 10)), 2018)) == 2


def test_reference_tables_round_trip(store):
    df = pd.DataFrame({"insee": ["33005", "33009"], "population": [11_000, 10_300]})
    store.write_table("ref_population", df)
    got = store.read_table("ref_population")
    assert got["insee"].tolist() == ["33005", "33009"]
    assert got["population"].tolist() == [11_000, 10_300]
    with pytest.raises(StoreError):
        store.read_table("ref_missing")



def test_reference_tables_cached_until_the_catalogue_changes(store, monkeypatch):
    """read_table and table_names answer from memory for one catalogue stamp (copies), and see
    a table another Store object (another process) writes or replaces afterwards."""
    other = Store.open(store.path)  # a writer that is not this object
    with pytest.raises(StoreError):
        store.read_table("ref_conso")
    assert "ref_conso" not in store.table_names()
    other.write_table("ref_conso", pd.DataFrame({"insee": ["33009"], "ha": [1.5]}))
    assert store.read_table("ref_conso")["ha"].tolist() == [1.5]  # the absent answer expired
    assert "ref_conso" in store.table_names()
    connects = []
    real_connect = store_db._connect
    monkeypatch.setattr(store_db, "_connect", lambda *a, **k: connects.append(a) or
                        real_connect(*a, **k))
    first = store.read_table("ref_conso")
    first.loc[0, "ha"] = 99.0  # a caller's change stays in its copy
    assert store.read_table("ref_conso")["ha"].tolist() == [1.5]
    assert "ref_conso" in store.table_names()
    with pytest.raises(StoreError):
        store.read_table("ref_missing")
    with pytest.raises(StoreError):
        store.read_table("ref_missing")
    assert len(connects) == 1  # only the first read of ref_missing opened DuckDB
    monkeypatch.undo()
    other.write_table("ref_conso", pd.DataFrame({"insee": ["33009"], "ha": [2.25]}))
    assert store.read_table("ref_conso")["ha"].tolist() == [2.25]

def test_connect_loads_spatial_and_reads_partitions(store):
    store.write_layer(_rects(), layer="occupation_sol", departement="33", millesime=2018,
                      source_file="r", source_sha256="1" * 64)
    path = partition_path(store.path, "occupation_sol", "33", "2018")
    con = store.connect()
    try:
        area = con.execute(f"SELECT sum(ST_Area(geometry)) FROM read_parquet('{path}')").fetchone()
    finally:
        con.close()
    assert area[0] == pytest.approx(200.0)
