"""Artificialisation / imperméabilisation on hand-computable rectangles (areas in m²).

One layer of x ∈ [0, 400], y ∈ [0, 100] (the whole "département"). In 2015: town T = [0,100]²
built (CS1.1.1.1 × US5, 10,000 m², cut into D = [0,40]×[0,50] and T' = T − D), parking
K = [120,180]×[50,100] (CS1.1.1.2 × US4.1.1, 3,000 m²), the rest field (CS2.2.1 × US1.1).
In 2018:

=========  ============================  ======  ===========  =====================================
piece      box                           m²      2018         official status 2018 (thresholds)
=========  ============================  ======  ===========  =====================================
D          [0,40]×[0,50]                 2,000   field        artificial: non-artificial enclave
                                                              < 2,500 in the town (rule 1)
X          [100,115]×[0,100]             1,500   road         artificial: touches the town, one
                                                              11,500 m² patch
Bd + Y     [200,215]×[20,40] in          300 +   built /      island 2,000 < 2,500 in fields
           [200,240]×[20,70]             1,700   yard         (rule 2); the 300 m² building stays
                                                              (rule 3), the yard does not
B40, B60   [300,308]×[10,15],            40, 60  built        40 m² not counted, 60 m² counted
           [300,310]×[50,56]                                  (rule 3)
G          [340,400]×[0,50]              3,000   yard         artificial (≥ 2,500)
K          (above)                       3,000   field        lost (≥ 2,500 m² non-artificial)
=========  ============================  ======  ===========  =====================================

Official: stock 2015 = T + K = 13,000 m²; stock 2018 = T + X + Bd + B60 + G = 14,860 m²;
gain = X + Bd + B60 + G = 4,860 m²; loss = K = 3,000 m²; net = 1,860 m² = stock change.
Matrix alone (raw): gain = X + Bd + Y + B40 + B60 + G = 6,600 m²; loss = D + K = 5,000 m².
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
    official_status,
    pair_from_layers,
    patch_labels,
)
from ocsge_engine.store import Store
from ocsge_engine.territories import Territory

from indicator_shapes import box, layer

FIELD, TOWN, ROAD, YARD = ("CS2.2.1", "US1.1"), ("CS1.1.1.1", "US5"), ("CS1.1.1.2", "US4.1.1"), \
    ("CS1.1.2.1", "US5")
T, D, K = box(0, 0, 100, 100), box(0, 0, 40, 50), box(120, 50, 180, 100)
X, Bd, ISLAND = box(100, 0, 115, 100), box(200, 20, 215, 40), box(200, 20, 240, 70)
B40, B60, G = box(300, 10, 308, 15), box(300, 50, 310, 56), box(340, 0, 400, 50)
FIELDS = box(100, 0, 400, 100)


def _layers():
    y2015 = layer([(shapely.difference(T, D), *TOWN), (D, *TOWN), (K, *ROAD),
                   (shapely.difference(FIELDS, K), *FIELD)])
    new = [X, ISLAND, B40, B60, G]
    y2018 = layer([(shapely.difference(T, D), *TOWN), (D, *FIELD), (K, *FIELD), (X, *ROAD),
                   (Bd, *TOWN), (shapely.difference(ISLAND, Bd), *YARD), (B40, *TOWN),
                   (B60, *TOWN), (G, *YARD),
                   (shapely.difference(FIELDS, shapely.union_all([K, *new])), *FIELD)])
    return y2015, y2018


def _pair():
    return pair_from_layers(*_layers(), 2015, 2018)


def test_official_status_of_the_scenario() -> None:
    status = official_status(_layers()[1])
    assert status["artif"].tolist() == [True, True, False, True, True, False, False, True, True,
                                        False]
    assert status["crit_seuil"].tolist() == [None, "enclave_non_artif_<2500", None, None,
                                             "bati_>=50", "ilot_artif_<2500", "ilot_artif_<2500",
                                             "bati_>=50", None, None]


def test_patch_labels_contiguity() -> None:
    labels = patch_labels([box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1), box(10, 0, 11, 1)])
    assert labels[0] == labels[1] == labels[2] != labels[3]
    assert patch_labels([]).tolist() == []


def test_official_thresholds_by_hand() -> None:
    result = flux_from_pair(_pair())
    assert result.method == "decree_matrix_official_thresholds"
    assert result.stock_from_ha == pytest.approx(1.3)
    assert result.stock_to_ha == pytest.approx(1.486)
    # X (1,500 m², touching the town) counts; Y and B40 do not; D stays artificial (rule 1)
    assert result.gross_gain_ha == pytest.approx(0.486)
    assert result.gross_loss_ha == pytest.approx(0.3)
    assert result.net_ha == pytest.approx(0.186)
    assert result.net_ha == pytest.approx(result.stock_change_ha, abs=1e-9)
    assert result.check_delta_ha == pytest.approx(0.0, abs=1e-9) and result.check_ok
    assert (result.raw_gain_ha, result.raw_loss_ha) == pytest.approx((0.66, 0.5))
    assert (result.dropped_gain_ha, result.dropped_loss_ha) == pytest.approx((0.174, 0.2))
    by_cs = result.by_cs.set_index("code")
    assert by_cs.loc["CS1.1.1.2", "gain_ha"] == pytest.approx(0.15)        # X
    assert by_cs.loc["CS1.1.1.2", "loss_ha"] == pytest.approx(0.3)         # K before the change
    assert by_cs.loc["CS1.1.1.1", "gain_ha"] == pytest.approx(0.036)       # Bd + B60
    assert by_cs.loc["CS1.1.2.1", "gain_ha"] == pytest.approx(0.3)         # G
    by_us = result.by_us.set_index("code")
    assert (by_us.loc["US5", "gain_ha"], by_us.loc["US4.1.1", "net_ha"]) == pytest.approx(
        (0.336, -0.15))
    assert result.origin == pytest.approx({"agricole": 0.486, "forestier": 0.0, "naturel": 0.0})
    # D is a field in 2018 but part of the official stock (rule 1)
    assert result.stock_by_cs.to_dict() == pytest.approx(
        {"CS1.1.1.1": 0.836, "CS1.1.1.2": 0.15, "CS1.1.2.1": 0.3, "CS2.2.1": 0.2})
    assert sum(shapely.area(result.gain_geometries)) == pytest.approx(4860.0)
    record = result.to_dict()
    assert record["check"]["ok"] and record["origin"]["estimate"]
    assert record["thresholds"] == {"min_patch_m2": 2500.0, "min_built_m2": 50.0}
    assert record["net_ha"] == pytest.approx(record["stock_change_ha"], abs=1e-9)


def test_stored_status_is_read_not_recomputed() -> None:
    y2015, y2018 = _layers()
    y2018 = y2018.assign(artif=False, crit_seuil=None)  # as if stored: everything non-artificial
    pair = pair_from_layers(y2015.assign(artif=False, crit_seuil=None), y2018, 2015, 2018)
    result = flux_from_pair(pair)
    assert (result.stock_from_ha, result.stock_to_ha, result.gross_gain_ha) == (0.0, 0.0, 0.0)
    assert result.raw_gain_ha == pytest.approx(0.66)  # the matrix still reads the codes


def test_matrix_without_thresholds_net_equals_stock_change() -> None:
    result = flux_from_pair(_pair(), thresholds=NO_THRESHOLDS)
    assert result.method == "decree_matrix" and result.thresholds is None
    assert (result.stock_from_ha, result.stock_to_ha) == pytest.approx((1.3, 1.46))
    assert (result.gross_gain_ha, result.gross_loss_ha) == pytest.approx((0.66, 0.5))
    assert result.net_ha == pytest.approx(result.stock_change_ha, abs=1e-9)
    assert result.dropped_gain_ha == 0.0


def test_other_threshold_values_are_computed_on_the_layers() -> None:
    result = flux_from_pair(_pair(), thresholds=Thresholds(min_patch_m2=1000.0))
    # D (2,000 m²) and the island (2,000 m²) are now large enough to keep their matrix status
    assert (result.stock_to_ha, result.gross_gain_ha, result.gross_loss_ha) == pytest.approx(
        (1.456, 0.656, 0.5))
    assert result.net_ha == pytest.approx(result.stock_change_ha, abs=1e-9)


def test_imper_has_no_threshold() -> None:
    result = flux_from_pair(_pair(), "imper")
    assert result.method == "impermeable_cs" and result.origin == {}
    assert (result.stock_from_ha, result.stock_to_ha) == pytest.approx((1.3, 0.99))
    assert (result.gross_gain_ha, result.gross_loss_ha) == pytest.approx((0.19, 0.5))
    assert result.net_ha == pytest.approx(result.stock_change_ha, abs=1e-9)


def test_self_check_warns_when_coverage_differs(caplog: pytest.LogCaptureFixture) -> None:
    y2015 = layer([(box(0, 0, 100, 100), *FIELD)])
    y2018 = layer([(box(0, 0, 100, 100), *FIELD), (box(100, 0, 200, 100), *ROAD)])
    with caplog.at_level(logging.WARNING, logger="ocsge_engine.indicators.artif"):
        result = flux_from_pair(pair_from_layers(y2015, y2018, 2015, 2018))
    # 1 ha of road appears where 2015 has no data: stock change without any flux
    assert (result.gross_gain_ha, result.stock_change_ha) == pytest.approx((0.0, 1.0))
    assert result.check_delta_ha == pytest.approx(-1.0) and not result.check_ok
    assert any("net flux" in r.message for r in caplog.records if r.levelno == logging.WARNING)


def test_cs11_rule_counts_quarries() -> None:
    y2015 = layer([(box(0, 0, 100, 100), "CS2.1.1.2", "US1.2")])
    y2018 = layer([(box(0, 0, 100, 100), "CS1.1.2.1", "US1.3")])  # quarry: not artificial by decree
    pair = pair_from_layers(y2015, y2018, 2015, 2018)
    assert flux_from_pair(pair, rule="cs1.1").gross_gain_ha == pytest.approx(1.0)
    assert flux_from_pair(pair).gross_gain_ha == 0.0


# --- store: status computed on the whole layer, before clipping; additivity ----------------------

def _scenario_store(path, with_status: bool) -> Store:
    store = Store.open(path, create=True)
    for year, gdf in zip((2015, 2018), _layers()):
        gdf = gdf.assign(id=[f"{year}-{k}" for k in range(len(gdf))], departement="33",
                         millesime=year)
        if with_status:
            status = official_status(gdf)
            gdf = gdf.assign(artif=status["artif"], crit_seuil=status["crit_seuil"])
        store.write_layer(gdf, layer="occupation_sol", departement="33", millesime=year,
                          source_file="hand", source_sha256=f"hand{year}")
    return store


def _area(xmin: float, xmax: float) -> Territory:
    return Territory("polygon", f"x{xmin}", f"x{xmin}", box(xmin, -10, xmax, 110), ("33",))


_FIGURES = ("stock_from_ha", "stock_to_ha", "gross_gain_ha", "gross_loss_ha", "net_ha",
            "raw_gain_ha", "raw_loss_ha")


@pytest.mark.parametrize("with_status", [False, True])
def test_status_before_clipping_and_additivity(tmp_path, with_status: bool) -> None:
    store = _scenario_store(tmp_path / "store", with_status)
    whole = artificialisation(store, _area(-10, 410), 2015, 2018).to_dict()
    assert whole["method"] == "decree_matrix_official_thresholds"
    assert [whole[k] for k in _FIGURES[:5]] == pytest.approx([1.3, 1.486, 0.486, 0.3, 0.186])
    # x = 107.5 cuts the extension X (2 × 750 m²): each half stays artificial, although alone
    # in its territory it would be a 750 m² island; x = 150 cuts the lost parking K in halves
    # of 1,500 m², both counted
    west, east = (artificialisation(store, _area(*b), 2015, 2018) for b in ((-10, 107.5),
                                                                             (107.5, 410)))
    assert (west.gross_gain_ha, east.gross_gain_ha) == pytest.approx((0.075, 0.411))
    west2, east2 = (artificialisation(store, _area(*b), 2015, 2018) for b in ((-10, 150),
                                                                               (150, 410)))
    assert (west2.gross_loss_ha, east2.gross_loss_ha) == pytest.approx((0.15, 0.15))
    for a, b in ((west, east), (west2, east2)):
        for key in _FIGURES:
            assert a.to_dict()[key] + b.to_dict()[key] == pytest.approx(whole[key], abs=1e-6), key
        assert a.check_delta_ha == pytest.approx(0, abs=1e-9)
        assert b.check_delta_ha == pytest.approx(0, abs=1e-9)
    # the partitions now carry the status (computed lazily when they were written without it)
    for year in (2015, 2018):
        assert {"artif", "crit_seuil"} <= set(store.partition_columns("occupation_sol", "33", year))
    stored = store.read_layer("occupation_sol", "33", 2018)
    assert stored["artif"].sum() == 6 and stored["crit_seuil"].notna().sum() == 5
    assert store.catalog()["source_sha256"].tolist() == ["hand2015", "hand2018"]


def test_lazy_status_is_computed_once(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    from ocsge_engine.indicators import ensure_status

    store = _scenario_store(tmp_path / "store", with_status=False)
    assert ensure_status(store, ("33", "40"), 2018) == 1  # D40 absent: skipped
    assert ensure_status(store, ("33",), 2018) == 0
    row = store.catalog().set_index("millesime").loc["2018"]
    assert (row["source_file"], row["source_sha256"], row["n_features"]) == ("hand", "hand2018", 10)


def test_layers_export_of_an_older_store_carries_the_status(tmp_path) -> None:
    """A store written without the status (an older version) gets it before the layers export
    reads it (``polygons_with_status``), as the figures do: the same 6 artificialised
    polygons in 2018 as the lazy status above, not a raw Arrow error on the missing field."""
    from ocsge_engine.report.layers import territory_layers

    store = _scenario_store(tmp_path / "store", with_status=False)
    layers = territory_layers(store, _area(-10, 410), 2015, 2018)
    exported = layers["occupation_sol_2018"]
    assert (exported["artif"] == "artif").sum() == 6
    assert exported["crit_seuil"].notna().sum() == 5
    assert {"artif", "crit_seuil"} <= set(store.partition_columns("occupation_sol", "33", 2018))
    whole = artificialisation(store, _area(-10, 410), 2015, 2018)
    assert exported.loc[exported["artif"] == "artif"].area.sum() / 1e4 == pytest.approx(
        whole.stock_to_ha)


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


def test_status_that_cannot_be_stored_is_a_clear_error(tmp_path, monkeypatch) -> None:
    from ocsge_engine.errors import StoreError
    from ocsge_engine.store import db

    store = _scenario_store(tmp_path / "store", with_status=False)

    def read_only(*args, **kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(db.Store, "_write", read_only)
    with pytest.raises(StoreError) as err:
        artificialisation(store, _area(-10, 410), 2015, 2018)
    assert "lecture seule" in err.value.user_message
    with pytest.raises(MillesimeError, match="absent"):
        store.read_layer("occupation_sol", "33", 2021)
    assert store.partition_columns("occupation_sol", "40", 2018) is None
