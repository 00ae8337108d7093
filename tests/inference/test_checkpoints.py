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


# --- pinned cards, trust on first use, test models, auto choice ----------------------------------

PINS = {  # Hub commit that uploaded the weights → Git LFS oid (sha256) and size, read on huggingface.co
    "flair_inc_rgb_15cl_resnet34_unet": (("red", "green", "blue"), "c3728e205b3e195946d92c27a8f6da0db95020cc",
                                         "d0033871116361360fa6d2024cc4425a01858afdff1bef2ed1d35514cd48a015", 97932755),
    "flair_inc_rgbi_15cl_resnet34_unet": (("red", "green", "blue", "nir"), "19b80d1ca5d9b8972bd25218e29aaf0de2b00b22",
                                          "91465bf3e5307a31f3efb9f75ee15aebd02df0650dc8a7efcc64aece78a5fc51", 97945299),
    "flair_inc_rgbie_15cl_resnet34_unet": (("red", "green", "blue", "nir", "elevation"),
                                           "31b43f7d9c435ea59ba4914fbee113aaae177e12",
                                           "e7be92484275ecb581a758fc8a7efa088f8b4201d62dcbc252094707bd025888", 97957843),
}


@pytest.mark.parametrize("name", sorted(PINS))
def test_flair_cards_are_pinned(name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bands, revision, sha, size = PINS[name]
    card = load_model_card(MODELS / f"{name}.yaml")
    assert card.bands == bands and card.spec.in_channels == len(bands) == len(card.means)
    assert (card.hf_revision, card.sha256, card.size_bytes) == (revision, sha, size)
    assert not card.test_only and card.spec.classes == 19
    urls: list[str] = []

    def offline(url: str, **kw: object) -> None:
        urls.append(url)
        raise requests.ConnectionError("offline")

    monkeypatch.setattr(requests, "get", offline)
    with pytest.raises(CheckpointError):
        load_checkpoint(replace(card, weights=tmp_path / "w.pth"))
    assert urls == [f"https://huggingface.co/{card.hf_repo}/resolve/{revision}/{card.hf_filename}"]


def test_unpinned_weights_recorded_at_first_use(tiny_card: Path, tmp_path: Path) -> None:
    """No hash in the card: the first load records it (not verified); a changed file is refused."""
    weights = tmp_path / "w.pt"
    shutil.copy(MODELS / "tiny_test_unet.pt", weights)
    card = replace(load_model_card(tiny_card), weights=weights, sha256=None)
    first = load_checkpoint(card)
    assert (first.verified, first.sha256_source) == (False, "first_use")
    sidecar = tmp_path / "w.pt.sha256"
    assert sidecar.read_text(encoding="utf-8").split()[0] == sha256_file(weights) == first.sha256
    again = load_checkpoint(card)
    assert (again.verified, again.sha256_source) == (False, "recorded")
    torch.save(seeded_model(TINY_SPEC, seed=1).state_dict(), weights)  # same shapes, other weights
    with pytest.raises(CheckpointError, match="recorded") as err:
        load_checkpoint(card)
    assert "a changé depuis sa première utilisation" in err.value.user_message


def test_test_model_refused_outside_tests(tiny_card: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    card = load_model_card(tiny_card)
    assert card.test_only
    checkpoints.check_test_model(card)  # under pytest: allowed
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    monkeypatch.delenv(checkpoints.ALLOW_TEST_MODEL_ENV, raising=False)
    with pytest.raises(CheckpointError, match="--allow-test-model") as err:
        checkpoints.check_test_model(card)
    assert "poids aléatoires" in err.value.user_message
    checkpoints.check_test_model(card, allowed=True)
    monkeypatch.setenv(checkpoints.ALLOW_TEST_MODEL_ENV, "1")
    checkpoints.check_test_model(card)


def _card_with_weights(folder: Path, name: str, bands: list[str], installed: bool) -> None:
    """A non-test card of ``len(bands)`` input bands with seeded tiny weights (when installed)."""
    from ocsge_engine.inference.model import UnetSpec

    raw = yaml.safe_load((MODELS / "tiny_test_unet.yaml").read_text(encoding="utf-8"))
    raw.pop("test_only")
    raw.update(name=name, bands=bands, normalization={"means": [100.0] * len(bands), "stds": [50.0] * len(bands)})
    weights = folder / f"{name}.pt"
    raw["weights"] = {"file": weights.name}
    if installed:
        spec = UnetSpec(len(bands), 19, TINY_SPEC.layers, TINY_SPEC.widths, TINY_SPEC.decoder_channels)
        torch.save(seeded_model(spec, seed=0).state_dict(), weights)
        raw["weights"]["sha256"] = sha256_file(weights)
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")


def test_auto_picks_best_installed_card_for_the_bands(tmp_path: Path, montpellier: dict[str, Path],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """RGB image → the RGB card (the 4- and 5-band cards need NIR); RGB + IRC → the RGBI card
    would fit best but is not installed, so the RGB one runs; no card installed → rules + note."""
    from ocsge_engine.inference import predict_image

    _card_with_weights(tmp_path, "a_rgb", ["red", "green", "blue"], installed=True)
    _card_with_weights(tmp_path, "b_rgbi", ["red", "green", "blue", "nir"], installed=False)
    _card_with_weights(tmp_path, "c_rgbie", ["red", "green", "blue", "nir", "elevation"], installed=True)
    shutil.copy(MODELS / "tiny_test_unet.yaml", tmp_path / "tiny_test_unet.yaml")  # never chosen
    installed, best = checkpoints.select_auto_card(("red", "green", "blue"), tmp_path)
    assert installed is not None and best is not None and installed.name == best.name == "a_rgb"
    installed, best = checkpoints.select_auto_card(("red", "green", "blue", "nir"), tmp_path)
    assert installed is not None and best is not None and (installed.name, best.name) == ("a_rgb", "b_rgbi")
    installed, _ = checkpoints.select_auto_card(("red", "green", "blue", "nir", "elevation"), tmp_path)
    assert installed is not None and installed.name == "c_rgbie"

    monkeypatch.setattr(checkpoints, "MODELS_DIR", tmp_path)
    res = predict_image(montpellier["rgb"], checkpoint="auto", out_dir=tmp_path / "out")
    assert res.method == "model" and res.model_name == "a_rgb" and res.card["bands"] == ["red", "green", "blue"]
    assert res.checkpoint_verified and res.draft_flags_allowed and res.confidence_path is not None
    assert any("modèle automatique : a_rgb" in n for n in res.notes_fr)
    (tmp_path / "a_rgb.pt").unlink()
    res = predict_image(montpellier["rgb"], checkpoint="auto", out_dir=tmp_path / "out2")
    assert res.method == "fallback_rules" and any("a_rgb, dont les poids ne sont pas installés" in n
                                                  for n in res.notes_fr)
