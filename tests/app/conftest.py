"""AppTest harness: the app on the session's demo store (batched), one fresh store folder per test.

The store folder of each test links to the shared demo store's catalogue and layers, so flags
(``flags.duckdb``) written by one test never leak into another, and Streamlit's caches are cleared
so that ``get_store()`` opens that folder.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.components.v2 import manifest_scanner
from streamlit.testing.v1 import AppTest

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 120
INTERACTIVE_ALL = "charts_interactive"  # pages/_widgets.py: every chart drawn interactive


def static_charts(at: AppTest) -> list[str]:
    """The SVG of every chart the page drew as its static first view (decoded from its image)."""
    found = (re.search(r'class="ocsge-chart"[^>]*src="data:image/svg\+xml;base64,([^"]+)"',
                       m.value) for m in at.markdown)
    return [base64.b64decode(m.group(1)).decode("utf-8") for m in found if m]


def chart_count(at: AppTest) -> int:
    """Charts drawn by the page: static first views and interactive plotly charts."""
    return len(static_charts(at)) + len(at.get("plotly_chart"))


def interactive(at: AppTest) -> AppTest:
    """The page rerun with every chart interactive (as each chart's « Graphique interactif »
    toggle would), so that a test reads the plotly figures themselves."""
    at.session_state[INTERACTIVE_ALL] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at

# A server scans the installed packages for component manifests once, at start-up; every new
# AppTest scans them again (0.4-1 s of metadata parsing per test). Scan once per test process.
manifest_scanner.scan_component_manifests = functools.cache(
    manifest_scanner.scan_component_manifests)


def linked_store(source: Path, store: Path, names: tuple[str, ...],
                 monkeypatch: pytest.MonkeyPatch) -> Path:
    """``store``: a new folder linking ``names`` of ``source``, set as ``OCSGE_STORE_DIR`` (the
    app's caches cleared, so that ``get_store()`` opens it)."""
    store.mkdir()
    for name in names:
        (store / name).symlink_to(source / name)
    monkeypatch.setenv("OCSGE_STORE_DIR", str(store))
    monkeypatch.chdir(REPO_ROOT)
    st.cache_data.clear()
    st.cache_resource.clear()
    return store


@pytest.fixture
def app_store(demo_store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
              ) -> Iterator[Path]:
    """A store folder for one test (links to the demo store), set as ``OCSGE_STORE_DIR``."""
    yield linked_store(demo_store_dir, tmp_path / "store", ("catalog.duckdb", "layers"),
                       monkeypatch)
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def national_app_store(national_store_dir: Path, tmp_path: Path,
                       monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A store folder linking the demo store and its national batch results (national tables
    and page objects; read only), set as ``OCSGE_STORE_DIR``."""
    yield linked_store(national_store_dir, tmp_path / "national_store",
                       ("catalog.duckdb", "layers", "national"), monkeypatch)
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def open_app(national_app_store: Path) -> Callable[..., AppTest]:
    """``open_app(page, territoire=…, de=…, a=…, **params)``: the app run on ``page``.

    On the demo store with its national batch results, as ``start.sh`` leaves it: the demo's
    communes (and EPCI) read their precomputed figures. A test that also asks for
    ``app_store`` (to write into it, or to compare with the engine on it) runs the app on that
    store, where nothing is precomputed and every page computes on the fly (the store last set
    as ``OCSGE_STORE_DIR`` is the one the app opens).
    """

    def _open(page: str | None = None, **params: str) -> AppTest:
        at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=RUN_TIMEOUT_S)
        for name, value in params.items():
            at.query_params[name] = value
        if page is not None:
            # A deep link: the first run opens ``page`` (every page's url_path is its file name,
            # which is how Streamlit finds the page before a first run), not the home page first.
            at.switch_page(page)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return _open
