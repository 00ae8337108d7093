"""``python -m ocsge_engine predict``: files written, summary printed, exit 2 on user errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio

import ocsge_engine.inference.predict as predict_module
from ocsge_engine.cli import main
from ocsge_engine.errors import GeometryError
from ocsge_engine.inference.predict import resolve_territory


def test_cli_predict_bbox(montpellier: dict[str, Path], tiny_card: Path, tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = main(["-q", "predict", "--image", str(montpellier["rgb"]), "--nir", str(montpellier["irc"]),
                 "--territory", "bbox:770549.8,6277549.8,770575,6277575", "--checkpoint", str(tiny_card),
                 "--out", str(out)])
    assert code == 0
    stdout = capsys.readouterr().out
    assert "method: model (tiny_test_unet)" in stdout and "code_cs" in stdout
    assert "modèle : tiny_test_unet ; bandes : red, green, blue, nir, elevation ; 15 classes" in stdout
    assert "vérifiée (fiche)" in stdout and "des pixels avec une confiance > 0,8" in stdout
    assert (out / "confidence.tif").exists()
    with rasterio.open(out / "classes.tif") as ds:
        assert (ds.width, ds.height) == (126, 126)


def test_cli_predict_commune_fallback(montpellier: dict[str, Path], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """commune:34172 (Montpellier) contains the whole tile: no pixel is masked."""
    code = main(["-q", "predict", "--image", str(montpellier["rgb"]), "--nir", str(montpellier["irc"]),
                 "--territory", "commune:34172", "--out", str(tmp_path)])
    assert code == 0
    assert "method: fallback_rules" in capsys.readouterr().out
    with rasterio.open(tmp_path / "classes.tif") as ds:
        assert (ds.read(1) != 255).all()


def test_cli_predict_rgb_tile_with_polygon(montpellier: dict[str, Path], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Must show: the real RGB tile alone (no NIR) with a polygon territory → georeferenced uint8 raster.

    The polygon's bounding box is 770552-770595 × 6277555-6277595 (hand-written GeoJSON): the
    raster is the window of the tile around it (216 × 200 px: geometry_window rounds outwards, one
    column more at the left, x0 = 770551.8), pixels outside the polygon are 255.
    """
    poly = tmp_path / "zone.geojson"
    poly.write_text(json.dumps({"type": "FeatureCollection", "crs": {
        "type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}}, "features": [{
        "type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[
            [770555, 6277555], [770595, 6277560], [770590, 6277595], [770552, 6277590], [770555, 6277555]]]}}]}),
        encoding="utf-8")
    out = tmp_path / "out"
    code = main(["-q", "predict", "--image", str(montpellier["rgb"]), "--territory", f"polygon:{poly}",
                 "--crs", "EPSG:2154", "--out", str(out)])
    assert code == 0
    stdout = capsys.readouterr().out
    assert "résultat : carte grossière (règles)" in stdout and "excès de vert" in stdout
    with rasterio.open(out / "classes.tif") as ds:
        assert ds.dtypes[0] == "uint8" and ds.crs is not None and ds.nodata == 255
        assert (ds.width, ds.height) == (216, 200)
        assert ds.transform.c == pytest.approx(770551.8) and ds.transform.f == pytest.approx(6277595.0)
        classes = ds.read(1)
    assert set(np.unique(classes)) <= {0, 2, 255} and (classes == 255).any() and (classes != 255).any()


def test_cli_predict_truncated_image_exits_2(montpellier: dict[str, Path], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Must show: the real tile cut at 120 kB (of 191 kB): one French line, exit 2, no traceback."""
    cut = tmp_path / "coupe.tif"
    cut.write_bytes(montpellier["rgb"].read_bytes()[:120_000])
    code = main(["-q", "predict", "--image", str(cut), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "erreur : L'image coupe.tif est tronquée ou corrompue" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "classes.tif").exists()


def test_cli_predict_bf16_without_cpu_support_runs_fp32(montpellier: dict[str, Path], tiny_card: Path,
                                                        tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Must show: --precision bf16 on a CPU without AMX/AVX512-BF16 falls back to fp32 and says so."""
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 fma\n", encoding="utf-8")
    monkeypatch.setattr(predict_module, "CPUINFO", cpuinfo)  # this machine may have AMX
    code = main(["-q", "predict", "--image", str(montpellier["rgb"]), "--nir", str(montpellier["irc"]),
                 "--checkpoint", str(tiny_card), "--allow-test-model", "--precision", "bf16",
                 "--device", "cpu", "--out", str(tmp_path / "out")])
    assert code == 0
    stdout = capsys.readouterr().out
    assert "bf16 demandé, mais ce processeur n'a ni AMX ni AVX512-BF16 : calcul en fp32" in stdout
    assert "précision de calcul : fp32" in stdout
    meta = json.loads((tmp_path / "out" / "metadata.json").read_text(encoding="utf-8"))
    assert meta["precision"] == "fp32"


def test_cli_refuses_test_model_without_flag(montpellier: dict[str, Path], tiny_card: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside tests (no PYTEST_CURRENT_TEST) the random tiny model needs --allow-test-model."""
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    monkeypatch.delenv("OCSGE_ALLOW_TEST_MODEL", raising=False)
    code = main(["-q", "predict", "--image", str(montpellier["rgb"]), "--nir", str(montpellier["irc"]),
                 "--checkpoint", str(tiny_card), "--out", str(tmp_path / "out")])
    assert code == 2
    assert "modèle de test aux poids aléatoires" in capsys.readouterr().err
    assert not (tmp_path / "out" / "classes.tif").exists()


def test_resolve_territory_bbox() -> None:
    assert resolve_territory(None) is None
    assert resolve_territory("bbox:0,0,10,20").area == 200
    series = resolve_territory("bbox:3.8,43.6,3.9,43.7,4326")
    assert series.crs.to_epsg() == 4326
    with pytest.raises(GeometryError, match="malformed bbox"):
        resolve_territory("bbox:10,0,0,20")
