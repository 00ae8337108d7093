"""Online orthophoto (WMS-R): exact mosaicking against a local WMS, offline/HTTP errors, bad bboxes.

The local server answers ``GetMap`` with images whose pixels encode their own position on the
absolute Lambert-93 pixel grid (R = column mod 256, G = row mod 256 for the natural-colour layer;
band 1 = (column + 2 × row) mod 256 for the IRC layer), so any shift, flip or seam between blocks
shows as a wrong value.
"""

from __future__ import annotations

import http.server
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

from ocsge_engine.errors import DownloadError, GeometryError, ImageryError
from ocsge_engine.inference.wms import (
    LAYER_IRC,
    LAYER_RGB,
    fetch_orthophoto,
    snap_bounds,
)
from tests.conftest import closed_port, local_http_server

RES = 0.2
BOUNDS = (770500.1, 6277500.0, 770502.7, 6277501.75)  # snapped: 770500.0..770502.8 × ..6277501.8


def _encoded(layer: str, bbox: list[float], width: int, height: int) -> np.ndarray:
    res = (bbox[2] - bbox[0]) / width
    col0, row0 = round(bbox[0] / res), round(-bbox[3] / res)  # absolute grid indices
    cols = (col0 + np.arange(width))[None, :].repeat(height, 0)
    rows = (row0 + np.arange(height))[:, None].repeat(width, 1)
    if layer == LAYER_IRC:
        bands = [(cols + 2 * rows) % 256, np.full_like(cols, 7), np.full_like(cols, 9)]
    else:
        bands = [cols % 256, rows % 256, np.full_like(cols, 200)]
    return np.stack(bands).astype(np.uint8)


def _encode(array: np.ndarray, driver: str) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile() as mem:
            with mem.open(driver=driver, width=array.shape[2], height=array.shape[1], count=3,
                          dtype="uint8") as dst:
                dst.write(array)
            return mem.read()


