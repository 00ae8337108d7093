"""On-demand prediction of an uploaded image, all outputs held in memory (for the dashboard).

:func:`predict_upload` writes the uploaded bytes to a private temporary folder, checks the image
size against a megapixel limit *before* any inference, runs :func:`predict_image`, reads the
outputs back (COG, GeoPackage of polygons, CSV of statistics) and removes the folder, whatever
happens: a refused or failed upload leaves nothing on disk.

:func:`available_models` lists the model cards of ``data/models`` whose weights are present
locally; the seeded test model (``test_only`` cards) is never offered (it predicts nothing
meaningful). :func:`evaluate_bundle` compares a bundle with the store's OCS GE
(:mod:`.evaluate`). :func:`sample_image` gives the bundled real Montpellier tile
(``data/samples/ortho_montpellier_20cm``, IGN BD ORTHO 20 cm, RGB + IRC, 50 m × 50 m).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import rasterio
import rasterio.errors

from ocsge_engine.config import get_settings
from ocsge_engine.errors import ImageryError
from ocsge_engine.inference.checkpoints import load_model_card
from ocsge_engine.inference.evaluate import Evaluation, evaluate_on_store
from ocsge_engine.inference.fallback import CLASS_LABELS_FR, FALLBACK_CARD
from ocsge_engine.inference.predict import PredictSettings, predict_image

logger = logging.getLogger(__name__)

DEFAULT_MAX_MEGAPIXELS = 25.0
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
SAMPLE_FOLDER = "samples/ortho_montpellier_20cm"
TEST_MODEL_MARK = "tiny_test"
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class ImageSource:
    """One image to predict, as bytes.

    Attributes:
        image: the main GeoTIFF (R, G, B [, NIR] [, elevation]).
        name: its file name (for logs and the CRS note).
        nir: optional IRC GeoTIFF whose band 1 is the near infrared.
        crs: CRS to assume when the file has none or an unresolvable one.
    """

    image: bytes
    name: str
    nir: bytes | None = None
    crs: str | None = None


@dataclass(frozen=True, eq=False)
class PredictionBundle:
    """Outputs of one on-demand prediction, in memory.

    Attributes:
        method: ``"model"`` or ``"fallback_rules"``.
        model_name: model card name.
        stats: ``class_id, class_name, code_cs, pixels, area_ha, share`` per class.
        polygons: ``class_id, class_name, code_cs, code_us, area_ha, geometry`` (image CRS).
        cog: the class raster as a Cloud-Optimised GeoTIFF.
        gpkg: the polygons as a GeoPackage (layer ``prediction``).
        csv: the statistics as CSV text.
        width_px, height_px: size of the predicted area.
        notes: English notes of the run (missing bands, unverified checkpoint…).
        notes_fr: the same in French (shown on the page).
        label_fr: « carte grossière (règles) » or « prédiction du modèle NAME ».
        card: what ran (:func:`~.checkpoints.card_summary`).
        precision: ``fp32`` / ``bf16`` / ``fp16`` / ``rules``.
        confidence: confidence COG (max softmax probability in %), ``None`` for the rules.
        confidence_share: share of pixels with a confidence above 0.8, ``None`` for the rules.
        draft_flags_allowed: a verified (SHA-256) model that is not a test model.
    """

    method: str
    model_name: str
    stats: pd.DataFrame = field(repr=False)
    polygons: gpd.GeoDataFrame = field(repr=False)
    cog: bytes = field(repr=False)
    gpkg: bytes = field(repr=False)
    csv: str = field(repr=False)
    width_px: int = 0
    height_px: int = 0
    notes: tuple[str, ...] = ()
    notes_fr: tuple[str, ...] = ()
    label_fr: str = ""
    card: dict[str, Any] = field(default_factory=dict, repr=False)
    precision: str = ""
    confidence: bytes | None = field(default=None, repr=False)
    confidence_share: float | None = None
    draft_flags_allowed: bool = False


def sample_image() -> ImageSource:
    """The bundled Montpellier tile (RGB + IRC, Lambert-93 assumed: its WKT is hand-written)."""
    folder = get_settings().data_dir / SAMPLE_FOLDER
    return ImageSource((folder / "test_data_rgb.tif").read_bytes(), "test_data_rgb.tif",
                       (folder / "test_data_irc.tif").read_bytes(), "EPSG:2154")


def available_models(models_dir: Path | None = None) -> dict[str, str]:
    """Model cards whose weights file exists locally, test models excluded.

    Returns:
        ``{card path: card name}`` (empty offline, when no weights were downloaded).
    """
    folder = models_dir or get_settings().data_dir / "models"
    found: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        if TEST_MODEL_MARK in path.stem:
            continue
        try:
            card = load_model_card(path)
        except Exception as err:  # a broken card must not hide the others
            logger.warning("model card %s unreadable: %s", path, err)
            continue
        if card.test_only:
            continue
        if card.weights is not None and card.weights.exists():
            found[str(path)] = card.name
    return found


def image_megapixels(path: Path) -> tuple[int, int]:
    """Width and height (pixels) of a raster file.

    Raises:
        ImageryError: not a raster rasterio can open.
    """
    try:
        with rasterio.open(path) as ds:
            return int(ds.width), int(ds.height)
    except (rasterio.errors.RasterioIOError, rasterio.errors.RasterioError) as err:
        raise ImageryError(f"{path.name} is not a readable raster: {err}",
                           "Ce fichier n'est pas une image GeoTIFF lisible.") from err


def predict_upload(source: ImageSource, territory_geometry: Any = None,
                   checkpoint: str | None = None,
                   max_megapixels: float = DEFAULT_MAX_MEGAPIXELS,
                   progress: Progress | None = None) -> PredictionBundle:
    """Predict an uploaded image in a temporary folder and return the outputs in memory.

    Args:
        source: the image bytes (and optional NIR image).
        territory_geometry: area to predict (GeoSeries/GeoDataFrame with CRS, or shapely in the
            image CRS); ``None``: whole image.
        checkpoint: model card path or name, ``"auto"`` (best installed card for the image's bands);
            ``None``: rule-based fallback.
        max_megapixels: refuse larger images (checked before any inference).
        progress: ``progress(fraction, message_fr)``.

    Returns:
        The :class:`PredictionBundle`.

    Raises:
        ImageryError: empty, oversized or unreadable file, image above ``max_megapixels``, or
            any imagery error of :func:`predict_image`.
        CrsError, GeometryError, CheckpointError: see :func:`predict_image`.
    """
    for label, data in (("image", source.image), ("nir", source.nir)):
        if data is not None and not data:
            raise ImageryError(f"empty {label} upload", "Le fichier image est vide.")
        if data is not None and len(data) > MAX_UPLOAD_BYTES:
            raise ImageryError(f"{label} upload of {len(data)} bytes",
                               f"Le fichier dépasse {MAX_UPLOAD_BYTES // 1024 // 1024} Mo.")
    with tempfile.TemporaryDirectory(prefix="ocsge-predict-") as tmp:
        folder = Path(tmp)
        image = folder / "image.tif"
        image.write_bytes(source.image)
        nir = None
        if source.nir is not None:
            nir = folder / "nir.tif"
            nir.write_bytes(source.nir)
        width, height = image_megapixels(image)
        if width * height > max_megapixels * 1e6:
            megapixels = f"{width * height / 1e6:.1f}".replace(".", ",")
            limit = f"{max_megapixels:g}".replace(".", ",")
            raise ImageryError(
                f"{source.name}: {width}x{height} px > {max_megapixels} Mpx",
                f"Image trop grande ({megapixels} mégapixels) : la limite est de {limit} "
                "mégapixels. Découpez-la ou limitez la zone à prédire.")
        settings = PredictSettings(max_pixels=int(max_megapixels * 1e6))
        try:
            result = predict_image(image, territory_geometry, checkpoint, folder / "out", progress,
                                   nir_path=nir, crs=source.crs, settings=settings)
        except ImageryError as err:  # name the user's file, not the private copy
            err.user_message = err.user_message.replace(f"L'image {image.name} ", f"L'image {source.name} ")
            raise
        with rasterio.open(result.classes_path) as ds:
            size = (int(ds.width), int(ds.height))
        bundle = PredictionBundle(
            method=result.method, model_name=result.model_name, stats=result.stats,
            polygons=result.polygons, cog=result.classes_path.read_bytes(),
            gpkg=result.polygons_path.read_bytes(),
            csv=(folder / "out" / "stats.csv").read_text(encoding="utf-8"),
            width_px=size[0], height_px=size[1], notes=tuple(result.notes), notes_fr=tuple(result.notes_fr),
            label_fr=result.label_fr, card=result.card, precision=result.precision,
            confidence=result.confidence_path.read_bytes() if result.confidence_path else None,
            confidence_share=result.confidence_share, draft_flags_allowed=result.draft_flags_allowed)
    logger.info("on-demand prediction of %s: %dx%d px, %s", source.name, *size, bundle.method)
    return bundle


def evaluate_bundle(bundle: PredictionBundle, store: Any, territory: Any, year: int) -> Evaluation:
    """Compare a bundle's class COG with the store's OCS GE of ``territory`` for ``year``.

    The COG bytes go to a private temporary file, removed afterwards.

    Raises:
        MillesimeError: no such millésime; ImageryError: unreadable COG.
    """
    with tempfile.TemporaryDirectory(prefix="ocsge-evaluate-") as tmp:
        path = Path(tmp) / "classes.tif"
        path.write_bytes(bundle.cog)
        return evaluate_on_store(path, store, territory, year)


def cover_label(code: str, method: str) -> str:
    """French label of a predicted code: the rule classes say « (règles) »; others use ``label``.

    >>> cover_label("CS2", "fallback_rules")
    'Végétation (règles)'
    """
    if method == "fallback_rules":
        for c in FALLBACK_CARD.classes:
            if c.code_cs == code:
                return CLASS_LABELS_FR[c.index]
    from ocsge_engine.charts.style import class_label

    return class_label(code)


def stats_by_cover(stats: pd.DataFrame) -> pd.DataFrame:
    """Prediction statistics summed by OCS GE couverture code (classes without a code dropped).

    Several model classes map to one code (agricultural land and herbaceous vegetation are both
    CS2.2.1): the table a user reads and the chart are per code.

    Returns:
        Columns ``code_cs, pixels, area_ha, share``, largest area first.

    >>> s = pd.DataFrame({"code_cs": ["CS2.2.1", "CS2.2.1", "CS1.2.2", None],
    ...                   "pixels": [2, 3, 5, 1], "area_ha": [0.2, 0.3, 0.5, 0.1],
    ...                   "share": [0.2, 0.3, 0.5, 0.1]})
    >>> stats_by_cover(s)["code_cs"].tolist(), stats_by_cover(s)["pixels"].tolist()
    (['CS1.2.2', 'CS2.2.1'], [5, 5])
    """
    rows = stats.dropna(subset=["code_cs"])
    table = rows.groupby("code_cs", as_index=False)[["pixels", "area_ha", "share"]].sum()
    return table.sort_values(["area_ha", "code_cs"], ascending=[False, True],
                             ignore_index=True)
