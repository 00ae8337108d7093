"""AppTest of the indicator pages (Artificialisation, Comparer, Croiser, Trajectoire) on the demo.

Every displayed figure is compared with the engine called directly on the same store; each page is
opened from a deep link (territory, millésimes and the page's own parameters) and its widgets must
come back in that state; bad CSV uploads show the French error and leave nothing in the session.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ocsge_engine import fmt
from ocsge_engine.charts.style import fr_ha, fr_number
from ocsge_engine.indicators.zan import zan_figures
from ocsge_engine.indicators import (
    NO_THRESHOLDS,
    IndicatorOptions,
    ZanOptions,
    comparison_table,
    sybarval_consumption,
    territory_indicators,
    zan_trajectory,
)
from ocsge_engine.indicators.local_data import LocalDataError, read_local_csv
from ocsge_engine.indicators.compare import commune_row
from ocsge_engine.fmt import cell, french_table
from ocsge_engine.store import Store
from ocsge_engine.territories import nearest_communes, population

ARCACHON = "commune:33009"
OpenApp = Callable[..., AppTest]


def metrics(at: AppTest) -> dict[str, str]:
    """Displayed metrics, label → value."""
    return {m.label: m.value for m in at.metric}


def test_artificialisation_matches_engine_and_deep_link(open_app: OpenApp, app_store: Path
                                                         ) -> None:
    """Thresholds off from the URL, then on: each time the metrics are the engine's figures."""
    at = open_app("pages/artificialisation.py", territoire=ARCACHON, de="2015", a="2018",
                  seuils="0")
    assert at.toggle(key="artif_thresholds").value is False
    store = Store.open(app_store)
    raw = territory_indicators(store, ARCACHON, 2015, 2018, IndicatorOptions(thresholds=NO_THRESHOLDS))
    shown = metrics(at)
    assert at.tabs[0].label == "Artificialisation" and len(at.tabs) == 3
    # the first tab only: the other two are built once opened
    assert set(shown) == {"Stock artificialisé 2018", "Artificialisation brute",
                          "Désartificialisation", "Solde net d'artificialisation"}
    assert shown["Stock artificialisé 2018"] == fr_ha(raw.artif.stock_to_ha)
    assert shown["Artificialisation brute"] == fr_ha(raw.artif.gross_gain_ha)
    assert shown["Solde net d'artificialisation"] == fr_ha(raw.artif.net_ha)
    assert "sans seuils" in " ".join(md.value for md in at.markdown)
    # without thresholds the overlay is exact: the self-check passes
    assert any(fr_ha(raw.artif.check_delta_ha) in s.value for s in at.success)
    at.session_state["artif_section"] = "Imperméabilisation"  # what a click on the tab does
    at.run()
    shown = metrics(at)
    assert shown["Solde net d'imperméabilisation"] == fr_ha(raw.imper.net_ha)
    assert "Artificialisation brute" not in shown
    at.session_state["artif_section"] = "Artificialisation"
    at.run()

    at.toggle(key="artif_thresholds").set_value(True).run()
    assert at.query_params["seuils"] == "1"
    ind = territory_indicators(store, ARCACHON, 2015, 2018)
    shown = metrics(at)
    assert ind.artif.method == "decree_matrix_official_thresholds"
    assert shown["Artificialisation brute"] == fr_ha(ind.artif.gross_gain_ha)
    assert shown["Artificialisation brute"] != fr_ha(raw.artif.gross_gain_ha)  # thresholds bite
    assert shown["Désartificialisation"] == fr_ha(ind.artif.gross_loss_ha)
    text = " ".join(c.value for c in at.caption)
    # the official rule, and the thresholds' effect: matrix-only gains -> official gains
    assert f"{fr_number(2500, 0)} m²" in text and "avant tout découpage" in text
    assert f"{fr_ha(ind.artif.raw_gain_ha)} → {fr_ha(ind.artif.gross_gain_ha)}" in text
    # the decree matrix is a closed section, built and sent only once opened: no table
    # until then (the sprawl table is in its own tab)
    assert len(at.dataframe) == 0
    at.session_state["artif_matrix_open"] = True  # what a click on the expander does
    at.run()
    (matrix,) = (df.value for df in at.dataframe)
    assert matrix.shape == (14, 20)
    assert bool(matrix.loc["CS1.1.1.1 Zones bâties"].all())  # built land: artificialised for any use
    at.session_state["artif_section"] = "Étalement et mitage"
    at.run()
    (sprawl,) = (df.value.set_index("Indicateur")["Valeur"] for df in at.dataframe)
    assert sprawl["Nouvelles taches artificialisées"] == fr_number(ind.sprawl.new_patches, 0)
    assert sprawl["Nouveaux bâtiments isolés (mitage)"] == fr_number(
        ind.sprawl.isolated_built_count, 0)
    assert not at.metric  # neither tab of fluxes is built
    at.session_state["artif_section"] = "Imperméabilisation"
    at.run()
    assert metrics(at)["Stock imperméable 2018"] == fr_ha(ind.imper.stock_to_ha)


