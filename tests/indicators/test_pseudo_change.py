"""Pseudo-change: DIFF vs overlay disagreement on a fixture made to disagree, implausible rules,
draft flags (reviewed, never recorded until accepted)."""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "processes"))
from process_shapes import box, layers  # noqa: E402

from ocsge_engine.flags import FlagStore  # noqa: E402
from ocsge_engine.flows import build_matrix, transitions_from_diff, transitions_from_layers  # noqa: E402
from ocsge_engine.flows.processes import ProcessTableError  # noqa: E402
from ocsge_engine.indicators.pseudo_change import (  # noqa: E402
    REASON_DISAGREEMENT,
    default_rules,
    draft_flags,
    implausible_pieces,
    match_rules,
    prediction_drafts,
    pseudo_change,
    read_rules,
)


def diff_layer(rows):
    return gpd.GeoDataFrame(
        {"code_cs_from": [r[1] for r in rows], "code_us_from": [r[2] for r in rows],
         "code_cs_to": [r[3] for r in rows], "code_us_to": [r[4] for r in rows]},
        geometry=[box(*r[0]) for r in rows], crs="EPSG:2154")


@pytest.fixture(scope="module")
def disagreeing_matrix():
    """Overlay of the process fixture vs a DIFF layer that (a) misses square 3's quarry
    and (b) records square 1 as renatured to forest instead of agriculture."""
    before, after = layers()
    overlay = transitions_from_layers(before, after)
    diff = diff_layer([
        ((0, 0, 50, 100), "CS2.2.1", "US1.1", "CS1.1.1.1", "US5"),
        ((50, 0, 100, 100), "CS2.2.1", "US1.1", "CS1.1.1.2", "US4.1.1"),
        ((100, 0, 200, 100), "CS1.1.1.1", "US5", "CS2.1.1.1", "US1.2"),   # overlay: CS2.2.1 US1.1
        ((200, 0, 300, 100), "CS2.2.1", "US5", "CS1.1.1.1", "US5"),
        ((500, 0, 600, 100), "CS2.2.1", "US1.1", "CS2.1.2", "US6.3"),
        ((600, 0, 700, 100), "CS2.1.1.2", "US1.2", "CS2.1.1.1", "US1.2"),
        # square 3 (carrière) absent from the DIFF
    ])
    other = transitions_from_diff(diff, overlay.stocks_from, overlay.stocks_to)
    matrix = build_matrix(overlay, "cs_us", 2015, 2018)
    return matrix.with_disagreement(build_matrix(other, "cs_us", 2015, 2018, check=False))


def test_disagreement_cells(disagreeing_matrix):
    result = pseudo_change(disagreeing_matrix, min_disagreement_ha=0.5)
    assert result.has_diff
    cells = result.disagreement.set_index(["code_from", "code_to"])["delta_ha"]
    assert cells[("CS2.2.1_US1.1", "CS1.1.2.1_US1.3")] == pytest.approx(1.0)   # quarry: overlay only
    assert cells[("CS2.2.1_US1.1", "CS2.2.1_US1.1")] == pytest.approx(-1.0)    # DIFF: unchanged
    assert cells[("CS1.1.1.1_US5", "CS2.2.1_US1.1")] == pytest.approx(1.0)
    assert cells[("CS1.1.1.1_US5", "CS2.1.1.1_US1.2")] == pytest.approx(-1.0)
    assert len(cells) == 4
    # bati -> forêt in the DIFF is not in the overlay's flows: not an implausible flow here
    areas = result.area_by_reason()
    assert areas[REASON_DISAGREEMENT] == pytest.approx(4.0)
    assert areas["coniferes_feuillus"] == pytest.approx(1.0)   # square 6 over 3 years
    # a threshold above every delta leaves nothing to check
    assert pseudo_change(disagreeing_matrix, min_disagreement_ha=1.5).disagreement.empty


def test_no_diff_layer_means_no_disagreement_signal():
    before, after = layers()
    matrix = build_matrix(transitions_from_layers(before, after), "cs_us", 2015, 2018)
    result = pseudo_change(matrix)
    assert not result.has_diff and result.disagreement.empty
    assert list(result.implausible["rule"]) == ["coniferes_feuillus"]


def test_rules_depend_on_the_period():
    pairs = pd.DataFrame([["CS1.1.1.1", "US5", "CS2.1.1.1", "US1.2"],
                          ["CS2.2.1", "US1.1", "CS2.1.1.2", "US1.2"],
                          ["CS2.2.1", "US1.1", "CS2.2.1", "US1.1"]],
                         columns=["code_cs_from", "code_us_from", "code_cs_to", "code_us_to"])
    assert match_rules(pairs, 3).tolist() == ["bati_vers_boise", "culture_vers_boise", None]
    assert match_rules(pairs, 7).tolist() == ["bati_vers_boise", None, None]
    assert match_rules(pairs, 11).tolist() == [None, None, None]


