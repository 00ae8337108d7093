"""SYBARVAL demo store against the real data it is built from.

The demo is built once per session (a few seconds). Truth comes from the real shapefiles in
``data/demo`` (copies of /work/shared/data/ocsge_sybarval_2015_2018) read independently here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ocsge_engine import demo
from ocsge_engine.nomenclature import require_known
from ocsge_engine.store import Store
from ocsge_engine.store.parquet import canonical_polygons
from ocsge_engine.territories import get_territory

DEMO_DIR = demo.demo_dir()
CS11 = "CS1.1."


@dataclass(frozen=True)
class _Area:
    geometry: shapely.Geometry
    departements: tuple[str, ...] = ("33",)


@pytest.fixture(scope="session")
def demo_store(demo_build: tuple[Path, demo.DemoReport]) -> tuple[Store, demo.DemoReport]:
    """The session's demo store (tests/conftest.py) and the report of the build that made it."""
    path, report = demo_build
    return Store.open(path), report


@pytest.fixture(scope="session")
def communes() -> gpd.GeoDataFrame:
    return gpd.read_file(DEMO_DIR / "Communes_SYBARVAL.shp", encoding="utf-8").set_index("CODE_INSEE")


@pytest.fixture(scope="session")
def layers(demo_store: tuple[Store, demo.DemoReport], communes: gpd.GeoDataFrame
           ) -> dict[int, gpd.GeoDataFrame]:
    store, _ = demo_store
    everything = _Area(shapely.union_all(communes.geometry.to_numpy()))
    out = {}
    for year in demo.MILLESIMES:
        layer = store.polygons(everything, year, clip=False)
        out[year] = layer.assign(commune=layer["id"].str[:5]).set_index("id", drop=False)
    return out


def _wkb_hash(geoms: np.ndarray, codes: pd.DataFrame) -> str:
    rows = sorted(zip(shapely.to_wkb(geoms, hex=True), *[codes[c] for c in codes.columns]))
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_catalogue_flags_synthetic_with_note(demo_store: tuple[Store, demo.DemoReport]) -> None:
    store, report = demo_store
    catalog = store.catalog().query("layer == 'occupation_sol'")
    assert sorted(catalog["millesime"]) == ["2015", "2018"]
    assert (catalog["departement"] == "33").all() and catalog["synthetic"].all()
    assert (catalog["note"] == "fond synthétique, changements réels OCS GE").all()
    assert catalog["source_sha256"].nunique() == 1
    assert catalog["source_sha256"].iloc[0] == report.source_sha256
    assert "A_B_2015_2018.shp" in catalog["source_file"].iloc[0]
    assert report.n_features[2015] == report.n_features[2018] == catalog["n_features"].iloc[0]
    assert 20_000 <= report.n_features[2015] <= 40_000
    assert "fond synthétique" in report.summary()
    again = demo.build_demo_store(store.path)
    assert again.skipped and "déjà présente" in again.summary()


def test_every_commune_is_partitioned(layers: dict[int, gpd.GeoDataFrame],
                                      communes: gpd.GeoDataFrame) -> None:
    for year, layer in layers.items():
        areas = pd.Series(shapely.area(layer.geometry.to_numpy()), index=layer.index)
        by_commune = areas.groupby(layer["commune"].to_numpy()).sum()
        assert sorted(by_commune.index) == sorted(communes.index)
        expected = communes.geometry.area.loc[by_commune.index]
        assert ((by_commune - expected).abs() / expected).max() <= 1e-4, year
        assert set(shapely.get_type_id(layer.geometry.to_numpy())) == {3}  # single Polygons
        assert shapely.is_valid(layer.geometry.to_numpy()).all()
        assert layer["id"].is_unique and (layer["millesime"] == year).all()
        require_known(layer["code_cs"], "cs")
        require_known(layer["code_us"], "us")


def test_no_overlap(layers: dict[int, gpd.GeoDataFrame]) -> None:
    geoms = layers[2018].geometry.to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]]))
    assert overlap.max() <= 1.0


def test_store_clip_of_a_commune_covers_it(demo_store: tuple[Store, demo.DemoReport]) -> None:
    store, _ = demo_store
    arcachon = get_territory("commune:33009")
    clipped = store.polygons(arcachon, 2015)
    assert clipped.geometry.area.sum() / 1e4 == pytest.approx(arcachon.area_ha, rel=1e-4)


def test_only_real_changes_differ(layers: dict[int, gpd.GeoDataFrame]) -> None:
    y15, y18 = layers[2015], layers[2018].loc[layers[2015].index]
    assert shapely.equals_exact(y15.geometry.to_numpy(), y18.geometry.to_numpy(), tolerance=0).all()
    changed = (y15["code_cs"] != y18["code_cs"]) | (y15["code_us"] != y18["code_us"])
    changed_ha = shapely.area(y15.geometry.to_numpy()[changed.to_numpy()]).sum() / 1e4
    assert changed_ha <= 349.75 + 123.09  # real change polygons only (SOURCE.md totals)
    conifers = (y15["code_cs"] == "CS2.1.1.2") & (y15["code_us"] == "US1.2")
    share = shapely.area(y15.geometry.to_numpy()[conifers.to_numpy()]).sum() / y15.geometry.area.sum()
    assert share > 0.5  # Landes pine forest


