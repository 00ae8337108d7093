"""Artificialisation / imperméabilisation on hand-computable rectangles (areas in m²).

Field F = [0,200]² (CS2.2.1 × US1.1, agricole), built block E = [200,300]×[0,100] (CS1.1.1.1 × US5),
road R = [300,340]×[0,50] (CS1.1.1.2 × US4.1.1, 2,000 m²). In 2018, pieces of F become artificial:

======  =======================  =========  =========  ================================
piece   box                      m²         CS 2018    thresholds
======  =======================  =========  =========  ================================
P1      [0,50]×[0,50.02]         2,501      CS1.1.1.2  kept (≥ 2,500)
P2      [100,149.98]×[0,50]      2,499      CS1.1.1.2  dropped
P3      [0,7]×[80,87]            49         CS1.1.1.1  dropped (built < 50)
P4      [100,107.3]×[80,87]      51.1       CS1.1.1.1  kept (built ≥ 50)
P5+P6   [150,190]×[150,200] +    2,000+600  1.1.1.2 /  kept: contiguous patch 2,600 m²
        [190,200]×[140,200]                 1.1.1.1
======  =======================  =========  =========  ================================

and artificial land is lost: D = [200,240]×[0,50] of E (built, 2,000 m², kept by the 50 m² rule)
and the whole road R (2,000 m², not built, dropped).
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import shapely

from ocsge_engine.errors import MillesimeError
from ocsge_engine.indicators import (
    NO_THRESHOLDS,
    Thresholds,
    artificialisation,
    flux_from_ign,
    flux_from_pair,
    pair_from_layers,
    patch_labels,
    threshold_mask,
)
from ocsge_engine.store import Store
from ocsge_engine.territories import Territory

from indicator_shapes import box, layer

F, E, R = box(0, 0, 200, 200), box(200, 0, 300, 100), box(300, 0, 340, 50)
P = {"P1": box(0, 0, 50, 50.02), "P2": box(100, 0, 149.98, 50), "P3": box(0, 80, 7, 87),
     "P4": box(100, 80, 107.3, 87), "P5": box(150, 150, 190, 200), "P6": box(190, 140, 200, 200)}
D = box(200, 0, 240, 50)
GAIN_CS = {"P1": "CS1.1.1.2", "P2": "CS1.1.1.2", "P3": "CS1.1.1.1", "P4": "CS1.1.1.1",
           "P5": "CS1.1.1.2", "P6": "CS1.1.1.1"}


def _pair():
    y2015 = layer([(F, "CS2.2.1", "US1.1"), (E, "CS1.1.1.1", "US5"), (R, "CS1.1.1.2", "US4.1.1")])
    rest = shapely.difference(F, shapely.union_all(list(P.values())))
    rows = [(rest, "CS2.2.1", "US1.1"), (shapely.difference(E, D), "CS1.1.1.1", "US5"),
            (D, "CS2.2.1", "US1.1"), (R, "CS2.2.1", "US6.3")]
    rows += [(geom, GAIN_CS[name], "US5") for name, geom in P.items()]
    return pair_from_layers(y2015, layer(rows), 2015, 2018)


@pytest.mark.parametrize(("geoms", "built", "expected"), [
    ([box(0, 0, 50, 50.02)], [False], [True]),        # 2,501 m²
    ([box(0, 0, 49.98, 50)], [False], [False]),       # 2,499 m²
    ([box(0, 0, 7.3, 7)], [True], [True]),            # 51.1 m² built
    ([box(0, 0, 7, 7)], [True], [False]),             # 49 m² built
    ([box(0, 0, 7, 7)], [False], [False]),            # 49 m², not built
    # 2,000 + 600 m² contiguous: one 2,600 m² patch, both kept
    ([box(0, 0, 40, 50), box(40, 0, 52, 50)], [False, False], [True, True]),
    # the same 2,000 m² apart from the 600 m²: both dropped
    ([box(0, 0, 40, 50), box(60, 0, 72, 50)], [False, False], [False, False]),
    # built 600 m² inside a 2,400 m² patch: only the building counts
    ([box(0, 0, 36, 50), box(36, 0, 48, 50)], [False, True], [False, True]),
])
def test_threshold_mask(geoms, built, expected) -> None:
    assert threshold_mask(geoms, built).tolist() == expected
    assert threshold_mask(geoms, built, NO_THRESHOLDS).all()


def test_patch_labels_contiguity() -> None:
    labels = patch_labels([box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1), box(10, 0, 11, 1)])
    assert labels[0] == labels[1] == labels[2] != labels[3]
    assert patch_labels([]).tolist() == []


def test_matrix_with_thresholds_by_hand() -> None:
    result = flux_from_pair(_pair())
    assert result.method == "decree_matrix_thresholds"
    assert result.stock_from_ha == pytest.approx(1.2)            # E + R
    assert result.stock_to_ha == pytest.approx(1.57001, abs=1e-6)  # E - D + all gains
    assert result.raw_gain_ha == pytest.approx(0.77001, abs=1e-6)
    assert result.gross_gain_ha == pytest.approx(0.51521, abs=1e-6)  # P1 + P4 + P5 + P6
    assert result.raw_loss_ha == pytest.approx(0.4)
    assert result.gross_loss_ha == pytest.approx(0.2)            # D (built), not R
    assert result.net_ha == pytest.approx(0.31521, abs=1e-6)
    # identity: thresholds explain the whole gap between net flux and stock change
    assert result.net_ha + result.dropped_gain_ha - result.dropped_loss_ha == pytest.approx(
        result.stock_change_ha, abs=1e-9)
    assert result.check_delta_ha == pytest.approx(-0.0548, abs=1e-6) and result.check_ok
    by_cs = result.by_cs.set_index("code")
    assert by_cs.loc["CS1.1.1.2", "gain_ha"] == pytest.approx(0.4501, abs=1e-6)
    assert by_cs.loc["CS1.1.1.1", "gain_ha"] == pytest.approx(0.06511, abs=1e-6)
    assert by_cs.loc["CS1.1.1.1", "loss_ha"] == pytest.approx(0.2)
    assert result.by_us.set_index("code").loc["US5", "gain_ha"] == pytest.approx(0.51521, abs=1e-6)
    assert result.origin == pytest.approx({"agricole": 0.51521, "forestier": 0.0,
                                           "naturel": 0.0}, abs=1e-6)
    assert sum(shapely.area(result.gain_geometries)) == pytest.approx(5152.1, abs=0.01)
    record = result.to_dict()
    assert record["check"]["ok"] and record["origin"]["estimate"]
    assert record["thresholds"] == {"min_patch_m2": 2500.0, "min_built_m2": 50.0}


def test_matrix_without_thresholds_net_equals_stock_change() -> None:
    result = flux_from_pair(_pair(), thresholds=NO_THRESHOLDS)
    assert result.method == "decree_matrix"
    assert result.gross_gain_ha == pytest.approx(0.77001, abs=1e-6)
    assert result.net_ha == pytest.approx(result.stock_change_ha, abs=1e-9)
    assert result.dropped_gain_ha == 0.0 and result.thresholds is None


def test_imper_has_no_threshold() -> None:
    result = flux_from_pair(_pair(), "imper")
    assert result.method == "impermeable_cs" and result.origin == {}
    assert result.gross_gain_ha == pytest.approx(0.77001, abs=1e-6)
    assert result.gross_loss_ha == pytest.approx(0.4)
    assert result.net_ha == pytest.approx(result.stock_change_ha, abs=1e-9)


def test_self_check_warns_above_half_hectare(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ocsge_engine.indicators.artif"):
        result = flux_from_pair(_pair(), thresholds=Thresholds(min_patch_m2=1e6, min_built_m2=1e6))
    assert result.gross_gain_ha == 0.0 and result.gross_loss_ha == 0.0
    assert result.check_delta_ha == pytest.approx(-0.37001, abs=1e-6)
    big = flux_from_pair(_pair_scaled(), thresholds=Thresholds(min_patch_m2=1e7, min_built_m2=1e7))
    assert not big.check_ok and big.check_delta_ha < -0.5
    assert any("net flux" in r.message for r in caplog.records if r.levelno == logging.WARNING)


def _pair_scaled():
    y2015 = layer([(box(0, 0, 1000, 100), "CS2.2.1", "US1.1")])
    y2018 = layer([(box(0, 0, 1000, 100), "CS1.1.1.2", "US4.1.1")])
    return pair_from_layers(y2015, y2018, 2015, 2018)


def test_cs11_rule_counts_quarries() -> None:
    y2015 = layer([(box(0, 0, 100, 100), "CS2.1.1.2", "US1.2")])
    y2018 = layer([(box(0, 0, 100, 100), "CS1.1.2.1", "US1.3")])  # quarry: not artificial by decree
    pair = pair_from_layers(y2015, y2018, 2015, 2018)
    assert flux_from_pair(pair, rule="cs1.1").gross_gain_ha == pytest.approx(1.0)
    assert flux_from_pair(pair).gross_gain_ha == 0.0


# --- IGN ARTIFICIALISATION layers -----------------------------------------------------------------

A, B = box(0, 0, 100, 100), box(100, 0, 200, 100)
B1, B2 = box(100, 0, 150, 100), box(150, 0, 200, 100)


def _ign_layers(extra_loss: bool = False):
    artif_from = layer([(A, "CS1.1.1.1", "US5"), (B, "CS2.2.1", "US1.1")], artif=[True, False])
    artif_to = layer([(A, "CS1.1.1.1", "US5"), (B1, "CS1.1.1.2", "US4.1.1"),
                      (B2, "CS2.2.1", "US1.1")], artif=[True, True, False])
    geoms, signs = [B1], [1]
    if extra_loss:  # inconsistent with the stocks: A stays artificial in artif_to
        geoms, signs = [B1, box(0, 0, 70, 100)], [1, -1]
    diff = layer([(g, "", "") for g in geoms], artificialisation=signs)
    return artif_from, artif_to, diff.drop(columns=["code_cs", "code_us"])


def test_ign_flux_by_hand() -> None:
    result = flux_from_ign(*_ign_layers(), year_from=2015, year_to=2018)
    assert result.method == "ign_artif" and result.thresholds is None
    assert (result.stock_from_ha, result.stock_to_ha) == pytest.approx((1.0, 1.5))
    assert (result.gross_gain_ha, result.gross_loss_ha, result.net_ha) == pytest.approx((0.5, 0, 0.5))
    assert result.check_ok and result.check_delta_ha == pytest.approx(0.0)
    assert result.by_cs.set_index("code").loc["CS1.1.1.2", "gain_ha"] == pytest.approx(0.5)
    assert result.origin["agricole"] == pytest.approx(0.5)
    assert result.stock_by_cs.to_dict() == pytest.approx({"CS1.1.1.1": 1.0, "CS1.1.1.2": 0.5})


def test_ign_flux_inconsistent_fails_check() -> None:
    result = flux_from_ign(*_ign_layers(extra_loss=True))
    assert result.net_ha == pytest.approx(-0.2)
    assert result.check_delta_ha == pytest.approx(-0.7) and not result.check_ok


def _write(store: Store, gdf, layer_name: str, millesime) -> None:
    gdf = gdf.copy()
    gdf["id"] = [f"{layer_name}{k}" for k in range(len(gdf))]
    gdf["departement"] = "33"
    if layer_name == "artif":
        gdf["crit_seuil"] = None
    if layer_name == "artif_diff":
        gdf["millesime_from"], gdf["millesime_to"] = millesime
    else:
        gdf["millesime"] = millesime
    store.write_layer(gdf, layer=layer_name, departement="33", millesime=millesime,
                      source_file="hand", source_sha256=f"{layer_name}{millesime}")


def test_store_auto_uses_ign_layers(tmp_path) -> None:
    store = Store.open(tmp_path / "store", create=True)
    artif_from, artif_to, diff = _ign_layers()
    _write(store, artif_from, "artif", 2015)
    _write(store, artif_to, "artif", 2018)
    _write(store, diff, "artif_diff", (2015, 2018))
    territory = Territory("polygon", "t", "t", box(-10, -10, 210, 110), ("33",))
    result = artificialisation(store, territory, 2015, 2018)
    assert result.method == "ign_artif" and result.gross_gain_ha == pytest.approx(0.5)
    with pytest.raises(MillesimeError, match="absent"):  # no occupation_sol for the matrix
        artificialisation(store, territory, 2015, 2018, source="matrix")
    with pytest.raises(MillesimeError, match="inverted"):
        artificialisation(store, territory, 2018, 2015, source="ign")
    assert np.isclose(result.stock_to_ha, 1.5)
