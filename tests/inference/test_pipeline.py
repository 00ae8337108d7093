"""The pipelined reader/predictor/writer gives the same classes as the simple window-by-window loop."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.features import geometry_mask
from rasterio.windows import Window
from shapely.geometry import Polygon

from ocsge_engine.inference import load_checkpoint, resolve_card
from ocsge_engine.inference import predict as predict_module
from ocsge_engine.inference.fallback import FALLBACK_CARD, FallbackPredictor
from ocsge_engine.inference.imagery import open_band_stack
from ocsge_engine.inference.predict import (
    ModelPredictor,
    PredictSettings,
    iter_tiled,
    predict_image,
)
from ocsge_engine.inference.tiling import TileGrid, crop_core, pad_window
from ocsge_engine.inference.vectorize import class_stats, class_stats_from_counts

# precision fp32 as the reference loop's ModelPredictor: "auto" picks bf16 on a CPU with AMX or
# AVX512-BF16, which changes some argmaxes (bf16 against fp32 is tests/inference/test_precision.py).
SETTINGS = PredictSettings(window_px=128, margin_px=32, batch_size=3, device="cpu", vectorize=False,
                           confidence=True, min_area_m2=0, precision="fp32")
ORIGIN = (700_000.0, 6_600_000.0)


def _image(h: int = 300, w: int = 280, seed: int = 5) -> np.ndarray:
    """Seeded RGBN uint8 image with 8-px blocks (edges inside windows) and noise."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(4, h // 8 + 1, w // 8 + 1)).astype(np.float32)
    smooth = np.kron(base, np.ones((8, 8), np.float32))[:, :h, :w]
    return np.clip(smooth + rng.normal(0, 12, (4, h, w)), 0, 255).astype(np.uint8)


def _territory() -> Polygon:
    """An irregular polygon over part of the image: cores inside, outside and across its border."""
    x0, y0 = ORIGIN
    pts = [(10, 5), (250, 20), (270, 180), (140, 290), (30, 230)]  # (col, row) in px
    return Polygon([(x0 + c * 0.2, y0 - r * 0.2) for c, r in pts])


def _simple_prediction(image: Path, predictor: object, geometry: Polygon | None, elevation: Path | None = None
                       ) -> tuple[np.ndarray, np.ndarray | None]:
    """The previous pipeline: one float32 read per window, same batches, mask per core, no threads."""
    with open_band_stack(image, elevation_path=elevation) as stack:
        win = predict_module._aoi_window(stack, geometry)
        transform = rasterio.windows.transform(win, stack.transform)
        grid = TileGrid(int(win.height), int(win.width), SETTINGS.window_px, SETTINGS.margin_px)
        classes = np.full((int(win.height), int(win.width)), 255, np.uint8)
        conf_out = np.full_like(classes, 255)
        tiles = list(grid)
        for k in range(0, len(tiles), SETTINGS.batch_size):
            chunk = tiles[k:k + SETTINGS.batch_size]
            batch = np.stack([pad_window(stack.read(Window(int(win.col_off) + t.read_col, int(win.row_off) + t.read_row,
                                                           t.read_width, t.read_height)), t) for t in chunk])
            cls, conf = predictor(batch)  # type: ignore[operator]
            for j, t in enumerate(chunk):
                core = Window(t.core_col, t.core_row, t.core_width, t.core_height)
                c, p = crop_core(cls[j], t), None if conf is None else crop_core(conf[j], t)
                if geometry is not None:
                    outside = geometry_mask([geometry], out_shape=c.shape,
                                            transform=rasterio.windows.transform(core, transform))
                    c = np.where(outside, 255, c)
                    p = None if p is None else np.where(outside, 255, p)
                sl = (slice(t.core_row, t.core_row + t.core_height), slice(t.core_col, t.core_col + t.core_width))
                classes[sl] = c
                if p is not None:
                    conf_out[sl] = p
    return classes, (conf_out if conf is not None else None)


@pytest.fixture()
def rgbn(raster_writer) -> Path:  # type: ignore[no-untyped-def]
    return raster_writer("rgbn.tif", _image(), origin=ORIGIN)  # type: ignore[no-any-return]


@pytest.mark.parametrize("readers", [1, 3])
def test_pipeline_equals_simple_loop_with_model_and_territory(rgbn: Path, tiny_card: Path, tmp_path: Path,
                                                              readers: int) -> None:
    """5 × 5 windows of 128 px (margin 32), batches of 3, a territory crossing cores: same bytes."""
    geometry = _territory()
    predictor = ModelPredictor(load_checkpoint(resolve_card(tiny_card)), "cpu")
    expected, expected_conf = _simple_prediction(rgbn, predictor, geometry)
    res = predict_image(rgbn, territory_geometry=geometry, checkpoint=tiny_card, out_dir=tmp_path / "out",
                        settings=PredictSettings(**{**SETTINGS.__dict__, "readers": readers}))
    assert res.n_windows == 25  # AOI 260 × 285 px → ceil(/64) = 5 × 5
    with rasterio.open(res.classes_path) as ds:
        got = ds.read(1)
    assert got.shape == expected.shape == (285, 260)
    assert 0.4 < (got != 255).mean() < 0.95 and len(np.unique(got)) > 3  # masked, and not constant
    np.testing.assert_array_equal(got, expected)
    assert res.confidence_path is not None and expected_conf is not None
    with rasterio.open(res.confidence_path) as ds:
        np.testing.assert_array_equal(ds.read(1), expected_conf)
    assert res.stats.set_index("class_id")["pixels"].to_dict() == \
        {int(v): int(n) for v, n in zip(*np.unique(got[got != 255], return_counts=True))}
    assert {"read", "read_cpu", "wait_read", "predict", "write", "write_cpu", "wait_write"} <= set(res.stages_s)


