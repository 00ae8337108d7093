"""Model cards and checkpoints: resolve, download, verify (SHA-256) and load with ``strict=True``.

A **model card** (YAML or JSON, next to the weights in ``data/models/``) declares everything the
engine needs to use a checkpoint: architecture, input bands in order, per-band normalisation
(``(x - mean) / std`` on 0-255 values, FLAIR convention), the class list with names, palette and
OCS GE couverture code, the licence, and where the weights live (local file, Hugging Face Hub
repo/filename/revision) with their SHA-256.

Cards declare their input ``bands``: ``auto`` (:func:`select_auto_card`) picks, among the cards
whose weights are installed, the one with the most bands that the image has (the RGB card for a
BD ORTHO RGB image). A card marked ``test_only`` (the seeded tiny model) is refused outside tests
unless explicitly allowed (:func:`check_test_model`).

Integrity: a card pins its weights to a Hub revision and their SHA-256 (refused on mismatch:
``verified``). A card without a hash records the hash of the first file it loads in a sidecar
``<weights>.sha256`` (trust on first use, said in the run notes) and refuses a different file later;
such a load is never ``verified``.

Weights are read with ``torch.load(weights_only=True)`` (no arbitrary pickle) or ``safetensors``.
Lightning ``.ckpt`` files are unwrapped (``state_dict`` key) and the FLAIR prefixes
(``model.seg_model.``, ``model.``, ``module.``) stripped before ``load_state_dict(strict=True)``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ocsge_engine.errors import CheckpointError
from ocsge_engine.inference.spec import UnetSpec

if TYPE_CHECKING:  # torch is imported when weights are loaded, not to read a model card
    import torch

logger = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parents[2] / "data" / "models"
HF_URL = "https://huggingface.co/{repo}/resolve/{revision}/{filename}"
_PREFIXES = ("model.seg_model.", "seg_model.", "model.", "module.")
_CHUNK = 1 << 20
TEST_MODEL_MARK = "tiny_test"
ALLOW_TEST_MODEL_ENV = "OCSGE_ALLOW_TEST_MODEL"
# libyaml's safe loader when PyYAML has it: same documents, ~10x faster than the pure-Python one
# (Prédire lists the cards at every visit)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class ClassInfo:
    """One output class of a model.

    Attributes:
        index: logit index (0-based pixel value of the class raster).
        name: English name from the model card (e.g. ``building``).
        color: hex colour of the source palette.
        code_cs: OCS GE couverture code the class maps to, ``None`` when unmappable.
        code_us: OCS GE usage code when the class implies one, else ``None`` (→ ``US6.6``).
        active: ``False`` for logits the model never predicts (masked before argmax).
    """

    index: int
    name: str
    color: str
    code_cs: str | None
    code_us: str | None = None
    active: bool = True


@dataclass(frozen=True)
class ModelCard:
    """Everything needed to run and interpret one checkpoint.

    Attributes:
        name: model identifier.
        spec: architecture hyper-parameters.
        bands: input band names in model order (``red, green, blue, nir, elevation``).
        means: per-band mean on the 0-255 scale.
        stds: per-band standard deviation on the 0-255 scale.
        classes: output classes, indexed by logit.
        resolution_m: native ground sampling distance.
        licence: licence of the weights.
        source: human-readable provenance.
        weights: local weights path (may not exist yet), absolute.
        sha256: expected SHA-256 of the weights file, ``None`` when not yet recorded.
        hf_repo, hf_filename, hf_revision: Hugging Face Hub location, when downloadable.
        method: ``"model"`` or ``"fallback_rules"``.
        card_path: where the card was read from.
        test_only: random or toy weights that predict nothing meaningful (tests only).
        size_bytes: expected size of the weights file, when known.
    """

    name: str
    spec: UnetSpec
    bands: tuple[str, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]
    classes: tuple[ClassInfo, ...]
    resolution_m: float = 0.2
    licence: str = ""
    source: str = ""
    weights: Path | None = None
    sha256: str | None = None
    hf_repo: str | None = None
    hf_filename: str | None = None
    hf_revision: str = "main"
    method: str = "model"
    card_path: Path | None = field(default=None, compare=False)
    test_only: bool = False
    size_bytes: int | None = None

    @property
    def n_classes(self) -> int:
        """Number of logits."""
        return len(self.classes)

    def class_by_index(self) -> dict[int, ClassInfo]:
        """Return ``{index: ClassInfo}``."""
        return {c.index: c for c in self.classes}


@dataclass
class LoadedModel:
    """A model ready for inference with its card.

    Attributes:
        card: model card.
        model: torch module in eval mode.
        sha256: SHA-256 of the weights actually loaded.
        verified: whether ``sha256`` matched the card (``False`` when the card has none).
        sha256_source: ``"card"`` (pinned hash matched), ``"recorded"`` (matched the hash recorded at
            first use) or ``"first_use"`` (no hash known: recorded now).
    """

    card: ModelCard
    model: torch.nn.Module
    sha256: str
    verified: bool
    sha256_source: str = "card"


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _card_error(path: Path, why: str) -> CheckpointError:
    return CheckpointError(f"model card {path} is invalid: {why}",
                           f"La fiche du modèle {path.name} est invalide : {why}.")


def _parse_classes(raw: list[Mapping[str, Any]], path: Path) -> tuple[ClassInfo, ...]:
    classes = tuple(ClassInfo(index=int(c["index"]), name=str(c["name"]), color=str(c.get("color", "#000000")),
                              code_cs=c.get("code_cs"), code_us=c.get("code_us"),
                              active=bool(c.get("active", True))) for c in raw)
    if [c.index for c in classes] != list(range(len(classes))):
        raise _card_error(path, "class indices must be 0..N-1 in order")
    return classes


def load_model_card(path: Path | str) -> ModelCard:
    """Read a model card (``.yaml``/``.yml``/``.json``).

    Args:
        path: card file. A relative ``weights`` entry is resolved against the card's folder.

    Returns:
        The parsed card.

    Raises:
        CheckpointError: unreadable card, missing field or inconsistent sizes.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 (a safe loader)
        arch = raw["architecture"]
        norm = raw["normalization"]
        spec = UnetSpec(in_channels=len(raw["bands"]), classes=len(raw["classes"]),
                        layers=tuple(arch.get("layers", (3, 4, 6, 3))),  # type: ignore[arg-type]
                        widths=tuple(arch.get("widths", (64, 64, 128, 256, 512))),  # type: ignore[arg-type]
                        decoder_channels=tuple(arch.get("decoder_channels", (256, 128, 64, 32, 16))))  # type: ignore[arg-type]
        weights_raw = raw.get("weights", {}) or {}
        weights = weights_raw.get("file")
        card = ModelCard(
            name=str(raw["name"]), spec=spec, bands=tuple(raw["bands"]),
            means=tuple(float(v) for v in norm["means"]), stds=tuple(float(v) for v in norm["stds"]),
            classes=_parse_classes(raw["classes"], path), resolution_m=float(raw.get("resolution_m", 0.2)),
            licence=str(raw.get("licence", "")), source=str(raw.get("source", "")),
            weights=(path.parent / weights).resolve() if weights else None,
            sha256=weights_raw.get("sha256"), hf_repo=weights_raw.get("hf_repo"),
            hf_filename=weights_raw.get("hf_filename"), hf_revision=str(weights_raw.get("hf_revision", "main")),
            card_path=path, test_only=bool(raw.get("test_only", False)) or TEST_MODEL_MARK in str(raw["name"]),
            size_bytes=int(weights_raw["size_bytes"]) if weights_raw.get("size_bytes") else None)
    except OSError as err:
        raise CheckpointError(f"cannot read model card {path}: {err}",
                              f"Fiche du modèle illisible : {path.name}.") from err
    except (KeyError, TypeError, ValueError, yaml.YAMLError) as err:
        raise _card_error(path, f"missing or malformed field ({err})") from err
    if not (len(card.means) == len(card.stds) == len(card.bands)):
        raise _card_error(path, "bands, means and stds must have the same length")
    if any(s <= 0 for s in card.stds):
        raise _card_error(path, "every std must be positive")
    return card


