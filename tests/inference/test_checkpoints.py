"""Model cards and checkpoints: verified loading, clear errors for every kind of wrong file."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import requests
import torch
import yaml

from ocsge_engine.errors import CheckpointError
from ocsge_engine.inference import checkpoints
from ocsge_engine.inference.checkpoints import load_checkpoint, load_model_card, resolve_card, sha256_file
from ocsge_engine.inference.model import TINY_SPEC, seeded_model

MODELS = Path(__file__).resolve().parents[2] / "data" / "models"


def test_flair_card_declares_19_logits_15_active() -> None:
    card = load_model_card(MODELS / "flair_inc_rgbie_15cl_resnet34_unet.yaml")
    assert card.spec.classes == 19 and card.spec.in_channels == 5
    assert sum(c.active for c in card.classes) == 15
    assert card.bands == ("red", "green", "blue", "nir", "elevation")
    assert card.means[3] == 106.38 and card.stds[4] == 79.3
    assert card.classes[0].name == "building" and card.classes[0].code_cs == "CS1.1.1.1"
    assert card.hf_repo == "IGNF/FLAIR-INC_rgbie_15cl_resnet34-unet"


def test_tiny_checkpoint_is_verified_and_reproducible(tiny_card: Path, tmp_path: Path) -> None:
    loaded = load_checkpoint(tiny_card)
    assert loaded.verified and loaded.sha256 == load_model_card(tiny_card).sha256
    regenerated = seeded_model(TINY_SPEC, seed=0).state_dict()
    for key, value in loaded.model.state_dict().items():
        assert torch.equal(value, regenerated[key]), key
    assert (MODELS / "tiny_test_unet.pt").stat().st_size < 1_000_000


def _copy_card(tiny_card: Path, tmp_path: Path, **weights: object) -> Path:
    raw = yaml.safe_load(tiny_card.read_text(encoding="utf-8"))
    shutil.copy(MODELS / "tiny_test_unet.pt", tmp_path / "tiny_test_unet.pt")
    raw["weights"].update(weights)
    path = tmp_path / "card.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_wrong_hash_is_refused(tiny_card: Path, tmp_path: Path) -> None:
    card = _copy_card(tiny_card, tmp_path, sha256="0" * 64)
    with pytest.raises(CheckpointError, match="sha256") as err:
        load_checkpoint(card)
    assert "SHA-256" in err.value.user_message


def test_wrong_shape_is_refused(tiny_card: Path) -> None:
    """Tiny weights given as a FLAIR ResNet-34 checkpoint: clear error, not a torch traceback."""
    with pytest.raises(CheckpointError, match="does not match the architecture") as err:
        load_checkpoint(resolve_card(MODELS / "tiny_test_unet.pt"))  # type: ignore[arg-type]
    assert "ne correspond pas" in err.value.user_message


def test_wrong_class_count_is_refused(tiny_card: Path, tmp_path: Path) -> None:
    weights = tmp_path / "w12.pt"
    torch.save(seeded_model(replace(TINY_SPEC, classes=12)).state_dict(), weights)
    card = replace(load_model_card(tiny_card), weights=weights, sha256=None)
    with pytest.raises(CheckpointError, match=r"segmentation_head.0.weight \(12, 8, 3, 3\)"):
        load_checkpoint(card)


def test_corrupt_file_is_refused(tiny_card: Path, tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.pt"
    bad.write_bytes((MODELS / "tiny_test_unet.pt").read_bytes()[:5000])
    card = replace(load_model_card(tiny_card), weights=bad, sha256=None)
    with pytest.raises(CheckpointError, match="cannot read checkpoint") as err:
        load_checkpoint(card)
    assert "illisible ou corrompu" in err.value.user_message


class _Evil:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (print, ("pwned",))


def test_arbitrary_pickle_is_refused(tiny_card: Path, tmp_path: Path) -> None:
    bad = tmp_path / "evil.pt"
    torch.save({"x": _Evil()}, bad)
    card = replace(load_model_card(tiny_card), weights=bad, sha256=None)
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_checkpoint(card)


def test_lightning_checkpoint_with_flair_prefix_loads(tiny_card: Path, tmp_path: Path) -> None:
    state = seeded_model(TINY_SPEC, seed=0).state_dict()
    ckpt = tmp_path / "model.ckpt"
    torch.save({"state_dict": {f"model.seg_model.{k}": v for k, v in state.items()}, "epoch": torch.tensor(3)}, ckpt)
    loaded = load_checkpoint(replace(load_model_card(tiny_card), weights=ckpt, sha256=None))
    assert not loaded.verified
    assert torch.equal(loaded.model.state_dict()["segmentation_head.0.bias"], state["segmentation_head.0.bias"])


def test_safetensors_loads(tiny_card: Path, tmp_path: Path) -> None:
    from safetensors.torch import save_file

    state = {k: v.contiguous() for k, v in seeded_model(TINY_SPEC, seed=0).state_dict().items()}
    path = tmp_path / "w.safetensors"
    save_file(state, str(path))
    loaded = load_checkpoint(replace(load_model_card(tiny_card), weights=path, sha256=sha256_file(path)))
    assert loaded.verified


def test_missing_weights_offline_gives_clear_error(tiny_card: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args: object, **kwargs: object) -> None:
        raise requests.ConnectionError("network unreachable")

    monkeypatch.setattr(requests, "get", offline)
    card = replace(load_model_card(MODELS / "flair_inc_rgbie_15cl_resnet34_unet.yaml"),
                   weights=tmp_path / "absent.pth")
    with pytest.raises(CheckpointError, match="cannot download") as err:
        load_checkpoint(card)
    assert "hors ligne" in err.value.user_message
    assert not (tmp_path / "absent.pth").exists()


class _FakeResponse:
    status_code = 200

    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    def __enter__(self) -> _FakeResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def raise_for_status(self) -> None:
        return None

    def iter_content(self, size: int):  # type: ignore[no-untyped-def]
        yield self.payload


def test_hub_download_is_hash_checked(tiny_card: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = (MODELS / "tiny_test_unet.pt").read_bytes()
    monkeypatch.setattr(requests, "get", lambda url, **kw: _FakeResponse(payload))
    good = replace(load_model_card(tiny_card), weights=tmp_path / "dl.pt", hf_repo="IGNF/x", hf_filename="dl.pt")
    assert load_checkpoint(good).verified and (tmp_path / "dl.pt").exists()
    bad = replace(good, weights=tmp_path / "dl2.pt", sha256="f" * 64)
    with pytest.raises(CheckpointError, match="expects"):
        load_checkpoint(bad)
    assert not (tmp_path / "dl2.pt").exists() and not (tmp_path / "dl2.pt.part").exists()


def test_invalid_card_and_unknown_name(tmp_path: Path) -> None:
    card = tmp_path / "bad.yaml"
    card.write_text("name: x\nbands: [red]\n", encoding="utf-8")
    with pytest.raises(CheckpointError, match="missing or malformed"):
        load_model_card(card)
    with pytest.raises(CheckpointError, match="unknown checkpoint"):
        resolve_card("no_such_model")
    assert checkpoints.resolve_card(None) is None
