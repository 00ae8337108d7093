"""Session-wide fixtures: paths to the real shared data.

Golden-data tests never skip silently: if the real data is missing, they fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("OCSGE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of the real data shared by the team (``../shared/data``)."""
    assert SHARED_DATA.is_dir(), f"real data not found at {SHARED_DATA}"
    return SHARED_DATA


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
