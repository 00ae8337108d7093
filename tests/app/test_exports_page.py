"""Exports page: GeoPackage of the territory's layers, portrait report (HTML with the user's text,
PDF); no millésime pair gives the French error and no file."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio

from ocsge_engine.indicators.portrait import portrait_figures
from ocsge_engine.charts.style import fr_ha
from ocsge_engine.store import Store
from ocsge_engine.territories import get_territory

PARAMS = {"territoire": "commune:33236", "de": "2015", "a": "2018"}


def _click(at, label: str) -> None:
    at.button[[b.label for b in at.button].index(label)].click().run()


def test_layers_and_report(open_app, app_store: Path, tmp_path: Path) -> None:
    at = open_app("pages/exports.py", **PARAMS)
    _click(at, "Préparer le GeoPackage")
    assert not at.error, [e.value for e in at.error]
    territory_id, pair, data = at.session_state["exports_layers"]
    assert (territory_id, pair) == ("commune:33236", (2015, 2018))
    (tmp_path / "layers.gpkg").write_bytes(data)
    assert [n for n, _ in pyogrio.list_layers(tmp_path / "layers.gpkg")] == [
        "occupation_sol_2015", "occupation_sol_2018", "changements_2015_2018"]
    expected = Store.open(app_store).polygons(get_territory("commune:33236"), 2018)
    assert len(gpd.read_file(tmp_path / "layers.gpkg", layer="occupation_sol_2018")) == len(
        expected)

    at.text_area(key="exports_text_introduction").set_value("Commune du bassin d'Arcachon.")
    _click(at, "Générer le rapport")
    assert not at.error, [e.value for e in at.error]
    report = at.session_state["exports_report"]
    document = report["html"]
    figures = portrait_figures(Store.open(app_store), get_territory("commune:33236"), 2015, 2018)
    assert "Portrait de territoire : Lège-Cap-Ferret" in document
    assert "<p>Commune du bassin d&#x27;Arcachon.</p>" in document
    assert fr_ha(figures.artificialised_gross_ha) in document
    assert Store.open(app_store).catalog()["source_sha256"].iloc[0] in document
    assert "fond synthétique" in document
    assert report["pdf"].startswith(b"%PDF")
    assert [b.label for b in at.get("download_button")] == [
        "Télécharger le GeoPackage", "Rapport HTML", "Rapport PDF"]


def test_no_millesime_pair_shows_french_errors_and_no_file(open_app) -> None:
    at = open_app("pages/exports.py", territoire="commune:34172")  # Montpellier: not in the demo
    assert at.session_state["territory_id"] == "commune:34172"
    _click(at, "Générer le rapport")
    assert [e.value for e in at.error] == [
        "Le rapport compare deux millésimes : ce territoire n'en a pas deux dans la base, "
        "choisissez-en un autre."]
    assert "exports_report" not in at.session_state
    _click(at, "Préparer le GeoPackage")
    assert "Choisissez deux millésimes pour exporter les couches." in [e.value for e in at.error]
    assert "exports_layers" not in at.session_state
    assert not at.get("download_button")
