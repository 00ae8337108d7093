"""Page objects precomputed by the national batch: identical to computing, used only when fresh."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import math
import shutil
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ocsge_engine.batch import BatchOptions, PartitionKey, run_partition
from ocsge_engine.batch import pages as P
from ocsge_engine.batch.manifest import manifest_path
from ocsge_engine.flows import exchange_matrix
from ocsge_engine.indicators.artif import artificialisation
from ocsge_engine.indicators.pair import load_pair
from ocsge_engine.indicators.summary import territory_indicators
from ocsge_engine.indicators.vegetation import (
    comparison_values,
    vegetation,
    vegetation_comparison,
)
from ocsge_engine.maps import light_polygons, stored_changes
from ocsge_engine.maps.changes import CHANGE_COLUMNS
from ocsge_engine.maps.vegetation import vegetated, vegetation_changes, vegetation_layers
from ocsge_engine.portrait import portrait_figures
from ocsge_engine.store import Store, codec
from ocsge_engine.territories import resolve_territory

# Arcachon, Andernos-les-Bains, Biganos: three demo communes (SYBARVAL, département 33)
CODES = ("33009", "33005", "33051")
KEY = PartitionKey("33", 2015, 2018)


def assert_same(a: Any, b: Any, where: str = "obj") -> None:
    """Exact structural equality of engine results (frames, arrays, geometries, dataclasses)."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            if f.init:
                assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, gpd.GeoDataFrame):
        assert isinstance(b, gpd.GeoDataFrame) and a.crs == b.crs, where
        assert bool(shapely.equals_exact(a.geometry.to_numpy(), b.geometry.to_numpy(),
                                         tolerance=0.0).all()), f"{where}.geometry"
        assert_same(pd.DataFrame(a.drop(columns=a.geometry.name)),
                    pd.DataFrame(b.drop(columns=b.geometry.name)), where)
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a.reset_index(drop=isinstance(a.index, pd.RangeIndex)),
                                      b.reset_index(drop=isinstance(b.index, pd.RangeIndex)),
                                      check_exact=True, check_index_type=False, obj=where)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True, check_index_type=False, obj=where)
    elif isinstance(a, np.ndarray):
        assert a.shape == b.shape, where
        if a.dtype == object and a.size and isinstance(a.ravel()[0], shapely.Geometry):
            assert bool(shapely.equals_exact(a, b, tolerance=0.0).all()), where
        else:
            np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.fixture(scope="module")
