"""DIFF-layer path: hand-computed flows, agreement with the overlay, inconsistency errors."""

from __future__ import annotations

import pandas as pd
import pytest

from ocsge_engine.errors import SchemaError
from ocsge_engine.flows import (
    BY_VALUES,
    FlowCheckError,
    compare_matrices,
    couple_stocks,
    exchange_matrix_from_diff,
    exchange_matrix_from_layers,
)


@pytest.mark.parametrize("by", BY_VALUES)
def test_diff_matches_hand_computed_flows(layers, diff_layer, expected, by):
    gdf_from, gdf_to = layers
    matrix = exchange_matrix_from_diff(diff_layer, gdf_from, gdf_to, by, 2015, 2018)
    got = {(r.code_from, r.code_to): r.area_ha for r in matrix.table.itertuples()}
    assert got.keys() == expected[by].keys()
    for key, area in expected[by].items():
        assert got[key] == pytest.approx(area, rel=1e-9), key
    assert matrix.source == "diff"
    overlay = exchange_matrix_from_layers(gdf_from, gdf_to, by)
    assert compare_matrices(matrix, overlay)["delta_ha"].abs().max() < 1e-9


def test_diff_accepts_couple_stock_tables(layers, diff_layer):
    gdf_from, gdf_to = layers
    stocks = couple_stocks(gdf_from)
    assert stocks.set_index(["code_cs", "code_us"])["area_ha"].to_dict() == pytest.approx({
        ("CS1.1.1.1", "US5"): 0.8, ("CS1.2.2", "US6.3"): 0.6, ("CS2.1.1.2", "US1.2"): 0.8,
        ("CS2.2.1", "US1.1"): 0.6})
    matrix = exchange_matrix_from_diff(diff_layer, stocks, couple_stocks(gdf_to), "artif")
    assert matrix.pivot().loc["non_artificialise", "artificialise"] == pytest.approx(0.35)


def test_diff_without_second_stock_derives_columns(layers, diff_layer):
    matrix = exchange_matrix_from_diff(diff_layer, layers[0], None, "anf")
    assert matrix.stocks_to.to_dict() == pytest.approx(
        {"artificialise": 0.35, "agricole": 1.2, "forestier": 0.8, "naturel": 0.45})


def test_diff_inconsistent_with_second_stock_fails(layers, diff_layer):
    gdf_from, gdf_to = layers
    # Drop the road polygon from the DIFF: 0.15 ha naturel->artificialise goes missing.
    with pytest.raises(FlowCheckError, match="column artificialise: 0.200000 ha vs stock 0.350000"):
        exchange_matrix_from_diff(diff_layer.iloc[:2], gdf_from, gdf_to, "anf")


def test_diff_moving_more_than_the_stock_fails(layers, diff_layer):
    gdf_from, _ = layers
    doubled = pd.concat([diff_layer, diff_layer.iloc[[1]]], ignore_index=True)
    with pytest.raises(FlowCheckError, match="cell artificialise->artificialise = -0.800000"):
        exchange_matrix_from_diff(doubled, gdf_from, None, "anf")


def test_diff_schema_errors(layers, diff_layer):
    with pytest.raises(SchemaError, match="code_us_to"):
        exchange_matrix_from_diff(diff_layer.drop(columns="code_us_to"), layers[0], None, "anf")
    with pytest.raises(SchemaError):
        exchange_matrix_from_diff(diff_layer, pd.DataFrame({"x": [1]}), None, "anf")