def test_comparer_deep_link_peers_and_commune_outside_store(open_app: OpenApp, app_store: Path
                                                             ) -> None:
    """Peers from the URL; figures equal the engine's; Bordeaux (not in the store) is named."""
    at = open_app("pages/comparer.py", territoire=ARCACHON, de="2015", a="2018",
                  voisines="33199,33063", similaires="0")
    assert at.multiselect(key="comparer_peers").value == ["33199", "33063"]
    assert at.toggle(key="comparer_similar").value is False
    expected = comparison_table(Store.open(app_store), ARCACHON, 2015, 2018,
                                peers=["33199", "33063"], similar=False)
    table = at.dataframe[0].value.set_index("Code INSEE")  # French table (ocsge_engine.fmt)
    assert sorted(table.index) == ["33009", "33199"]
    for row in expected[expected["available"]].itertuples():
        assert table.loc[row.code, "Artificialisation nette (ha)"] == cell(row.net_ha, "ha")
        assert table.loc[row.code, "Nette par habitant (m²/hab)"] == cell(
            row.net_m2_per_inhabitant, "m²/hab")
    assert "None" not in table.to_string() and "nan" not in table.to_string()
    assert any("Bordeaux" in i.value and "hors de la base" in i.value for i in at.info)

    at.multiselect(key="comparer_peers").unselect("33063").run()
    assert at.query_params["voisines"] == "33199"
    assert not any("hors de la base" in i.value for i in at.info)

    at.session_state["territory_id"] = "commune:33005"  # another commune: its own neighbours
    at.run()
    assert at.multiselect(key="comparer_peers").value == nearest_communes("33005", 8)
    assert at.query_params["voisines"] == ",".join(nearest_communes("33005", 8))


def test_croiser_population_indicators_and_uploads(open_app: OpenApp, app_store: Path) -> None:
    """Population and store indicators from the engine; a good CSV is joined, bad ones refused."""
    at = open_app("pages/croiser.py", territoire=ARCACHON, de="2015", a="2018",
                  x="net_ha", y="population")
    assert at.selectbox(key="croiser_x").value == "net_ha"
    assert at.selectbox(key="croiser_y").value == "population"
    series = population("33009")
    shown = metrics(at)
    assert shown["Population (2023)"] == fr_number(series[2023], 0)
    assert shown["Densité (2023)"] == f"{fr_number(series[2023] / 7.69687425, 1)} hab./km²"
    communes = at.dataframe[-1].value.set_index("Code")
    assert len(communes) == 17  # the 17 SYBARVAL communes of the demo
    expected = commune_row(Store.open(app_store), "33009", 2015, 2018, "base")
    assert communes.loc["33009", "Artificialisation nette (ha)"] == cell(expected["net_ha"], "ha")
    assert communes.loc["33009", "Surface artificialisée (ha)"] == cell(
        expected["artif_stock_ha"], "ha")

    good = "code_insee;logements;commentaire\n33009;120;a\n33529;340,5;b\nTotal;460,5;\n"
    at.file_uploader(key="croiser_upload").set_value(("local.csv", good.encode("cp1252"),
                                                       "text/csv")).run()
    assert not at.error and "croiser_local" in at.session_state
    assert "logements" in at.selectbox(key="croiser_y").options
    at.selectbox(key="croiser_y").set_value("logements").run()
    assert at.query_params["y"] == "logements"
    joined = at.dataframe[-1].value.set_index("Code")
    assert joined["logements"].to_dict() == {"33009": "120,00", "33529": "340,50"}

    no_code = b"nom;valeur\nArcachon;1\nLa Teste;2\n"
    at.file_uploader(key="croiser_upload").set_value(("sans_code.csv", no_code, "text/csv")).run()
    with pytest.raises(LocalDataError) as err:
        read_local_csv(no_code)
    assert [e.value for e in at.error] == [err.value.user_message]
    assert "croiser_local" not in at.session_state
    assert "logements" not in at.selectbox(key="croiser_y").options

    garbage = bytes(range(256)) * 4
    at.file_uploader(key="croiser_upload").set_value(("data.csv", garbage, "text/csv")).run()
    assert [e.value for e in at.error] == [
        "Ce fichier n'est pas un fichier texte CSV (contenu binaire)."]
    assert "croiser_local" not in at.session_state
    assert not at.exception


def test_trajectoire_deep_link_custom_target_and_missing_series(open_app: OpenApp) -> None:
    """−40 % from the URL, then a fixed envelope; a commune without series gets a French error."""
    at = open_app("pages/trajectoire.py", territoire=ARCACHON, reduction="40")
    assert at.slider(key="zan_reduction").value == 40
    zan = zan_trajectory(sybarval_consumption("33009"), ZanOptions(reduction=0.4))
    figures = {f.key: f for f in zan_figures(zan)}
    shown = metrics(at)
    assert shown["Consommation de référence 2011–2020"] == figures["zan.reference_ha"].display()
    assert shown["Enveloppe 2021–2030"] == figures["zan.allowed_ha"].display()
    # the SYBARVAL series stops in 2018: no "0 ha consumed", no projection (sparte's rule)
    assert shown["Consommé depuis 2021"] == "Pas de données après 2018"
    assert shown["Projection au 1er janvier 2030"] == "Pas de données après 2018"
    # the data used is named (Markdown-escaped: a label from outside is shown as typed)
    assert any(fmt.markdown_text(zan.source) in i.value for i in at.info)
    assert not at.dataframe  # the year-by-year table is sent once its section is opened
    at.session_state["zan_table_open"] = True  # what a click on the section does
    at.run()
    table = at.dataframe[0].value
    columns = ["year", "observed_ha", "observed_cumulative_ha", "projected_cumulative_ha",
               "target_cumulative_ha"]
    pd.testing.assert_frame_equal(table.reset_index(drop=True), french_table(zan.table, columns))
    assert table.columns[:2].tolist() == ["Année", "Consommation (ha)"]

    at.toggle(key="zan_custom").set_value(True).run()
    at.number_input(key="zan_target").set_value(12.0).run()
    assert metrics(at)["Enveloppe 2021–2030"] == fmt.hectares(12.0)
    assert at.query_params["objectif_ha"] == "12"

    other = open_app("pages/trajectoire.py", territoire="commune:33063")
    assert len(other.error) == 1 and other.error[0].value.startswith(
        "Aucune série de consommation d'espaces n'est disponible pour ce territoire")