def pages_store(demo_store_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo store whose 2015-2018 partition holds three communes' page objects."""
    target = tmp_path_factory.mktemp("pages") / "store"
    shutil.copytree(demo_store_dir, target, ignore=shutil.ignore_patterns("national"))
    outcome = run_partition(str(target), KEY, BatchOptions(sprawl=False, communes=CODES))
    assert outcome.status == "done" and outcome.n_communes == len(CODES), outcome
    return target


@pytest.mark.parametrize("code", CODES)
def test_stored_objects_equal_the_engine_computed_on_the_fly(pages_store: Path,
                                                             code: str) -> None:
    store = Store.open(pages_store)
    territory = resolve_territory(f"commune:{code}")
    pair = load_pair(store, territory, 2015, 2018)  # passing the pair forces computing
    stored = P.stored_object(store, territory, 2015, 2018, "figures")
    assert stored is not None
    computed = portrait_figures(store, territory, 2015, 2018, pair=pair)
    assert_same(stored, computed, "figures")
    assert stored.as_dict() == computed.as_dict()
    # the figures layer itself serves the stored object when called without a pair
    assert portrait_figures(store, territory, 2015, 2018) is stored
    # artificialisation() with its default arguments serves the figures' own result
    assert artificialisation(store, territory, 2015, 2018) is stored.artif
    assert_same(stored.artif, artificialisation(store, territory, 2015, 2018, pair=pair),
                "artif")
    assert_same(P.stored_matrix(store, territory, 2015, 2018),
                exchange_matrix(store, territory, 2015, 2018, by="cs_us"), "matrix")
    stored_ind = P.stored_object(store, territory, 2015, 2018, "indicators")
    assert_same(stored_ind, territory_indicators(store, territory, 2015, 2018, pair=pair),
                "indicators")
    assert territory_indicators(store, territory, 2015, 2018) is stored_ind
    # the map layers, as Cartes and the home map compute them on the fly
    for year, kind in ((2015, "light_from"), (2018, "light_to")):
        assert_same(P.stored_light(store, territory, year, (2015, 2018)),
                    light_polygons(store.polygons(territory, year,
                                                  columns=["code_cs", "code_us"])), kind)
    assert_same(P.stored_light(store, territory, 2018, (2015, 2018), P.ARTIF_KEYS),
                light_polygons(store.polygons(territory, 2018, columns=list(P.ARTIF_KEYS)),
                               keys=P.ARTIF_KEYS), "light_artif_to")
    assert_same(P.stored_object(store, territory, 2015, 2018, "light_changes"),
                light_polygons(stored_changes(store, territory, 2015, 2018),
                               keys=CHANGE_COLUMNS), "light_changes")
    # Végétation: the result, its comparison figures and the map layers
    stored_veg = P.stored_object(store, territory, 2015, 2018, "vegetation")
    computed_veg = vegetation(pair, store=store)
    assert_same(stored_veg, computed_veg, "vegetation")
    assert stored_veg.to_dict() == computed_veg.to_dict()
    assert vegetation(store, territory, 2015, 2018) is stored_veg
    assert P.stored_object(store, territory, 2015, 2018, "vegetation_comparison") == (
        comparison_values(computed_veg))
    assert_same(P.stored_object(store, territory, 2015, 2018, "light_vegetation_changes"),
                vegetation_changes(pair), "light_vegetation_changes")
    # the map's vegetation layer as the page computed it before the batch stored it
    assert_same(P.stored_object(store, territory, 2015, 2018, "light_vegetation"),
                light_polygons(vegetated(store.polygons(territory, 2018,
                                                        columns=["code_cs", "code_us"]))),
                "light_vegetation")
    light, changes = vegetation_layers(store, territory, 2015, 2018)
    assert_same((light, changes), vegetation_layers(store, territory, 2015, 2018, pair=pair),
                "vegetation_layers")
    assert set(light["code_cs"].str[:3]) == {"CS2"} and len(changes) > 0
    # several communes and kinds in one read: what stored_object returns, one by one
    kinds = ("vegetation_comparison", "light_vegetation", "light_vegetation_changes")
    many = P.stored_objects(store, [resolve_territory(f"commune:{c}") for c in CODES], 2015, 2018,
                            kinds)
    assert sorted(many) == sorted((c, k) for c in CODES for k in kinds)
    for (c, k), obj in many.items():
        assert_same(obj, P.stored_object(store, resolve_territory(f"commune:{c}"), 2015, 2018, k),
                    f"stored_objects[{c}, {k}]")


def test_arcachon_stored_figures_hold_the_golden_population(pages_store: Path) -> None:
    store = Store.open(pages_store)
    fig = P.stored_object(store, resolve_territory("commune:33009"), 2015, 2018, "figures")
    # INSEE population municipale of Arcachon in the demo's census table (also asserted by
    # tests/batch/test_figures.py from the Comparer rows): 11,092 inhabitants
    assert fig.latest_population[1] == 11092
    assert fig.territory_id == "commune:33009" and fig.year_from == 2015 and fig.year_to == 2018


def test_other_territories_and_communes_compute_on_the_fly(pages_store: Path) -> None:
    store = Store.open(pages_store)
    # La Teste-de-Buch was not in the partial run; an EPCI and a département are never stored
    for tid in ("commune:33529", "epci:243301504", "departement:33"):
        assert P.stored_object(store, resolve_territory(tid), 2015, 2018, "figures") is None
    # an EPCI some of whose communes were not in the run: its sum would miss them, so none
    coban = resolve_territory("epci:243301504")  # Andernos and Biganos computed, 6 others not
    assert P.summed_figures(store, coban, 2015, 2018) is None
    assert P.stored_matrix(store, coban, 2015, 2018) is None
    assert P.precomputed_figures(store, coban, 2015, 2018) is None
    with pytest.raises(ValueError):
        P.stored_object(store, resolve_territory("commune:33009"), 2015, 2018, "nope")
    assert P.stored_objects(store, [resolve_territory(t) for t in ("commune:33529",
                                                                   "epci:243301504")],
                            2015, 2018, ("vegetation",)) == {}
    with pytest.raises(ValueError):
        P.stored_objects(store, [resolve_territory("commune:33009")], 2015, 2018, ("nope",))


def test_vegetation_comparison_reads_the_stored_communes(pages_store: Path, tmp_path: Path
                                                          ) -> None:
    # Andernos-les-Bains' neighbours: Arès, Lanton, Lège-Cap-Ferret, Audenge (demo communes not
    # in the partial run: computed on the fly) and Le Porge (outside the demo store)
    store = Store.open(pages_store)
    andernos = resolve_territory("commune:33005")
    table = vegetation_comparison(store, andernos, 2015, 2018,
                                  peers=["33051", "33011", "33333"])
    assert table["code"].tolist() == ["33005", "33051", "33011", "33333"]
    assert table["available"].tolist() == [True, True, True, False]
    stored = P.stored_objects(store, [resolve_territory(f"commune:{c}") for c in table["code"]],
                              2015, 2018, ("vegetation_comparison",))
    assert sorted(stored) == [("33005", "vegetation_comparison"),
                              ("33051", "vegetation_comparison")]  # Arès computed, Le Porge none
    # the same table where nothing is stored (a copy without the batch's results)
    bare = tmp_path / "bare"
    shutil.copytree(pages_store, bare, ignore=shutil.ignore_patterns("national"))
    computed = vegetation_comparison(Store.open(bare), andernos, 2015, 2018,
                                     peers=["33051", "33011", "33333"])
    assert_same(table, computed, "comparison")
    biganos = table.iloc[1]
    veg = vegetation(load_pair(store, resolve_territory("commune:33051"), 2015, 2018),
                     store=store)
    assert biganos["tree_net_ha"] == veg.classes["tree"].net_ha
    assert biganos["tree_share_to"] == veg.share("tree", "to")


def test_stale_partition_is_not_served(pages_store: Path, tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    shutil.copytree(pages_store, store_dir)
    store = Store.open(store_dir)
    territory = resolve_territory("commune:33009")
    assert P.stored_object(store, territory, 2015, 2018, "figures") is not None
    path = manifest_path(store_dir, KEY)
    manifest = json.loads(path.read_text())
    manifest["inputs"]["occupation_sol/2018"] = "0" * 64  # as if 2018 had been re-ingested
    path.write_text(json.dumps(manifest))
    assert P.stored_object(store, territory, 2015, 2018, "figures") is None
    assert portrait_figures(store, territory, 2015, 2018).territory_id == "commune:33009"
    assert P.stored_objects(store, [territory], 2015, 2018,
                            ("vegetation", "light_vegetation", "light_vegetation_changes")) == {}
    pair = load_pair(store, territory, 2015, 2018)
    assert_same(vegetation(store, territory, 2015, 2018), vegetation(pair, store=store),
                "vegetation on the fly")
    light, changes = vegetation_layers(store, territory, 2015, 2018)
    assert_same(light, light_polygons(vegetated(store.polygons(territory, 2018,
                                                               columns=["code_cs", "code_us"]))),
                "vegetation light on the fly")
    assert_same(changes, vegetation_changes(pair), "vegetation changes on the fly")


def test_codec_refuses_types_outside_the_engine() -> None:
    payload = json.dumps({"__dc__": "subprocess:Popen", "fields": {"args": "true"}})
    with pytest.raises(codec.CodecError):
        codec.loads(payload)
    with pytest.raises(codec.CodecError):
        codec.dumps(object())
    value = {2015: 0.25, "a": (1, float("nan")), "g": np.array([shapely.Point(1, 2)])}
    back = codec.loads(codec.dumps(value))
    assert list(back) == [2015, "a", "g"] and back[2015] == 0.25
    assert back["a"][0] == 1 and math.isnan(back["a"][1])
    assert shapely.equals_exact(back["g"][0], shapely.Point(1, 2), tolerance=0.0)



def test_codec_geodataframe_round_trip_keeps_crs_columns_index_and_geometry() -> None:
    """GeoDataFrames decode as geopandas reads them (CRS parsed once per process, reused)."""
    gdf = gpd.GeoDataFrame(
        {"code_cs": ["CS1.1.1.1", "CS2.2.1"], "area_ha": [0.25, 1.5], "n": [1, 2]},
        geometry=[shapely.box(-1.2, 44.6, -1.19, 44.61),
                  shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)])],
        crs="EPSG:4326", index=pd.Index([7, 3], name="part"))
    gdf = gdf[["code_cs", "geometry", "area_ha", "n"]]  # geometry not last: order kept
    for frame in (gdf, gdf.to_crs(2154), gdf.rename_geometry("geom")):
        back = codec.loads(codec.dumps(frame))
        assert isinstance(back, gpd.GeoDataFrame) and back.crs == frame.crs
        assert back.geometry.name == frame.geometry.name
        pd.testing.assert_frame_equal(back, frame, check_exact=True)
        again = codec.loads(codec.dumps(frame))
        assert again.crs is back.crs  # one pyproj.CRS per CRS and process
    empty = codec.loads(codec.dumps(gdf.iloc[:0]))
    assert empty.empty and empty.crs == gdf.crs and list(empty.columns) == list(gdf.columns)