class _WmsHandler(http.server.BaseHTTPRequestHandler):
    """/wms-r answers GetMap (PNG or JPEG); /fail answers 500; /xml a WMS ServiceException."""

    requests: list[dict[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802
        url = urlparse(self.path)
        params = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        type(self).requests.append(params)
        if url.path == "/fail":
            self.send_error(500)
            return
        if url.path == "/xml":
            body, ctype = b"<ServiceExceptionReport>Layer not defined</ServiceExceptionReport>", "text/xml"
        else:
            bbox = [float(v) for v in params["BBOX"].split(",")]
            array = _encoded(params["LAYERS"], bbox, int(params["WIDTH"]), int(params["HEIGHT"]))
            if params["FORMAT"] == "image/jpeg":
                array[:] = 128 if params["LAYERS"] == LAYER_RGB else 60  # smooth: JPEG keeps it
            body = _encode(array, "PNG" if params["FORMAT"] == "image/png" else "JPEG")
            ctype = params["FORMAT"]
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def wms() -> Iterator[str]:
    _WmsHandler.requests = []
    with local_http_server(_WmsHandler) as url:
        yield url


def test_snap_bounds_outward_to_grid() -> None:
    assert snap_bounds(BOUNDS, RES) == (770500.0, 6277500.0, 770502.8, 6277501.8)
    assert snap_bounds((10.0, 6_100_000.0, 20.0, 6_100_010.0), 5) == (10.0, 6_100_000.0, 20.0, 6_100_010.0)


@pytest.mark.parametrize("block", [4, 5, 4096])
def test_mosaic_is_exact(wms: str, tmp_path: Path, block: int) -> None:
    """14 × 9 px at 20 cm in blocks of 4, 5 or one: every pixel carries its own grid position."""
    seen: list[float] = []
    out = fetch_orthophoto(BOUNDS, tmp_path / "ortho.tif", RES, base_url=f"{wms}/wms-r",
                           max_px_per_request=block, image_format="image/png",
                           progress=lambda f, m: seen.append(f))
    with rasterio.open(out) as ds:
        assert (ds.count, ds.width, ds.height, ds.crs.to_epsg()) == (4, 14, 9, 2154)
        assert ds.transform.a == pytest.approx(RES) and ds.transform.e == pytest.approx(-RES)
        assert (ds.transform.c, ds.transform.f) == pytest.approx((770500.0, 6277501.8))
        assert ds.descriptions == ("red", "green", "blue", "nir")
        data = ds.read()
    cols = round(770500.0 / RES) + np.arange(14)[None, :].repeat(9, 0)
    rows = round(-6277501.8 / RES) + np.arange(9)[:, None].repeat(14, 1)
    np.testing.assert_array_equal(data[0], cols % 256)
    np.testing.assert_array_equal(data[1], rows % 256)
    assert (data[2] == 200).all()
    np.testing.assert_array_equal(data[3], (cols + 2 * rows) % 256)  # NIR = IRC band 1
    n_blocks = -(-14 // block) * -(-9 // block)
    assert len(_WmsHandler.requests) == 2 * n_blocks
    assert seen[-1] == 1.0 and len(seen) == n_blocks
    first = _WmsHandler.requests[0]
    assert {k: first[k] for k in ("SERVICE", "VERSION", "REQUEST", "CRS", "LAYERS", "STYLES")} == {
        "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "CRS": "EPSG:2154",
        "LAYERS": LAYER_RGB, "STYLES": ""}
    assert _WmsHandler.requests[1]["LAYERS"] == LAYER_IRC
    if block == 4096:  # x,y axis order for EPSG:2154 in WMS 1.3.0
        assert first["BBOX"] == "770500,6277500,770502.8,6277501.8"
        assert (first["WIDTH"], first["HEIGHT"]) == ("14", "9")
    assert not list(tmp_path.glob("*.tmp"))


def test_rgb_only_jpeg(wms: str, tmp_path: Path) -> None:
    """One layer, JPEG: 3 bands; the flat test image survives compression."""
    out = fetch_orthophoto(BOUNDS, tmp_path / "rgb.tif", RES, layers=(LAYER_RGB,),
                           base_url=f"{wms}/wms-r", max_px_per_request=8)
    with rasterio.open(out) as ds:
        assert ds.count == 3
        assert np.abs(ds.read().astype(int) - 128).max() <= 2
    assert {r["FORMAT"] for r in _WmsHandler.requests} == {"image/jpeg"}


def test_offline_french_error_no_file(tmp_path: Path) -> None:
    out = tmp_path / "ortho.tif"
    with pytest.raises(DownloadError, match="cannot reach WMS") as info:
        fetch_orthophoto(BOUNDS, out, base_url=f"http://127.0.0.1:{closed_port()}/wms-r", timeout_s=2)
    assert "injoignable" in info.value.user_message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("path", "english", "french"), [
    ("fail", "HTTP 500", "erreur 500"),
    ("xml", "text/xml", "a refusé la requête"),
])
def test_server_errors(wms: str, tmp_path: Path, path: str, english: str, french: str) -> None:
    (tmp_path / "ortho.tif").write_bytes(b"old")  # an earlier file is left untouched
    with pytest.raises(DownloadError, match=english) as info:
        fetch_orthophoto(BOUNDS, tmp_path / "ortho.tif", base_url=f"{wms}/{path}")
    assert french in info.value.user_message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ortho.tif"]
    assert (tmp_path / "ortho.tif").read_bytes() == b"old"


@pytest.mark.parametrize("bounds", [
    (770500, 6277500, 770500, 6277510),        # zero width
    (770510, 6277500, 770500, 6277510),        # inverted
    (770500, 6277500, 770510),                 # 3 values
    (770500, float("nan"), 770510, 6277510),   # not finite
    ("a", 1, 2, 3),
])
def test_bad_bbox(bounds: tuple[object, ...], tmp_path: Path) -> None:
    with pytest.raises(GeometryError, match="bbox") as info:
        fetch_orthophoto(bounds, tmp_path / "o.tif", base_url="http://127.0.0.1:9/none")  # type: ignore[arg-type]
    assert "Emprise invalide" in info.value.user_message
    assert list(tmp_path.iterdir()) == []


def test_lon_lat_bbox_refused(tmp_path: Path) -> None:
    with pytest.raises(GeometryError, match="outside EPSG:2154") as info:
        fetch_orthophoto((3.8, 43.6, 3.9, 43.7), tmp_path / "o.tif")
    assert "Lambert-93" in info.value.user_message


def test_huge_area_refused_before_any_request(tmp_path: Path) -> None:
    """1 km × 1.2 km at 20 cm = 30 Mpx > 25 Mpx: refused without touching the network."""
    with pytest.raises(ImageryError, match="30.0 Mpx") as info:
        fetch_orthophoto((770000, 6277000, 771000, 6278200), tmp_path / "o.tif",
                         base_url=f"http://127.0.0.1:{closed_port()}/wms-r")
    assert info.value.user_message.startswith("Zone trop grande pour l'orthophoto en ligne : 30 mégapixels")
    assert "1,2 km²" in info.value.user_message
    assert list(tmp_path.iterdir()) == []


def test_cli_predict_wms(wms: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    """``predict --wms --territory bbox:…``: orthophoto fetched (4 bands), then predicted over it."""
    from ocsge_engine.cli import main
    from ocsge_engine.inference import wms as wms_module

    monkeypatch.setattr(wms_module, "BASE_URL", f"{wms}/wms-r")
    out = tmp_path / "out"
    code = main(["-q", "predict", "--wms", "--territory", "bbox:770500,6277500,770540,6277530",
                 "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert "method: fallback_rules" in capsys.readouterr().out
    with rasterio.open(out / "orthophoto_ign.tif") as ds:
        assert (ds.count, ds.width, ds.height) == (4, 200, 150)
    with rasterio.open(out / "classes.tif") as ds:
        assert (ds.width, ds.height) == (200, 150)
        assert len(np.unique(ds.read(1))) == 1  # flat grey test image: one class everywhere
    assert {r["LAYERS"] for r in _WmsHandler.requests} == {LAYER_RGB, LAYER_IRC}


@pytest.mark.parametrize(("argv", "french"), [
    (["--wms"], "Choisissez un territoire"),
    (["--wms", "--territory", "commune:34172"], "Zone trop grande pour l'orthophoto en ligne"),
    (["--wms", "--image", "x.tif"], "not allowed with argument"),
])
def test_cli_predict_wms_user_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     argv: list[str], french: str) -> None:
    """No territory, Montpellier (57 km²) at 20 cm, or both sources: exit 2, nothing fetched."""
    from ocsge_engine.cli import main

    try:
        code = main(["-q", "predict", *argv, "--out", str(tmp_path / "out")])
    except SystemExit as exc:  # argparse usage error
        code = exc.code
    assert code == 2
    assert french in capsys.readouterr().err
    assert not (tmp_path / "out" / "orthophoto_ign.tif").exists()
