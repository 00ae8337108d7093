"""Browser tests: every page reads as French, on a desktop (1440×900) and a phone (390×844).

The real app (``streamlit run``) on the demo store, in chromium, offline. Each page is opened by
its deep link; a full-page screenshot is kept per page and viewport under
``artifacts/screenshots/`` (``fr_<viewport>_<page>.png``). The visible text must hold none of
Streamlit's or plotly's English chrome and no ``None`` / ``nan``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator

import pytest

from tests.browser.conftest import REPO_ROOT, screenshot, wait_for_app

TERRITORY = "commune:33009"  # Arcachon: small, fast
QUERY = f"territoire={TERRITORY}&de=2015&a=2018"
VIEWPORTS = {"desktop": (1440, 900), "phone": (390, 844)}
# url path of every page of app.py's navigation ("" is the home page)
PAGES = ["", "contour", "flux", "cartes", "artificialisation", "processus", "comparer",
         "croiser", "trajectoire", "classements", "signaler", "predire", "exports", "vegetation",
         "zonage"]
ENGLISH_CHROME = ("Press Enter", "Choose options", "Choose an option", "Page not found",
                  "View more", "Drag and drop", "Browse files", "200MB", "Download plot",
                  "Autoscale", "No results", "Upload")
# Pages whose charts are not yet drawn through pages._widgets.show_fig (French plotly config):
# the home page is being rewritten on the figures layer; empty this set once it uses show_fig.
MODEBAR_PENDING: set[str] = set()
MISSING_WORDS = re.compile(r"\b(None|nan|NaN)\b")
PAGE_TIMEOUT_MS = 120_000


def _toolbar_minimal() -> bool:
    """Whether ``.streamlit/config.toml`` hides the developer menu and "Deploy"."""
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    return config.get("client", {}).get("toolbarMode") == "minimal"


@pytest.fixture(params=list(VIEWPORTS), scope="module")
def viewport_page(request: pytest.FixtureRequest, browser: object) -> Iterator[tuple[str, object]]:
    """A French-locale page at one viewport size (module scope: pages share the session)."""
    width, height = VIEWPORTS[request.param]
    context = browser.new_context(viewport={"width": width, "height": height},  # type: ignore[attr-defined]
                                  locale="fr-FR", is_mobile=request.param == "phone")
    yield request.param, context.new_page()
    context.close()


def _settle(page: object) -> None:
    """Wait for the script run to end and every element to be drawn (no skeleton left).

    A deep link may run the script twice (frame, then page): wait, let a rerun start, wait again.
    """
    wait_for_app(page, PAGE_TIMEOUT_MS)
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => document.querySelector('h1') && !document.querySelector('[data-testid=\"stSkeleton\"]')",
        timeout=PAGE_TIMEOUT_MS)
    page.wait_for_timeout(800)  # type: ignore[attr-defined]
    wait_for_app(page, PAGE_TIMEOUT_MS)


def _visible_text(page: object) -> str:
    return page.locator("[data-testid='stApp']").inner_text()  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", PAGES)
def test_page_reads_french(app_url: str, viewport_page: tuple[str, object], path: str) -> None:
    name, page = viewport_page
    page.goto(f"{app_url}/{path}?{QUERY}")  # type: ignore[attr-defined]
    _settle(page)
    screenshot(page.locator("[data-testid='stMain']"),  # type: ignore[attr-defined]
               f"fr_{name}_{path or 'portrait'}")
    assert page.locator('[data-testid="stException"]').count() == 0  # type: ignore[attr-defined]
    # the document says it is French (Streamlit's index.html says "en"; app.py FRENCH_LANG_JS)
    assert page.evaluate("document.documentElement.lang") == "fr"  # type: ignore[attr-defined]
    text = _visible_text(page)
    assert "Arcachon" in text
    found = [word for word in ENGLISH_CHROME if word in text]
    assert not found, found
    missing = MISSING_WORDS.findall(text)
    assert not missing, [text[max(0, m.start() - 60):m.end() + 20]
                         for m in MISSING_WORDS.finditer(text)]
    # plotly's toolbar: French tooltips, no « Download plot as a PNG » (the page has its own)
    titles = page.eval_on_selector_all(  # type: ignore[attr-defined]
        ".modebar-btn", "els => els.map(e => e.getAttribute('data-title'))")
    english = [t for t in titles if t and re.search(r"Download|Autoscale|Zoom in|Reset axes", t)]
    assert not english or path in MODEBAR_PENDING, english


def test_portrait_deep_link_opens_the_portrait(app_url: str, browser: object) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="fr-FR")  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        page.goto(f"{app_url}/portrait?territoire={TERRITORY}")
        _settle(page)
        text = _visible_text(page)
        screenshot(page, "fr_portrait_deep_link")
        assert "Page not found" not in text
        assert "Arcachon" in page.get_by_test_id("stSidebar").inner_text()
        assert "Arcachon" in page.locator("h1").first.inner_text()
        assert "territoire=commune%3A33009" in page.url or "territoire=commune:33009" in page.url
    finally:
        context.close()


def test_one_action_territory_switch(app_url: str, browser: object) -> None:
    """Type a name in the sidebar's list, pick it: the page switches (no button to press)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="fr-FR")  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        page.goto(f"{app_url}/flux?{QUERY}")
        wait_for_app(page, PAGE_TIMEOUT_MS)
        picker = page.locator(".st-key-territory_pick")
        # no clear button: a territory cannot be « none » (the picker has no default option)
        clear = picker.locator('[aria-label="Clear value"]')
        clear.wait_for(state="attached", timeout=10_000)
        assert not clear.is_visible()
        picker.locator("input").click()
        page.keyboard.type("Andernos")
        page.get_by_role("option", name=re.compile("Andernos-les-Bains")).first.click()
        wait_for_app(page, PAGE_TIMEOUT_MS)
        page.wait_for_function("() => document.querySelector('h1')"
                               " && document.querySelector('h1').innerText.includes('Andernos')",
                               timeout=PAGE_TIMEOUT_MS)
        assert "territoire=commune%3A33005" in page.url or "commune:33005" in page.url
        screenshot(page, "fr_territory_switch")
    finally:
        context.close()


@pytest.mark.xfail(not _toolbar_minimal(), strict=True,
                   reason="client.toolbarMode = 'minimal' belongs to the config change of the "
                          "same issue (.streamlit/config.toml)")
def test_no_deploy_button(app_url: str, browser: object) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="fr-FR")  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        page.goto(f"{app_url}/?{QUERY}")
        wait_for_app(page, PAGE_TIMEOUT_MS)
        assert "Deploy" not in page.locator("body").inner_text()
    finally:
        context.close()