def download_from_hub(card: ModelCard, dest: Path | None = None, timeout_s: float = 30.0) -> Path:
    """Download the card's weights from the Hugging Face Hub (resumable, hash-checked).

    Args:
        card: card with ``hf_repo`` and ``hf_filename``.
        dest: target file; defaults to ``card.weights``.
        timeout_s: connection timeout.

    Returns:
        The local path of the verified weights.

    Raises:
        CheckpointError: no Hub location, offline / HTTP error, or hash mismatch (nothing is
            left at ``dest``; a partial ``.part`` file is kept for resumption).
    """
    import requests

    if not (card.hf_repo and card.hf_filename):
        raise CheckpointError(f"model {card.name} has no Hugging Face location",
                              f"Le modèle {card.name} n'indique aucune source de téléchargement.")
    dest = Path(dest or card.weights or MODELS_DIR / card.hf_filename)
    url = HF_URL.format(repo=card.hf_repo, revision=card.hf_revision, filename=card.hf_filename)
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    start = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={start}-"} if start else {}
    logger.info("downloading %s to %s (resume at %d bytes)", url, dest, start)
    try:
        with requests.get(url, headers=headers, stream=True, timeout=timeout_s) as resp:
            resp.raise_for_status()
            mode = "ab" if start and resp.status_code == 206 else "wb"
            with open(part, mode) as fh:
                for chunk in resp.iter_content(_CHUNK):
                    fh.write(chunk)
    except requests.RequestException as err:
        raise CheckpointError(
            f"cannot download {url}: {err}",
            "Téléchargement du modèle impossible (hors ligne ?) : placez le fichier de poids "
            f"{card.hf_filename} dans {dest.parent} ou utilisez la méthode de repli.") from err
    digest = sha256_file(part)
    if card.sha256 and digest != card.sha256:
        part.unlink(missing_ok=True)
        raise CheckpointError(f"downloaded {url} has sha256 {digest}, card expects {card.sha256}",
                              "Le modèle téléchargé est corrompu (empreinte SHA-256 différente).")
    os.replace(part, dest)
    return dest


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Read tensors only: safetensors, or torch.load(weights_only=True); unwrap Lightning."""
    import torch

    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            raw: Any = load_file(str(path))
        else:
            raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types on corrupt / unsafe pickles
        raise CheckpointError(f"cannot read checkpoint {path}: {type(err).__name__}: {err}",
                              f"Le fichier de poids {path.name} est illisible ou corrompu.") from err
    if isinstance(raw, Mapping) and "state_dict" in raw and isinstance(raw["state_dict"], Mapping):
        raw = raw["state_dict"]
    if not isinstance(raw, Mapping) or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise CheckpointError(f"checkpoint {path} is not a state_dict of tensors",
                              f"Le fichier {path.name} n'est pas un jeu de poids de modèle.")
    return _strip_prefixes(dict(raw))


def _strip_prefixes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    for prefix in _PREFIXES:
        if state and all(k.startswith(prefix) for k in state):
            return {k[len(prefix):]: v for k, v in state.items()}
    return state


def _check_shapes(model: torch.nn.Module, state: Mapping[str, torch.Tensor], path: Path) -> None:
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k} {tuple(state[k].shape)}≠{tuple(v.shape)}" for k, v in expected.items()
             if k in state and state[k].shape != v.shape]
    if missing or unexpected or wrong:
        detail = "; ".join(filter(None, [
            f"missing {missing[:3]}" if missing else "", f"unexpected {unexpected[:3]}" if unexpected else "",
            f"wrong shape {wrong[:3]}" if wrong else ""]))
        raise CheckpointError(
            f"checkpoint {path} does not match the architecture: {detail}",
            f"Le fichier de poids {path.name} ne correspond pas à l'architecture du modèle "
            "(nombre de bandes ou de classes différent ?).")


def load_checkpoint(card: ModelCard | Path | str, weights: Path | str | None = None,
                    download: bool = True) -> LoadedModel:
    """Build the card's model and load its weights with ``strict=True``.

    Args:
        card: a :class:`ModelCard` or the path of a card file.
        weights: override of the weights path (else ``card.weights``).
        download: fetch from the Hub when the local file is missing and the card has a location.

    Returns:
        The model in eval mode with its card and the SHA-256 of the loaded file.

    Raises:
        CheckpointError: missing file (offline), hash mismatch, unreadable file, or keys/shapes
            that differ from the architecture.
    """
    if not isinstance(card, ModelCard):
        card = load_model_card(card)
    path = Path(weights) if weights else card.weights
    if path is None or not path.exists():
        if download and card.hf_repo:
            path = download_from_hub(card, path)
        else:
            raise CheckpointError(f"weights of {card.name} not found at {path}",
                                  f"Fichier de poids du modèle {card.name} introuvable : {path}.")
    digest = sha256_file(path)
    if card.sha256 and digest != card.sha256:
        raise CheckpointError(f"{path} has sha256 {digest}, card {card.name} expects {card.sha256}",
                              f"Le fichier de poids {path.name} ne correspond pas à la fiche du modèle "
                              "(empreinte SHA-256 différente) : fichier corrompu ou mauvais modèle.")
    source = "card" if card.sha256 else _check_recorded(card, path, digest)
    from ocsge_engine.inference.model import ResNetUnet  # lazy: torch

    state = _read_state_dict(path)
    model = ResNetUnet(card.spec)
    _check_shapes(model, state, path)
    model.load_state_dict(state, strict=True)
    model.eval()
    if source == "first_use":  # only a file that loaded is recorded
        _record_sha256(card, path, digest)
    logger.info("loaded %s from %s (sha256 %s)", card.name, path, digest[:12])
    return LoadedModel(card=card, model=model, sha256=digest, verified=source == "card", sha256_source=source)


def _check_recorded(card: ModelCard, path: Path, digest: str) -> str:
    """Check ``digest`` against the sidecar ``<weights>.sha256`` recorded at first use.

    Returns:
        ``"recorded"`` when the sidecar matched, ``"first_use"`` when there is none yet.

    Raises:
        CheckpointError: the sidecar records another hash (the file changed since first use).
    """
    sidecar = path.with_name(path.name + ".sha256")
    if sidecar.exists():
        recorded = sidecar.read_text(encoding="utf-8").split()[0] if sidecar.stat().st_size else ""
        if recorded != digest:
            raise CheckpointError(
                f"{path} has sha256 {digest}, {sidecar.name} recorded {recorded} at first use",
                f"Le fichier de poids {path.name} a changé depuis sa première utilisation (empreinte "
                "SHA-256 différente) : fichier corrompu ou remplacé.")
        logger.warning("model card %s has no sha256; %s matches the hash recorded at first use (unverified)",
                       card.name, path.name)
        return "recorded"
    return "first_use"


def _record_sha256(card: ModelCard, path: Path, digest: str) -> None:
    """Write ``<weights>.sha256`` (temp then rename); a read-only folder only logs a warning."""
    sidecar = path.with_name(path.name + ".sha256")
    try:
        tmp = sidecar.with_name(sidecar.name + ".tmp")
        tmp.write_text(f"{digest}  {path.name}\n", encoding="utf-8")
        os.replace(tmp, sidecar)
    except OSError as err:  # read-only model folder: still usable, just not recorded
        logger.warning("cannot record sha256 of %s: %s", path, err)
    logger.warning("model card %s records no sha256; recorded %s of %s at first use (unverified)",
                   card.name, digest, path.name)


def allow_test_models(explicit: bool = False) -> bool:
    """Whether a ``test_only`` card may run: asked explicitly, under pytest, or via the environment.

    Args:
        explicit: ``--allow-test-model`` / ``PredictSettings.allow_test_model``.
    """
    return (explicit or os.environ.get(ALLOW_TEST_MODEL_ENV) == "1"
            or "PYTEST_CURRENT_TEST" in os.environ)


def check_test_model(card: ModelCard, allowed: bool = False) -> None:
    """Refuse a ``test_only`` card (random weights) unless :func:`allow_test_models`.

    Raises:
        CheckpointError: the card is a test model and it is not allowed.
    """
    if card.test_only and not allow_test_models(allowed):
        raise CheckpointError(
            f"model {card.name} is a test model with random weights; pass --allow-test-model to run it",
            f"Le modèle {card.name} est un modèle de test aux poids aléatoires : sa carte ne veut rien "
            "dire. Utilisez un modèle FLAIR ou, pour un essai technique, --allow-test-model.")


def list_cards(models_dir: Path | None = None) -> list[ModelCard]:
    """Readable cards of ``models_dir`` (``data/models``), test models included, sorted by file name."""
    cards = []
    for path in sorted((models_dir or MODELS_DIR).glob("*.y*ml")):
        try:
            cards.append(load_model_card(path))
        except CheckpointError as err:  # a broken card must not hide the others
            logger.warning("model card %s unreadable: %s", path, err)
    return cards


def select_auto_card(available: tuple[str, ...] | set[str], models_dir: Path | None = None
                     ) -> tuple[ModelCard | None, ModelCard | None]:
    """The card ``auto`` runs for an image whose real bands are ``available``.

    Among non-test cards whose every band the image has, the one with the most bands wins (ties:
    file name order).

    Args:
        available: real bands of the image (``red, green, blue[, nir][, elevation]``).
        models_dir: folder of the cards.

    Returns:
        ``(installed, best)``: the best card whose weights are present locally (``None`` when none
        is: the rule-based fallback runs), and the best card overall (to say what could be
        downloaded), or ``None`` when no card fits the bands.
    """
    fitting = [c for c in list_cards(models_dir) if not c.test_only and set(c.bands) <= set(available)]
    fitting.sort(key=lambda c: -len(c.bands))
    installed = [c for c in fitting if c.weights is not None and c.weights.exists()]
    return (installed[0] if installed else None), (fitting[0] if fitting else None)


def card_summary(card: ModelCard, loaded: LoadedModel | None = None) -> dict[str, Any]:
    """What ran, for the page, the CLI and ``metadata.json``.

    Returns:
        ``name, method, bands, n_classes, classes (active names), licence, source, sha256,
        sha256_source, verified, test_only, revision, class_table`` (index, name, code_cs, active).
    """
    return {
        "name": card.name, "method": card.method, "bands": list(card.bands),
        "n_classes": sum(c.active for c in card.classes),
        "classes": [c.name for c in card.classes if c.active], "licence": card.licence, "source": card.source,
        "sha256": loaded.sha256 if loaded else None,
        "sha256_source": loaded.sha256_source if loaded else None,
        "verified": bool(loaded and loaded.verified), "test_only": card.test_only,
        "revision": card.hf_revision if card.hf_repo else None,
        "class_table": [{"index": c.index, "name": c.name, "code_cs": c.code_cs, "active": c.active}
                        for c in card.classes],
    }


def resolve_card(checkpoint: ModelCard | Path | str | None) -> ModelCard | None:
    """Turn a user checkpoint argument into a card.

    Args:
        checkpoint: ``None`` (no model: fallback), a card object, a card path (``.yaml``/``.json``),
            a card name in ``data/models/`` (``flair_inc_rgbie_15cl``), or a bare weights file
            (``.pth``/``.pt``/``.safetensors``), paired with the FLAIR-INC RGBIE 15-class card.

    Returns:
        The card, or ``None`` for the rule-based fallback.

    Raises:
        CheckpointError: unknown name or unreadable card.
    """
    if checkpoint is None or isinstance(checkpoint, ModelCard):
        return checkpoint
    path = Path(checkpoint)
    if path.suffix in (".yaml", ".yml", ".json"):
        return load_model_card(path)
    if path.suffix in (".pth", ".pt", ".ckpt", ".safetensors"):
        base = load_model_card(MODELS_DIR / "flair_inc_rgbie_15cl_resnet34_unet.yaml")
        from dataclasses import replace

        return replace(base, weights=path.resolve(), sha256=None, hf_repo=None)
    for suffix in (".yaml", ".yml", ".json"):
        candidate = MODELS_DIR / f"{checkpoint}{suffix}"
        if candidate.exists():
            return load_model_card(candidate)
    raise CheckpointError(f"unknown checkpoint {checkpoint!r}",
                          f"Modèle inconnu : {checkpoint}. Donnez une fiche .yaml ou un fichier de poids.")
