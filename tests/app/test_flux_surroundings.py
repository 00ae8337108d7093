"""Flux page, « Comparer avec les alentours »: the chart and the zone table equal the engine's
figures per 100 ha covered, and the partial coverage of the département is said in French."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocsge_engine.charts.surroundings import top_flows
from ocsge_engine.fmt import cell
from ocsge_engine.indicators.surroundings import surroundings_flows
from ocsge_engine.store import Store
from tests.app.conftest import chart_count, interactive

PARAMS = {"territoire": "commune:33009", "de": "2015", "a": "2018"}  # Arcachon: small, fast


def test_surroundings_option_shows_engine_figures(open_app, app_store: Path) -> None:
    at = open_app("pages/flux.py", **PARAMS)
    assert chart_count(at) == 2  # off by default: Sankey + heat map only
    at.toggle(key="flux_alentours").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    expected = surroundings_flows(Store.open(app_store), "commune:33009", 2015, 2018, by="anf",
                                  ring_km=5)
    zones = at.dataframe[-1].value
    assert zones["Zone"].tolist() == ["Territoire", "Couronne", "EPCI", "Département"]
    assert zones["Identifiant"].tolist() == expected.areas["territory_id"].tolist()
    assert zones["Couverture (%)"].tolist() == [cell(v, "%") for v in expected.areas["coverage_share"]]
    assert zones["Couverture (%)"].tolist()[-1] == "14,1"
    # The demo covers the 17 SYBARVAL communes only: 14,1 % of the Gironde.
    gironde = expected.areas.set_index("role").loc["departement"]
    assert gironde["coverage_share"] == pytest.approx(0.1413, abs=5e-4)
    assert any("Gironde : couverture partielle (14,1\u202f%)" in w.value for w in at.warning)
    assert not any(w.value.startswith("Arcachon") for w in at.warning)  # fully covered

    assert chart_count(at) == 3
    charts = interactive(at).get("plotly_chart")
    assert len(charts) == 3
    spec = json.loads(charts[-1].proto.spec)
    traces = spec["data"]
    assert [t["name"] for t in traces][2] == "CA Bassin d'Arcachon Sud (COBAS)"
    assert traces[3]["name"] == "Gironde – couverture partielle (14,1\u202f%)"
    pairs = top_flows(expected)
    flows = expected.flows.set_index(["role", "code_from", "code_to"])["ha_per_100ha"]
    for trace, role in zip(traces, expected.areas["role"]):
        want = [float(flows.get((role, *pair), 0.0)) for pair in pairs]
        assert trace["y"] == pytest.approx(want, rel=1e-12)
    # Arcachon's naturel → artificialisé per 100 ha covered is the engine's, and non-zero
    assert flows[("territoire", "naturel", "artificialise")] > 0
    assert spec["layout"]["yaxis"]["title"]["text"] == "Ha pour 100 ha couverts"
