"""Browser test: the card of a change part, built by the map's script when the part is clicked.

A standalone map (``territory_map`` with local assets, opened from a file, no Streamlit) with three
change parts: two of the CS cell feuillus → bâti (300 m² and 100 m²) and one whose codes carry
markup (a code kept with ``--allow-unknown``). Each card must say what the engine put in the
layer's properties; the markup must show as text and never run.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from ocsge_engine.maps.folium_map import territory_map
from tests.browser.conftest import REPO_ROOT, screenshot

EVIL = "<img src=x onerror=window.pwned=1>"
CHANGES = [("CS2.1.1.1", "US1.2", "CS1.1.1.1", "US5", 0.03),
           ("CS2.1.1.1", "US1.2", "CS1.1.1.1", "US5", 0.01),
           (EVIL, "US1.2", "CS1.1.1.2", None, 2.5)]
CHANGE_PATHS = 'path.leaflet-interactive[stroke-dasharray="4 3"]'  # the outlined change parts


def _map_file(folder: Path) -> Path:
    boxes = [shapely.box(-1.2 + k * 0.01, 44.6, -1.192 + k * 0.01, 44.608) for k in range(3)]
    changes = gpd.GeoDataFrame(pd.DataFrame(CHANGES, columns=[
        "code_cs_from", "code_us_from", "code_cs_to", "code_us_to", "area_ha"]),
        geometry=boxes, crs=4326)
    light = gpd.GeoDataFrame({"code_cs": ["CS2.2.1"], "code_us": ["US1.1"], "area_ha": [200.0]},
                             geometry=[shapely.box(-1.21, 44.59, -1.16, 44.62)], crs=4326)
    fmap = territory_map(light, "cs", changes=changes, years=(2015, 2018), height=600,
                         asset_base_url=(REPO_ROOT / "static" / "vendor").as_uri(),
                         report_url="/signaler?territoire=commune:33009")
    path = folder / "map.html"
    path.write_text(fmap.get_root().render(), encoding="utf-8")
    return path


def _card(page, index: int) -> str:  # type: ignore[no-untyped-def]
    page.locator(CHANGE_PATHS).nth(index).click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible", timeout=10_000)
    text = popup.inner_text()
    page.locator(".leaflet-popup-close-button").click()
    popup.wait_for(state="detached", timeout=10_000)
    return text


def _tooltip(page, holding: str) -> str:  # type: ignore[no-untyped-def]
    """The text of the shown tooltip holding ``holding``, once there.

    Found by its text: under load, the tooltip of the polygon the mouse left may still be in the
    page for a moment beside the new one.
    """
    tip = page.locator(".leaflet-tooltip").filter(has_text=holding)
    tip.first.wait_for(state="visible", timeout=10_000)
    return tip.first.inner_text()


def test_change_cards_say_what_the_layer_holds(browser, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    page = context.new_page()
    try:
        page.goto(_map_file(tmp_path).as_uri())
        page.locator(CHANGE_PATHS).nth(2).wait_for(state="attached", timeout=30_000)
        assert page.locator(CHANGE_PATHS).count() == 3
        # one scale bar, metric (Leaflet's default adds feet and miles)
        assert page.locator(".leaflet-control-scale-line").count() == 1
        assert page.locator(".leaflet-control-scale-line").inner_text().endswith(("m", "km"))
        first = _card(page, 0)
        assert first.splitlines()[0] == "Changement 2015 → 2018"
        assert "Couverture : Peuplement de feuillus CS2.1.1.1 → Zones bâties CS1.1.1.1" in first
        assert "Usage : Sylviculture US1.2 → Usage résidentiel US5" in first
        assert "Surface : 300\u202fm²" in first  # under 1 ha: m²
        # the cell of the CS matrix, summed over the layer: 300 + 100 m²
        assert ("Cellule de la matrice (couverture) : Peuplement de feuillus → Zones bâties, "
                "400\u202fm² sur le territoire") in first
        page.locator(CHANGE_PATHS).nth(0).click()
        link = page.locator(".leaflet-popup-content a")
        assert link.inner_text() == "Signaler une erreur"
        assert link.get_attribute("href") == "/signaler?territoire=commune:33009"
        assert link.get_attribute("target") == "_top"
        page.mouse.move(990, 690)  # the tooltip off the card, and its fade-in over
        page.wait_for_timeout(500)
        screenshot(page, "map_change_card")
        page.locator(".leaflet-popup-close-button").click()

        # hovering: the tooltip of a change part, then of the polygon under it
        page.locator(CHANGE_PATHS).nth(1).hover()
        assert _tooltip(page, "Couverture 2015 → 2018").splitlines() == [
            "Couverture 2015 → 2018\tPeuplement de feuillus (CS2.1.1.1) → Zones bâties (CS1.1.1.1)",
            "Usage 2015 → 2018\tSylviculture (US1.2) → Usage résidentiel (US5)",
            "Surface\t100\u202fm²"]
        page.mouse.move(300, 560)  # inside the background polygon, off the change parts
        assert _tooltip(page, "Surface de la tache").splitlines() == [
            "Couverture\tFormations herbacées (pelouses et prairies, terres arables, "
            "roselières…) (CS2.2.1)", "Usage\tAgriculture (US1.1)",  # ocsge_usage.csv
            "Surface de la tache\t200,0\u202fha"]
        screenshot(page, "map_polygon_tooltip")
        page.mouse.move(990, 690)

        hostile = _card(page, 2)
        assert f"Couverture : {EVIL} {EVIL} → " in hostile  # unknown code: shown as it is
        assert "Usage : Sylviculture US1.2 → non renseigné" in hostile  # missing code
        assert "Surface : 2,50\u202fha" in hostile
        page.locator(CHANGE_PATHS).nth(2).hover()
        assert _tooltip(page, "onerror").splitlines()[0] == (
            f"Couverture 2015 → 2018\t{EVIL} → Zones non bâties (routes, places, parkings…) "
            "(CS1.1.1.2)")
        assert page.locator(".leaflet-tooltip img").count() == 0
        assert page.evaluate("() => window.pwned") is None
        assert page.locator(".leaflet-popup-content img").count() == 0
    finally:
        context.close()
