"""AppTest of the Prédire page, source "Orthophoto IGN en ligne": local WMS, offline, size limit."""

from __future__ import annotations

import http.server
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import geopandas as gpd
import numpy as np
import pytest
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

from ocsge_engine.fmt import parse_number
from ocsge_engine.inference import wms
from tests.conftest import closed_port, local_http_server

OpenApp = Callable[..., AppTest]
ZONE = (770500.0, 6277500.0, 770540.0, 6277530.0)  # 40 m × 30 m in Montpellier: 200 × 150 px
WMS_LABEL = "Orthophoto IGN en ligne (zone du territoire)"


class _FlatWms(http.server.BaseHTTPRequestHandler):
    """GetMap → flat JPEG (grey 128 for RGB, 60 for IRC) of the requested size."""

    layers: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        params = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        type(self).layers.append(params["LAYERS"])
        width, height = int(params["WIDTH"]), int(params["HEIGHT"])
        value = 128 if params["LAYERS"] == wms.LAYER_RGB else 60
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with MemoryFile() as mem:
                with mem.open(driver="JPEG", width=width, height=height, count=3, dtype="uint8") as dst:
                    dst.write(np.full((3, height, width), value, dtype=np.uint8))
                body = mem.read()
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def zone(tmp_path: Path, app_store: Path) -> str:
    """A custom contour kept by the dashboard (GeoPackage, Lambert-93): its opaque id.

    URLs never name a file (``polygon:PATH`` is refused), so the zone is kept as an uploaded
    contour in the store's territories folder, as the Contour page does.
    """
    from ocsge_engine.io.uploads import save_uploaded_territory

    path = tmp_path / "zone.gpkg"
    gpd.GeoDataFrame({"nom": ["zone"]}, geometry=[box(*ZONE)], crs=2154).to_file(path)
    return save_uploaded_territory(path.read_bytes(), "zone.gpkg", app_store / "territoires").id


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def local_wms(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    _FlatWms.layers = []
    with local_http_server(_FlatWms) as base:
        url = f"{base}/wms-r"
        monkeypatch.setattr(wms, "BASE_URL", url)
        yield url


def _run_wms(at: AppTest) -> AppTest:
    at.radio(key="predire_source").set_value("wms").run()
    assert not at.exception
    at.button(key="predire_run").click().run()
    assert not at.exception
    return at


def test_wms_source_predicts_the_zone(open_app: OpenApp, zone: str, local_wms: str,
                                      private_tmp: Path) -> None:
    """RGB + IRC fetched for the zone's bbox: 200 × 150 px predicted, one class on a flat image."""
    at = open_app("pages/predire.py", territoire=zone)
    assert WMS_LABEL in at.radio(key="predire_source").options
    _run_wms(at)
    assert not at.error
    assert sorted(set(_FlatWms.layers)) == [wms.LAYER_RGB, wms.LAYER_IRC]
    table = at.dataframe[0].value
    assert [parse_number(v) for v in table["Pixels"]] == [200 * 150]
    assert table["Surface (m²)"].tolist() == ["1\u202f200"]  # 40 m × 30 m
    assert "predire_result" in at.session_state
    assert list(private_tmp.iterdir()) == []  # orthophoto and outputs held in memory only


def test_wms_offline_french_error(open_app: OpenApp, zone: str, private_tmp: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wms, "BASE_URL", f"http://127.0.0.1:{closed_port()}/wms-r")
    at = _run_wms(open_app("pages/predire.py", territoire=zone))
    assert [e.value for e in at.error] == [
        "Le service d'orthophotos de l'IGN est injoignable (pas de connexion "
        "internet ?) : réessayez plus tard ou déposez votre propre image."]
    assert "predire_result" not in at.session_state
    assert list(private_tmp.iterdir()) == []


def test_wms_commune_over_size_limit(open_app: OpenApp, monkeypatch: pytest.MonkeyPatch) -> None:
    """A whole commune at 20 cm is far above 25 Mpx: refused before any request."""
    monkeypatch.setattr(wms, "BASE_URL", f"http://127.0.0.1:{closed_port()}/wms-r")
    at = _run_wms(open_app("pages/predire.py", territoire="commune:33009"))
    assert len(at.error) == 1
    assert at.error[0].value.startswith("Zone trop grande pour l'orthophoto en ligne")
    assert "la limite est de 25 mégapixels" in at.error[0].value
    assert "predire_result" not in at.session_state
