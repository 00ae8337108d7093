"""Browser tests of the home page (issue « home page that answers a mayor »), offline, in chromium.

Andernos-les-Bains: the map is drawn (Leaflet paths inside the iframe), the four answers are there
(artificialisation, neighbours, ZAN, per new inhabitant). Bordeaux, outside the demo store: one
« non couvert » state and no confident zero.
"""

from __future__ import annotations

from tests.browser.conftest import OfflinePage, screenshot, wait_for_app

MAP_IFRAME = 'iframe[data-testid="stIFrame"]'


def test_andernos_home_draws_its_map_and_four_answers(app_url: str, offline_page: OfflinePage):
    page = offline_page.page
    page.goto(f"{app_url}/?territoire=commune:33005&de=2015&a=2018")
    wait_for_app(page)
    frame = page.frame_locator(MAP_IFRAME)
    paths = frame.locator("path.leaflet-interactive")
    paths.first.wait_for(state="attached", timeout=120_000)
    assert paths.count() > 50, paths.count()  # status polygons and change outlines
    text = page.locator("[data-testid='stMain']").inner_text()
    assert "Andernos-les-Bains" in text
    for answer in ("Artificialisation nette", "voisines", "Trajectoire ZAN", "nouvel habitant"):
        assert answer in text, answer
    assert "pas de données après 2018" in text  # the SYBARVAL consumption series stops in 2018
    screenshot(page, "home_andernos")
    assert offline_page.blocked == [], offline_page.blocked


def test_bordeaux_is_not_covered_and_shows_no_zero(app_url: str, offline_page: OfflinePage):
    page = offline_page.page
    page.goto(f"{app_url}/?territoire=commune:33063&de=2015&a=2018")
    wait_for_app(page)
    text = page.locator("[data-testid='stMain']").inner_text()
    assert "non couvert" in text.lower()
    for zero in ("0,0\u202f%", "0,0 %", "+0,00", "0 m²"):
        assert zero not in text, zero
    screenshot(page, "home_bordeaux_not_covered")
