"""Browser-test harness: a real ``streamlit run`` server on a demo store, driven by Playwright.

One server and one chromium per session (per worker under pytest-xdist, each server on a free
port). Every request to a host other than localhost is aborted and recorded, which proves the app
works offline: tests assert the list stays empty.
Screenshots are kept under ``artifacts/screenshots/`` (gitignored).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("OCSGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-gpu"]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}
SERVER_START_TIMEOUT_S = 90.0
SERVER_START_ATTEMPTS = 3
APP_IDLE_TIMEOUT_MS = 60_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/browser is a ``browser`` test (deselect with ``-m 'not browser'``)."""
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)


def free_port() -> int:
    """A TCP port free on localhost now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def demo_store(national_store_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store folder of this session's browser server: the shared demo store's catalogue,
    layers and national batch results (tests/conftest.py, built once per run: the store as
    ``start.sh`` leaves it once its batch is done), and its own folder for anything the app
    writes (flags, contours), so the shared stores are never written to. The Signaler module
    serves a store without the batch results, where the pages compute on the fly."""
    store = tmp_path_factory.mktemp("browser") / "store"
    store.mkdir()
    for name in ("catalog.duckdb", "layers", "national"):
        (store / name).symlink_to(national_store_dir / name)
    return store


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_server(store: Path, log_path: Path, env: dict[str, str] | None = None
                 ) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``streamlit run app.py`` on a free port; return the process and its base URL.

    ``env`` adds environment variables (e.g. ``OCSGE_WARMUP=1``: the tests turn the warm-up
    off). Waits for ``/_stcore/health``; raises ``RuntimeError`` with the server log on failure.
    """
    env = {**os.environ, "OCSGE_STORE_DIR": str(store), "PYTHONUNBUFFERED": "1", **(env or {})}
    for attempt in range(SERVER_START_ATTEMPTS):
        # The port is free when picked; another test process may take it before streamlit binds
        # it (parallel workers): then the server exits at once and a new port is tried.
        port = free_port()
        cmd = [sys.executable, "scripts/serve.py", "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1",
               "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
        with log_path.open("ab") as log:
            proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=log,
                                    stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        waited = 0.0
        while not _healthy(url):
            try:
                proc.wait(timeout=0.25)  # returns early only if the server died
            except subprocess.TimeoutExpired:
                waited += 0.25
                if waited > SERVER_START_TIMEOUT_S:
                    proc.kill()
                    break
                continue
            break
        if _healthy(url):
            return proc, url
        proc.kill()
        proc.wait()
        if waited > SERVER_START_TIMEOUT_S or attempt == SERVER_START_ATTEMPTS - 1:
            break
    raise RuntimeError(f"streamlit did not start:\n{log_path.read_text(errors='replace')}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the server started by :func:`start_server` (this process only)."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def app_url(demo_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a real Streamlit server on the demo store (one per session)."""
    log_path = tmp_path_factory.mktemp("server") / "streamlit.log"
    proc, url = start_server(demo_store, log_path)
    yield url
    stop_server(proc)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """A headless chromium (system binary) driven by Playwright."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"chromium not found at {CHROMIUM}")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@dataclass
class OfflinePage:
    """A Playwright page whose non-local requests are aborted and recorded."""

    page: object
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@pytest.fixture
def offline_page(browser: object) -> Iterator[OfflinePage]:
    """A fresh browser context where every request outside localhost is aborted."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000},  # type: ignore[attr-defined]
                                  locale="fr-FR")
    state = OfflinePage(page=None)

    def guard(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        host = urlparse(url).hostname or ""
        if url.startswith(("http:", "https:", "ws:", "wss:")) and host not in LOCAL_HOSTS:
            state.blocked.append(url)
            route.abort()  # type: ignore[attr-defined]
        else:
            route.continue_()  # type: ignore[attr-defined]

    context.route("**/*", guard)
    page = context.new_page()
    page.on("requestfailed", lambda req: state.failed.append(f"{req.url} {req.failure}"))
    state.page = page
    yield state
    context.close()


def wait_for_app(page: object, timeout_ms: int = APP_IDLE_TIMEOUT_MS) -> None:
    """Wait until the Streamlit script run has finished.

    ``stApp`` carries ``data-test-script-state``: ``initial`` before the first run, ``running``
    while the script runs (the "Stop" status widget shows), ``notRunning`` once it is done.
    """
    page.wait_for_selector(  # type: ignore[attr-defined]
        '[data-testid="stApp"][data-test-script-state="notRunning"]'
        '[data-test-connection-state="CONNECTED"]', timeout=timeout_ms)


def screenshot(page_or_locator: object, name: str) -> Path:
    """Save a PNG under ``artifacts/screenshots/`` and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page_or_locator.screenshot(path=str(path))  # type: ignore[attr-defined]
    return path
