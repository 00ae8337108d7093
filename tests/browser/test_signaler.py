"""Browser test: a flag made through the Signaler page survives a server restart.

A first ``streamlit run`` server takes a flag through the page's form (polygon id, proposed CS/US,
comment); it is stopped, a new server starts on the same store folder, and the page lists the
flag again. The store folder links to the session's demo layers, so the flags database
(``flags.duckdb``) is this module's own.

The second server runs the warm-up, as a production server does (the tests turn it off
elsewhere), and the page is opened once the warm-up has imported the map's component
(``st_folium``): it must be registered and draw the commune's polygons (declared outside a
script run, it once left the map blank for 60 s).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ocsge_engine.flags import FLAGS_FILE, FlagStore
from ocsge_engine.store import Store
from ocsge_engine.territories import get_territory
from tests.browser.conftest import (
    OfflinePage,
    screenshot,
    start_server,
    stop_server,
    wait_for_app,
)

TERRITORY = "commune:33236"  # Lège-Cap-Ferret
YEAR = 2018
COMMENT = "Prairie, pas de forêt (test navigateur)"
FOLIUM_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'


@pytest.fixture(scope="module")
def flag_store_dir(demo_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store folder of this module: the demo's catalogue and layers, its own flags."""
    store = tmp_path_factory.mktemp("signaler") / "store"
    store.mkdir()
    for name in ("catalog.duckdb", "layers"):
        (store / name).symlink_to(demo_store / name)
    return store


@pytest.fixture(scope="module")
def target(flag_store_dir: Path) -> tuple[str, str, str, str, str]:
    """(polygon id, current CS, current US, proposed CS, proposed US) of the flagged polygon."""
    gdf = Store.open(flag_store_dir).polygons(get_territory(TERRITORY), YEAR,
                                              columns=["id", "code_cs", "code_us"])
    row = gdf.sort_values("id").iloc[0]
    current = (str(row["code_cs"]), str(row["code_us"]))
    proposed = ("CS2.2.1", "US1.1") if current != ("CS2.2.1", "US1.1") else ("CS1.1.1.1", "US5")
    return str(row["id"]), *current, *proposed


def _open_signaler(page: object, url: str) -> None:
    page.goto(f"{url}/signaler?territoire={TERRITORY}&de=2015&a={YEAR}")  # type: ignore[attr-defined]
    wait_for_app(page)
    assert page.locator('[data-testid="stException"]').count() == 0  # type: ignore[attr-defined]
    assert "Lège-Cap-Ferret" in page.get_by_test_id("stSidebar").inner_text()  # type: ignore[attr-defined]


def test_flag_survives_a_restart(flag_store_dir: Path, offline_page: OfflinePage,
                                 tmp_path: Path, target: tuple[str, ...]) -> None:
    polygon_id, cs_now, us_now, cs_new, us_new = target
    page = offline_page.page
    assert not (flag_store_dir / FLAGS_FILE).exists()

    proc, url = start_server(flag_store_dir, tmp_path / "first.log")
    try:
        _open_signaler(page, url)
        page.get_by_text("Aucun signalement pour l'instant.").wait_for()
        id_field = page.locator(".st-key-signal_polygon_id input")
        id_field.fill(polygon_id)
        id_field.press("Enter")
        wait_for_app(page)
        page.get_by_text("Classification actuelle").wait_for()
        assert f"{cs_now} –" in page.get_by_text("Classification actuelle").inner_text()
        page.locator(".st-key-signal_cs input").fill(cs_new)
        page.locator(".st-key-signal_us input").fill(us_new)
        page.locator(".st-key-signal_comment textarea").fill(COMMENT)
        page.get_by_role("button", name="Enregistrer le signalement").click()
        success = page.get_by_text("Signalement enregistré pour le polygone")
        success.wait_for(timeout=60_000)
        wait_for_app(page)
        assert success.inner_text().strip() == (
            f"Signalement enregistré pour le polygone {polygon_id} : {cs_new} / {us_new}.")
        screenshot(page, "signaler_flag_saved")
    finally:
        stop_server(proc)
    assert offline_page.blocked == [], offline_page.blocked

    # the server is gone; the flag is on disk
    flags = FlagStore(flag_store_dir).list()
    assert len(flags) == 1
    row = flags.iloc[0]
    assert (row["territory_id"], int(row["millesime"]), row["polygon_id"]) == (
        TERRITORY, YEAR, polygon_id)
    assert (row["code_cs_current"], row["code_us_current"]) == (cs_now, us_now)
    assert (row["code_cs_proposed"], row["code_us_proposed"]) == (cs_new, us_new)
    assert row["comment"] == COMMENT

    log = tmp_path / "second.log"
    proc, url = start_server(flag_store_dir, log, env={"OCSGE_WARMUP": "1"})
    try:
        page.goto(f"{url}/?territoire={TERRITORY}&de=2015&a={YEAR}")  # starts the warm-up
        wait_for_app(page)
        deadline = time.monotonic() + 60
        while "components imported" not in log.read_text(errors="replace"):
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.2)
        assert "components imported in" in log.read_text(errors="replace")
        assert "(streamlit_folium)" in log.read_text(errors="replace")
        page.goto("about:blank")
        _open_signaler(page, url)
        polygons = page.frame_locator(FOLIUM_IFRAME).locator("path.leaflet-interactive")
        polygons.first.wait_for(state="attached", timeout=30_000)  # not the 60 s of a blank map
        assert polygons.count() > 500, polygons.count()  # Lège-Cap-Ferret: 1,115 light parts
        listed = page.locator(".st-key-signal_delete_choice")
        listed.wait_for(timeout=60_000)
        # the listing's choice box names the flag: "<polygon> (<year>) → CS/US · date"
        assert f"{polygon_id} ({YEAR}) → {cs_new}/{us_new}" in listed.locator("input").input_value()
        # exports are offered only when flags exist (the map's first value may rerun the page:
        # wait for the element rather than count it once)
        page.locator(".st-key-signal_csv button").wait_for(timeout=60_000)
        assert page.get_by_text("Aucun signalement").count() == 0
        listed.scroll_into_view_if_needed()
        screenshot(page, "signaler_after_restart")
    finally:
        stop_server(proc)
    assert offline_page.blocked == [], offline_page.blocked
