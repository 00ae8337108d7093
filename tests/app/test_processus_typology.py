"""Processus page, sprawl typology: the bars, the map's data and the class changes between the
millésimes equal the engine's (Arcachon, demo store)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocsge_engine.charts.typology import CLASS_LABELS
from ocsge_engine.fmt import cell
from ocsge_engine.indicators.typology import (
    CLASS_CODES,
    CLASSES,
    territory_typology,
    typology_change,
)
from ocsge_engine.store import Store
from ocsge_engine.territories import get_territory
from tests.app.conftest import chart_count, interactive

ARCACHON = {"territoire": "commune:33009", "de": "2015", "a": "2018"}


def test_typology_section_equals_the_engine(open_app, app_store: Path) -> None:
    at = open_app("pages/processus.py", **ARCACHON)
    charts_before = chart_count(at)
    at.toggle(key="processus_typologie").set_value(True).run()
    assert not at.exception and not at.error
    store, arcachon = Store.open(app_store), get_territory("commune:33009")
    before, after = (territory_typology(store, arcachon, y) for y in (2015, 2018))
    assert chart_count(at) == charts_before + 2  # map + bars
    charts = interactive(at).get("plotly_chart")
    bars = json.loads(charts[-1].proto.spec)["data"]
    assert [t["name"] for t in bars] == ["2015", "2018"]
    labels = [CLASS_LABELS[CLASS_CODES[c]] for c in CLASSES]
    for trace, typology in zip(bars, (before, after)):
        assert trace["x"] == labels
        assert trace["y"] == pytest.approx([typology.areas()[CLASS_CODES[c]] for c in CLASSES])
    assert after.areas()["urbain"] > 0 and after.areas()["periurbain"] > 0  # Arcachon is built
    heat = json.loads(charts[-2].proto.spec)["data"][0]
    assert heat["type"] == "heatmap"

    change = typology_change(before, after)
    moved = change[change["code_from"] != change["code_to"]].reset_index(drop=True)
    shown = at.dataframe[-1].value
    assert shown["Classe 2015"].tolist() == moved["code_from"].tolist()
    assert shown["Classe 2018"].tolist() == moved["code_to"].tolist()
    assert shown["Surface (ha)"].tolist() == [cell(v, "ha") for v in moved["area_ha"]]
    assert len(shown) > 0
    # pixels are 10 m: every area is a multiple of 0.01 ha
    assert moved["area_ha"].mul(100).round(6).mod(1).eq(0).all()
