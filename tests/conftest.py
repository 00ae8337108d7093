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