def test_pipeline_equals_simple_loop_with_float_elevation(raster_writer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A float elevation (metres) forces float32 batches: still the same classes as the simple loop."""
    image = raster_writer("rgbn.tif", _image(), origin=ORIGIN)
    heights = np.random.default_rng(1).uniform(0, 8, (1, 300, 280)).astype(np.float32)
    elevation = raster_writer("elev.tif", heights, origin=ORIGIN)
    with open_band_stack(image, elevation_path=elevation) as stack:
        assert stack.native_dtype == np.float32
    predictor = FallbackPredictor(has_height=True)
    expected, _ = _simple_prediction(image, predictor, None, elevation)
    res = predict_image(image, out_dir=tmp_path / "out", elevation_path=elevation,
                        settings=PredictSettings(**{**SETTINGS.__dict__, "readers": 2}))
    with rasterio.open(res.classes_path) as ds:
        got = ds.read(1)
    np.testing.assert_array_equal(got, expected)
    assert {0, 1, 2, 3} & set(np.unique(got).tolist())  # rules with heights: built/woody present


def test_iter_tiled_windows_are_the_padded_reads(rgbn: Path) -> None:
    """An 'identity' predictor (class = red value): every core must hold the image's red band."""
    class Identity:
        card, device = FALLBACK_CARD, "cpu"

        def __call__(self, batch: np.ndarray) -> tuple[np.ndarray, None]:
            return batch[:, 0].astype(np.uint8), None

    with open_band_stack(rgbn) as stack:
        red = stack.read(Window(0, 0, 280, 300), dtype=np.uint8)[0]
        grid = TileGrid(300, 280, 128, 32)
        for readers, dtype, read in [(1, np.uint8, lambda r, c, h, w: stack.read(Window(c, r, w, h), dtype=np.uint8)),
                                     (3, np.uint8, stack.reader(np.uint8)), (2, np.float32, stack.reader())]:
            out = np.zeros((300, 280), np.uint8)
            seen = []
            for tile, cls, _ in iter_tiled(grid, read, Identity(), 4, readers=readers, dtype=dtype):
                out[tile.core_row:tile.core_row + tile.core_height, tile.core_col:tile.core_col + tile.core_width] = cls
                seen.append((tile.core_row, tile.core_col))
            assert seen == [(t.core_row, t.core_col) for t in grid]  # row-major order kept
            np.testing.assert_array_equal(out, red)
        clones = list(stack._clones)  # one per reader thread that read (3 + 2 threads at most)
        assert 2 <= len(clones) <= 5 and len({id(c._datasets[0]) for c in clones}) == len(clones)
    assert all(ds.closed for clone in clones for ds in clone._datasets)


def test_reader_opens_one_handle_per_thread_and_uint8_equals_float(rgbn: Path) -> None:
    with open_band_stack(rgbn) as stack:
        assert stack.native_dtype == np.uint8
        read = stack.reader(np.uint8)
        results: dict[str, np.ndarray] = {}
        threads = [threading.Thread(target=lambda k=k: results.__setitem__(k, read(10, 20, 64, 48)))
                   for k in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        clones = list(stack._clones)
        assert len(clones) == 2 and clones[0]._datasets[0] is not clones[1]._datasets[0]
        as_float = stack.read(Window(20, 10, 48, 64))
        assert results["a"].dtype == np.uint8 and results["a"].shape == (5, 64, 48)
        np.testing.assert_array_equal(results["a"].astype(np.float32), as_float)
        np.testing.assert_array_equal(results["a"], results["b"])
        assert (as_float[4] == 0).all()  # zero elevation filler
    assert all(ds.closed for c in clones for ds in c._datasets)


def test_class_table_from_counts_equals_class_stats() -> None:
    classes = np.array([[0, 0, 5, 255], [3, 3, 3, 0]], dtype=np.uint8)
    counts = np.bincount(classes.ravel(), minlength=256)
    got, expected = class_stats_from_counts(counts, FALLBACK_CARD, 0.04), class_stats(classes, FALLBACK_CARD, 0.04)
    assert got.equals(expected)
    assert got["pixels"].tolist() == [3, 3, 1] and got["class_id"].tolist() == [0, 3, 5]


def test_predictor_error_leaves_nothing(rgbn: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        card, device = FALLBACK_CARD, "cpu"

        def __call__(self, batch: np.ndarray) -> tuple[np.ndarray, None]:
            raise ValueError("boom")

    monkeypatch.setattr(predict_module, "_make_predictor", lambda *a, **k: (Broken(), None, "rules"))
    with pytest.raises(ValueError, match="boom"):
        predict_image(rgbn, out_dir=tmp_path / "out", settings=PredictSettings(**{**SETTINGS.__dict__, "readers": 2}))
    assert list((tmp_path / "out").iterdir()) == []
