"""Dashboard timings: cold start to first render, commune switch (server side), map load.

Targets (issue 5): first render <= 4 s, commune switch <= 200 ms, map <= 2 s. Issue 13: first
visit of every page for a commune not yet visited <= 2 s on a warm server, commune switch in the
browser (sidebar list -> page redrawn) <= 1 s.

Usage::

    .venv/bin/python benchmarks/bench_app.py [--store DIR] [--repeat 3]

Builds the demo store into a temporary folder unless ``--store`` is given. Prints one line per
figure (median of ``--repeat`` runs) and the target it is compared with. Measurements:

* **cold start**: ``streamlit run`` spawned -> ``/_stcore/health`` answers, then browser
  ``goto`` of the home page -> first script run finished (``stApp`` ``notRunning``); then a new
  session on the same (warm) server, which separates Python imports from the frontend boot.
* **commune switch (server side)**: ``streamlit.testing`` AppTest of ``app.py``: time of the
  rerun after the territory changes, first visit of the commune (cold caches) and back to a
  visited one (warm caches).
* **large territory**: the ~20k-polygon case (COBAN, 18,034 polygons): light polygons, folium
  render, and chromium drawing the standalone map HTML (no Streamlit around it).
* **pages (browser)**: on a warm server, each page opened by its deep link for a commune no page
  has shown yet (script run over, no skeleton left), then the sidebar's one-action switch on Flux.
  ``--only pages`` runs this one (and the next) alone.
* **pages (in-app)**: the user's path, on another warm server: a commune opened on one page
  (Flux for the Portrait, else the Portrait), then the sidebar link to the page, which has not
  shown that commune yet; timed from the click to the page drawn (no page load, unlike a deep
  link, so no frontend boot). ``--only in-app`` runs this one alone.
* **pages (new tab)**: ``--only new-tab``: each page's deep link opened in a new tab of a browser
  that has shown the app once, for a fresh commune; Exports (no chart, no map) last, as the floor
  a new tab costs (renderer start, Streamlit's frontend boot) whatever the page.
* **map load (browser)**: Cartes page of La Teste-de-Buch (33529): ``goto`` -> Leaflet paths
  drawn in the map iframe, with the server caches cold, then warm; plus the in-iframe time from
  the component's first paint to the last path drawn.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.browser.conftest import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    start_server,
    stop_server,
    wait_for_app,
)

MAP_IFRAME = 'iframe[data-testid="stIFrame"]'
LARGEST = "commune:33529"  # La Teste-de-Buch
OTHERS = ["commune:33236", "commune:33009", "commune:33051"]  # Lège-Cap-Ferret, Arcachon, Biganos
LARGE_TERRITORY = "epci:243301504"  # CA du Bassin d'Arcachon Nord (COBAN), 18,034 polygons
TARGETS_S = {"first_render": 4.0, "switch": 0.2, "map": 2.0, "page": 2.0, "browser_switch": 1.0,
             "page_in_app": 1.5}
PAGE_PATHS = ["", "flux", "cartes", "artificialisation", "processus", "comparer", "croiser",
              "trajectoire", "classements", "signaler", "predire", "exports", "contour",
              "vegetation", "zonage"]
# demo communes, one per page visit: the first visit of a page is also the commune's first
# the 17 SYBARVAL communes of the demo, one per page visit (La Teste, warmed up, comes last)
FRESH_COMMUNES = ["33005", "33009", "33011", "33019", "33029", "33042", "33051", "33199",
                  "33229", "33236", "33260", "33284", "33436", "33498", "33527", "33555",
                  "33529"]
DRAWN = ("() => document.querySelector('h1') && !document.querySelector("
         "'[data-testid=\"stSkeleton\"]') && document.querySelector("
         "'[data-testid=\"stApp\"][data-test-script-state=\"notRunning\"]')")


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _line(name: str, seconds: list[float], target: float | None = None) -> str:
    fig = f"{name:<48} median {_median(seconds):7.3f} s  (runs: " \
          f"{', '.join(f'{s:.3f}' for s in seconds)})"
    if target is not None:
        fig += f"  target <= {target:g} s: {'OK' if _median(seconds) <= target else 'MISSED'}"
    return fig


def bench_cold_start(store: Path, repeat: int, log_dir: Path) -> list[str]:
    """Fresh server per run: spawn -> healthy -> first render of the home page."""
    from playwright.sync_api import sync_playwright

    healthy, first, total, reload = [], [], [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for i in range(repeat):
            t0 = time.perf_counter()
            proc, url = start_server(store, log_dir / f"cold_{i}.log")
            t1 = time.perf_counter()
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"{url}/?territoire={LARGEST}&de=2015&a=2018")
                wait_for_app(page)
                t2 = time.perf_counter()
                page.close()
                # same server, new session: Python imports and caches are warm
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                t3 = time.perf_counter()
                page.goto(f"{url}/?territoire={LARGEST}&de=2015&a=2018")
                wait_for_app(page)
                reload.append(time.perf_counter() - t3)
                page.close()
            finally:
                stop_server(proc)
            healthy.append(t1 - t0)
            first.append(t2 - t1)
            total.append(t2 - t0)
        browser.close()
    return [_line("server spawn -> /_stcore/health", healthy),
            _line("browser goto -> first render (home)", first, TARGETS_S["first_render"]),
            _line("cold start total (spawn -> first render)", total),
            _line("home, new session on a warm server", reload)]


def bench_switch(store: Path, repeat: int) -> list[str]:
    """Server-side rerun after a commune change, with AppTest."""
    os.environ["OCSGE_STORE_DIR"] = str(store)
    os.chdir(REPO_ROOT)
    from streamlit.testing.v1 import AppTest

    cold, warm = [], []
    for i in range(repeat):
        at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=120)
        at.query_params["territoire"] = LARGEST
        at.run()
        _timed_switch(at, OTHERS[i % len(OTHERS)], cold)
        _timed_switch(at, LARGEST, warm)
    return [_line("commune switch, new commune (cold caches)", cold),
            _line("commune switch, visited commune (warm caches)", warm, TARGETS_S["switch"])]


def _timed_switch(at: object, territory: str, out: list[float]) -> None:
    at.session_state["territory_id"] = territory  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    at.run()  # type: ignore[attr-defined]
    out.append(time.perf_counter() - t0)
    errors = [e.value for e in at.exception]  # type: ignore[attr-defined]
    if errors:
        raise RuntimeError(f"app raised on {territory}: {errors[0]}")


def bench_map(store: Path, repeat: int, log_dir: Path) -> list[str]:
    """Cartes page of the largest commune in chromium, server caches cold then warm."""
    from playwright.sync_api import sync_playwright

    cold, warm, in_frame = [], [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for i in range(repeat):
            proc, url = start_server(store, log_dir / f"map_{i}.log")
            try:
                # a first session through the entry page: a fresh server runs its very first
                # session in multipage-v1 mode (pages/ folder), which a deep link would measure
                page = browser.new_page()
                page.goto(f"{url}/?territoire={LARGEST}&de=2015&a=2018")
                wait_for_app(page)
                page.close()
                for bucket in (cold, warm):
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    bucket.append(_timed_map(page, f"{url}/cartes?territoire={LARGEST}"
                                             "&de=2015&a=2018", in_frame))
                    page.close()
            finally:
                stop_server(proc)
        browser.close()
    return [_line("map load La Teste (goto -> paths), cold caches", cold),
            _line("map load La Teste (goto -> paths), warm caches", warm, TARGETS_S["map"]),
            _line("map draw inside iframe (nav start -> paths)", in_frame)]


def _timed_map(page: object, url: str, in_frame: list[float]) -> float:
    t0 = time.perf_counter()
    page.goto(url)  # type: ignore[attr-defined]
    frame = page.frame_locator(MAP_IFRAME)  # type: ignore[attr-defined]
    frame.locator("path.leaflet-interactive").first.wait_for(state="attached", timeout=120_000)
    elapsed = time.perf_counter() - t0
    iframe = page.locator(MAP_IFRAME).element_handle().content_frame()  # type: ignore[attr-defined]
    # the iframe's own clock: from its navigation start to now (paths present)
    in_frame.append(iframe.evaluate("performance.now()") / 1000.0)
    return elapsed


def bench_large(store: Path, repeat: int, log_dir: Path) -> list[str]:
    """The ~20k-polygon case: COBAN (18,034 polygons in 2018), standalone map HTML in chromium."""
    from playwright.sync_api import sync_playwright

    from ocsge_engine.maps import light_polygons, territory_map
    from ocsge_engine.store import Store
    from ocsge_engine.territories import get_territory

    gdf = Store.open(store).polygons(get_territory(LARGE_TERRITORY), 2018,
                                     columns=["code_cs", "code_us"])
    t0 = time.perf_counter()
    light = light_polygons(gdf)
    t1 = time.perf_counter()
    html = territory_map(light, "cs", asset_base_url=(REPO_ROOT / "static" / "vendor").as_uri()
                         ).get_root().render()
    t2 = time.perf_counter()
    page_file = log_dir / "large_map.html"
    page_file.write_text(html, encoding="utf-8")
    draws = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=[*CHROMIUM_ARGS, "--allow-file-access-from-files"])
        for _ in range(repeat):
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(page_file.as_uri())
            page.wait_for_function(
                "document.querySelectorAll('path.leaflet-interactive').length >= "
                f"{len(light)}", timeout=120_000)
            draws.append(page.evaluate("performance.now()") / 1000.0)
            page.close()
        browser.close()
    return [f"large territory: {len(gdf)} polygons -> {len(light)} light features, "
            f"{len(html) / 1e6:.1f} MB HTML",
            _line("  light_polygons (dissolve + simplify)", [t1 - t0]),
            _line("  folium build + render", [t2 - t1]),
            _line("  chromium draw (navigation -> all paths)", draws, TARGETS_S["map"])]


def _wait_warm(log_path: Path, timeout_s: float = 90.0) -> None:
    """Wait for the server's warm-up thread to log that it is done (pages/_warmup.py), so that
    the pages are timed on a warm server, not against the warm-up's imports and Chromium start."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if "warm-up done" in log_path.read_text(errors="replace"):
            return
        time.sleep(0.5)
    print(f"(warm-up not done after {timeout_s:.0f} s: timing anyway)", flush=True)