def test_codec_frames_travel_as_arrow_ipc_and_read_as_parquet_would() -> None:
    """Non-geo frames are Arrow IPC payloads that decode to what the Parquet payloads gave
    (dtypes, index, names, exact floats); Parquet payloads of older batches still decode."""
    frame = pd.DataFrame({
        "code": pd.array(["CS1.1.1.1", "CS2.2.1", None], dtype="string"),
        "area_ha": [0.1 + 0.2, 1e-12, float("nan")], "n": pd.array([1, None, 3], dtype="Int64"),
        "flag": [True, False, True], "objet": np.array(["a", "b", None], dtype=object),
        "when": pd.to_datetime(["2015-01-01", "2018-06-30", None]).tz_localize("UTC"),
        "fam": pd.Categorical(["agricole", "naturel", "agricole"])},
        index=pd.Index(["x", "y", "z"], name="cle", dtype=object))
    pivot = pd.DataFrame([[1.5, 2.0], [0.0, 3.25]], index=pd.Index(["CS1", "CS2"], name="from"),
                         columns=pd.Index(["CS1", "CS2"], name="to"))
    series = pd.Series([2.5, 0.5], index=pd.Index([2015, 2018], name="year"), name="ha")
    # (an empty categorical column would lose its categories: no engine object has one)
    for value in (frame, pivot, frame.drop(columns="fam").iloc[:0], pd.DataFrame({"a": [1, 2]})):
        payload = json.loads(codec.dumps(value))
        assert set(payload["__df__"]) == {"ipc", "objects", "object_index"}
        back = codec.loads(codec.dumps(value))
        pd.testing.assert_frame_equal(back, value, check_exact=True)
        buf = io.BytesIO()
        value.to_parquet(buf, compression="zstd")  # what the previous payloads held
        payload["__df__"] = {"parquet": base64.b64encode(buf.getvalue()).decode("ascii"),
                             **{k: v for k, v in payload["__df__"].items() if k != "ipc"}}
        pd.testing.assert_frame_equal(codec.decode(payload), back, check_exact=True)
    pd.testing.assert_series_equal(codec.loads(codec.dumps(series)), series, check_exact=True)

