"""AppTest of the Trajectoire page with an imported Cerema file: labelled sources, figures equal
the engine's, the 2031 hand-over chart, and « pas de données après 2018 » for SYBARVAL."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ocsge_engine.indicators.conso import ingest_conso, to_cerema_layout
from ocsge_engine.indicators.zan import (
    ZanOptions,
    consumption_series,
    zan_figures,
    zan_trajectory,
)
from ocsge_engine.store import Store
from ocsge_engine.territories import get_territory
from tests.app.conftest import chart_count, interactive
from tests.app.test_zonage_page import ARCACHON, REPO_ROOT, store_copy  # noqa: F401 (fixture)


def cerema_file(path: Path) -> Path:
    long = pd.DataFrame([{"idcom": "33009", "year": y, "total_m2": 5000.0 + 100 * (y - 2009),
                          "activite_m2": 1000.0, "habitat_m2": 4000.0 + 100 * (y - 2009),
                          "mixte_m2": 0.0, "route_m2": 0.0, "ferroviaire_m2": 0.0,
                          "inconnu_m2": 0.0} for y in range(2009, 2024)])
    to_cerema_layout(long).to_csv(path, sep=";", index=False)
    return path


def test_sources_figures_and_handover(store_copy: Path, tmp_path: Path) -> None:  # noqa: F811
    store = Store.open(store_copy)
    ingest_conso(store, cerema_file(tmp_path / "conso_arcachon.csv"))
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=180)
    at.query_params.update({"territoire": ARCACHON, "de": "2015", "a": "2018"})
    at.run()
    at.switch_page("pages/trajectoire.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="zan_source").options == [
        "Cerema (fichier national importé)", "SYBARVAL (source non documentée)"]
    zan = zan_trajectory(consumption_series(get_territory(ARCACHON), store, "cerema"))
    shown = {m.label: m.value for m in at.metric}
    for fig in zan_figures(zan):
        if fig.key != "zan.percent_use":
            assert shown[fig.label] == fig.display()
    # 0.5 ha in 2009 + 0.01 ha per year: 2011..2020 sum = 10 x 0.5 + 0.01 x (2 + ... + 11)
    assert zan.reference_ha == pytest.approx(5.0 + 0.01 * 65)
    assert chart_count(at) == 3  # trajectory, hand-over 2031, destinations
    handover = json.loads(interactive(at).get("plotly_chart")[1].proto.spec)
    names = [trace.get("name", "") for trace in handover["data"]]
    notes = " ".join([a["text"] for a in handover["layout"].get("annotations", [])]
                     + list(handover["layout"].get("meta", {}).get("notes", [])))
    assert "Consommation d'espaces NAF" in names
    assert any(n.startswith("Artificialisation nette OCS GE") for n in names)
    assert "2031" in notes and "jamais additionnées" in notes and "synthétiques" in notes
    assert "conso_arcachon.csv" in notes  # each series with its source

    at.selectbox(key="zan_source").set_value("sybarval").run()
    shown = {m.label: m.value for m in at.metric}
    assert shown["Consommé depuis 2021"] == "Pas de données après 2018"
    assert any("Pas de données après 2018" in w.value for w in at.warning)
    assert at.query_params["source"] == "sybarval"

    at.radio(key="zan_projection").set_value("periode").run()
    periode = zan_trajectory(consumption_series(get_territory(ARCACHON), store, "sybarval"),
                             ZanOptions(projection="periode"))
    shown = {m.label: m.value for m in at.metric}
    assert shown["Projection fin 2030"] == zan_figures(periode)[-1].display()
