"""AppTest of the Classements page: the national rankings read from the batch results."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ocsge_engine.batch import rankings
from ocsge_engine.fmt import cell, column_label
from tests.app.conftest import chart_count, interactive

OpenApp = Callable[..., AppTest]
PAGE = "pages/classements.py"


@pytest.fixture
def app_store(national_app_store: Path) -> Path:
    """The app on the demo store with its national results (read only here)."""
    return national_app_store


def _table(at: AppTest) -> pd.DataFrame:
    return at.dataframe[0].value


def test_default_ranking_equals_engine_and_highlights_territory(open_app: OpenApp,
                                                                 app_store: Path) -> None:
    at = open_app(PAGE, territoire="commune:33529", de="2015", a="2018")
    expected = rankings(app_store, "net_m2_per_new_inhabitant", pair="2015_2018", n=20)
    shown = _table(at)
    label = column_label("net_m2_per_new_inhabitant")
    assert label == "Artificialisation nette par nouvel habitant (m²/hab)"
    assert shown["Code INSEE"].tolist() == expected["commune"].tolist()
    assert shown[label].tolist() == [cell(v, "m²/hab") for v in expected["value"]]  # 0,1 m²
    assert len(shown) == len(expected) > 5
    full = rankings(app_store, "net_m2_per_new_inhabitant", pair="2015_2018", n=1000)
    rank = int(full.loc[full["commune"] == "33529", "rank"].iloc[0])
    assert any(f"est au rang **{rank}** sur {len(full)}" in md.value for md in at.markdown)
    fig = interactive(at).get("plotly_chart")[0].proto.spec
    assert "#E6004D" in fig  # La Teste's bar in the highlight colour
    # Arcachon lost inhabitants: no value per new inhabitant, and the page says so
    at = open_app(PAGE, territoire="commune:33009", de="2015", a="2018")
    assert any("Arcachon n'est pas classée" in c.value for c in at.caption)


def test_deep_link_restores_the_view(open_app: OpenApp, app_store: Path) -> None:
    at = open_app(PAGE, metrique="artif_net_ha", paire="2015_2018", deps="33", popmin="2000",
                  n="5", ordre="asc")
    assert at.selectbox(key="classements_metric").value == "artif_net_ha"
    assert at.multiselect(key="classements_deps").value == ["33"]
    assert at.number_input(key="classements_popmin").value == 2000
    assert at.slider(key="classements_n").value == 5
    assert at.toggle(key="classements_asc").value is True
    expected = rankings(app_store, "artif_net_ha", pair="2015_2018", departements=["33"], n=5,
                        ascending=True, min_population=2000)
    shown = _table(at)
    assert shown["Code INSEE"].tolist() == expected["commune"].tolist() and len(shown) == 5
    assert shown["Artificialisation nette (ha)"].tolist() == [cell(v, "ha")
                                                               for v in expected["value"]]
    assert (expected["pop_stock"] >= 2000).all()
    at.selectbox(key="classements_metric").set_value("artif_gross_gain_ha").run()
    assert at.query_params["metrique"] == "artif_gross_gain_ha"
    expected = rankings(app_store, "artif_gross_gain_ha", pair="2015_2018", departements=["33"],
                        n=5, ascending=True, min_population=2000)
    assert _table(at)["Code INSEE"].tolist() == expected["commune"].tolist()


def test_no_national_results_gives_the_command(open_app: OpenApp, app_store: Path) -> None:
    (app_store / "national").unlink()  # the link only: the shared results stay
    at = open_app(PAGE)
    assert any("Aucun résultat national" in w.value for w in at.warning)
    assert at.code[0].value == f"python -m ocsge_engine batch flows --store {app_store}"
    assert at.button(key="classements_run").label.startswith("Calculer maintenant")
    assert chart_count(at) == 0
