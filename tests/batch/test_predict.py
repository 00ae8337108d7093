"""Batch prediction on a 2-worker LocalCluster: the VRT mosaic equals a one-process prediction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window

from ocsge_engine.batch.predict import Block, block_tiles, plan_blocks, predict_batch, write_vrt
from ocsge_engine.inference import load_checkpoint, resolve_card
from ocsge_engine.inference.imagery import open_band_stack
from ocsge_engine.inference.predict import ModelPredictor, PredictSettings, predict_array
from ocsge_engine.inference.tiling import TileGrid

SETTINGS = PredictSettings(window_px=128, margin_px=32, batch_size=1, device="cpu")
CARD = Path(__file__).resolve().parents[2] / "data" / "models" / "tiny_test_unet.yaml"


def _image(path: Path, height: int = 300, width: int = 280) -> Path:
    """Seeded 4-band (RGBN) uint8 image with smooth structure, 0.2 m pixels in Lambert-93."""
    rng = np.random.default_rng(8)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([np.sin(xx / (9 + 5 * k)) * np.cos(yy / (7 + 3 * k)) for k in range(4)])
    data = np.clip(127 + 100 * base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=4,
                       dtype="uint8", crs="EPSG:2154",
                       transform=from_origin(843_000.0, 6_520_000.0, 0.2, 0.2)) as ds:
        ds.write(data)
    return path


def test_blocks_cover_the_grid_once() -> None:
    grid = TileGrid(300, 280, 128, 32)
    blocks = plan_blocks("a.tif", 300, 280, 150, SETTINGS)  # rounded down to 128 (2 strides)
    assert {(b.height, b.width) for b in blocks} >= {(128, 128)}
    cores = [(t.core_row, t.core_col) for b in blocks for t in block_tiles(grid, b)]
    assert sorted(cores) == sorted((t.core_row, t.core_col) for t in grid)
    assert sum(b.height * b.width for b in blocks) == 300 * 280


def test_batch_mosaic_equals_single_process(client: object, tmp_path: Path) -> None:
    image = _image(tmp_path / "ortho.tif")
    report = predict_batch([image], tmp_path / "out", str(CARD), client=client, block_px=128,
                           settings=SETTINGS)
    assert report.failed == () and report.n_done == 9 and report.n_skipped == 0
    assert len(report.tiles) == 9
    with rasterio.open(report.tiles[0]) as tile:
        assert tile.driver == "GTiff" and tile.profile["tiled"]  # COG layout
    with open_band_stack(image) as stack:
        array = stack.read(Window(0, 0, stack.width, stack.height))
    predictor = ModelPredictor(load_checkpoint(resolve_card(str(CARD))), "cpu")
    expected = predict_array(predictor, array, tiled=True, window_px=128, margin_px=32,
                             batch_size=1)
    for vrt in (tmp_path / "out" / "ortho.vrt", tmp_path / "out" / "mosaic.vrt"):
        with rasterio.open(vrt) as ds:
            assert (ds.width, ds.height) == (280, 300)
            assert ds.transform == from_origin(843_000.0, 6_520_000.0, 0.2, 0.2)
            np.testing.assert_array_equal(ds.read(1), expected)
    again = predict_batch([image], tmp_path / "out", str(CARD), client=client, block_px=128,
                          settings=SETTINGS)
    assert (again.n_done, again.n_skipped) == (0, 9)


def test_vrt_rejects_mixed_grids(tmp_path: Path) -> None:
    paths = []
    for k, res in enumerate((0.2, 0.5)):
        path = tmp_path / f"t{k}.tif"
        with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1, dtype="uint8",
                           crs="EPSG:2154", transform=from_origin(0, 10, res, res)) as ds:
            ds.write(np.zeros((1, 4, 4), dtype=np.uint8))
        paths.append(path)
    with pytest.raises(ValueError, match="pixel size"):
        write_vrt(paths, tmp_path / "m.vrt")
    assert not (tmp_path / "m.vrt").exists()
    assert Block("a/b.tif", 0, 256, 1, 1).tile_name() == "b_r000000_c000256.tif"