@contextlib.contextmanager
def _warm_server_page(store: Path, log_path: Path) -> Iterator[tuple[Any, str]]:
    """A Chromium page on a new server whose first page (La Teste) is drawn and whose warm-up
    is done; yields ``(page, base URL)``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        proc, url = start_server(store, log_path)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{url}/?territoire={LARGEST}&de=2015&a=2018")  # warm the server
            wait_for_app(page)
            _wait_warm(log_path)
            yield page, url
        finally:
            stop_server(proc)
            browser.close()


def _timed_visit(page: Any, url: str) -> float:
    """Seconds from ``goto(url)`` to the page drawn (:data:`DRAWN`); ``inf`` after 120 s (said,
    and the benchmark goes on with the other pages)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_timeout(50)
    try:
        page.wait_for_function(DRAWN, timeout=120_000)
    except PlaywrightTimeout:
        return float("inf")
    return time.perf_counter() - t0


def bench_pages(store: Path, repeat: int, log_dir: Path) -> list[str]:
    """First visit of each page for a fresh commune on a warm server, and the sidebar switch."""
    lines = []
    with _warm_server_page(store, log_dir / "pages.log") as (page, url):
        communes = iter(FRESH_COMMUNES * (repeat + 1))
        for path in PAGE_PATHS:
            runs = []
            for _ in range(repeat):
                code = next(communes)
                runs.append(_timed_visit(page, f"{url}/{path}?territoire=commune:{code}"
                                               "&de=2015&a=2018"))
            lines.append(_line(f"first visit /{path or '(portrait)'}, commune:{code}", runs,
                               TARGETS_S["page"]))
            print(lines[-1], flush=True)
        switches = []
        page.goto(f"{url}/flux?territoire={LARGEST}&de=2015&a=2018")
        page.wait_for_function(DRAWN, timeout=300_000)
        for name in ["Arcachon", "Biganos", "La Teste-de-Buch"][:max(1, repeat)]:
            picker = page.locator(".st-key-territory_pick")
            picker.locator("input").click()
            page.keyboard.type(name)
            t0 = time.perf_counter()
            page.get_by_role("option", name=name).first.click()
            page.wait_for_function(
                f"() => document.querySelector('h1') && document.querySelector('h1')"
                f".innerText.includes({name!r})", timeout=300_000)
            page.wait_for_function(DRAWN, timeout=300_000)
            switches.append(time.perf_counter() - t0)
        lines.append(_line("browser commune switch on Flux (pick -> drawn)", switches,
                           TARGETS_S["browser_switch"]))
    return lines


