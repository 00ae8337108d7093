"""Fixtures of the inference tests: real Montpellier orthophoto, tiny seeded model, small rasters.

Kept light for a shared 2-core CPU: the tiny model (65 k parameters), images of at most 700 px,
and one ResNet-34 forward pass on the 252 px Montpellier tile.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS = REPO_ROOT / "data" / "models"


@pytest.fixture(scope="session")
def montpellier(shared_data: Path) -> dict[str, Path]:
    """Paths of the real 20 cm Montpellier RGB and IRC tiles (252 × 252 px)."""
    folder = shared_data / "ortho_montpellier_20cm"
    paths = {"rgb": folder / "test_data_rgb.tif", "irc": folder / "test_data_irc.tif"}
    for p in paths.values():
        assert p.exists(), f"missing real sample {p}"
    return paths


@pytest.fixture(scope="session")
def tiny_card() -> Path:
    """Card of the committed seeded tiny checkpoint."""
    return MODELS / "tiny_test_unet.yaml"


def write_raster(path: Path, data: np.ndarray, crs: str | None = "EPSG:2154",
                 origin: tuple[float, float] = (700000.0, 6600000.0), res: float = 0.2) -> Path:
    """Write a ``(bands, H, W)`` array as a GeoTIFF (``crs=None``: no georeferencing CRS)."""
    profile = dict(driver="GTiff", width=data.shape[2], height=data.shape[1], count=data.shape[0],
                   dtype=data.dtype, transform=from_origin(origin[0], origin[1], res, res))
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


@pytest.fixture()
def raster_writer(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``write(name, array, **kw)`` writing GeoTIFFs under tmp_path."""
    def write(name: str, data: np.ndarray, **kw: object) -> Path:
        return write_raster(tmp_path / name, data, **kw)  # type: ignore[arg-type]
    return write
