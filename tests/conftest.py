"""Session-wide fixtures: paths to the real shared data.

Golden-data tests never skip silently: if the real data is missing, they fail.
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# The real data the tests use is committed in the repo (byte-identical copies of ../shared/data,
# each folder with its SOURCE.md and licence), so the tests run wherever the checkout lives.
REAL_DATA = {
    "ocsge_sybarval_2015_2018": REPO_ROOT / "data" / "demo",
    "ortho_montpellier_20cm": REPO_ROOT / "data" / "samples" / "ortho_montpellier_20cm",
}


@pytest.fixture(scope="session")
def shared_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder laid out like ``../shared/data`` pointing at the real data committed in the repo."""
    root = tmp_path_factory.mktemp("shared_data")
    for name, folder in REAL_DATA.items():
        assert folder.is_dir(), f"real data missing from the repo: {folder}"
        (root / name).symlink_to(folder, target_is_directory=True)
    return root


@pytest.fixture(scope="session")
def demo_store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SYBARVAL demo store (synthetic background, real changes), built once per session."""
    from ocsge_engine.demo import build_demo_store

    path = tmp_path_factory.mktemp("demo") / "store"
    build_demo_store(path)
    return path


@pytest.fixture(scope="session")
def national_store_dir(demo_store_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo store with its national results (batch, sprawl off), built once.

    Tests that read national results share it: copy it again before writing into it.
    """
    import shutil

    from ocsge_engine.batch import BatchOptions, run_flows
    from ocsge_engine.batch.cluster import dask_client

    target = tmp_path_factory.mktemp("national") / "store"
    shutil.copytree(demo_store_dir, target)
    with dask_client(n_workers=1, processes=False, dashboard_address=None) as client:
        report = run_flows(target, ["33"], client=client, options=BatchOptions(sprawl=False))
    assert report.ok and len(report.by_status("done")) == 1, report.summary()
    return target


@contextlib.contextmanager
def local_http_server(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free localhost port in a thread; yield the base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def closed_port() -> int:
    """A localhost port with nothing listening (for offline tests)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
