"""Exact overlay path: hand-computed rectangles, identity short-circuit, self-check, oracle."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ocsge_engine.errors import CrsError, SchemaError
from ocsge_engine.flows import (
    BY_VALUES,
    FlowCheckError,
    exchange_matrix_from_layers,
    identical_pairs,
    overlay_pieces,
)


def as_dict(table: pd.DataFrame) -> dict[tuple[str, str], float]:
    return {(r.code_from, r.code_to): r.area_ha for r in table.itertuples()}


@pytest.mark.parametrize("by", BY_VALUES)
def test_overlay_matches_hand_computed_flows(layers, expected, by):
    gdf_from, gdf_to = layers
    matrix = exchange_matrix_from_layers(gdf_from, gdf_to, by, 2015, 2018)
    got = as_dict(matrix.table)
    assert got.keys() == expected[by].keys()
    for key, area in expected[by].items():
        assert got[key] == pytest.approx(area, rel=1e-9), key
    assert matrix.source == "overlay" and (matrix.year_from, matrix.year_to) == (2015, 2018)
    assert list(matrix.table.columns) == ["code_from", "code_to", "area_ha"]
    wide = matrix.pivot()
    assert list(wide.index) == list(wide.columns)
    np.testing.assert_allclose(wide.sum(axis=1), matrix.stocks_from.reindex(wide.index, fill_value=0))
    np.testing.assert_allclose(wide.sum(axis=0), matrix.stocks_to.reindex(wide.columns, fill_value=0))
    assert matrix.stocks_from.sum() == pytest.approx(2.8) and matrix.stocks_to.sum() == pytest.approx(2.8)


def test_stocks_and_net_flux_by_family(layers):
    matrix = exchange_matrix_from_layers(*layers, "anf")
    assert matrix.stocks_from.to_dict() == pytest.approx(
        {"artificialise": 0.8, "agricole": 0.6, "forestier": 0.8, "naturel": 0.6})
    assert matrix.stocks_to.to_dict() == pytest.approx(
        {"artificialise": 0.35, "agricole": 1.2, "forestier": 0.8, "naturel": 0.45})
    assert matrix.net().to_dict() == pytest.approx(
        {"artificialise": -0.45, "agricole": 0.6, "forestier": 0.0, "naturel": -0.15})
    assert list(matrix.pivot().index) == ["artificialise", "agricole", "forestier", "naturel"]


def test_regroup_equals_direct_computation(layers):
    fine = exchange_matrix_from_layers(*layers, "cs_us")
    for by in ("anf", "cs2", "us1"):
        direct = exchange_matrix_from_layers(*layers, by)
        pd.testing.assert_frame_equal(fine.regroup(by).table, direct.table)


def test_identical_geometries_are_short_circuited(layers):
    gdf_from, gdf_to = layers
    pieces = overlay_pieces(gdf_from.geometry.to_numpy(), gdf_to.geometry.to_numpy())
    # A2 = B3 and A3 = B4 after clipping; A1 and A4 are cut against B1/B2 and B5/B6.
    assert pieces.n_identical == 2
    assert pieces.n_pairs == 4
    assert pieces.area_m2.sum() == pytest.approx(28_000)


def test_identity_ignores_vertex_order_and_rejects_duplicates():
    square = shapely.box(0, 0, 1, 1)
    rotated = shapely.Polygon([(1, 1), (0, 1), (0, 0), (1, 0)])  # other start, other orientation
    other = shapely.box(2, 0, 3, 1)
    i, j = identical_pairs(np.array([square, other]), np.array([other, rotated]))
    assert sorted(zip(i.tolist(), j.tolist())) == [(0, 1), (1, 0)]
    # A geometry duplicated in one layer is not short-circuited (it goes to the intersection).
    i, j = identical_pairs(np.array([square, square]), np.array([rotated]))
    assert len(i) == 0


def test_gap_in_second_layer_fails_the_self_check(layers):
    gdf_from, gdf_to = layers
    with pytest.raises(FlowCheckError, match="row naturel: 0.450000 ha vs stock 0.600000"):
        exchange_matrix_from_layers(gdf_from, gdf_to.iloc[:-1], "anf")


def test_overlapping_second_layer_fails_the_self_check(layers):
    gdf_from, gdf_to = layers
    doubled = pd.concat([gdf_to, gdf_to.iloc[[0]]], ignore_index=True)
    with pytest.raises(FlowCheckError, match="row CS2: 1.600000 ha vs stock 1.400000"):
        exchange_matrix_from_layers(gdf_from, gpd.GeoDataFrame(doubled, crs=gdf_to.crs), "cs1")


def test_bad_inputs_raise_specific_errors(layers):
    gdf_from, gdf_to = layers
    with pytest.raises(SchemaError, match="code_us"):
        exchange_matrix_from_layers(gdf_from.drop(columns="code_us"), gdf_to, "anf")
    with pytest.raises(CrsError):
        exchange_matrix_from_layers(gdf_from, gdf_to.to_crs(3857), "anf")
    with pytest.raises(ValueError, match="by must be one of"):
        exchange_matrix_from_layers(gdf_from, gdf_to, "cs5")  # type: ignore[arg-type]


def test_empty_layers_give_an_empty_matrix(layers):
    empty = layers[0].iloc[:0]
    matrix = exchange_matrix_from_layers(empty, empty, "anf")
    assert matrix.table.empty and matrix.pivot().empty


def test_invalid_geometry_is_repaired_before_intersection(make_layer):
    # A bow-tie (self-intersecting) first-layer polygon covering two triangles of 0.25 ha each.
    gdf_to = make_layer([((0, 0, 50, 100), "CS1.1.1.1", "US5"), ((50, 0, 100, 100), "CS2.2.1", "US1.1")])
    x0, y0 = gdf_to.total_bounds[:2]
    bowtie = shapely.Polygon([(x0, y0), (x0 + 100, y0 + 100), (x0 + 100, y0), (x0, y0 + 100)])
    gdf_from = gpd.GeoDataFrame({"code_cs": ["CS2.2.1"], "code_us": ["US1.1"]},
                                geometry=[shapely.make_valid(bowtie)], crs="EPSG:2154")
    raw_from = gdf_from.set_geometry([bowtie], crs="EPSG:2154")
    assert not raw_from.geometry.is_valid.all()
    pieces = overlay_pieces(raw_from.geometry.to_numpy(), gdf_to.geometry.to_numpy())
    assert pieces.area_m2.sum() == pytest.approx(5000.0)


def _jittered_grid(rng: np.random.Generator, n: int, moved: np.ndarray | None) -> np.ndarray:
    """n×n quads of 100 m on a jittered lattice; ``moved`` lattice points get a new jitter."""
    xs, ys = np.meshgrid(np.arange(n + 1) * 100.0, np.arange(n + 1) * 100.0, indexing="ij")
    jitter = rng.uniform(-20, 20, size=(2, n + 1, n + 1))
    jitter[:, [0, -1], :] = 0
    jitter[:, :, [0, -1]] = 0
    if moved is not None:
        jitter[:, moved[0], moved[1]] = rng.uniform(-20, 20, size=(2, len(moved[0])))
    px, py = xs + jitter[0], ys + jitter[1]
    quads = []
    for i in range(n):
        for j in range(n):
            ring = [(px[i, j], py[i, j]), (px[i + 1, j], py[i + 1, j]),
                    (px[i + 1, j + 1], py[i + 1, j + 1]), (px[i, j + 1], py[i, j + 1])]
            quads.append(shapely.Polygon(ring))
    return np.array(quads)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_partitions_agree_with_geopandas_overlay(seed):
    """Independent oracle: geopandas.overlay on random partitions sharing most geometries."""
    n = 12
    rng = np.random.default_rng(seed)
    state = rng.bit_generator.state
    geoms_from = _jittered_grid(rng, n, None)
    moved = np.array([(i, j) for i in range(2, n, 2) for j in range(2, n, 2) if rng.random() < 0.3]).T
    rng.bit_generator.state = state  # same base lattice for the second millésime
    geoms_to = _jittered_grid(rng, n, moved)
    codes = [("CS2.2.1", "US1.1"), ("CS1.1.1.1", "US5"), ("CS2.1.1.1", "US1.2"), ("CS1.2.2", "US6.3")]
    pick_from = rng.integers(0, 4, n * n)
    pick_to = np.where(rng.random(n * n) < 0.2, rng.integers(0, 4, n * n), pick_from)
    gdf_from = gpd.GeoDataFrame({"code_cs": [codes[k][0] for k in pick_from],
                                 "code_us": [codes[k][1] for k in pick_from]},
                                geometry=geoms_from, crs="EPSG:2154")
    gdf_to = gpd.GeoDataFrame({"code_cs": [codes[k][0] for k in pick_to],
                               "code_us": [codes[k][1] for k in pick_to]},
                              geometry=geoms_to, crs="EPSG:2154")
    matrix = exchange_matrix_from_layers(gdf_from, gdf_to, "cs_us")
    oracle = gpd.overlay(gdf_from, gdf_to, how="intersection", keep_geom_type=True)
    oracle_table = (oracle.assign(area_ha=oracle.geometry.area / 1e4,
                                  code_from=oracle["code_cs_1"] + "_" + oracle["code_us_1"],
                                  code_to=oracle["code_cs_2"] + "_" + oracle["code_us_2"])
                    .groupby(["code_from", "code_to"])["area_ha"].sum())
    got = matrix.table.set_index(["code_from", "code_to"])["area_ha"]
    joined = pd.concat([got, oracle_table], axis=1, keys=["ours", "oracle"]).fillna(0.0)
    np.testing.assert_allclose(joined["ours"], joined["oracle"], rtol=1e-9, atol=1e-9)
    assert matrix.table["area_ha"].sum() == pytest.approx(n * n, rel=1e-12)
