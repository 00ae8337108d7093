"""Servers listen on this machine only unless told otherwise: Dask dashboard, Streamlit config."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from ocsge_engine.batch.cluster import dask_client
from ocsge_engine.inference.ondemand import MAX_UPLOAD_BYTES as IMAGE_MAX_BYTES
from ocsge_engine.io.uploads import MAX_UPLOAD_BYTES as CONTOUR_MAX_BYTES

REPO = Path(__file__).resolve().parents[2]


def _listening_hosts(client) -> set[str]:  # noqa: ANN001
    """Hosts of the scheduler's HTTP (dashboard) server sockets."""
    sockets = client.cluster.scheduler.http_server._sockets.values()
    return {sock.getsockname()[0] for sock in sockets}


def test_local_dask_dashboard_binds_localhost() -> None:
    with dask_client(n_workers=1, processes=False) as client:
        assert _listening_hosts(client) == {"127.0.0.1"}


def test_dashboard_exposed_only_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCSGE_DASK_DASHBOARD", "0.0.0.0:0")
    with dask_client(n_workers=1, processes=False) as client:
        assert "0.0.0.0" in _listening_hosts(client)


def test_streamlit_config_limits_and_no_error_details() -> None:
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["address"] == "127.0.0.1"
    # the largest engine upload limit (Prédire image); the contour widget sets its own 20 MB
    assert config["server"]["maxUploadSize"] * 1024 * 1024 == IMAGE_MAX_BYTES
    assert CONTOUR_MAX_BYTES < IMAGE_MAX_BYTES
    assert config["client"]["showErrorDetails"] == "none"
    assert config["client"]["toolbarMode"] == "minimal"
    contour_page = (REPO / "pages" / "contour.py").read_text(encoding="utf-8")
    assert "max_upload_size=MAX_UPLOAD_BYTES // (1024 * 1024)" in contour_page
