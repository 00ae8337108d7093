"""Session-wide fixtures: paths to the real shared data.

Golden-data tests never skip silently: if the real data is missing, they fail.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.server
import os
import pickle
import shutil
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# No server warm-up thread (pages/_warmup.py) in AppTest runs or in the servers the browser tests
# start (they inherit this environment): it would import torch and start Chromium behind the
# tests. tests/app/test_warmup.py runs it explicitly.
os.environ["OCSGE_WARMUP"] = "0"
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


def _store_rank(items: list[pytest.Item]) -> int:
    """How much of the shared stores a test file needs: 0 none, 1 the demo, 2 its national batch."""
    names = set().union(*(getattr(item, "fixturenames", ()) for item in items))
    return 2 if "national_store_dir" in names else 1 if "demo_build" in names else 0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order test files so that no xdist worker waits idle on another's store build.

    The shared stores (:func:`build_once`) take about 1.5 min on 2 cores: the demo, then its
    national batch. The first file needing the batch goes first (its worker builds both), then
    the files needing no store, the demo alone, then the rest, each group largest file first
    (``scripts/test.sh`` passes ``--no-loadscope-reorder`` so that xdist keeps this order and
    hands out the files one by one as workers free up). Tests inside a file keep their order.
    """
    files: dict[str, list[pytest.Item]] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::")[0], []).append(item)
    ranks = {name: _store_rank(group) for name, group in files.items()}
    builder = next((name for name, rank in ranks.items() if rank == 2), None)
    order = sorted(files, key=lambda name: (name != builder, ranks[name], -len(files[name])))
    items[:] = [item for name in order for item in files[name]]


# The real ``__main__`` of this test process. Streamlit's script runner (AppTest) installs the
# app as ``sys.modules["__main__"]`` and leaves it there; a process started later with the
# ``spawn`` method (a Dask LocalCluster's workers) would then re-run app.py and die.
_REAL_MAIN = sys.modules["__main__"]


@pytest.fixture(autouse=True)
def _restore_main_module() -> Iterator[None]:
    """Put the real ``__main__`` back after each test (see :data:`_REAL_MAIN`)."""
    yield
    if sys.modules.get("__main__") is not _REAL_MAIN:
        sys.modules["__main__"] = _REAL_MAIN


def build_once(tmp_path_factory: pytest.TempPathFactory, name: str,
               build: Callable[[Path], Any]) -> tuple[Path, Any]:
    """Build a read-only session resource once per test run, even across xdist workers.

    ``build(folder)`` fills the empty ``folder`` and returns a picklable value. Without xdist the
    folder is a fresh temporary folder of this session. Under xdist the first worker builds into
    a folder of the run's shared temporary root while holding a file lock; the other workers wait
    for it and reuse the folder and the returned value. Consumers must not write into the folder
    (copy it, or link its entries into a folder of their own).

    Returns:
        ``(folder, value)``.
    """
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        folder = tmp_path_factory.mktemp(name)
        return folder, build(folder)
    root = tmp_path_factory.getbasetemp().parent / f"shared-{name}"  # the run's root, not global
    root.mkdir(exist_ok=True)
    folder, result = root / "data", root / "result.pickle"
    with (root / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not result.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a worker that failed mid-build
            folder.mkdir()
            value = build(folder)
            tmp = root / "result.pickle.tmp"
            tmp.write_bytes(pickle.dumps(value))
            tmp.replace(result)
        return folder, pickle.loads(result.read_bytes())


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """``(store folder, DemoReport)`` of the SYBARVAL demo store, built once per test run."""
    from ocsge_engine.demo import build_demo_store

    def build(folder: Path) -> Any:
        return build_demo_store(folder / "store")

    folder, report = build_once(tmp_path_factory, "demo", build)
    return folder / "store", report


@pytest.fixture(scope="session")
def demo_store_dir(demo_build: tuple[Path, Any]) -> Path:
    """The SYBARVAL demo store (synthetic background, real changes), built once per test run.

    Shared by every test (and every xdist worker): read it, never write into it.
    """
    return demo_build[0]


@pytest.fixture(scope="session")
def national_store_dir(demo_store_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo store with its national results (batch, sprawl off), built once.

    Tests that read national results share it: copy it again before writing into it.
    """
    from ocsge_engine.batch import BatchOptions, run_flows
    from ocsge_engine.batch.cluster import dask_client

    def build(folder: Path) -> None:
        target = folder / "store"
        shutil.copytree(demo_store_dir, target)
        with dask_client(n_workers=1, processes=False, dashboard_address=None) as client:
            report = run_flows(target, ["33"], client=client, options=BatchOptions(sprawl=False))
        assert report.ok and len(report.by_status("done")) == 1, report.summary()

    folder, _ = build_once(tmp_path_factory, "national", build)
    return folder / "store"


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