def test_bad_rules_table():
    rules = default_rules().rules.astype(str)
    rules.loc[0, "to_cs"] = "CS9"
    rules.loc[1, "max_years"] = "jamais"
    with pytest.raises(ProcessTableError) as err:
        read_rules(rules)
    assert "to_cs « CS9 » inconnu" in err.value.user_message
    assert "max_years « jamais »" in err.value.user_message


def test_draft_flags_are_reviewed_before_recording(tmp_path):
    before, after = layers()
    pieces = implausible_pieces(before, after, 3)
    assert list(pieces["id_to"]) == ["p7"] and pieces["area_m2"].iloc[0] == pytest.approx(1e4)
    drafts = draft_flags(pieces, after, "commune:33529", 2018,
                         default_rules().labels)
    assert len(drafts) == 1
    flag = drafts[0]
    assert (flag.code_cs_current, flag.code_cs_proposed) == ("CS2.1.1.1", "CS2.1.1.2")
    assert flag.comment.startswith("Peuplement changé d'essence")
    store = FlagStore(tmp_path)
    assert len(store) == 0                      # a draft is not recorded
    store.add(flag)                             # the user accepts it
    listed = store.list("commune:33529")
    assert list(listed["polygon_id"]) == ["p7"] and listed["status"].iloc[0] == "ouvert"


def test_prediction_drafts():
    before, _ = layers()
    predicted = gpd.GeoDataFrame(
        {"code_cs_from": ["CS2.2.1", "CS2.2.1"], "code_cs_to": ["CS1.1.1.1", "CS2.1.2"],
         "area_ha": [0.6, 0.005]},
        geometry=[box(0, 0, 60, 100), box(300, 0, 305, 100)], crs="EPSG:2154")
    drafts = prediction_drafts(predicted, before, "commune:33529", 2015, "Prédiction", 100.0)
    assert [(d.polygon_id, d.code_cs_proposed, d.code_us_proposed) for d in drafts] == [
        ("p0", "CS1.1.1.1", "US1.1")]           # the 50 m² piece is below the threshold


def test_prediction_over_a_demo_commune_becomes_reviewed_drafts(demo_store_dir, tmp_path):
    """A synthetic GeoTIFF inside Arcachon: the rule-based prediction disagrees with OCS GE, one
    draft per official polygon, stored as a draft, exported only once accepted."""
    from prediction_image import ortho_over

    from ocsge_engine.errors import GeometryError
    from ocsge_engine.flags import FlagError
    from ocsge_engine.indicators.pseudo_change import store_prediction_drafts
    from ocsge_engine.inference.ondemand import ImageSource, predict_upload
    from ocsge_engine.store import Store
    from ocsge_engine.territories import get_territory

    store = Store.open(demo_store_dir)
    arcachon = get_territory("commune:33009")
    image = ortho_over(store, arcachon, 2018)
    bundle = predict_upload(ImageSource(image.tiff, "synthetique.tif"))
    areas = bundle.polygons.groupby("code_cs")["area_ha"].sum()
    assert areas.to_dict() == pytest.approx({"CS1": 0.096, "CS2": 0.064})  # carte grossière (règles)
    drafts = store_prediction_drafts(store, "commune:33009", bundle.polygons, "Prédiction")
    assert [(d.polygon_id, d.millesime, d.code_cs_current, d.code_cs_proposed,
             d.code_us_proposed) for d in drafts] == [
        (image.polygon_id, 2018, image.code_cs, "CS1", image.code_us)]
    assert drafts[0].territory_id == "commune:33009" and drafts[0].comment == "Prédiction"
    official = store.polygons(arcachon, 2018, columns=["id"])
    whole = official.loc[official["id"] == image.polygon_id].geometry.iloc[0]
    assert drafts[0].geometry.area == pytest.approx(whole.area)   # the whole official polygon
    # earlier millésime, and a threshold above the disagreement (0.096 ha = 960 m²)
    assert store_prediction_drafts(store, "commune:33009", bundle.polygons, "x", 2015)[0] \
        .millesime == 2015
    assert store_prediction_drafts(store, "commune:33009", bundle.polygons, "x",
                                   min_area_m2=961.0) == []
    # the image is in Arcachon, not La Teste-de-Buch: French error
    with pytest.raises(GeometryError, match="does not overlap") as info:
        store_prediction_drafts(store, "commune:33529", bundle.polygons, "x")
    assert "ne recoupe pas l'OCS GE 2018 de « La Teste-de-Buch »" in info.value.user_message

    flags = FlagStore(tmp_path)
    assert [d.id for d in flags.add_drafts(drafts)] == [drafts[0].id]
    with pytest.raises(FlagError, match="no flag to export"):
        flags.export_csv()                                     # a draft is never exported
    assert FlagStore(tmp_path).drafts("commune:33009")["polygon_id"].tolist() == [image.polygon_id]
    FlagStore(tmp_path).accept_draft(drafts[0].id)
    assert image.polygon_id in FlagStore(tmp_path).export_csv()