def bench_pages_new_tab(store: Path, repeat: int, log_dir: Path) -> list[str]:
    """Each page's deep link opened in a new tab of a browser that has shown the app once (its
    HTTP cache is warm), for a commune no page has shown yet; then the same for Exports (no
    chart, no map), which gives the floor: a new tab's renderer and Streamlit's frontend boot."""
    lines = []
    with _warm_server_page(store, log_dir / "pages_new_tab.log") as (first, url):
        context = first.context.browser.new_context(viewport={"width": 1440, "height": 900})
        warm = context.new_page()  # the browser has shown the app once: cached static files
        warm.goto(f"{url}/?territoire={LARGEST}&de=2015&a=2018")
        warm.wait_for_function(DRAWN, timeout=120_000)
        warm.close()
        communes = iter(FRESH_COMMUNES * (2 * repeat + 1))
        for path in [*PAGE_PATHS, "exports"]:
            runs = []
            for _ in range(repeat):
                page = context.new_page()
                runs.append(_timed_visit(page, f"{url}/{path}?territoire=commune:"
                                               f"{next(communes)}&de=2015&a=2018"))
                page.close()
            lines.append(_line(f"new tab /{path or '(portrait)'}", runs, TARGETS_S["page_in_app"]))
            print(lines[-1], flush=True)
        context.close()
    return lines


