"""Tiling geometry and seams: tiled and one-shot predictions agree."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from ocsge_engine.inference.checkpoints import LoadedModel, load_model_card
from ocsge_engine.inference.fallback import FALLBACK_CARD
from ocsge_engine.inference.model import RESNET34_SPEC, PixelNet, seeded_model
from ocsge_engine.inference.predict import ModelPredictor, predict_array
from ocsge_engine.inference.tiling import TileGrid, crop_core, pad_window, seam_edge_rate

FLAIR_CARD = Path(__file__).resolve().parents[2] / "data" / "models" / "flair_inc_rgbie_15cl_resnet34_unet.yaml"


@pytest.mark.parametrize(("h", "w", "size", "margin"), [
    (1, 1, 512, 128), (252, 252, 512, 128), (256, 257, 512, 128), (700, 600, 512, 128),
    (1000, 33, 64, 16), (97, 130, 32, 0)])
def test_cores_cover_every_pixel_exactly_once(h: int, w: int, size: int, margin: int) -> None:
    grid = TileGrid(h, w, size, margin)
    hits = np.zeros((h, w), dtype=np.int32)
    for t in grid:
        hits[t.core_row:t.core_row + t.core_height, t.core_col:t.core_col + t.core_width] += 1
        assert t.read_height + t.pad_top + t.pad_bottom == size
        assert t.read_width + t.pad_left + t.pad_right == size
        assert 0 <= t.read_row and t.read_row + t.read_height <= h
        # the core lies inside what was read
        assert t.read_row <= t.core_row and t.core_row + t.core_height <= t.read_row + t.read_height
    assert (hits == 1).all()
    assert len(grid) == -(-h // (size - 2 * margin)) * -(-w // (size - 2 * margin))


def test_window_roundtrip_returns_the_core_values() -> None:
    image = np.arange(3 * 300 * 280, dtype=np.float32).reshape(3, 300, 280)
    out = np.zeros((300, 280), np.float32)
    for t in TileGrid(300, 280, 128, 32):
        win = pad_window(image[:, t.read_row:t.read_row + t.read_height, t.read_col:t.read_col + t.read_width], t)
        assert win.shape == (3, 128, 128)
        out[t.core_row:t.core_row + t.core_height, t.core_col:t.core_col + t.core_width] = crop_core(win[1], t)
    assert np.array_equal(out, image[1])


def test_bad_grid_is_refused() -> None:
    with pytest.raises(ValueError, match="exceed twice the margin"):
        TileGrid(10, 10, 256, 128)


class _ToyPredictor:
    card = FALLBACK_CARD
    device = "cpu"

    def __init__(self, net: PixelNet) -> None:
        self.net = net

    def __call__(self, batch):  # type: ignore[no-untyped-def]
        import torch
        with torch.inference_mode():
            logits = self.net(torch.from_numpy((batch - 128.0) / 64.0))
        return logits.argmax(1).to(torch.uint8).numpy(), None


def _random_image(h: int, w: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(5, h // 8 + 1, w // 8 + 1)).astype(np.float32)
    smooth = np.kron(base, np.ones((8, 8), np.float32))[:, :h, :w]  # blocks: real edges inside windows
    return smooth + rng.normal(0, 10, size=(5, h, w)).astype(np.float32)


def test_tiled_equals_one_shot_with_margin_free_toy_model() -> None:
    """Receptive field 5×5 ≤ margin: the 3×3 tiling of a 700×600 image is bit-identical."""
    image = _random_image(700, 600)
    toy = _ToyPredictor(PixelNet(seed=0))
    tiled = predict_array(toy, image, tiled=True, window_px=512, margin_px=128)
    one_shot = predict_array(toy, image, tiled=False, margin_px=128)
    assert len(np.unique(tiled)) > 3
    assert np.array_equal(tiled, one_shot)


def test_margin_smaller_than_receptive_field_shows_seams() -> None:
    """Control: with a 1 px margin and 2 px of context needed, windows disagree at their borders."""
    image = _random_image(200, 200)
    toy = _ToyPredictor(PixelNet(seed=0))
    tiled = predict_array(toy, image, tiled=True, window_px=34, margin_px=1)
    one_shot = predict_array(toy, image, tiled=False, margin_px=1)
    differ = tiled != one_shot
    assert differ.any()
    rr, cc = np.nonzero(differ)
    # every disagreement lies within 2 px of a core border (multiples of the 32 px stride)
    near = np.minimum(np.minimum(rr % 32, 32 - rr % 32), np.minimum(cc % 32, 32 - cc % 32))
    assert (near <= 2).all()


def test_seam_edge_rate_of_toy_tiling_equals_one_shot() -> None:
    image = _random_image(700, 600)
    toy = _ToyPredictor(PixelNet(seed=0))
    tiled = predict_array(toy, image, tiled=True)
    one_shot = predict_array(toy, image, tiled=False)
    assert seam_edge_rate(tiled, 256) == seam_edge_rate(one_shot, 256)
    striped = tiled.copy()
    striped[:, 255] = (striped[:, 256] + 1) % 19  # an artificial seam is detected
    assert seam_edge_rate(striped, 256)[0] > seam_edge_rate(tiled, 256)[0] + 0.1


def test_r34_tiled_prediction_on_montpellier(montpellier: dict[str, Path]) -> None:
    """ResNet-34 (seeded random weights) tiled over the real tile: 128-px windows, 32-px margin.

    Random weights give window-global, chaotic predictions, so the agreement with one-shot is
    only printed here; the seam check of the R34 with locally-trained weights is in
    ``benchmarks/bench_inference.py --seams`` (see docs/inference.md).
    """
    with rasterio.open(montpellier["rgb"]) as rgb, rasterio.open(montpellier["irc"]) as irc:
        image = np.concatenate([rgb.read().astype(np.float32), irc.read([1]).astype(np.float32),
                                np.zeros((1, 252, 252), np.float32)])
    card = load_model_card(FLAIR_CARD)
    predictor = ModelPredictor(LoadedModel(card, seeded_model(RESNET34_SPEC, seed=1), "", False))
    tiled = predict_array(predictor, image, tiled=True, window_px=128, margin_px=32, batch_size=9)
    one_shot = predict_array(predictor, image, tiled=False, margin_px=32)
    assert tiled.shape == one_shot.shape == (252, 252)
    assert not set(np.unique(tiled).tolist()) & {14, 15, 16, 18}
    print(f"seeded R34 agreement tiled vs one-shot {(tiled == one_shot).mean():.3f}; "
          f"seam/other edge rate {seam_edge_rate(tiled, 64)}")