# additive figures: hectares of the same clipped polygons and overlay pieces, so an EPCI's figure
# is the sum of its communes' (per-polygon official status, decided at département scale)
ADDITIVE = ("artificialisation.stock_from_ha", "artificialisation.stock_to_ha",
            "artificialisation.gross_gain_ha", "artificialisation.gross_loss_ha",
            "artificialisation.net_ha", "impermeabilisation.stock_to_ha",
            "impermeabilisation.net_ha", "changes.any_ha",
            *(f"artificialisation.origin.{f}_ha" for f in ("agricole", "forestier", "naturel")),
            *(f"stocks.{f}.to_ha" for f in ("agricole", "forestier", "naturel", "artificialise")))


def test_epci_figures_are_the_sums_of_its_stored_communes(national_store_dir: Path) -> None:
    store = Store.open(national_store_dir)
    # CA Bassin d'Arcachon Sud (COBAS): Arcachon, Gujan-Mestras, Le Teich, La Teste-de-Buch
    epci = resolve_territory("epci:243300563")
    communes = ["33009", "33199", "33527", "33529"]
    stored = [P.stored_object(store, resolve_territory(f"commune:{c}"), 2015, 2018, "figures")
              for c in communes]
    assert all(f is not None for f in stored)
    assert P.stored_object(store, epci, 2015, 2018, "figures") is None  # no row of its own
    # the EPCI's own overlay (tests/batch/test_sums.py: the figures layer serves its sums)
    computed = portrait_figures(store, epci, 2015, 2018, pair=load_pair(store, epci, 2015, 2018))
    for key in ADDITIVE:
        total = sum(f[key].value for f in stored)
        assert computed[key].value == pytest.approx(total, rel=1e-9, abs=1e-6), key
    assert computed["identity.area_ha"].value == pytest.approx(
        sum(f["identity.area_ha"].value for f in stored), rel=1e-9)


