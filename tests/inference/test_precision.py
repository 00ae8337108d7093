"""CPU precision: bf16 detection from /proc/cpuinfo flags, the fallback to fp32, bf16 ≈ fp32 argmax."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from ocsge_engine.inference.checkpoints import load_checkpoint
from ocsge_engine.inference.predict import ModelPredictor, cpu_bf16_support, resolve_precision


def _cpuinfo(tmp_path: Path, flags: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: test\nflags\t\t: {flags}\n\n"
                    f"processor\t: 1\nflags\t\t: {flags}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("flags", "expected"), [
    ("fpu sse2 avx2 fma avx512f amx_bf16 amx_tile amx_int8", True),  # Sapphire Rapids
    ("fpu sse2 avx2 avx512f avx512_bf16", True),                       # Cooper Lake / Zen 4
    ("fpu sse2 avx2 fma sha_ni vaes", False),                          # Zen 3 (this CI machine)
    ("fpu sse2 avx512f avx512bw", False),                              # AVX-512 without BF16
])
def test_cpu_bf16_support_reads_flags(tmp_path: Path, flags: str, expected: bool) -> None:
    assert cpu_bf16_support(_cpuinfo(tmp_path, flags)) is expected


def test_cpu_bf16_support_missing_file_is_false(tmp_path: Path) -> None:
    assert cpu_bf16_support(tmp_path / "absent") is False


def test_resolve_precision(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with_bf16, without = _cpuinfo(tmp_path / "a", "avx2 amx_bf16"), _cpuinfo(tmp_path / "b", "avx2 fma")
    assert resolve_precision("auto", "cpu", with_bf16) == ("bf16", [])
    assert resolve_precision("bf16", "cpu", with_bf16) == ("bf16", [])
    assert resolve_precision("auto", "cpu", without) == ("fp32", [])  # auto never says anything
    precision, notes = resolve_precision("bf16", "cpu", without)
    assert precision == "fp32" and len(notes) == 1
    assert "ni AMX ni AVX512-BF16 : calcul en fp32" in notes[0][1] and "fp32" in notes[0][0]
    assert resolve_precision("fp32", "cpu", with_bf16) == ("fp32", [])
    assert resolve_precision("auto", "cuda") == ("fp16", [])
    assert resolve_precision("bf16", "mps") == ("fp32", [])


def test_bf16_argmax_agrees_with_fp32_on_seeded_model(montpellier: dict[str, Path], tiny_card: Path) -> None:
    """Build-time check of bf16 (autocast + channels_last) on the seeded tiny model, real tile.

    bf16 runs here even on a CPU without native support (emulated, slower, same numerics), so the
    check does not depend on the machine. Measured agreement 99.34 % (256 × 256 px).
    """
    with rasterio.open(montpellier["rgb"]) as rgb, rasterio.open(montpellier["irc"]) as irc:
        bands = np.concatenate([rgb.read(), irc.read(1)[None], np.zeros((1, 252, 252), np.uint8)])
    x = np.pad(bands[None, :, :224, :224].astype(np.float32), ((0, 0), (0, 0), (16, 16), (16, 16)), mode="reflect")
    fp32, conf32 = ModelPredictor(load_checkpoint(tiny_card), "cpu", "fp32")(x)
    bf16_predictor = ModelPredictor(load_checkpoint(tiny_card), "cpu", "bf16")
    first = next(bf16_predictor.loaded.model.parameters())
    assert first.is_contiguous(memory_format=torch.channels_last)
    bf16, conf16 = bf16_predictor(x)
    assert fp32.shape == bf16.shape == (1, 256, 256)
    assert (fp32 == bf16).mean() >= 0.99
    assert conf32 is not None and conf16 is not None
    assert np.abs(conf32.astype(int) - conf16.astype(int)).mean() < 2  # percent points
