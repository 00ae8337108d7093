"""The plain-torch U-Net matches smp ``Unet("resnet34", in_channels=5, classes=19)`` key for key."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from ocsge_engine.inference.checkpoints import LoadedModel, load_model_card
from ocsge_engine.inference.model import RESNET34_SPEC, ResNetUnet, UnetSpec, build_model, seeded_model
from ocsge_engine.inference.predict import ModelPredictor, predict_array

FIXTURE = Path(__file__).parent / "data" / "smp_unet_resnet34_in5_c19.txt"
FLAIR_CARD = Path(__file__).resolve().parents[2] / "data" / "models" / "flair_inc_rgbie_15cl_resnet34_unet.yaml"


def _expected() -> list[tuple[str, tuple[int, ...]]]:
    rows = []
    for line in FIXTURE.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, shape = line.split("\t")
        rows.append((key, tuple(int(v) for v in shape.split(",")) if shape else ()))
    return rows


@pytest.fixture(scope="module")
def r34() -> ResNetUnet:
    return build_model(RESNET34_SPEC)


def test_state_dict_keys_and_shapes_equal_smp(r34: ResNetUnet) -> None:
    expected = _expected()
    actual = [(k, tuple(v.shape)) for k, v in r34.state_dict().items()]
    assert len(expected) == 278
    assert [k for k, _ in actual] == [k for k, _ in expected]  # same keys, same order
    for (k, shape), (_, exp_shape) in zip(actual, expected, strict=True):
        assert shape == exp_shape, k


def test_fixture_state_dict_loads_strict(r34: ResNetUnet) -> None:
    state = {k: torch.full(s, 0.5) if s else torch.tensor(7) for k, s in _expected()}
    fresh = ResNetUnet(RESNET34_SPEC)
    fresh.load_state_dict(state, strict=True)
    assert float(fresh.segmentation_head[0].bias[3].detach()) == 0.5


def test_parameter_count_matches_published_smp_figure() -> None:
    # smp Unet("resnet34") with 3 input bands and 1 class has 24,436,369 parameters
    # (21,284,672 encoder + 3,151,552 decoder + 145 head); BN buffers are not parameters.
    model = ResNetUnet(UnetSpec(in_channels=3, classes=1))
    assert sum(p.numel() for p in model.parameters()) == 24_436_369
    five = ResNetUnet(RESNET34_SPEC)
    assert sum(p.numel() for p in five.parameters()) == 24_436_369 + 2 * 64 * 49 + 18 * (16 * 9 + 1)


def test_unexpected_extra_key_is_refused(r34: ResNetUnet) -> None:
    state = dict(r34.state_dict())
    state["decoder.center.0.0.weight"] = torch.zeros(1)
    with pytest.raises(RuntimeError, match="Unexpected key"):
        ResNetUnet(RESNET34_SPEC).load_state_dict(state, strict=True)


def test_r34_forward_on_montpellier(montpellier: dict[str, Path]) -> None:
    """5-band input = RGB + NIR (IRC band 1) + zero elevation; one 256² forward (252 px padded)."""
    with rasterio.open(montpellier["rgb"]) as rgb, rasterio.open(montpellier["irc"]) as irc:
        array = np.concatenate([rgb.read().astype(np.float32), irc.read([1]).astype(np.float32),
                                np.zeros((1, 252, 252), np.float32)])
    card = load_model_card(FLAIR_CARD)
    predictor = ModelPredictor(LoadedModel(card, seeded_model(RESNET34_SPEC, seed=1), "", False))
    x = np.pad(array, ((0, 0), (2, 2), (2, 2)), mode="reflect")[None]
    logits = predictor.logits(x)
    assert logits.shape == (1, 19, 256, 256)
    assert torch.isfinite(logits[:, [c.index for c in card.classes if c.active]]).all()
    classes = predict_array(predictor, array, tiled=False, margin_px=0)
    assert classes.shape == (252, 252)
    inactive = {c.index for c in card.classes if not c.active}
    assert inactive == {14, 15, 16, 18}
    assert not set(np.unique(classes).tolist()) & inactive  # masked logits never win
    assert math.isclose(float(array[3].mean()), 136.0, abs_tol=1.0)  # IRC band-1 mean per SOURCE.md