def bench_pages_in_app(store: Path, log_dir: Path) -> list[str]:
    """The user's path on a warm server: a commune opened on one page, then the sidebar link to
    the next page, which has not shown that commune yet (no page load: the frontend stays)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    lines = []
    with _warm_server_page(store, log_dir / "pages_in_app.log") as (page, url):
        for path, code in zip(PAGE_PATHS, FRESH_COMMUNES):
            start_page = "flux" if not path else ""  # Portrait is reached from Flux
            page.goto(f"{url}/{start_page}?territoire=commune:{code}&de=2015&a=2018")
            page.wait_for_timeout(50)
            page.wait_for_function(DRAWN, timeout=120_000)
            # done: the new page's title replaced the old one, and DRAWN (script over, no
            # skeleton); a fast run may never show the "running" state in the DOM
            before = page.locator("h1").first.inner_text()
            done = (f"() => {{ const h = document.querySelector('h1'); return "
                    f"location.pathname.endsWith('/{path}') && h && h.innerText !== "
                    f"{before!r} && ({DRAWN})(); }}")
            links = page.get_by_test_id("stSidebarNav").locator("a")
            link = links.first if not path else links.and_(page.locator(f'a[href$="/{path}"]'))
            t0 = time.perf_counter()
            link.click()
            try:
                page.wait_for_function(done, timeout=120_000)
                elapsed = time.perf_counter() - t0
            except PlaywrightTimeout:  # say so (with a screenshot) and go on
                page.screenshot(path=str(log_dir.parent / f"in_app_timeout_{path}.png"))
                elapsed = float("inf")
            lines.append(_line(f"in-app link /{path or '(portrait)'}, commune:{code}",
                               [elapsed], TARGETS_S["page_in_app"]))
            print(lines[-1], flush=True)
    return lines


def _with_store(args: argparse.Namespace, run: Callable[[Path, Path], None]) -> None:
    with tempfile.TemporaryDirectory(prefix="bench_app_") as tmp:
        tmp_path = Path(tmp)
        store = args.store
        if store is None:
            store = tmp_path / "store"
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "ocsge_engine", "-q", "demo", "--store",
                            str(store)], cwd=REPO_ROOT, check=True)
            print(f"demo store built in {time.perf_counter() - t0:.1f} s")
        run(store, tmp_path)


def main() -> None:
    """Run the three benchmarks and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=None, help="existing store (else demo)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["pages", "in-app", "new-tab"], default=None,
                        help="run one benchmark only")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}")

    def run(store: Path, tmp: Path) -> None:
        if args.only == "new-tab":
            bench_pages_new_tab(store, args.repeat, tmp)  # printed as they come
            return
        if args.only != "in-app":
            pages = bench_pages(store, args.repeat, tmp)  # printed as they come
            print(pages[-1], flush=True)  # the browser switch
        bench_pages_in_app(store, tmp)  # printed as they come
        if args.only in ("pages", "in-app"):
            return
        for line in bench_cold_start(store, args.repeat, tmp):
            print(line, flush=True)
        for line in bench_map(store, args.repeat, tmp):
            print(line, flush=True)
        for line in bench_large(store, args.repeat, tmp):
            print(line, flush=True)
        for line in bench_switch(store, args.repeat):
            print(line, flush=True)

    _with_store(args, run)


if __name__ == "__main__":
    main()
