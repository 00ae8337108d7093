"""Browser tests: the Flux page draws its Sankey, and the PNG export downloads a real image.

The real app (``streamlit run``) on the demo store, in chromium, offline; the expected Sankey
(nodes, links, file name, image size) comes from the engine, not from hard-coded numbers.
"""

from __future__ import annotations

import inspect
import io
import struct
from pathlib import Path

import pytest

from ocsge_engine.charts import sankey_figure
from ocsge_engine.charts.export import figure_bytes
from ocsge_engine.flows import exchange_matrix
from ocsge_engine.portrait import portrait_figures
from ocsge_engine.portrait.matrices import OFFICIAL_LEVELS, official_matrix
from ocsge_engine.store import Store
from ocsge_engine.territories import get_territory
from pages._widgets import file_stem
from tests.browser.conftest import OfflinePage, screenshot, wait_for_app

TERRITORY = "commune:33529"  # La Teste-de-Buch, largest demo commune
YEARS = (2015, 2018)
LEVEL = "anf"
MIN_FLOW_HA = 0.5  # the page's default threshold (pages/flux.py DEFAULT_MIN_FLOW_HA)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SANKEY_PNG_BUTTON = ".st-key-flux_sankey_png button"
DOWNLOAD_TIMEOUT_MS = 120_000  # first render starts kaleido's chromium in the server


@pytest.fixture(scope="module")
def expected_sankey(demo_store: Path) -> tuple[int, int]:
    """(nodes, links) of the page's default Sankey, computed by the engine."""
    if LEVEL in OFFICIAL_LEVELS:  # families: the official status, as Flux shows it
        figures = portrait_figures(Store.open(demo_store), get_territory(TERRITORY), *YEARS)
        matrix = official_matrix(figures, LEVEL)
    else:
        matrix = exchange_matrix(Store.open(demo_store), get_territory(TERRITORY), *YEARS,
                                 by="cs_us").regroup(LEVEL)
    trace = sankey_figure(matrix, MIN_FLOW_HA, True).data[0]
    return len(trace.node.label), len(trace.link.value)


def _open_flux(offline_page: OfflinePage, app_url: str) -> object:
    page = offline_page.page
    page.goto(f"{app_url}/?territoire={TERRITORY}&de={YEARS[0]}&a={YEARS[1]}")
    wait_for_app(page)
    page.get_by_test_id("stSidebarNav").locator('a[href$="/flux"]').click()
    page.wait_for_url("**/flux**")
    wait_for_app(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    return page


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk (the first chunk of every PNG)."""
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# counts of the static view's marks, read back from its image (an SVG in a data: URI)
STATIC_MARKS_JS = """() => {
  const img = document.querySelector('img.ocsge-chart[data-kind="sankey"]');
  if (!img || !img.complete || !img.naturalWidth) return null;
  const bytes = Uint8Array.from(atob(img.src.split(',')[1]), c => c.charCodeAt(0));
  const svg = new DOMParser().parseFromString(new TextDecoder().decode(bytes), 'image/svg+xml');
  return [svg.querySelectorAll('g.sankey-node').length,
          svg.querySelectorAll('path.sankey-link').length,
          svg.querySelector('title').textContent];
}"""


def test_flux_page_draws_the_sankey(app_url: str, offline_page: OfflinePage,
                                    expected_sankey: tuple[int, int]) -> None:
    """First its static view (an image the browser has decoded), then, toggled, plotly's
    interactive chart drawn offline: the same nodes and links as the engine's figure."""
    page = _open_flux(offline_page, app_url)
    static = page.wait_for_function(STATIC_MARKS_JS, timeout=60_000).json_value()
    assert tuple(static[:2]) == expected_sankey
    assert str(YEARS[0]) in static[2] and str(YEARS[1]) in static[2], static
    assert page.locator(".st-key-flux_sankey_chart").count() == 0  # no plotly chart yet
    screenshot(page.locator('img.ocsge-chart[data-kind="sankey"]'), "flux_sankey_static")
    page.locator(".st-key-flux_sankey_interactive").get_by_text("Graphique interactif").click()
    chart = page.locator(".st-key-flux_sankey_chart")
    chart.locator("g.sankey .sankey-link").first.wait_for(state="attached", timeout=60_000)
    n_nodes = chart.locator("g.sankey .sankey-node").count()
    n_links = chart.locator("g.sankey .sankey-link").count()
    assert (n_nodes, n_links) == expected_sankey
    assert n_nodes > 0 and n_links > 0
    title = chart.locator(".gtitle").first.text_content() or ""
    assert str(YEARS[0]) in title and str(YEARS[1]) in title, title
    screenshot(chart, "flux_sankey")
    screenshot(page, "flux_page")
    assert offline_page.blocked == [], offline_page.blocked


def test_sankey_png_export_downloads_a_valid_image(app_url: str, offline_page: OfflinePage,
                                                   tmp_path: Path) -> None:
    page = _open_flux(offline_page, app_url)
    button = page.locator(SANKEY_PNG_BUTTON)
    assert button.inner_text().strip().endswith("PNG")
    with page.expect_download(timeout=DOWNLOAD_TIMEOUT_MS) as info:
        button.click()
    download = info.value
    territory = get_territory(TERRITORY)
    stem = file_stem(f"sankey_flux_{territory.code}_{LEVEL}_{YEARS[0]}-{YEARS[1]}")
    assert download.suggested_filename == f"{stem}.png"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 10_000, len(data)
    # size: the export's defaults (CSS pixels x scale), read from the engine's signature
    defaults = inspect.signature(figure_bytes).parameters
    scale = defaults["scale"].default
    expected = (int(defaults["width"].default * scale), int(defaults["height"].default * scale))
    assert _png_size(data) == expected
    image_module = pytest.importorskip("PIL.Image")
    with image_module.open(io.BytesIO(data)) as image:
        image.load()  # decodes every pixel: a truncated file raises here
        assert image.size == expected
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 20, "PNG is blank"  # None: more than 65,536
    screenshot(page, "flux_after_png_download")
    assert offline_page.blocked == [], offline_page.blocked
