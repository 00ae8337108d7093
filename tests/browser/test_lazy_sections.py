"""Closed reference sections are built only once opened, in a real browser, offline.

Artificialisation's decree matrix (14 CS rows × 20 US columns, nomenclature of
``data/reference``) is in a closed expander: the page first draws one table (sprawl), and a click
on the expander reruns the page with the matrix in it.
"""

from __future__ import annotations

from tests.browser.conftest import OfflinePage, screenshot, wait_for_app

TABLES = '[data-testid="stDataFrame"]'
MATRIX_LABEL = "La matrice du décret"


def test_decree_matrix_is_drawn_once_its_section_is_opened(app_url: str,
                                                           offline_page: OfflinePage) -> None:
    page = offline_page.page
    page.goto(f"{app_url}/artificialisation?territoire=commune:33009&de=2015&a=2018")
    wait_for_app(page)
    page.locator(TABLES).first.wait_for(state="visible", timeout=60_000)
    assert page.locator(TABLES).count() == 1  # the sprawl table only
    expander = page.get_by_test_id("stExpander").filter(has_text=MATRIX_LABEL)
    expander.locator("summary").click()
    page.locator(TABLES).nth(1).wait_for(state="visible", timeout=60_000)
    wait_for_app(page)
    assert page.locator(TABLES).count() == 2
    assert "Décret n° 2023-1096" in expander.inner_text()
    assert expander.locator(TABLES).count() == 1  # the matrix is inside the opened section
    screenshot(page, "artificialisation_decree_matrix_opened")
    assert offline_page.blocked == [], offline_page.blocked