def _real_change_ha(name: str, communes: gpd.GeoDataFrame) -> pd.Series:
    raw = gpd.read_file(DEMO_DIR / name)
    geoms = shapely.make_valid(raw.geometry.to_numpy())
    return pd.Series({code: shapely.area(shapely.intersection(geoms, geom)).sum() / 1e4
                      for code, geom in communes.geometry.items()})


@pytest.mark.parametrize(("direction", "shapefile", "published"), [
    ("artif", "A_B_2015_2018.shp", "A_B_2015_2"),
    ("desartif", "A_B_2018_2015.shp", "A_B_2018_2"),
])
def test_flows_are_the_real_ones(layers: dict[int, gpd.GeoDataFrame], communes: gpd.GeoDataFrame,
                                 direction: str, shapefile: str, published: str) -> None:
    y15, y18 = layers[2015], layers[2018].loc[layers[2015].index]
    was, now = y15["code_cs"].str.startswith(CS11), y18["code_cs"].str.startswith(CS11)
    mask = (~was & now) if direction == "artif" else (was & ~now)
    areas = pd.Series(shapely.area(y15.geometry.to_numpy()) / 1e4, index=y15.index)[mask]
    demo_ha = areas.groupby(y15.loc[mask, "commune"]).sum().reindex(communes.index, fill_value=0)
    truth = _real_change_ha(shapefile, communes)
    assert (demo_ha - truth).abs().max() <= 0.01
    # Published integers (hectares): equal after rounding, within half a hectare for 33019 Audenge
    # (27.502 ha real, published 27).
    assert (demo_ha - communes[published]).abs().max() <= 0.51
    assert (demo_ha.round() == communes[published]).sum() >= len(communes) - 1
    golden = {"artif": {"33529": 52.2, "33284": 35.7}, "desartif": {"33284": 49.1}}[direction]
    for code, value in golden.items():  # data/demo/SOURCE.md
        assert demo_ha[code] == pytest.approx(value, abs=0.05)


def test_build_is_deterministic(layers: dict[int, gpd.GeoDataFrame]) -> None:
    inputs = demo.load_inputs()
    rebuilt = demo.build_demo_partition(inputs=inputs)
    stored = layers[2018]
    layer = demo.millesime_layer(rebuilt, 2018)
    columns = ["id", "code_cs", "code_us"]
    # the store writes every partition in one geometry form (store.parquet.canonical_polygons)
    assert _wkb_hash(canonical_polygons(layer.geometry.to_numpy()), layer[columns]) == \
        _wkb_hash(stored.geometry.to_numpy(), stored[columns].reset_index(drop=True))
    # A commune built alone is identical to the same commune in the full build.
    alone = demo.build_demo_partition(["33009"], inputs=inputs)
    full = rebuilt[rebuilt["commune"] == "33009"]
    cols = ["id", "cs_2015", "cs_2018", "us_2015", "us_2018"]
    assert _wkb_hash(alone.geometry.to_numpy(), alone[cols]) == \
        _wkb_hash(full.geometry.to_numpy(), full[cols].reset_index(drop=True))


def test_reference_tables(demo_store: tuple[Store, demo.DemoReport]) -> None:
    store, _ = demo_store
    population = store.read_table("ref_population").set_index("code")
    assert population.loc["33009", ["pop_2019", "pop_2020", "pop_2022", "pop_2023"]].tolist() == [
        11630, 11076, 10895, 11092]
    flux = store.read_table("ref_lyon_landartifflux")
    communes_flux = flux[flux["land_type"] == "COMM"]
    assert communes_flux["flux_artif"].sum() == pytest.approx(201.84, abs=0.01)  # SOURCE.md
    assert communes_flux["flux_desartif"].sum() == pytest.approx(52.60, abs=0.01)
    assert flux.loc[flux["land_type"] == "EPCI", "land_id"].tolist() == ["200046977"]


def test_polygon_sizes_and_classes_look_like_ocsge(layers: dict[int, gpd.GeoDataFrame]) -> None:
    layer = layers[2015]
    areas_ha = pd.Series(shapely.area(layer.geometry.to_numpy()) / 1e4, index=layer.index)
    couple = layer["code_cs"] + "×" + layer["code_us"]
    share = areas_ha.groupby(couple).sum() / areas_ha.sum()
    assert share.idxmax() == "CS2.1.1.2×US1.2" and share.max() > 0.5
    median = areas_ha.groupby(couple).median()
    assert median["CS1.1.1.1×US5"] < 1.0  # town polygons: well under a hectare
    assert median["CS2.1.1.2×US1.2"] > 3.0 and median["CS2.2.1×US1.1"] > 3.0  # forest, fields
    assert {"CS1.2.2×US6.3", "CS1.2.2×US1.4", "CS1.1.1.2×US4.1.1"} <= set(share.index)
