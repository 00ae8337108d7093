"""Evaluate a prediction against OCS GE on its own grid: per-class IoU, overall accuracy, confusion.

OCS GE polygons of the territory and millésime are rasterised on the prediction's grid (pixel
centre rule). Both sides are brought to **evaluation classes**: the distinct OCS GE couverture
codes that the model's active classes map to (the FLAIR → CS table of the model card, stored in
the class COG's ``OCSGE_CLASSES`` tag). Several model classes sharing a code are merged (FLAIR
herbaceous, agricultural and ploughed land are all CS2.2.1). An OCS GE code maps to the
evaluation class of the same code, else of its longest parent code (so the coarse rule map, whose
classes are CS2 / CS1.2.2 / CS1, is evaluated at that level); an OCS GE code with no such class
(e.g. CS1.1.2.2 for a FLAIR model) is *unmapped*: counted, not evaluated.

Pixels evaluated: predicted (not nodata, class with a code) and covered by a mapped OCS GE
polygon. ``confusion[i, j]`` = pixels of OCS GE class ``i`` predicted as ``j``;
``IoU_k = C[k,k] / (row_k + col_k - C[k,k])``; overall accuracy = trace / total.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import rasterio
from rasterio.errors import RasterioError
from rasterio.features import rasterize

from ocsge_engine.errors import CrsError, ImageryError, SchemaError
from ocsge_engine.nomenclature import normalize_codes

logger = logging.getLogger(__name__)

NODATA = 255
UNMAPPED = 254


@dataclass
class Evaluation:
    """Result of :func:`evaluate_prediction`.

    Attributes:
        codes: evaluation classes (OCS GE codes), in order.
        confusion: pixel counts, index = OCS GE class (``reference``), columns = predicted class.
        per_class: ``code_cs, reference_px, predicted_px, correct_px, iou`` (``iou`` NaN when the
            class is in neither).
        overall_accuracy: correct / evaluated pixels (NaN when none is evaluated).
        evaluated_px: pixels counted in the matrix.
        unmapped_px: predicted pixels under an OCS GE code with no evaluation class.
        uncovered_px: predicted pixels with no OCS GE polygon (outside the layer or the territory).
        model: model name from the COG tags; method: ``model`` or ``fallback_rules``.
        pixel_m2: pixel area.
    """

    codes: list[str]
    confusion: pd.DataFrame
    per_class: pd.DataFrame
    overall_accuracy: float
    evaluated_px: int
    unmapped_px: int
    uncovered_px: int
    model: str = ""
    method: str = ""
    pixel_m2: float = 0.04

    def confusion_csv(self) -> str:
        """The confusion matrix as CSV (first column ``reference_code_cs``, one column per prediction)."""
        return str(self.confusion.rename_axis("reference_code_cs").to_csv())


def evaluation_classes(class_table: list[dict[str, Any]]) -> tuple[list[str], npt.NDArray[np.uint8]]:
    """Evaluation classes of a model's class table and the lookup table class value → class index.

    Args:
        class_table: ``[{index, name, code_cs, active}, …]`` (``OCSGE_CLASSES`` tag).

    Returns:
        ``(codes, lut)``: distinct ``code_cs`` of active classes in order of first appearance, and
        a 256-entry table giving each class value its position in ``codes`` (``255`` otherwise).

    >>> codes, lut = evaluation_classes([{"index": 0, "code_cs": "CS2", "active": True},
    ...     {"index": 1, "code_cs": "CS1.2.2", "active": True}, {"index": 2, "code_cs": "CS2", "active": True},
    ...     {"index": 3, "code_cs": None, "active": True}])
    >>> codes, lut[:5].tolist()
    (['CS2', 'CS1.2.2'], [0, 1, 0, 255, 255])
    """
    codes: list[str] = []
    lut = np.full(256, NODATA, dtype=np.uint8)
    for c in class_table:
        code = c.get("code_cs")
        if not code or not c.get("active", True):
            continue
        if code not in codes:
            codes.append(code)
        lut[int(c["index"])] = codes.index(code)
    return codes, lut


def map_reference_code(code: str | None, codes: list[str]) -> int | None:
    """Evaluation class of an OCS GE code: the same code, else its longest parent in ``codes``.

    >>> map_reference_code("CS2.1.1.1", ["CS2", "CS1.2.2", "CS1"]), map_reference_code("CS1.2.2", ["CS1", "CS1.2.2"])
    (0, 1)
    >>> map_reference_code("CS1.1.2.2", ["CS1.1.1.1", "CS2.2.1"]) is None
    True
    """
    if not code:
        return None
    best: tuple[int, int] | None = None
    for i, candidate in enumerate(codes):
        if code == candidate or code.startswith(candidate + "."):
            if best is None or len(candidate) > best[1]:
                best = (i, len(candidate))
    return None if best is None else best[0]


def confusion_counts(reference: npt.NDArray[np.uint8], predicted: npt.NDArray[np.uint8], n: int
                     ) -> npt.NDArray[np.int64]:
    """``n × n`` counts of (reference, predicted) pairs where both are classes ``< n``.

    >>> confusion_counts(np.array([0, 0, 1, 1, 255], np.uint8), np.array([0, 1, 1, 1, 0], np.uint8), 2).tolist()
    [[1, 1], [0, 2]]
    """
    valid = (reference < n) & (predicted < n)
    flat = reference[valid].astype(np.int64) * n + predicted[valid].astype(np.int64)
    return np.bincount(flat, minlength=n * n).reshape(n, n)


def scores(confusion: npt.NDArray[np.int64], codes: list[str]) -> tuple[pd.DataFrame, float]:
    """Per-class IoU and overall accuracy of a confusion matrix (rows = reference)."""
    correct = np.diag(confusion)
    ref, pred = confusion.sum(axis=1), confusion.sum(axis=0)
    union = ref + pred - correct
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, correct / np.maximum(union, 1), np.nan)
    total = int(confusion.sum())
    per_class = pd.DataFrame({"code_cs": codes, "reference_px": ref, "predicted_px": pred,
                              "correct_px": correct, "iou": iou})
    return per_class, (float(correct.sum() / total) if total else float("nan"))


def read_prediction(path: Path | str) -> tuple[npt.NDArray[np.uint8], Any, Any, dict[str, str]]:
    """Read a class COG: ``(classes, transform, crs, tags)``.

    Raises:
        ImageryError: unreadable raster, or without the ``OCSGE_CLASSES`` tag of a prediction.
    """
    try:
        with rasterio.open(path) as ds:
            classes, transform, crs, tags = ds.read(1), ds.transform, ds.crs, ds.tags()
    except RasterioError as err:
        raise ImageryError(f"cannot read prediction {path}: {err}",
                           f"La prédiction {Path(path).name} est illisible.") from err
    if "OCSGE_CLASSES" not in tags:
        raise ImageryError(f"{path} has no OCSGE_CLASSES tag: not a prediction of this engine",
                           f"{Path(path).name} n'est pas un raster de classes produit par la commande "
                           "predict (étiquettes de classes absentes).")
    if crs is None:
        raise CrsError(f"prediction {path} has no CRS", "La prédiction n'a pas de système de coordonnées.")
    return classes.astype(np.uint8), transform, crs, tags


def evaluate_prediction(prediction: Path | str, reference: gpd.GeoDataFrame) -> Evaluation:
    """Compare a class COG of :func:`~.predict.predict_image` with OCS GE polygons.

    Args:
        prediction: class COG (with the ``OCSGE_CLASSES`` tag).
        reference: OCS GE polygons with ``code_cs`` and a CRS (reprojected to the prediction's).

    Returns:
        The :class:`Evaluation`.

    Raises:
        ImageryError: unreadable prediction. SchemaError: no ``code_cs``. CrsError: no CRS.
    """
    classes, transform, crs, tags = read_prediction(prediction)
    codes, lut = evaluation_classes(json.loads(tags["OCSGE_CLASSES"]))
    if "code_cs" not in reference.columns:
        raise SchemaError("reference layer has no code_cs column",
                          "La couche OCS GE n'a pas de champ code_cs (couverture).")
    if reference.crs is None:
        raise CrsError("reference layer has no CRS", "La couche OCS GE n'a pas de système de coordonnées.")
    ref = reference[["code_cs", "geometry"]].to_crs(crs)
    ref_codes = normalize_codes(ref["code_cs"], "cs")
    values = [UNMAPPED if (k := map_reference_code(c, codes)) is None else k
              for c in ref_codes.where(ref_codes.notna(), None)]
    shapes = [(g, v) for g, v in zip(ref.geometry, values, strict=True) if g is not None and not g.is_empty]
    ref_raster = (rasterize(shapes, out_shape=classes.shape, transform=transform, fill=NODATA, dtype="uint8")
                  if shapes else np.full(classes.shape, NODATA, np.uint8))
    predicted = lut[classes]
    in_pred = predicted != NODATA
    confusion = confusion_counts(ref_raster, predicted, len(codes))
    per_class, accuracy = scores(confusion, codes)
    evaluation = Evaluation(
        codes=codes, confusion=pd.DataFrame(confusion, index=codes, columns=codes), per_class=per_class,
        overall_accuracy=accuracy, evaluated_px=int(confusion.sum()),
        unmapped_px=int((in_pred & (ref_raster == UNMAPPED)).sum()),
        uncovered_px=int((in_pred & (ref_raster == NODATA)).sum()),
        model=tags.get("OCSGE_MODEL", ""), method=tags.get("OCSGE_METHOD", ""),
        pixel_m2=abs(transform.a * transform.e))
    logger.info("evaluated %s: %d px, overall accuracy %.3f", prediction, evaluation.evaluated_px, accuracy)
    return evaluation


def evaluate_on_store(prediction: Path | str, store: Any, territory: Any, year: int) -> Evaluation:
    """:func:`evaluate_prediction` against the store's OCS GE of ``territory`` for ``year``.

    Raises:
        MillesimeError: no such millésime for the territory; see :func:`evaluate_prediction`.
    """
    polygons = store.polygons(territory, year)
    return evaluate_prediction(prediction, polygons)
