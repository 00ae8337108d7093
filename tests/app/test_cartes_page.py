"""Cartes page: the map of La Teste-de-Buch in each colouring, its legend equal to the engine's,
the view restored from a deep link, and a French warning for a territory without data."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from ocsge_engine.maps import COLOURINGS, legend_entries, light_polygons
from ocsge_engine.store import Store
from ocsge_engine.territories import get_territory

TERRITORY = "commune:33529"  # La Teste-de-Buch, largest demo commune
PARAMS = {"territoire": TERRITORY, "de": "2015", "a": "2018"}
LEGEND_SCRIPT = re.compile(r'L\.DomUtil\.create\("div", "ocsge-legend"\);.*?div\.innerHTML = '
                           r'("(?:[^"\\]|\\.)*");', re.S)
LEGEND_ROW = re.compile(r'<div title="([^"]*)"[^>]*><span [^>]*background:(#[0-9a-fA-F]{6});')
LEGEND_TITLE = re.compile(r"<summary[^>]*>(.*?)</summary>")


@pytest.fixture(scope="module")
def light_2018(demo_store_dir: Path) -> dict[str, object]:
    """The engine's light polygons of La Teste-de-Buch in 2018 (what the map draws), by
    colouring: merged by CS×US couple for CS and US, by couple and official status for the
    artificialisation and family colourings (``pages.cartes.layer_keys``)."""
    from ocsge_engine.batch.pages import ARTIF_KEYS

    gdf = Store.open(demo_store_dir).polygons(get_territory(TERRITORY), 2018,
                                              columns=list(ARTIF_KEYS))
    couples = light_polygons(gdf[["code_cs", "code_us", "geometry"]])
    official = light_polygons(gdf, keys=ARTIF_KEYS)
    return {"cs": couples, "us": couples, "famille": official, "artif": official}


def _map_html(at) -> str:
    frames = at.get("iframe")
    assert len(frames) == 1, "the page should show exactly one map"
    return str(frames[0].proto.srcdoc)


def _legend(map_html: str) -> tuple[str, list[tuple[str, str]]]:
    """Title and (label, colour) rows of the legend control in the map HTML."""
    found = LEGEND_SCRIPT.search(map_html)
    assert found, "no legend in the map"
    inner = json.loads(found.group(1))
    title = html.unescape(LEGEND_TITLE.search(inner).group(1))
    return title, [(html.unescape(text), colour.lower())
                   for text, colour in LEGEND_ROW.findall(inner)]


def test_each_colouring_draws_the_engine_legend(open_app, light_2018) -> None:
    at = open_app("pages/cartes.py", **PARAMS)
    assert at.title[0].value == "Cartes"
    assert at.selectbox(key="cartes_by").value == "cs"
    seen = set()
    for by, title in COLOURINGS.items():
        at.selectbox(key="cartes_by").set_value(by).run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        map_html = _map_html(at)
        assert "/app/static/vendor/leaflet" in map_html  # offline Leaflet, not a CDN
        got_title, rows = _legend(map_html)
        assert got_title == title
        light = light_2018[by]
        expected = [(label, colour.lower()) for label, colour in legend_entries(light, by)]
        assert len(expected) >= 2 and rows == expected, by
        seen.add(tuple(rows))
        assert at.caption[-1].value.startswith(
            f"La Teste-de-Buch · millésime 2018 · {len(light)} polygones fusionnés")
    assert len(seen) == len(COLOURINGS)  # four different legends, not one map re-sent
    # the family colouring says it is an estimate; the decree one does not need to
    at.selectbox(key="cartes_by").set_value("famille").run()
    assert any("estimation" in c.value and "matrice et seuils de 2 500 m²" in c.value
               for c in at.caption)
    at.selectbox(key="cartes_by").set_value("artif").run()
    assert not any("estimation" in c.value for c in at.caption)


@pytest.mark.parametrize("year", [2018, 2015])  # 2018 from the batch, 2015 computed on the fly
def test_artificialisation_colouring_is_the_official_status(open_app, demo_store_dir: Path,
                                                            year: int) -> None:
    """The legend says « décret et seuils officiels »: every part is coloured by its polygons'
    stored official status (decree matrix and 2 500 m² / 50 m² thresholds), as the figures
    count it, not by the decree matrix of its CS×US couple alone."""
    from ocsge_engine.batch.pages import ARTIF_KEYS
    from ocsge_engine.maps import class_codes

    at = open_app("pages/cartes.py", couleur="artif", annee=str(year), **PARAMS)
    assert at.selectbox(key="cartes_by").value == "artif"
    assert at.selectbox(key="cartes_year").value == year
    map_html = _map_html(at)
    layer = Store.open(demo_store_dir).polygons(get_territory(TERRITORY), year,
                                                columns=list(ARTIF_KEYS))
    official = light_polygons(layer, keys=ARTIF_KEYS)
    by_couple = light_polygons(layer[["code_cs", "code_us", "geometry"]])
    shown = {code: map_html.count(f'"classe": "{code}"')
             for code in ("artificialise", "non_artificialise")}
    expected = {code: int((class_codes(official, "artif") == code).sum()) for code in shown}
    assert shown == expected
    # the couple-only colouring differs on this commune (polygons under the thresholds, or
    # sealed/built ones the thresholds bring in): the check above can tell them apart
    assert shown != {code: int((class_codes(by_couple, "artif") == code).sum()) for code in shown}
    assert at.caption[-1].value.startswith(
        f"La Teste-de-Buch · millésime {year} · {len(official)} polygones fusionnés")


def test_deep_link_restores_territory_and_millesimes(open_app, demo_store_dir: Path) -> None:
    at = open_app("pages/cartes.py", territoire="commune:33236", de="2015", a="2018")
    assert at.session_state["territory_id"] == "commune:33236"
    # the displayed millésime is the link's "a", the change layer is on for the link's pair
    assert at.selectbox(key="cartes_year").value == 2018
    assert at.toggle(key="cartes_changes").value is True
    assert at.toggle(key="cartes_ortho").value is False  # offline by default
    light = light_polygons(Store.open(demo_store_dir).polygons(
        get_territory("commune:33236"), 2018, columns=["code_cs", "code_us"]))
    caption = at.caption[-1].value
    assert caption.startswith(f"Lège-Cap-Ferret · millésime 2018 · {len(light)} polygones")
    assert caption.endswith("zones de changement 2015 → 2018")
    # the change layer, named after the pair (JSON-escaped in the layer control's script)
    assert json.dumps("Changements 2015 → 2018")[1:-1] in _map_html(at)
    # the shown millésime follows the user's choice within the session
    at.selectbox(key="cartes_year").set_value(2015).run()
    light_2015 = light_polygons(Store.open(demo_store_dir).polygons(
        get_territory("commune:33236"), 2015, columns=["code_cs", "code_us"]))
    assert at.caption[-1].value.startswith(
        f"Lège-Cap-Ferret · millésime 2015 · {len(light_2015)} polygones")
    assert at.query_params["territoire"] == "commune:33236"
    assert (at.query_params["de"], at.query_params["a"]) == ("2015", "2018")


@pytest.mark.parametrize(("territory", "warning"), [
    # in the Gironde catalogue, outside the demo's extent: no polygon for the pair
    ("commune:33063", "**Territoire non couvert** : Bordeaux n'est pas couvert par l'OCS GE "
                      "chargée pour 2015 et 2018."),
    # a département with no OCS GE in the store at all
    ("commune:34172", "**Territoire non couvert** : Montpellier n'a pas deux millésimes OCS GE "
                      "dans les données chargées."),
])
def test_territory_without_data_shows_french_warning(open_app, territory: str,
                                                      warning: str) -> None:
    at = open_app("pages/cartes.py", territoire=territory)
    # one « territoire non couvert » state from the app frame (shared.coverage_guard), no figure
    assert len(at.warning) == 1 and at.warning[0].value.startswith(warning)
    assert not at.metric
    assert not at.error
    assert len(at.get("iframe")) == 0  # no empty map drawn


def test_deep_link_restores_colouring_and_year(open_app) -> None:
    """?couleur=famille&annee=2015 opens the map coloured by family on 2015; changes go to the URL."""
    at = open_app("pages/cartes.py", territoire="commune:33009", de="2015", a="2018",
                  couleur="famille", annee="2015")
    assert at.selectbox(key="cartes_by").value == "famille"
    assert at.selectbox(key="cartes_year").value == 2015
    at.selectbox(key="cartes_by").set_value("artif").run()
    assert at.query_params["couleur"] == ["artif"] or at.query_params["couleur"] == "artif"


def test_side_by_side_shows_both_millesimes_with_one_colouring(open_app) -> None:
    at = open_app("pages/cartes.py", territoire="commune:33009", de="2015", a="2018")
    at.toggle(key="cartes_side").set_value(True).run()
    assert not at.exception and not at.error
    frames = at.get("iframe")
    assert len(frames) == 2
    assert [m.value for m in at.markdown if m.value.startswith("**Millésime")] == [
        "**Millésime 2015**", "**Millésime 2018**"]
    titles = {_legend(str(f.proto.srcdoc))[0] for f in frames}
    assert titles == {COLOURINGS["cs"]}  # the same colouring on both maps
    assert str(frames[0].proto.srcdoc) != str(frames[1].proto.srcdoc)  # two different dates