def test_indicators_row_links_the_figures_row(pages_store: Path) -> None:
    store = Store.open(pages_store)
    territory = resolve_territory("commune:33051")
    figures = P.stored_object(store, territory, 2015, 2018, "figures")
    indicators = P.stored_object(store, territory, 2015, 2018, "indicators")
    # the same objects as computing gives (territory_indicators holds its portrait_figures)
    assert indicators.portrait is figures and indicators.artif is figures.artif
    assert indicators.imper is figures.imper and indicators.per_inhabitant is figures.ratios
    pair = load_pair(store, territory, 2015, 2018)
    computed = territory_indicators(store, territory, 2015, 2018, pair=pair)
    assert computed.portrait.artif is computed.artif and computed.imper is computed.portrait.imper
    # stored once: the indicators payload holds no gain geometries, the figures payload does
    import pyarrow.parquet as pq

    rows = pq.read_table(P.pages_path(pages_store, KEY),
                         filters=[("commune", "=", "33051")]).to_pandas().set_index("kind")
    assert "gain_geometries" in rows.loc["figures", "payload"]
    assert "gain_geometries" not in rows.loc["indicators", "payload"]


def test_codec_stores_grid_coordinates_as_integers_bit_for_bit() -> None:
    # a light map layer: EPSG:4326, coordinates rounded to 1e-5 degree, a polygon with a hole
    outer = shapely.Polygon([(-1.16789, 44.65432), (-1.16001, 44.65432), (-1.16001, 44.66123),
                             (-1.16789, 44.65432)])
    holed = shapely.Polygon([(-1.2, 44.6), (-1.1, 44.6), (-1.1, 44.7), (-1.2, 44.7)],
                            holes=[[(-1.15, 44.65), (-1.14, 44.65), (-1.14, 44.66)]])
    frame = gpd.GeoDataFrame({"code_cs": ["CS1.1.1.1", "CS2.2.1"], "area_ha": [1.2345, 0.5]},
                             geometry=[outer, holed], crs="EPSG:4326", index=[7, 3])
    text = codec.dumps(frame)
    assert "__gdfgrid__" in text and "__gdf__" not in text
    back = codec.loads(text)
    assert isinstance(back, gpd.GeoDataFrame) and back.crs == frame.crs
    assert list(back.columns) == list(frame.columns) and back.index.tolist() == [7, 3]
    assert shapely.to_wkb(back.geometry.to_numpy()).tolist() == \
        shapely.to_wkb(frame.geometry.to_numpy()).tolist()
    pd.testing.assert_frame_equal(pd.DataFrame(back.drop(columns="geometry")),
                                  pd.DataFrame(frame.drop(columns="geometry")), check_exact=True)
    # off the grid, or a mix that the integer form would turn into MultiPolygons: WKB, exact
    off = frame.set_geometry([shapely.affinity.translate(outer, 1e-7), holed], crs="EPSG:4326")
    multi = frame.set_geometry([outer, shapely.MultiPolygon([holed])], crs="EPSG:4326")
    for other in (off, multi):
        text = codec.dumps(other)
        assert "__gdfgrid__" not in text
        assert shapely.to_wkb(codec.loads(text).geometry.to_numpy()).tolist() == \
            shapely.to_wkb(other.geometry.to_numpy()).tolist()
