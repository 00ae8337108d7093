"""Fixtures of the batch tests: one 2-worker LocalCluster (processes) per module, synthetic stores."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from batch_synthetic import build_synthetic_store


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    """A LocalCluster of 2 single-threaded worker processes (a worker can be killed)."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=40)
    dask = Client(cluster)
    yield dask
    dask.close()
    cluster.close()


@pytest.fixture(scope="session")
def synthetic_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two-département synthetic store, built once (copy it before writing results)."""
    return build_synthetic_store(tmp_path_factory.mktemp("synthetic") / "store")


@pytest.fixture()
def synthetic_store(synthetic_template: Path, tmp_path: Path) -> Path:
    """A private copy of the synthetic store (each test writes its own national results)."""
    target = tmp_path / "store"
    shutil.copytree(synthetic_template, target)
    return target
