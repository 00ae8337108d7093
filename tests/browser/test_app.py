"""Browser tests: the real app, offline, in chromium (home page and Cartes map)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from ocsge_engine.maps.layers import BACKGROUND_COLOR
from tests.browser.conftest import (
    OfflinePage,
    screenshot,
    start_server,
    stop_server,
    wait_for_app,
)

MAP_IFRAME = 'iframe[data-testid="stIFrame"]'
BACKGROUND_RGB = tuple(int(BACKGROUND_COLOR[i:i + 2], 16) for i in (1, 3, 5))
TERRITORY = "commune:33529"  # La Teste-de-Buch, largest demo commune


def _share_of_colour(path, rgb: tuple[int, int, int]) -> float:
    pixels = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3)
    return float(np.all(pixels == np.array(rgb), axis=1).mean())


def _distinct_colours(path) -> int:
    pixels = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3)
    return len(np.unique(pixels, axis=0))


def test_home_renders_offline(app_url: str, offline_page: OfflinePage):
    page = offline_page.page
    page.goto(f"{app_url}/?territoire={TERRITORY}&de=2015&a=2018")
    wait_for_app(page)
    assert "La Teste-de-Buch" in page.get_by_test_id("stSidebar").inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0
    shot = screenshot(page, "home")
    assert _distinct_colours(shot) > 20  # a rendered page, not a blank one
    assert offline_page.blocked == [], offline_page.blocked


def _wait_frames_loaded(page, timeout_ms: int = 60_000) -> None:
    """Wait until every iframe of the page has finished loading its document and sub-resources."""
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('iframe')).every("
        "f => f.contentDocument && f.contentDocument.readyState === 'complete')",
        timeout=timeout_ms)


def test_cartes_map_draws_polygons_offline(app_url: str, offline_page: OfflinePage):
    page = offline_page.page
    page.goto(f"{app_url}/?territoire={TERRITORY}&de=2015&a=2018")
    wait_for_app(page)
    # the home page draws its own map: let its iframe finish loading before leaving the page, or
    # Chromium aborts that iframe's pending /app/static requests (ERR_ABORTED, seen in CI under load)
    home_map = page.frame_locator(MAP_IFRAME).first.locator("path.leaflet-interactive")
    home_map.first.wait_for(state="attached", timeout=60_000)
    _wait_frames_loaded(page)
    # the user's path: the sidebar navigation link (a deep link is tested separately below)
    page.get_by_test_id("stSidebarNav").locator('a[href$="/cartes"]').click()
    page.wait_for_url("**/cartes**")
    wait_for_app(page)
    assert "La Teste-de-Buch" in page.get_by_test_id("stSidebar").inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0
    frame = page.frame_locator(MAP_IFRAME)
    paths = frame.locator("path.leaflet-interactive")
    paths.first.wait_for(state="attached", timeout=60_000)
    n_paths = paths.count()
    assert n_paths > 100, n_paths  # La Teste: ~2,900 light polygons + change outlines
    # the legend and layer control are drawn by Leaflet inside the iframe
    assert frame.locator(".ocsge-legend").inner_text().startswith("Couverture du sol (CS)")
    assert frame.locator(".leaflet-control-layers").count() == 1
    shot = screenshot(page.locator(MAP_IFRAME), "cartes_map")
    # non-blank: many colours, and the light offline background covers well under all of it
    assert _distinct_colours(shot) > 10, "map screenshot is blank"
    assert _share_of_colour(shot, BACKGROUND_RGB) < 0.9
    screenshot(page, "cartes_page")
    # no request had to leave the machine: Leaflet, plugins and fonts came from /app/static
    assert offline_page.blocked == [], offline_page.blocked
    assert [f for f in offline_page.failed if "/app/static/" in f] == []


def test_deep_link_on_fresh_server(demo_store, browser, tmp_path):
    """A deep link on a fresh server runs the page inside the app frame (pages/_shared.ensure_frame)."""
    proc, url = start_server(demo_store, tmp_path / "fresh.log")
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(f"{url}/cartes?territoire={TERRITORY}&de=2015&a=2018")
        wait_for_app(page)
        screenshot(page, "cartes_deep_link_fresh_server")
        sidebar = page.get_by_test_id("stSidebar").inner_text()
        context.close()
    finally:
        stop_server(proc)
    assert "La Teste-de-Buch" in sidebar
