"""On-demand land-cover segmentation of aerial imagery (FLAIR U-Net or rule-based fallback).

Public API: :func:`predict_image` (image → COG + OCS GE polygons + stats), :func:`load_checkpoint`,
:func:`load_model_card`, :class:`ResNetUnet`, and the comparisons of :mod:`.compare`.
"""

from ocsge_engine.inference.checkpoints import (
    ClassInfo,
    LoadedModel,
    ModelCard,
    load_checkpoint,
    load_model_card,
    resolve_card,
)
from ocsge_engine.inference.compare import agreement_matrix, change_map, changed_areas
from ocsge_engine.inference.model import RESNET34_SPEC, TINY_SPEC, ResNetUnet, UnetSpec
from ocsge_engine.inference.predict import PredictionResult, PredictSettings, predict_image

__all__ = [
    "ClassInfo", "LoadedModel", "ModelCard", "PredictSettings", "PredictionResult", "RESNET34_SPEC",
    "ResNetUnet", "TINY_SPEC", "UnetSpec", "agreement_matrix", "change_map", "changed_areas",
    "load_checkpoint", "load_model_card", "predict_image", "resolve_card",
]
