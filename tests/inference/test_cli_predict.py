"""``python -m ocsge_engine predict``: files written, summary printed, exit 2 on user errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import rasterio

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


def test_cli_predict_user_error_exits_2(montpellier: dict[str, Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["-q", "predict", "--image", str(montpellier["rgb"]), "--out", str(tmp_path)])
    assert code == 2
    assert "proche infrarouge" in capsys.readouterr().err


def test_resolve_territory_bbox() -> None:
    assert resolve_territory(None) is None
    assert resolve_territory("bbox:0,0,10,20").area == 200
    series = resolve_territory("bbox:3.8,43.6,3.9,43.7,4326")
    assert series.crs.to_epsg() == 4326
    with pytest.raises(GeometryError, match="malformed bbox"):
        resolve_territory("bbox:10,0,0,20")
