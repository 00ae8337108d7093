"""Browser test: the Processus page in chromium; editing the process table changes the Sankey."""

from __future__ import annotations

from pathlib import Path

from ocsge_engine.flows.processes import default_process_table
from tests.browser.conftest import OfflinePage, screenshot, wait_for_app

TERRITORY = "commune:33529"  # La Teste-de-Buch: étalement résidentiel present 2015 -> 2018
SANKEY_LABELS = "g.sankey-node text.node-label"  # in the static view, as in plotly
SANKEY_IMG = 'img.ocsge-chart[data-kind="sankey"]'
# the node labels of the page's first Sankey: its static view is an image of an SVG (data: URI),
# read back as the browser has it
LABELS_JS = f"""sel => {{
  const img = document.querySelector({SANKEY_IMG!r});
  if (!img) return [];
  const bytes = Uint8Array.from(atob(img.src.split(',')[1]), c => c.charCodeAt(0));
  const svg = new DOMParser().parseFromString(new TextDecoder().decode(bytes), 'image/svg+xml');
  return [...svg.querySelectorAll(sel)].map(t => t.textContent.trim());
}}"""
NEW_LABEL = "Lotissements neufs"
UPLOADED_LABEL = "Lotissements (table chargée)"
ROW_HEIGHT_PX = 35  # glide-data-grid default row height in Streamlit
ETALEMENT_ROW = 3   # 0-based row of etalement_residentiel in the default table


def _sankey_labels(page) -> list[str]:
    page.locator(SANKEY_IMG).first.wait_for(state="visible", timeout=60_000)
    return page.evaluate(LABELS_JS, SANKEY_LABELS)


def _settled_box(page, locator) -> dict:  # type: ignore[no-untyped-def]
    """The locator's bounding box once the layout above it has stopped moving.

    Elements above the editor (charts, download buttons) may still settle after the scroll; a
    double click aimed at a row must not land one row off.
    """
    box = locator.bounding_box()
    for _ in range(40):
        page.wait_for_timeout(250)
        again = locator.bounding_box()
        if again == box:
            break
        box = again
    assert box is not None
    return box


def test_editing_the_process_table_changes_the_sankey(app_url: str, offline_page: OfflinePage,
                                                      tmp_path: Path):
    page = offline_page.page
    page.goto(f"{app_url}/?territoire={TERRITORY}&de=2015&a=2018")
    wait_for_app(page)
    page.get_by_test_id("stSidebarNav").locator('a[href$="/processus"]').click()
    page.wait_for_url("**/processus**")
    wait_for_app(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    before = _sankey_labels(page)
    assert "Étalement résidentiel" in before, before
    # the page opens on its Sankey; the rules sit in a closed section under it, whose editor is
    # sent once the section is opened
    rules = page.get_by_test_id("stExpander").filter(has_text="Règles de classement")
    assert rules.get_by_test_id("stDataFrame").count() == 0
    rules.locator("summary").click()
    # edit the label of « étalement résidentiel » in the data editor (first column)
    editor = rules.get_by_test_id("stDataFrame").first
    editor.wait_for(state="visible", timeout=10_000)
    editor.scroll_into_view_if_needed()
    box = _settled_box(page, editor)
    page.mouse.dblclick(box["x"] + 60, box["y"] + ROW_HEIGHT_PX * (ETALEMENT_ROW + 1.5))
    page.locator("textarea").first.wait_for(state="visible", timeout=10_000)  # overlay editor
    page.keyboard.press("Control+A")
    page.keyboard.type(NEW_LABEL)
    screenshot(page, "processus_typing")
    page.keyboard.press("Enter")
    wait_for_app(page)
    screenshot(page, "processus_after_enter")
    page.wait_for_function(f"label => ({LABELS_JS})({SANKEY_LABELS!r}).includes(label)",
                           arg=NEW_LABEL, timeout=60_000)
    after = _sankey_labels(page)
    assert NEW_LABEL in after and "Étalement résidentiel" not in after, after
    screenshot(page, "processus_edited")
    # the section closed, the editor is no longer sent: the edit still applies
    rules.locator("summary").click()
    wait_for_app(page)
    rules.get_by_test_id("stDataFrame").wait_for(state="detached", timeout=30_000)
    closed = _sankey_labels(page)
    assert NEW_LABEL in closed and "Étalement résidentiel" not in closed, closed

    # an uploaded table applies at once, and still does once the section is closed
    uploaded = tmp_path / "processus.csv"
    uploaded.write_text(default_process_table().to_csv().replace(
        "Étalement résidentiel", UPLOADED_LABEL), encoding="utf-8")
    rules.locator("summary").click()
    wait_for_app(page)
    rules.locator('input[type="file"]').set_input_files(str(uploaded))
    wait_for_app(page)
    page.wait_for_function(f"label => ({LABELS_JS})({SANKEY_LABELS!r}).includes(label)",
                           arg=UPLOADED_LABEL, timeout=60_000)
    rules.locator("summary").click()
    wait_for_app(page)
    assert UPLOADED_LABEL in _sankey_labels(page)
    # a file that is not a process table: a French error, the table in force is kept
    rules.locator("summary").click()
    wait_for_app(page)
    bad = tmp_path / "pas_une_table.csv"
    bad.write_text("code;libelle\n", encoding="utf-8")
    rules.locator('input[type="file"]').set_input_files(str(bad))
    wait_for_app(page)
    error = rules.get_by_test_id("stAlertContentError")
    error.wait_for(state="visible", timeout=30_000)
    assert error.inner_text().startswith("La table des processus"), error.inner_text()
    screenshot(page, "processus_bad_upload")
    assert UPLOADED_LABEL in _sankey_labels(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert offline_page.blocked == [], offline_page.blocked
