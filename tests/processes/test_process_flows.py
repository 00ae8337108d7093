"""Flows by process: hand-computed areas, sums equal to the exchange matrix, charts, CLI."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from process_shapes import EXPECTED_HA, layers

from ocsge_engine.charts.processes import process_bars, process_sankey
from ocsge_engine.flows import classify, exchange_matrix, exchange_matrix_from_layers
from ocsge_engine.flows.processes import (
    default_process_table,
    process_flows,
    process_totals,
    read_process_table,
)
from ocsge_engine.store import Store

DEMO_COMMUNE = "commune:33529"


@pytest.fixture(scope="module")
def hand_matrix():
    before, after = layers()
    return exchange_matrix_from_layers(before, after, by="cs_us", year_from=2015, year_to=2018)


@pytest.fixture(scope="module")
def demo_matrix(demo_store_dir):
    return exchange_matrix(Store.open(demo_store_dir), DEMO_COMMUNE, 2015, 2018, by="cs_us")


def test_hand_fixture_totals(hand_matrix):
    totals = process_totals(hand_matrix).set_index("process")["area_ha"]
    for code, area in EXPECTED_HA.items():
        assert totals[code] == pytest.approx(area, abs=1e-9), code
    assert totals.drop(list(EXPECTED_HA)).abs().max() < 1e-12
    assert totals.sum() == pytest.approx(7.0)


@pytest.mark.parametrize("by", ["anf", "artif", "cs1", "us2", "cs_us"])
def test_process_flows_rebuild_every_matrix_cell(demo_matrix, by):
    flows = process_flows(demo_matrix)
    rebuilt = flows.assign(code_from=classify(flows["code_cs_from"], flows["code_us_from"], by),
                           code_to=classify(flows["code_cs_to"], flows["code_us_to"], by)
                           ).groupby(["code_from", "code_to"])["area_ha"].sum()
    cells = demo_matrix.regroup(by).table.set_index(["code_from", "code_to"])["area_ha"]
    got, want = rebuilt.to_dict(), cells.to_dict()
    assert set(got) == set(want)
    for cell, area in want.items():
        assert got[cell] == pytest.approx(area, rel=1e-12, abs=1e-12), cell


def test_totals_sum_to_the_matrix(demo_matrix):
    totals = process_totals(demo_matrix)
    assert totals["area_ha"].sum() == pytest.approx(float(demo_matrix.stocks_from.sum()), rel=1e-9)
    artif = demo_matrix.regroup("artif").table.set_index(["code_from", "code_to"])["area_ha"]
    land_take = ["etalement_residentiel", "artificialisation_mixte", "activites_economiques",
                 "infrastructures_transport", "artificialisation_autre"]
    by_code = totals.set_index("process")["area_ha"]
    # NAF -> artificialised processes = the decree matrix's artificialisation flux here
    # (no carrière opened on the demo; carrières from NAF would be non-artificialised)
    assert by_code[land_take].sum() == pytest.approx(
        artif[("non_artificialise", "artificialise")], rel=1e-9)
    assert by_code["renaturation"] == pytest.approx(
        artif[("artificialise", "non_artificialise")], rel=1e-9)


def test_sankey_values_follow_the_table(hand_matrix):
    flows = process_flows(hand_matrix)
    fig = process_sankey(flows, year_from=2015, year_to=2018)
    sankey = fig.data[0]
    assert sum(sankey.link.value) == pytest.approx(2 * 6.0)   # both halves, stable hidden
    assert "Étalement résidentiel" in sankey.node.label
    # an edited label shows in the chart
    rules = default_process_table().rules.copy()
    rules.loc[rules["code"] == "carrieres", "label_fr"] = "Gravières"
    edited = read_process_table(rules)
    fig2 = process_sankey(process_flows(hand_matrix, edited), edited)
    assert "Gravières" in fig2.data[0].node.label


def test_bars_split_the_area_to_check(hand_matrix):
    totals = process_totals(hand_matrix)
    fig = process_bars(totals, pd.Series({"autre_changement": 0.25}))
    solid, check = fig.data
    labels = list(solid.y)
    i = labels.index("Autres changements")
    assert solid.x[i] == pytest.approx(0.75) and check.x[i] == pytest.approx(0.25)
    assert "Surfaces inchangées" not in labels


def test_cli_flows_by_process(demo_store_dir, capsys, demo_matrix):
    from ocsge_engine.cli import main

    code = main(["-q", "flows", "--store", str(demo_store_dir), "--territory", DEMO_COMMUNE,
                 "--from", "2015", "--to", "2018", "--by", "process"])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "process,label_fr,area_ha"
    table = pd.read_csv(__import__("io").StringIO(out))
    assert table["area_ha"].sum() == pytest.approx(float(demo_matrix.stocks_from.sum()), rel=1e-6)
    code = main(["-q", "flows", "--store", str(demo_store_dir), "--territory", DEMO_COMMUNE,
                 "--from", "2015", "--to", "2018", "--by", "process", "--format", "json"])
    record = json.loads(capsys.readouterr().out)
    assert code == 0 and record["by"] == "process"
    assert [p["process"] for p in record["processes"]] == default_process_table().codes


def test_cli_bad_process_table_exits_2(demo_store_dir, tmp_path, capsys):
    from ocsge_engine.cli import main

    bad = tmp_path / "p.csv"
    bad.write_text("code,label_fr\nx,y\n", encoding="utf-8")
    code = main(["-q", "flows", "--store", str(demo_store_dir), "--territory", DEMO_COMMUNE,
                 "--from", "2015", "--to", "2018", "--by", "process", "--processes", str(bad)])
    assert code == 2
    assert "colonnes" in capsys.readouterr().err
